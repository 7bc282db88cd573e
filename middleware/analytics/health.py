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


def weekly_trend(activity: CourseActivity, view: View, table: DiscussionTable, *,
                 weeks: int = TREND_WEEKS) -> list[dict[str, Any]]:
    """Return the health of each calendar week (Monday to Monday, UTC) up to `now`."""
    columns = activity.columns
    if not len(columns):
        return []
    now = activity.now
    monday = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=now.weekday())
    first = datetime.fromtimestamp(float(columns.created.min()), UTC)
    count = min(weeks, max(1, (monday - first).days // 7 + 2))
    trend = []
    for back in range(count - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        end = min(start + timedelta(weeks=1), now)
        week = View(view.window, view.group_id, view.audience,
                    since=start.timestamp(), until=end.timestamp() - 1e-6)
        figures = course_health(build_graph(activity, week), table, now=activity.now_ts)
        trend.append({"week_start": start.date().isoformat(), **figures})
    return trend
