"""Did prompting work? Per prompt: did the asked peer reply, and how fast. Per rule and course:
reply rates, routed against unrouted questions, isolated learners answered after bridging.

`prompt_outcome` and `course_outcomes` are pure; `update_outcomes` stores each prompt's outcome,
`outcomes_of_course` is what the dashboard reads.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models.base import utcnow
from ..models.mentoring import MentoringPrompt
from . import activity
from .facts import (
    ASKING_KINDS,
    BRIDGE_LEARNER,
    BRIDGING,
    ROUTE_PEER,
    CourseFacts,
    PastPrompt,
)

#: How long after a prompt a reply still counts as its effect.
WINDOW = timedelta(hours=72)

PENDING, REPLIED, NO_REPLY = "pending", "replied", "no_reply"


@dataclass(frozen=True)
class PromptOutcome:
    state: str  # pending | replied | no_reply
    replied_at: datetime | None = None
    reply_seconds: int | None = None


def prompt_outcome(facts: CourseFacts, prompt: PastPrompt, now: datetime,
                   window: timedelta = WINDOW) -> PromptOutcome | None:
    """Return whether the asked person replied in the discussion within the window (None: n/a)."""
    if (prompt.kind not in ASKING_KINDS or prompt.sent_at is None
            or prompt.discussion_id is None or prompt.discussion_id not in facts.discussions):
        return None
    replies = [p for p in facts.posts_by_discussion.get(prompt.discussion_id, ())
               if p.author_id == prompt.recipient_id and p.parent_id is not None
               and prompt.sent_at <= p.created_at <= prompt.sent_at + window]
    if replies:
        first = replies[0].created_at
        return PromptOutcome(REPLIED, first, int((first - prompt.sent_at).total_seconds()))
    return PromptOutcome(NO_REPLY if now >= prompt.sent_at + window else PENDING)


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    prompts: int  # prompts whose outcome is known (replied or not, window over)
    replied: int
    pending: int
    median_reply_minutes: float | None

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.prompts if self.prompts else None


@dataclass(frozen=True)
class QuestionTimes:
    """Time to the first answer of learners' questions (hours), and how many got one."""

    questions: int
    answered: int
    median_hours: float | None


@dataclass(frozen=True)
class CourseOutcomes:
    rules: tuple[RuleOutcome, ...]
    routed: QuestionTimes
    unrouted: QuestionTimes
    bridged_learners: int
    bridged_answered: int
    per_prompt: dict[int, PromptOutcome] = field(default_factory=dict)

    @property
    def bridged_rate(self) -> float | None:
        return self.bridged_answered / self.bridged_learners if self.bridged_learners else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def course_outcomes(facts: CourseFacts, prompts: list[PastPrompt], now: datetime,
                    window: timedelta = WINDOW) -> CourseOutcomes:
    """Compute a course's outcomes from its activity and the prompts sent."""
    per_prompt: dict[int, PromptOutcome] = {}
    by_rule: dict[str, list[PromptOutcome]] = defaultdict(list)
    for prompt in prompts:
        outcome = prompt_outcome(facts, prompt, now, window)
        if outcome is not None:
            per_prompt[prompt.id] = outcome
            by_rule[prompt.rule].append(outcome)
    rules = tuple(
        RuleOutcome(rule,
                    sum(o.state != PENDING for o in outcomes),
                    sum(o.state == REPLIED for o in outcomes),
                    sum(o.state == PENDING for o in outcomes),
                    _median([o.reply_seconds / 60 for o in outcomes
                             if o.reply_seconds is not None]))
        for rule, outcomes in sorted(by_rule.items()))

    routed_ids = {p.discussion_id for p in prompts
                  if p.kind == ROUTE_PEER and p.sent_at is not None}
    times: dict[bool, list[float]] = {True: [], False: []}
    counts = {True: 0, False: 0}
    for discussion in facts.discussions.values():
        if not discussion.is_question or not facts.is_learner(discussion.author_id):
            continue
        routed = discussion.id in routed_ids
        counts[routed] += 1
        first = facts.first_answer(discussion.id)
        if first is not None:
            times[routed].append((first.created_at - discussion.created_at).total_seconds()
                                 / 3600)

    bridged: dict[int, datetime] = {}
    for prompt in prompts:
        if prompt.rule == BRIDGING and prompt.kind == BRIDGE_LEARNER and prompt.sent_at:
            bridged[prompt.recipient_id] = min(prompt.sent_at,
                                               bridged.get(prompt.recipient_id, prompt.sent_at))
    answered = sum(
        any(reply.created_at >= since for post in facts.posts_by_author.get(learner, ())
            for reply in facts.replies_to(post))
        for learner, since in bridged.items())

    return CourseOutcomes(
        rules,
        QuestionTimes(counts[True], len(times[True]), _median(times[True])),
        QuestionTimes(counts[False], len(times[False]), _median(times[False])),
        len(bridged), answered, per_prompt)


def _past(prompt: MentoringPrompt) -> PastPrompt:
    return PastPrompt(prompt.id, prompt.rule, prompt.kind, prompt.recipient_id,
                      prompt.created_at, prompt.status, prompt.about_person_id,
                      prompt.discussion_id, prompt.sent_at)


def outcomes_of_course(session: Session, course_id: int, *,
                       now: datetime | None = None) -> CourseOutcomes:
    """The figures the dashboard shows: reply rates per rule, routed vs unrouted, bridging."""
    now = now or utcnow()
    facts = activity.load_facts(session, course_id, now, rank=False)
    prompts = [_past(p) for p in session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.course_id == course_id, MentoringPrompt.status == "sent"))]
    return course_outcomes(facts, prompts, now)


def update_outcomes(session: Session, course_id: int, *, now: datetime | None = None) -> int:
    """Store each sent prompt's outcome on it; return how many changed."""
    now = now or utcnow()
    result = outcomes_of_course(session, course_id, now=now)
    changed = 0
    for prompt in session.scalars(select(MentoringPrompt).where(
            MentoringPrompt.id.in_(list(result.per_prompt)))):
        outcome = result.per_prompt[prompt.id]
        if (prompt.outcome, prompt.replied_at) != (outcome.state, outcome.replied_at):
            prompt.outcome, prompt.replied_at = outcome.state, outcome.replied_at
            prompt.reply_seconds = outcome.reply_seconds
            changed += 1
        prompt.outcome_checked_at = now
    session.flush()
    return changed
