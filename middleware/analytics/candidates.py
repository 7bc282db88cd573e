"""Who could help whom: ambassadors, isolated learners, unanswered discussions, peers to ask.

Every item carries a `Reason` (a message key with parameters) that renders in Italian or
English. Teachers and the web-service user are never candidates for peer roles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from .activity import CourseActivity, contains, is_peer
from .graph import View, build_graph
from .health import discussion_table
from .metrics import ViewMetrics
from .reasons import Reason, with_first

__all__ = [
    "Candidate", "PeerSuggestion", "UnansweredDiscussion", "ambassador_candidates",
    "isolated_learners", "load_course_activity", "rank_peers_for_discussion",
    "unanswered_discussions",
]
from .peers import PeerSuggestion, rank_peers_for_discussion

DAY = 86400.0
#: Days over which a peer's last post loses weight (exponential decay).
RECENCY_DAYS = 14.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person proposed for something (an ambassador, a learner to reach), and why."""

    person_id: int
    score: float
    reason: Reason
    kind: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "score": round(self.score, 6), "kind": self.kind,
                "reason": self.reason.to_json()}


@dataclass(frozen=True, slots=True)
class UnansweredDiscussion:
    """A question nobody but its author has replied to."""

    discussion_id: int
    author_id: int | None
    title: str
    created: datetime
    group_id: int | None
    score: float  # days waiting
    reason: Reason

    def to_json(self) -> dict[str, Any]:
        return {"discussion_id": self.discussion_id, "author_id": self.author_id,
                "title": self.title, "created": self.created.isoformat(),
                "group_id": self.group_id, "score": round(self.score, 6),
                "reason": self.reason.to_json()}


def _rank(values: np.ndarray) -> np.ndarray:
    """Return each value's percentile rank in (0, 1] (ties share the highest rank)."""
    if not len(values):
        return values.astype(float)
    order = np.sort(values)
    return np.searchsorted(order, values, side="right") / len(values)


def ambassador_candidates(activity: CourseActivity, metrics: ViewMetrics, *, limit: int
                          ) -> list[Candidate]:
    """Rank learners who answer others, in conversations that go both ways, across groups."""
    values = metrics.values
    ids = metrics.node_ids
    eligible = contains(activity.peer_ids, ids) & (values["answered"] >= 2)
    index = np.flatnonzero(eligible)
    if not len(index) or limit <= 0:
        return []
    answered = values["answered"][index].astype(float)
    first = values["first_replies"][index].astype(float)
    reciprocity = values["reciprocity"][index]
    bridging = _rank(values["betweenness"][index]) * (values["betweenness"][index] > 0)
    people = values["out_degree"][index].astype(float)
    score = (0.35 * answered / answered.max() + 0.15 * first / max(first.max(), 1)
             + 0.20 * reciprocity + 0.20 * bridging + 0.10 * people / max(people.max(), 1))
    order = np.lexsort((ids[index], -score))[:limit]
    result = []
    for slot in order.tolist():
        i = int(index[slot])
        mutual = int(round(reciprocity[slot] * (values["in_degree"][i]
                                                + values["out_degree"][i]) / 2))
        params = {"num": int(answered[slot]), "first": int(first[slot]), "mutual": mutual}
        if bridging[slot] >= 0.9 and len(index) >= 10:
            key = "ambassador.bridge"
        elif reciprocity[slot] >= 0.5:
            key = "ambassador.reciprocal"
        else:
            key = "ambassador.helpful"
        result.append(Candidate(int(ids[i]), float(score[slot]), with_first(key, params),
                                key.split(".")[1]))
    return result


def isolated_learners(activity: CourseActivity, *, silent_days: int) -> list[Candidate]:
    """List learners nobody answers, who never wrote, or who went silent for `silent_days`."""
    graph = build_graph(activity, View())
    n = graph.node_count
    posts = np.bincount(graph.post_author, minlength=n)
    reply = (graph.post_parent >= 0) & (graph.post_parent != graph.post_author)
    received = np.bincount(graph.post_parent[reply], minlength=n)
    last = np.full(n, -np.inf)
    np.maximum.at(last, graph.post_author, graph.post_created)
    now = activity.now_ts
    result = []
    for i, node in enumerate(graph.node_ids.tolist()):
        person = activity.person_by_id.get(node)
        if not is_peer(person):
            continue
        if posts[i] == 0:
            if person.last_access is not None:
                days = max(0, int((now - person.last_access.timestamp()) // DAY))
                if days < silent_days:
                    # Reads the course but does not write: the likeliest to answer a nudge.
                    result.append(Candidate(node, 0.6 + 0.2 * (1 - days / silent_days),
                                            Reason("isolated.lurking", {"num": days}),
                                            "lurking"))
                    continue
            result.append(Candidate(node, 0.4, Reason("isolated.never_active"), "never_active"))
        elif received[i] == 0:
            days = (now - last[i]) / DAY
            result.append(Candidate(node, 0.8 + 0.2 * math.exp(-days / RECENCY_DAYS),
                                    Reason("isolated.never_replied_to", {"num": int(posts[i])}),
                                    "never_replied_to"))
        elif now - last[i] >= silent_days * DAY:
            days = int((now - last[i]) // DAY)
            result.append(Candidate(node, 0.3 + 0.2 * min(days / 60, 1),
                                    Reason("isolated.silent", {"num": days}), "silent"))
    result.sort(key=lambda c: (-c.score, c.person_id))
    return result


def unanswered_discussions(activity: CourseActivity, *, older_than: timedelta
                           ) -> list[UnansweredDiscussion]:
    """List questions older than `older_than` that nobody but their author answered."""
    table = discussion_table(activity, teacher_view=True)
    now = activity.now_ts
    limit = now - older_than.total_seconds()
    result = []
    waiting = table.is_question & np.isnan(table.first_reply) & (table.created <= limit)
    for slot in np.flatnonzero(waiting).tolist():
        discussion = activity.discussion_by_id[int(table.discussion_id[slot])]
        author = activity.person_by_id.get(discussion.author_id or 0)
        if author is not None and author.role == "service":
            continue  # the web-service user's own posts are not questions
        hours = (now - table.created[slot]) / 3600
        reason = (Reason("unanswered.hours", {"num": int(hours)}) if hours < 48
                  else Reason("unanswered.days", {"num": int(hours // 24)}))
        result.append(UnansweredDiscussion(discussion.id, discussion.author_id,
                                           discussion.title, discussion.created,
                                           discussion.group_id, hours / 24, reason))
    result.sort(key=lambda d: (-d.score, d.discussion_id))
    return result


def load_course_activity(session: Any, course_id: int, *, now: datetime | None = None
                         ) -> CourseActivity:
    """Load a course's activity from the database (`operations.load_course_activity`)."""
    from .operations import load_course_activity as load

    return load(session, course_id, now=now)
