"""Course health: participation, density, reciprocity, teacher-centredness, isolation, answers.

Everything here is counting over the interaction graph and the discussions: no graph
algorithm, so the week-by-week trend is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from .activity import ROLE_CODES, CourseActivity
from .graph import InteractionGraph, View, build_graph

DAY = 86400.0
UNANSWERED_AFTER = {"24h": DAY, "72h": 3 * DAY}
#: The trend covers at most this many weeks, the most recent.
TREND_WEEKS = 26


@dataclass(frozen=True, slots=True)
class DiscussionTable:
    """The questions of a course with the time of their first reply by someone else."""

    discussion_id: np.ndarray  # int64, sorted
    created: np.ndarray  # float64 epoch seconds
    first_reply: np.ndarray  # float64 epoch seconds, NaN if none yet
    is_question: np.ndarray  # bool


def discussion_table(activity: CourseActivity, *, teacher_view: bool) -> DiscussionTable:
    """Return each discussion's first reply time (private replies only in teacher views)."""
    columns = activity.columns
    discussions = sorted(activity.discussions, key=lambda d: d.id)
    ids = np.fromiter((d.id for d in discussions), np.int64, len(discussions))
    created = np.fromiter((d.created.timestamp() for d in discussions), np.float64, len(ids))
    question = np.fromiter((d.is_question for d in discussions), bool, len(ids))
    answer = ~columns.is_start & (columns.author != columns.discussion_author)
    if not teacher_view:
        answer &= ~columns.private
    first_reply = np.full(len(ids), np.nan)
    if len(ids) and answer.any():
        replied, first = np.unique(columns.discussion[answer], return_index=True)
        times = columns.created[answer][first]  # posts are in time order
        slot = np.searchsorted(ids, replied)
        known = (slot < len(ids)) & (ids[np.minimum(slot, len(ids) - 1)] == replied)
        first_reply[slot[known]] = times[known]
    return DiscussionTable(ids, created, first_reply, question)


def _safe_ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def course_health(graph: InteractionGraph, table: DiscussionTable, *, now: float
                  ) -> dict[str, Any]:
    """Return the health figures of one view (a JSON-ready dict)."""
    n = graph.node_count
    learner = graph.roles == ROLE_CODES["learner"]
    teacher = graph.roles == ROLE_CODES["teacher"]
    enrolled = learner & graph.in_scope & (graph.node_ids > 0)
    posts = np.bincount(graph.post_author, minlength=n)
    reply = (graph.post_parent >= 0) & (graph.post_parent != graph.post_author)
    received = np.bincount(graph.post_parent[reply], minlength=n)

    active = enrolled & (posts > 0)
    never_active = enrolled & (posts == 0)
    never_replied_to = enrolled & (posts > 0) & (received == 0)
    isolated = never_active | never_replied_to

    edges = graph.edge_count
    keys = graph.sources * max(n, 1) + graph.targets
    mutual = int(np.isin(graph.targets * max(n, 1) + graph.sources, keys).sum())
    interactions = float(graph.weights.sum())
    with_teacher = teacher[graph.sources] | teacher[graph.targets]
    teacher_interactions = float(graph.weights[with_teacher].sum())

    # Questions: discussions whose starting post is in this view.
    started = np.unique(graph.post_discussion[graph.post_is_start])
    slot = np.searchsorted(table.discussion_id, started)
    known = (slot < len(table.discussion_id)) & (
        table.discussion_id[np.minimum(slot, max(len(table.discussion_id) - 1, 0))] == started
        if len(table.discussion_id) else np.zeros(len(started), bool))
    slot = slot[known]
    slot = slot[table.is_question[slot]]
    created, first_reply = table.created[slot], table.first_reply[slot]
    delay = first_reply - created
    health: dict[str, Any] = {
        "enrolled_learners": int(enrolled.sum()),
        "active_learners": int(active.sum()),
        "active_share": _safe_ratio(active.sum(), enrolled.sum()),
        "nodes": n,
        "edges": edges,
        "interactions": int(interactions),
        "density": _safe_ratio(edges, n * (n - 1)),
        "reciprocity": _safe_ratio(mutual, edges),
        "teacher_share": _safe_ratio(teacher_interactions, interactions),
        "isolated_learners": int(isolated.sum()),
        "isolated_share": _safe_ratio(isolated.sum(), enrolled.sum()),
        "never_active": int(never_active.sum()),
        "never_replied_to": int(never_replied_to.sum()),
        "questions": len(slot),
    }
    for label, after in UNANSWERED_AFTER.items():
        judged = created <= now - after  # old enough to tell
        late = judged & ~(delay <= after)  # NaN (no reply) counts as late
        health[f"unanswered_{label}"] = int(late.sum())
        health[f"unanswered_{label}_share"] = _safe_ratio(late.sum(), judged.sum())
    answered = delay[~np.isnan(delay)]
    health["median_first_reply_seconds"] = float(np.median(answered)) if len(answered) else None
    starts = int(graph.post_is_start.sum())
    replies = int(len(graph.post_is_start) - starts)
    health["starting_posts"] = starts
    health["replies"] = replies
    health["conversation_ratio"] = _safe_ratio(replies, starts)
    return health


