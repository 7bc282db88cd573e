"""A course's forum activity as plain data: people, discussions and posts, plus columnar views.

Ids: people and discussions use Circolo's ids; posts use Moodle's post ids (which `parent_id`
refers to). Everything here is immutable; the numpy columns are built once per activity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np

from middleware.models.community import LEARNER, SERVICE, TEACHER

#: Forum types whose discussions are announcements, not questions that await an answer.
ANNOUNCEMENT_FORUMS = frozenset({"news"})

#: Role of the anonymous nodes that stand for posts whose author Moodle hides (deleted users).
ANONYMOUS = "anonymous"

ROLE_CODES = {LEARNER: 0, TEACHER: 1, SERVICE: 2, ANONYMOUS: 3}
ROLE_NAMES = tuple(ROLE_CODES)


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """Someone enrolled in the course, or who wrote in its forums."""

    id: int
    role: str = LEARNER
    group_ids: frozenset[int] = frozenset()
    active: bool = True  # an active enrolment
    last_access: datetime | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class DiscussionRecord:
    """A discussion: its starting post is its question."""

    id: int
    author_id: int | None
    title: str
    created: datetime
    group_id: int | None = None  # None: all participants
    forum_type: str = "general"

    @property
    def is_question(self) -> bool:
        return self.forum_type not in ANNOUNCEMENT_FORUMS


@dataclass(frozen=True, slots=True)
class PostRecord:
    """A post; `author_id` is None when Moodle hides its (deleted) author."""

    id: int
    discussion_id: int
    parent_id: int | None
    author_id: int | None
    created: datetime
    private: bool = False
    group_id: int | None = None
    text: str = ""


def is_peer(person: PersonRecord | None) -> bool:
    """Tell whether someone may be proposed as a peer (an active, non-deleted learner)."""
    return (person is not None and person.role == LEARNER and person.active
            and not person.deleted)


def contains(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Tell which `values` are in `sorted_ids` (a sorted array): np.isin, faster when small."""
    if not len(sorted_ids):
        return np.zeros(len(values), bool)
    slot = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return sorted_ids[slot] == values


def anonymous_node(discussion_id: int) -> int:
    """Return the node id standing for the hidden authors of one discussion (always negative).

    One anonymous node per discussion: posts of deleted users stay in the graph without
    merging every deleted user of the course into one fake hub.
    """
    return -int(discussion_id)


def is_anonymous(node_id: int) -> bool:
    return node_id < 0


@dataclass(frozen=True, slots=True)
class PostColumns:
    """The posts as numpy columns, sorted by creation time."""

    post_id: np.ndarray  # int64
    discussion: np.ndarray  # int64 discussion ids
    author: np.ndarray  # int64 node ids (anonymous nodes negative)
    parent_author: np.ndarray  # int64 node id of the parent's author; NO_PARENT if none/unknown
    is_start: np.ndarray  # bool: the discussion's starting post
    created: np.ndarray  # float64 epoch seconds
    private: np.ndarray  # bool
    group: np.ndarray  # int64, -1 for all participants
    discussion_created: np.ndarray  # float64 epoch seconds of the post's discussion
    discussion_author: np.ndarray  # int64 node id of the discussion's author

    def __len__(self) -> int:
        return len(self.post_id)


