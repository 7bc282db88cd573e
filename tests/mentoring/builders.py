"""Scripted course facts for rule tests: a few learners, a teacher, discussions and posts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from middleware.mentoring.facts import (
    LEARNER,
    TEACHER,
    CourseFacts,
    DiscussionFact,
    History,
    Member,
    PastPrompt,
    PostFact,
    Preference,
)

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday, noon UTC (13:00 in Rome)


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


@dataclass
class Script:
    """Build a course's facts step by step: people, questions, replies, rankings."""

    members: dict[int, Member] = field(default_factory=dict)
    discussions: dict[int, DiscussionFact] = field(default_factory=dict)
    posts: list[PostFact] = field(default_factory=list)
    ranked: dict[int, list[int]] = field(default_factory=dict)
    candidates: list[tuple[int, float]] = field(default_factory=list)
    prompts: list[PastPrompt] = field(default_factory=list)
    preferences: dict[int, Preference] = field(default_factory=dict)
    ambassadors: dict[int, str] = field(default_factory=dict)
    _post_id: int = 1000

    def learner(self, person_id: int, *, tz: str = "Europe/Rome", days: float = 30,
                active: bool = True) -> int:
        self.members[person_id] = Member(person_id, LEARNER, f"Learner {person_id}", "it", tz,
                                         hours_ago(days * 24), active)
        return person_id

    def teacher(self, person_id: int, *, tz: str = "Europe/Rome") -> int:
        self.members[person_id] = Member(person_id, TEACHER, f"Teacher {person_id}", "it", tz,
                                         hours_ago(24 * 60))
        return person_id

    def learners(self, *ids: int, **kw) -> list[int]:
        return [self.learner(i, **kw) for i in ids]

    def question(self, discussion_id: int, author: int, hours: float, *,
                 title: str = "", announcement: bool = False) -> int:
        post = self.post(discussion_id, author, hours, parent=None)
        self.discussions[discussion_id] = DiscussionFact(
            discussion_id, title or f"Question {discussion_id}", author, hours_ago(hours),
            post, is_question=not announcement)
        return discussion_id

    def post(self, discussion_id: int, author: int, hours: float,
             parent: int | None = -1) -> int:
        self._post_id += 1
        if parent == -1:
            parent = self.discussions[discussion_id].first_post_id
        self.posts.append(PostFact(self._post_id, discussion_id, author, parent, hours_ago(hours)))
        return self._post_id

    def rank(self, discussion_id: int, *peers: int) -> None:
        self.ranked[discussion_id] = list(peers)

    def past(self, prompt_id: int, rule: str, kind: str, recipient: int, hours: float, *,
             discussion: int | None = None, about: int | None = None, status: str = "sent",
             sent_hours: float | None = None) -> None:
        sent = hours_ago(sent_hours if sent_hours is not None else hours)
        self.prompts.append(PastPrompt(prompt_id, rule, kind, recipient, hours_ago(hours), status,
                                       about, discussion, sent if status == "sent" else None))

    def facts(self, course_id: int = 1) -> CourseFacts:
        return CourseFacts(course_id, dict(self.members), dict(self.discussions),
                           list(self.posts), {d: tuple(p) for d, p in self.ranked.items()},
                           tuple(self.candidates))

    def history(self) -> History:
        return History(tuple(self.prompts), dict(self.preferences), dict(self.ambassadors))
