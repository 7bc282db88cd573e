"""Who could help whom: ambassadors, isolated learners, unanswered discussions, peers to ask.

Every item carries a `Reason` (a message key with parameters) that renders in Italian or
English. Teachers and the web-service user are never candidates for peer roles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from .activity import CourseActivity, PersonRecord
from .graph import View, build_graph
from .health import discussion_table
from .metrics import ViewMetrics
from .reasons import Reason, with_first
from .topics import STEM, surface_forms, topic_index

DAY = 86400.0
#: A discussion whose question is at least this similar to the peer's question is "on topic".
ON_TOPIC = 0.12
#: Days over which a peer's last post loses weight (exponential decay).
RECENCY_DAYS = 14.0
#: Weights of the peer score: topic, past helpfulness, recent activity.
PEER_WEIGHTS = (0.55, 0.25, 0.20)
#: Each prompt a peer already has divides their score by (1 + LOAD_PENALTY × load).
LOAD_PENALTY = 0.5


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


@dataclass(frozen=True, slots=True)
class PeerSuggestion:
    """A peer who could answer a discussion, with the parts of their score."""

    person_id: int
    discussion_id: int
    score: float
    reason: Reason
    similarity: float
    answered_on_topic: int
    topic_terms: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "discussion_id": self.discussion_id,
                "score": round(self.score, 6), "similarity": round(self.similarity, 6),
                "answered_on_topic": self.answered_on_topic,
                "topic_terms": list(self.topic_terms), "reason": self.reason.to_json()}


def is_peer(person: PersonRecord | None) -> bool:
    """Tell whether someone may be proposed as a peer (an active learner account)."""
    return (person is not None and person.role == "learner" and person.active
            and not person.deleted)


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
    eligible = np.array([is_peer(activity.person_by_id.get(int(i))) for i in ids.tolist()],
                        bool) if len(ids) else np.zeros(0, bool)
    eligible &= values["answered"] >= 2
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


@dataclass(frozen=True, slots=True)
class _Answers:
    """Who answered which discussion (first post in someone else's discussion), and if first."""

    person: np.ndarray
    discussion: np.ndarray
    first: np.ndarray
    last_post: dict[int, float]


def _answers(activity: CourseActivity) -> _Answers:
    columns = activity.columns
    answer = ~columns.is_start & (columns.author != columns.discussion_author) & (
        columns.author > 0)
    posts = np.flatnonzero(answer)
    keys = columns.author[posts] * (int(columns.discussion.max(initial=0)) + 1) + \
        columns.discussion[posts]
    _, first_of_pair = np.unique(keys, return_index=True)
    pairs = posts[first_of_pair]
    _, first_in_discussion = np.unique(columns.discussion[posts], return_index=True)
    first_posts = set(posts[first_in_discussion].tolist())
    last: dict[int, float] = {}
    for author, created in zip(columns.author.tolist(), columns.created.tolist(), strict=True):
        last[author] = created  # posts are in time order: the last one wins
    return _Answers(columns.author[pairs], columns.discussion[pairs],
                    np.array([p in first_posts for p in pairs.tolist()], bool), last)


def rank_peers_for_discussion(activity: CourseActivity, discussion_id: int, *, k: int,
                              load: Mapping[int, int] | None = None,
                              exclude: Iterable[int] = ()) -> list[PeerSuggestion]:
    """Rank the `k` peers most likely to answer a discussion, with a reason for each.

    The score mixes topic similarity (the question against all a peer wrote, and the
    questions they answered), past helpfulness and recent activity, divided by a load
    penalty for peers already asked often. The asker, teachers, the web-service user,
    people who already took part, people outside the discussion's group and `exclude` are
    left out.
    """
    discussion = activity.discussion_by_id[discussion_id]
    load = load or {}
    excluded = set(exclude) | {discussion.author_id}
    excluded |= {p.author_id for p in activity.posts if p.discussion_id == discussion_id}
    index = topic_index(activity)
    answers = _answers(activity)
    question_text = index.question_text[discussion_id]
    question = index.vector(question_text)

    candidates = sorted(
        p.id for p in activity.people
        if is_peer(p) and p.id not in excluded and p.id in answers.last_post
        and (discussion.group_id is None or discussion.group_id in p.group_ids)
    )
    if not candidates or k <= 0:
        return []
    ids = np.array(candidates, np.int64)
    rows = np.array([index.person_row(i) if index.person_row(i) is not None else -1
                     for i in candidates])
    similarity = np.zeros(len(ids))
    has_row = rows >= 0
    if has_row.any():
        similarity[has_row] = (index.people[rows[has_row]] @ question.T).toarray().ravel()

    # Questions each candidate answered, and how close each is to this one.
    discussion_similarity = (index.discussions @ question.T).toarray().ravel()
    answered_slot = np.searchsorted(index.discussion_ids, answers.discussion)
    answered_slot = np.minimum(answered_slot, max(len(index.discussion_ids) - 1, 0))
    on_topic = discussion_similarity[answered_slot] >= ON_TOPIC if len(
        discussion_similarity) else np.zeros(len(answered_slot), bool)
    position = np.minimum(np.searchsorted(ids, answers.person), len(ids) - 1)
    valid = ids[position] == answers.person
    answered = np.bincount(position[valid], minlength=len(ids))
    topical = np.bincount(position[valid & on_topic], minlength=len(ids))
    topical_first = np.bincount(position[valid & on_topic & answers.first], minlength=len(ids))
    first = np.bincount(position[valid & answers.first], minlength=len(ids))

    days = np.array([(activity.now_ts - answers.last_post[i]) / DAY for i in candidates])
    topic = 0.5 * similarity / max(similarity.max(), 1e-9) + \
        0.5 * topical / max(topical.max(), 1)
    helpful = np.log1p(answered) / max(np.log1p(answered.max()), 1e-9)
    recency = np.exp(-np.maximum(days, 0) / RECENCY_DAYS)
    w_topic, w_helpful, w_recent = PEER_WEIGHTS
    base = w_topic * topic + w_helpful * helpful + w_recent * recency
    penalty = np.array([1 + LOAD_PENALTY * max(int(load.get(i, 0)), 0) for i in candidates])
    score = base / penalty

    forms = surface_forms(question_text)
    best = np.lexsort((ids, -score))[:k]
    result = []
    for slot in best.tolist():
        shared = _shared_stems(index, question, rows[slot])
        terms = tuple(forms.get(stem, stem) for stem in shared)
        topic_words = _topic_phrase(question_text, shared, forms)
        if topical[slot] and terms:
            reason = with_first("peer.topic_answers", {"num": int(topical[slot]),
                                                       "first": int(topical_first[slot]),
                                                       "topic": topic_words})
        elif similarity[slot] > 0 and terms:
            reason = Reason("peer.topic_posts", {"topic": topic_words})
        elif answered[slot]:
            reason = with_first("peer.helpful", {"num": int(answered[slot]),
                                                 "first": int(first[slot])})
        elif days[slot] < 1:
            reason = Reason("peer.today")
        else:
            reason = Reason("peer.recent", {"num": int(days[slot])})
        result.append(PeerSuggestion(int(ids[slot]), discussion_id, float(score[slot]), reason,
                                     float(similarity[slot]), int(topical[slot]), terms))
    return result


def _shared_stems(index, question, row: int, limit: int = 2) -> tuple[str, ...]:
    """Return the stems weighing most in both the question and the peer's posts, strongest first."""
    if row < 0:
        return ()
    overlap = question.multiply(index.people[row]).tocoo()
    if not overlap.nnz:
        return ()
    top = np.argsort(-overlap.data, kind="stable")[:limit]
    return tuple(str(index.terms[overlap.col[i]]) for i in top.tolist())


def _topic_phrase(question_text: str, shared: tuple[str, ...], forms: Mapping[str, str]) -> str:
    """Name the topic: the question's words from one stem to the other if they are at most
    one short word apart ("rubriche di valutazione"), else the strongest word."""
    if not shared:
        return ""
    if len(shared) > 1:
        words = re.findall(r"[^\W\d_]+", question_text.lower())
        places = [[i for i, w in enumerate(words) if len(w) >= 4 and w[:STEM] == stem]
                  for stem in shared[:2]]
        for i in places[0]:
            for j in places[1]:
                if 0 < abs(i - j) <= 2:
                    return " ".join(words[min(i, j): max(i, j) + 1])
    return forms.get(shared[0], shared[0])