#: The `parent_author` of starting posts and of replies whose parent is unknown.
NO_PARENT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class CourseActivity:
    """Everything analytics needs to know about one course, at one moment (`now`)."""

    course_id: int
    now: datetime
    people: tuple[PersonRecord, ...]
    discussions: tuple[DiscussionRecord, ...]
    posts: tuple[PostRecord, ...]
    group_ids: tuple[int, ...] = field(default=())

    @classmethod
    def build(cls, course_id: int, now: datetime, people: Iterable[PersonRecord],
              discussions: Iterable[DiscussionRecord], posts: Iterable[PostRecord],
              group_ids: Iterable[int] | None = None) -> CourseActivity:
        """Assemble an activity, adding people who wrote posts but are not in `people`."""
        people = list(people)
        discussions = tuple(discussions)
        posts = tuple(posts)
        known = {p.id for p in people}
        authors = {p.author_id for p in posts} | {d.author_id for d in discussions}
        for person_id in sorted(a for a in authors if a is not None and a not in known):
            people.append(PersonRecord(person_id, active=False))
        if group_ids is None:
            groups: set[int] = set()
            for person in people:
                groups |= person.group_ids
            groups |= {d.group_id for d in discussions if d.group_id is not None}
            group_ids = sorted(groups)
        return cls(course_id, now, tuple(people), discussions, posts, tuple(group_ids))

    @cached_property
    def person_by_id(self) -> dict[int, PersonRecord]:
        return {p.id: p for p in self.people}

    @cached_property
    def discussion_by_id(self) -> dict[int, DiscussionRecord]:
        return {d.id: d for d in self.discussions}

    @cached_property
    def now_ts(self) -> float:
        return self.now.timestamp()

    def role_of(self, node_id: int) -> str:
        if is_anonymous(node_id):
            return ANONYMOUS
        person = self.person_by_id.get(node_id)
        return person.role if person else LEARNER

    @cached_property
    def enrolled_ids(self) -> np.ndarray:
        """Return the ids of people with an active enrolment (sorted)."""
        return np.array(sorted(p.id for p in self.people if p.active and not p.deleted),
                        np.int64)

    @cached_property
    def peer_ids(self) -> np.ndarray:
        """Return the ids of people who may be proposed as peers (`is_peer`), sorted."""
        return np.array(sorted(p.id for p in self.people if is_peer(p)), np.int64)

    @cached_property
    def _role_table(self) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array(sorted(self.person_by_id), np.int64)
        codes = np.array([ROLE_CODES[self.person_by_id[i].role] for i in ids.tolist()], np.int8)
        return ids, codes

    def roles_of(self, node_ids: np.ndarray) -> np.ndarray:
        """Return the role codes of sorted or unsorted node ids (anonymous when negative)."""
        ids, codes = self._role_table
        roles = np.full(len(node_ids), ROLE_CODES[LEARNER], np.int8)
        if len(ids):
            slot = np.minimum(np.searchsorted(ids, node_ids), len(ids) - 1)
            known = ids[slot] == node_ids
            roles[known] = codes[slot[known]]
        roles[node_ids < 0] = ROLE_CODES[ANONYMOUS]
        return roles

    @cached_property
    def group_members(self) -> dict[int, np.ndarray]:
        """Return each group's member ids (sorted)."""
        members: dict[int, list[int]] = {g: [] for g in self.group_ids}
        for person in self.people:
            for group in person.group_ids:
                members.setdefault(group, []).append(person.id)
        return {g: np.array(sorted(ids), np.int64) for g, ids in members.items()}

    @cached_property
    def group_posts(self) -> dict[int, np.ndarray]:
        """Return, per group, the indices (in `columns`, time order) of the posts it sees.

        A group sees its own discussions, and what its members wrote in course-wide ones.
        """
        columns = self.columns
        by_group: dict[int, list[np.ndarray]] = {g: [] for g in self.group_members}
        own = np.flatnonzero(columns.group >= 0)
        order = np.argsort(columns.group[own], kind="stable")
        own = own[order]
        groups, starts = np.unique(columns.group[own], return_index=True)
        if len(own):
            for group, part in zip(groups.tolist(), np.split(own, starts[1:]), strict=True):
                by_group.setdefault(group, []).append(part)
        course_wide = np.flatnonzero(columns.group < 0)
        author_groups = {p.id: p.group_ids for p in self.people if p.group_ids}
        extra: dict[int, list[int]] = {}
        for index, author in zip(course_wide.tolist(), columns.author[course_wide].tolist(),
                                 strict=True):
            for group in author_groups.get(author, ()):
                extra.setdefault(group, []).append(index)
        for group, indices in extra.items():
            by_group.setdefault(group, []).append(np.array(indices, np.int64))
        return {g: np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
                for g, parts in by_group.items()}

    @cached_property
    def columns(self) -> PostColumns:
        """Return the posts as columns (built once)."""
        posts = self.posts
        count = len(posts)
        post_id = np.fromiter((p.id for p in posts), np.int64, count)
        discussion = np.fromiter((p.discussion_id for p in posts), np.int64, count)
        author = np.fromiter(
            (p.author_id if p.author_id is not None else -p.discussion_id for p in posts),
            np.int64, count)
        parent = np.fromiter(
            (p.parent_id if p.parent_id is not None else -1 for p in posts), np.int64, count)
        created = np.fromiter((p.created.timestamp() for p in posts), np.float64, count)
        private = np.fromiter((p.private for p in posts), bool, count)
        group = np.fromiter(
            (p.group_id if p.group_id is not None else -1 for p in posts), np.int64, count)

        order = np.argsort(created, kind="stable")
        post_id, discussion, author, parent, created, private, group = (
            a[order] for a in (post_id, discussion, author, parent, created, private, group))

        # Parent author by a sorted lookup of the parent's post id.
        by_id = np.argsort(post_id, kind="stable")
        sorted_ids = post_id[by_id]
        slot = np.searchsorted(sorted_ids, parent)
        slot_clipped = np.minimum(slot, max(count - 1, 0))
        found = (parent >= 0) & (count > 0)
        if count:
            found &= sorted_ids[slot_clipped] == parent
        parent_author = np.full(count, NO_PARENT, np.int64)
        if count:
            parent_author[found] = author[by_id[slot_clipped[found]]]
        is_start = parent < 0

        # Discussion creation time and author, by a sorted lookup of the discussion id.
        d_ids = np.fromiter((d.id for d in self.discussions), np.int64, len(self.discussions))
        d_created = np.fromiter((d.created.timestamp() for d in self.discussions), np.float64,
                                len(self.discussions))
        d_author = np.fromiter(
            (d.author_id if d.author_id is not None else -d.id for d in self.discussions),
            np.int64, len(self.discussions))
        d_order = np.argsort(d_ids)
        d_ids, d_created, d_author = d_ids[d_order], d_created[d_order], d_author[d_order]
        d_slot = np.minimum(np.searchsorted(d_ids, discussion), max(len(d_ids) - 1, 0))
        if len(d_ids):
            known = d_ids[d_slot] == discussion
            discussion_created = np.where(known, d_created[d_slot], np.nan)
            discussion_author = np.where(known, d_author[d_slot], -discussion)
        else:
            discussion_created = np.full(count, np.nan)
            discussion_author = -discussion
        # A discussion without a known creation time starts at its first post.
        missing = np.isnan(discussion_created)
        if missing.any():
            first_time: dict[int, float] = {}
            for d, t in zip(discussion[missing].tolist(), created[missing].tolist(), strict=True):
                first_time.setdefault(d, t)
            discussion_created[missing] = [first_time[d] for d in discussion[missing].tolist()]

        return PostColumns(post_id, discussion, author, parent_author, is_start, created,
                           private, group, discussion_created, discussion_author)
