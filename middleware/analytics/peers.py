"""Rank the peers who could answer a discussion: topic, past helpfulness, recency, load."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .activity import CourseActivity, contains, is_peer
from .reasons import Reason, with_first
from .topics import STEM, TopicIndex, surface_forms, topic_index

DAY = 86400.0
#: A discussion whose question is at least this similar to the asked one is "on topic".
ON_TOPIC = 0.12
#: Days over which a peer's last post loses weight (exponential decay).
RECENCY_DAYS = 14.0
#: Weights of the peer score: topic, past helpfulness, recent activity.
PEER_WEIGHTS = (0.55, 0.25, 0.20)
#: Each prompt a peer already has divides their score by (1 + LOAD_PENALTY × load).
LOAD_PENALTY = 0.5


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


@dataclass(frozen=True)
class PeerPool:
    """Everything about possible peers that does not depend on the question (built once)."""

    ids: np.ndarray  # sorted ids of learners who wrote at least once
    rows: np.ndarray  # row in the topic index, -1 if none
    last_post: np.ndarray  # epoch seconds
    answered: np.ndarray  # others' discussions answered
    first: np.ndarray  # ... of which as the first reply
    answer_peer: np.ndarray  # per answer: position in `ids`
    answer_discussion_slot: np.ndarray  # per answer: row in the index's discussions
    answer_first: np.ndarray  # per answer: the discussion's first reply


def build_peer_pool(activity: CourseActivity, index: TopicIndex) -> PeerPool:
    columns = activity.columns
    authors = columns.author
    last: dict[int, float] = dict(zip(authors.tolist(), columns.created.tolist(), strict=True))
    people = sorted((p for p in activity.people if is_peer(p) and p.id in last),
                    key=lambda p: p.id)
    ids = np.array([p.id for p in people], np.int64)
    rows = np.array([-1 if (row := index.person_row(i)) is None else row
                     for i in ids.tolist()], np.int64)

    # An answer: someone's first post in another person's discussion (posts are time-ordered).
    answer = ~columns.is_start & (authors != columns.discussion_author) & (authors > 0)
    posts = np.flatnonzero(answer)
    width = int(columns.discussion.max(initial=0)) + 1
    _, first_of_pair = np.unique(authors[posts] * width + columns.discussion[posts],
                                 return_index=True)
    pairs = posts[first_of_pair]
    _, first_in_discussion = np.unique(columns.discussion[posts], return_index=True)
    is_first = np.isin(pairs, posts[first_in_discussion])
    position = np.minimum(np.searchsorted(ids, authors[pairs]), max(len(ids) - 1, 0))
    keep = (ids[position] == authors[pairs]) if len(ids) else np.zeros(len(pairs), bool)
    position, pairs, is_first = position[keep], pairs[keep], is_first[keep]
    slot = np.searchsorted(index.discussion_ids, columns.discussion[pairs])
    return PeerPool(
        ids=ids,
        rows=rows,
        last_post=np.array([last[i] for i in ids.tolist()], float),
        answered=np.bincount(position, minlength=len(ids)),
        first=np.bincount(position[is_first], minlength=len(ids)),
        answer_peer=position,
        answer_discussion_slot=np.minimum(slot, max(len(index.discussion_ids) - 1, 0)),
        answer_first=is_first,
    )


_POOLS: dict[int, tuple[weakref.ref, PeerPool]] = {}


def peer_pool(activity: CourseActivity) -> PeerPool:
    """Return the activity's peer pool, built once per activity object."""
    cached = _POOLS.get(id(activity))
    if cached is not None and cached[0]() is activity:
        return cached[1]
    pool = build_peer_pool(activity, topic_index(activity))
    key = id(activity)
    _POOLS[key] = (weakref.ref(activity, lambda _ref: _POOLS.pop(key, None)), pool)
    return pool