def _week_starts(activity: CourseActivity, weeks: int) -> list[datetime]:
    now = activity.now
    monday = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=now.weekday())
    first = datetime.fromtimestamp(float(activity.columns.created.min()), UTC)
    count = min(weeks, max(1, (monday - first).days // 7 + 2))
    return [monday - timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def weekly_trend(activity: CourseActivity, view: View, table: DiscussionTable, *,
                 weeks: int = TREND_WEEKS, graph: InteractionGraph | None = None
                 ) -> list[dict[str, Any]]:
    """Return the health of each calendar week (Monday to Monday, UTC) up to `now`.

    Each week's figures equal `course_health` of that week's graph; they are computed for
    all weeks at once from the graph of the whole span (`graph`, the view's whole-course graph,
    is reused when it covers every week), which keeps group trends cheap.
    """
    if not len(activity.columns):
        return []
    starts = _week_starts(activity, weeks)
    count = len(starts)
    bounds = np.array([s.timestamp() for s in starts] + [np.inf])
    if (graph is not None and graph.view.window == "all" and graph.view.since is None
            and float(activity.columns.created.min()) >= bounds[0]):
        g = graph  # the whole-course graph of this view already spans every week
    else:
        span = View(view.window, view.group_id, view.audience, since=bounds[0],
                    until=activity.now_ts)
        g = build_graph(activity, span)
    n = max(g.node_count, 1)
    week = np.searchsorted(bounds, g.post_created, side="right") - 1
    author, parent = g.post_author, g.post_parent
    learner = g.roles == ROLE_CODES["learner"]
    teacher = g.roles == ROLE_CODES["teacher"]
    enrolled = learner & g.in_scope & (g.node_ids > 0)

    def tally(weeks_of: np.ndarray) -> np.ndarray:
        return np.bincount(weeks_of, minlength=count)

    active_keys = np.unique(week * n + author)
    active_keys = active_keys[enrolled[active_keys % n]]
    reply = (parent >= 0) & (parent != author)
    received_keys = np.unique(week[reply] * n + parent[reply])
    active = tally(active_keys // n)
    never_replied_to = tally(active_keys[~np.isin(active_keys, received_keys)] // n)
    never_active = int(enrolled.sum()) - active

    known = parent >= 0
    node_keys = np.unique(np.concatenate((week * n + author, week[known] * n + parent[known])))
    extra_nodes = tally(node_keys[~g.in_scope[node_keys % n]] // n)
    nodes = int(g.in_scope.sum()) + extra_nodes

    edge_keys = np.unique((week[reply] * n + author[reply]) * n + parent[reply])
    edge_week, pair = np.divmod(edge_keys, n * n)
    source, target = np.divmod(pair, n)
    edges = tally(edge_week)
    mutual = tally(edge_week[np.isin((edge_week * n + target) * n + source, edge_keys)])
    interactions = tally(week[reply])
    with_teacher = reply & (teacher[author] | teacher[np.maximum(parent, 0)])
    teacher_interactions = tally(week[with_teacher])
    starting = tally(week[g.post_is_start])
    replies = tally(week) - starting

    # Questions started each week, with their first reply (from the whole course).
    started, first_post = np.unique(g.post_discussion[g.post_is_start], return_index=True)
    started_week = week[g.post_is_start][first_post]
    ids = table.discussion_id
    slot = np.minimum(np.searchsorted(ids, started), max(len(ids) - 1, 0))
    keep = (ids[slot] == started) if len(ids) else np.zeros(len(started), bool)
    slot, started_week = slot[keep], started_week[keep]
    question = table.is_question[slot]
    slot, started_week = slot[question], started_week[question]
    created, delay = table.created[slot], table.first_reply[slot] - table.created[slot]
    now = activity.now_ts
    questions = tally(started_week)
    unanswered = {}
    for label, after in UNANSWERED_AFTER.items():
        judged = created <= now - after
        late = judged & ~(delay <= after)
        unanswered[label] = (tally(started_week[late]).tolist(),
                             tally(started_week[judged]).tolist())
    answered = ~np.isnan(delay)
    medians = _weekly_median(started_week[answered], delay[answered], count)

    columns = {
        "active": active.tolist(), "nodes": nodes.tolist(), "edges": edges.tolist(),
        "mutual": mutual.tolist(), "interactions": interactions.tolist(),
        "teacher": teacher_interactions.tolist(), "never_active": never_active.tolist(),
        "never_replied_to": never_replied_to.tolist(), "questions": questions.tolist(),
        "starting": starting.tolist(), "replies": replies.tolist(),
    }
    enrolled_count = int(enrolled.sum())
    trend = []
    for w, start in enumerate(starts):
        c = {name: values[w] for name, values in columns.items()}
        isolated = c["never_active"] + c["never_replied_to"]
        figures: dict[str, Any] = {
            "week_start": start.date().isoformat(),
            "enrolled_learners": enrolled_count,
            "active_learners": c["active"],
            "active_share": _safe_ratio(c["active"], enrolled_count),
            "nodes": c["nodes"],
            "edges": c["edges"],
            "interactions": c["interactions"],
            "density": _safe_ratio(c["edges"], c["nodes"] * (c["nodes"] - 1)),
            "reciprocity": _safe_ratio(c["mutual"], c["edges"]),
            "teacher_share": _safe_ratio(c["teacher"], c["interactions"]),
            "isolated_learners": isolated,
            "isolated_share": _safe_ratio(isolated, enrolled_count),
            "never_active": c["never_active"],
            "never_replied_to": c["never_replied_to"],
            "questions": c["questions"],
        }
        for label, (late, judged) in unanswered.items():
            figures[f"unanswered_{label}"] = late[w]
            figures[f"unanswered_{label}_share"] = _safe_ratio(late[w], judged[w])
        figures["median_first_reply_seconds"] = medians[w]
        figures["starting_posts"] = c["starting"]
        figures["replies"] = c["replies"]
        figures["conversation_ratio"] = _safe_ratio(c["replies"], c["starting"])
        trend.append(figures)
    return trend


def _weekly_median(weeks: np.ndarray, values: np.ndarray, count: int) -> list[float | None]:
    """Return the median of `values` in each week (None for weeks without any)."""
    medians: list[float | None] = [None] * count
    if not len(values):
        return medians
    order = np.lexsort((values, weeks))
    weeks, values = weeks[order], values[order]
    sizes = np.bincount(weeks, minlength=count)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    for w in np.flatnonzero(sizes).tolist():
        lo = starts[w] + (sizes[w] - 1) // 2
        hi = starts[w] + sizes[w] // 2
        medians[w] = float((values[lo] + values[hi]) / 2)
    return medians


def weekly_trend_by_graphs(activity: CourseActivity, view: View, table: DiscussionTable, *,
                           weeks: int = TREND_WEEKS) -> list[dict[str, Any]]:
    """Return the same trend by building each week's graph (the slow reference for tests)."""
    if not len(activity.columns):
        return []
    trend = []
    for start in _week_starts(activity, weeks):
        end = min(start + timedelta(weeks=1), activity.now)
        week = View(view.window, view.group_id, view.audience,
                    since=start.timestamp(), until=end.timestamp() - 1e-6)
        figures = course_health(build_graph(activity, week), table, now=activity.now_ts)
        trend.append({"week_start": start.date().isoformat(), **figures})
    return trend
