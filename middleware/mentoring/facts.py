"""The plain data rule evaluation reads: course activity, settings, prompt history.

Everything here is immutable and free of the database, so rules are cheap to test.
Ids are Circolo's (person, discussion); posts keep Moodle's ids because `parent_id` refers to them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

LEARNER = "learner"
TEACHER = "teacher"

# Rules (what a teacher switches on) and the prompt kinds they produce (each has a template).
UNANSWERED = "unanswered"
BRIDGING = "bridging"
WELCOME = "welcome"
AMBASSADOR = "ambassador"
RECOGNITION = "recognition"
RULES = (UNANSWERED, BRIDGING, WELCOME, AMBASSADOR, RECOGNITION)

ROUTE_PEER = "route_peer"
ROUTE_TEACHER = "route_teacher"
BRIDGE_BUDDY = "bridge_buddy"
BRIDGE_LEARNER = "bridge_learner"
WELCOME_AMBASSADOR = "welcome"
AMBASSADOR_INVITE = "ambassador_invite"
THANK_YOU = "recognition"
KINDS = (ROUTE_PEER, ROUTE_TEACHER, BRIDGE_BUDDY, BRIDGE_LEARNER, WELCOME_AMBASSADOR,
         AMBASSADOR_INVITE, THANK_YOU)
RULE_OF_KIND = {
    ROUTE_PEER: UNANSWERED, ROUTE_TEACHER: UNANSWERED, BRIDGE_BUDDY: BRIDGING,
    BRIDGE_LEARNER: BRIDGING, WELCOME_AMBASSADOR: WELCOME, AMBASSADOR_INVITE: AMBASSADOR,
    THANK_YOU: RECOGNITION,
}
#: Kinds that ask a peer to act in a discussion: they fill ambassadors' queues and have outcomes.
ASKING_KINDS = frozenset({ROUTE_PEER, BRIDGE_BUDDY, WELCOME_AMBASSADOR})

#: Each rule's thresholds; a course's settings override any of them.
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    UNANSWERED: {"enabled": True, "hours": 24, "peers": 2, "teacher_hours": 72,
                 "max_age_days": 14},
    BRIDGING: {"enabled": True, "silent_days": 7, "grace_hours": 48, "cooldown_days": 14},
    WELCOME: {"enabled": True, "delay_hours": 2, "window_hours": 72},
    AMBASSADOR: {"enabled": True, "candidates": 3},
    RECOGNITION: {"enabled": True},
}

# Statuses of a past prompt that no longer count against anyone's caps.
INACTIVE_STATUSES = frozenset({"dropped", "withdrawn", "failed"})


@dataclass(frozen=True, slots=True)
class Member:
    """Someone in the course: role, name, language, time zone, since when they are here."""

    id: int
    role: str = LEARNER
    name: str = ""
    lang: str = ""
    timezone: str = ""
    first_seen_at: datetime | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class PostFact:
    id: int
    discussion_id: int
    author_id: int | None
    parent_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DiscussionFact:
    id: int
    title: str
    author_id: int | None
    created_at: datetime
    first_post_id: int | None = None
    is_question: bool = True  # not an announcement
    locked: bool = False


@dataclass(frozen=True)
class CourseFacts:
    """A course's forum activity at one moment, with peers ranked per open discussion."""

    course_id: int
    members: Mapping[int, Member]
    discussions: Mapping[int, DiscussionFact]
    posts: Sequence[PostFact]
    # discussion id → peers best placed to answer it, best first (from analytics).
    ranked_peers: Mapping[int, Sequence[int]] = field(default_factory=dict)
    # (person id, score) of learners analytics would make ambassadors, best first.
    ambassador_candidates: Sequence[tuple[int, float]] = ()

    @cached_property
    def posts_by_discussion(self) -> dict[int, list[PostFact]]:
        grouped: dict[int, list[PostFact]] = defaultdict(list)
        for post in sorted(self.posts, key=lambda p: (p.created_at, p.id)):
            grouped[post.discussion_id].append(post)
        return grouped

    @cached_property
    def posts_by_author(self) -> dict[int, list[PostFact]]:
        grouped: dict[int, list[PostFact]] = defaultdict(list)
        for post in sorted(self.posts, key=lambda p: (p.created_at, p.id)):
            if post.author_id is not None:
                grouped[post.author_id].append(post)
        return grouped

    @cached_property
    def post_by_id(self) -> dict[int, PostFact]:
        return {p.id: p for p in self.posts}

    def role(self, person_id: int | None) -> str:
        member = self.members.get(person_id) if person_id is not None else None
        return member.role if member else ""

    def is_learner(self, person_id: int | None) -> bool:
        return self.role(person_id) == LEARNER

    def _counts_as_answer(self, post: PostFact, to_author: int | None) -> bool:
        return (post.author_id != to_author
                and self.role(post.author_id) in (LEARNER, TEACHER))

    @cached_property
    def _answers(self) -> dict[int, list[PostFact]]:
        answers: dict[int, list[PostFact]] = {}
        for discussion_id, posts in self.posts_by_discussion.items():
            discussion = self.discussions.get(discussion_id)
            if discussion is not None:
                answers[discussion_id] = [p for p in posts if self._counts_as_answer(
                    p, discussion.author_id)]
        return answers

    @cached_property
    def _direct_replies(self) -> dict[int, list[PostFact]]:
        replies: dict[int, list[PostFact]] = defaultdict(list)
        for post in sorted(self.posts, key=lambda p: (p.created_at, p.id)):
            parent = self.post_by_id.get(post.parent_id) if post.parent_id else None
            if parent is not None and self._counts_as_answer(post, parent.author_id):
                replies[parent.id].append(post)
        return replies

    def answers(self, discussion_id: int) -> list[PostFact]:
        """Posts in a discussion by someone other than its author (teachers count, bots not)."""
        return self._answers.get(discussion_id, [])

    def first_answer(self, discussion_id: int) -> PostFact | None:
        answers = self.answers(discussion_id)
        return answers[0] if answers else None

    def replies_to(self, post: PostFact) -> list[PostFact]:
        """Replies by others to a post; a discussion's opening post is answered by any of them."""
        discussion = self.discussions.get(post.discussion_id)
        if discussion is not None and post.id == discussion.first_post_id:
            return self.answers(post.discussion_id)
        return self._direct_replies.get(post.id, [])