def rank_peers_for_discussion(activity: CourseActivity, discussion_id: int, *, k: int,
                              load: Mapping[int, int] | None = None,
                              exclude: Iterable[int] = ()) -> list[PeerSuggestion]:
    """Rank the `k` peers most likely to answer a discussion, with a reason for each.

    The score mixes topic similarity (the question against all a peer wrote, and against the
    questions they answered), past helpfulness and recent activity, divided by a load
    penalty for peers already asked often. Left out: the asker, teachers, the web-service
    user, people who already took part, people outside the discussion's group, `exclude`.
    """
    discussion = activity.discussion_by_id[discussion_id]
    index, pool = topic_index(activity), peer_pool(activity)
    columns = activity.columns
    taking_part = columns.author[columns.discussion == discussion_id]
    excluded = np.array(sorted({*exclude, *taking_part.tolist(), discussion.author_id or 0}),
                        np.int64)
    allowed = ~np.isin(pool.ids, excluded)
    if discussion.group_id is not None:
        members = activity.group_members.get(discussion.group_id, np.zeros(0, np.int64))
        allowed &= contains(members, pool.ids)
    chosen = np.flatnonzero(allowed)
    if not len(chosen) or k <= 0:
        return []

    question_text = index.question_text[discussion_id]
    question = index.vector(question_text)
    similarity = np.zeros(len(pool.ids))
    has_row = pool.rows >= 0
    similarity[has_row] = (index.people[pool.rows[has_row]] @ question.T).toarray().ravel()
    discussion_similarity = (index.discussions @ question.T).toarray().ravel()
    on_topic = (discussion_similarity[pool.answer_discussion_slot] >= ON_TOPIC
                if len(discussion_similarity) else np.zeros(len(pool.answer_peer), bool))
    topical = np.bincount(pool.answer_peer[on_topic], minlength=len(pool.ids))
    topical_first = np.bincount(pool.answer_peer[on_topic & pool.answer_first],
                                minlength=len(pool.ids))

    ids = pool.ids[chosen]
    sim, top = similarity[chosen], topical[chosen]
    answered, first = pool.answered[chosen], pool.first[chosen]
    days = np.maximum(activity.now_ts - pool.last_post[chosen], 0) / DAY
    topic = 0.5 * sim / max(sim.max(), 1e-9) + 0.5 * top / max(top.max(), 1)
    helpful = np.log1p(answered) / max(np.log1p(answered.max()), 1e-9)
    recency = np.exp(-days / RECENCY_DAYS)
    w_topic, w_helpful, w_recent = PEER_WEIGHTS
    penalty = np.ones(len(ids))
    if load:
        asked = np.array(sorted(load), np.int64)
        times = np.array([max(int(load[i]), 0) for i in asked.tolist()], float)
        slot = np.minimum(np.searchsorted(asked, ids), len(asked) - 1)
        hit = asked[slot] == ids
        penalty[hit] += LOAD_PENALTY * times[slot[hit]]
    score = (w_topic * topic + w_helpful * helpful + w_recent * recency) / penalty

    forms = surface_forms(question_text)
    result = []
    for slot in np.lexsort((ids, -score))[:k].tolist():
        shared = _shared_stems(index, question, int(pool.rows[chosen[slot]]))
        phrase = _topic_phrase(question_text, shared, forms)
        if top[slot] and phrase:
            reason = with_first("peer.topic_answers", {
                "num": int(top[slot]), "first": int(topical_first[chosen[slot]]),
                "topic": phrase})
        elif sim[slot] > 0 and phrase:
            reason = Reason("peer.topic_posts", {"topic": phrase})
        elif answered[slot]:
            reason = with_first("peer.helpful", {"num": int(answered[slot]),
                                                 "first": int(first[slot])})
        elif days[slot] < 1:
            reason = Reason("peer.today")
        else:
            reason = Reason("peer.recent", {"num": int(days[slot])})
        result.append(PeerSuggestion(
            int(ids[slot]), discussion_id, float(score[slot]), reason, float(sim[slot]),
            int(top[slot]), tuple(forms.get(stem, stem) for stem in shared)))
    return result


def _shared_stems(index: TopicIndex, question, row: int, limit: int = 2) -> tuple[str, ...]:
    """Return the stems weighing most in both the question and the peer's posts, strongest first."""
    if row < 0:
        return ()
    overlap = question.multiply(index.people[row]).tocoo()
    if not overlap.nnz:
        return ()
    top = np.argsort(-overlap.data, kind="stable")[:limit]
    return tuple(str(index.terms[overlap.col[i]]) for i in top.tolist())


def _topic_phrase(question_text: str, shared: tuple[str, ...], forms: Mapping[str, str]) -> str:
    """Name the topic: the question's words from one stem to the other when at most one short
    word lies between them ("rubriche di valutazione"), else the strongest word."""
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