@dataclass(frozen=True, slots=True)
class PastPrompt:
    """A prompt already decided, whatever became of it."""

    id: int
    rule: str
    kind: str
    recipient_id: int
    created_at: datetime
    status: str = "queued"
    about_person_id: int | None = None
    discussion_id: int | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Preference:
    opted_out: bool = False
    stopped_rules: frozenset[str] = frozenset()
    snoozed_until: datetime | None = None


@dataclass(frozen=True)
class History:
    """What was already decided and what people chose: past prompts, preferences, ambassadors."""

    prompts: Sequence[PastPrompt] = ()
    preferences: Mapping[int, Preference] = field(default_factory=dict)
    # person id → ambassador status (suggested, invited, active, declined, stepped_down, ...)
    ambassadors: Mapping[int, str] = field(default_factory=dict)

    @cached_property
    def active_ambassadors(self) -> frozenset[int]:
        return frozenset(p for p, status in self.ambassadors.items() if status == "active")


@dataclass(frozen=True)
class RuleSettings:
    """A course's mentoring settings as evaluation reads them (defaults filled in)."""

    mode: str = "automatic"
    learner_weekly_cap: int = 2
    ambassador_weekly_cap: int = 5
    course_daily_cap: int = 20
    quiet_start_hour: int = 21
    quiet_end_hour: int = 8
    timezone: str = ""
    default_lang: str = "en"
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def rule(self, name: str) -> dict[str, Any]:
        """Return a rule's thresholds: the course's values over the defaults."""
        return {**DEFAULT_RULES[name], **dict(self.rules.get(name, {}))}

    def enabled(self, name: str) -> bool:
        return bool(self.rule(name)["enabled"])


@dataclass(frozen=True, slots=True)
class Decision:
    """Ask `recipient_id` something now (or once their quiet hours end), and why."""

    rule: str
    kind: str
    recipient_id: int
    reason_code: str
    reason: Mapping[str, Any]
    deliver_at: datetime
    discussion_id: int | None = None
    about_person_id: int | None = None


@dataclass(frozen=True, slots=True)
class Skip:
    """A prompt a rule wanted but the policy refused, and which limit refused it."""

    rule: str
    kind: str
    recipient_id: int | None
    limit: str
    discussion_id: int | None = None


@dataclass(frozen=True)
class Evaluation:
    decisions: tuple[Decision, ...]
    skipped: tuple[Skip, ...]
    # (person id, score): analytics candidates the teacher has not yet been shown.
    ambassador_suggestions: tuple[tuple[int, float], ...]
