"""What the teacher dashboard reads: groups, the review queue, the prompt log and outcomes."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from middleware.mentoring import operations as mentoring
from middleware.models import CourseGroup, MentoringPrompt

#: The time windows a teacher can pick (analytics computes these three).
WINDOWS = ("7d", "30d", "all")
#: Prompt statuses that went out to a learner.
SENT = "sent"


@dataclass(frozen=True)
class PromptLine:
    """A prompt as the dashboard lists it."""

    id: int
    rule: str
    kind: str
    recipient_id: int
    text: str
    reason_code: str
    created_at: datetime
    sent_at: datetime | None
    status: str
    outcome: str
    reply_seconds: int | None


def course_groups(session: Session, course_id: int) -> list[CourseGroup]:
    return list(session.scalars(select(CourseGroup).where(CourseGroup.course_id == course_id)
                                .order_by(CourseGroup.name)))


def _lines(prompts: list[MentoringPrompt]) -> list[PromptLine]:
    return [PromptLine(p.id, p.rule, p.kind, p.recipient_id, p.body, p.reason_code,
                       p.created_at, p.sent_at, p.status, p.outcome, p.reply_seconds)
            for p in prompts]


def review_lines(session: Session, course_id: int) -> list[PromptLine]:
    """Return the prompts waiting for the teacher's review, oldest first."""
    return _lines(mentoring.review_queue(session, course_id))


def prompt_log(session: Session, course_id: int, *, limit: int = 20) -> list[PromptLine]:
    """Return the most recently sent prompts."""
    prompts = list(session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.course_id == course_id, MentoringPrompt.status == SENT)
        .order_by(MentoringPrompt.sent_at.desc(), MentoringPrompt.id.desc()).limit(limit)))
    return _lines(prompts)



@dataclass(frozen=True)
class RuleOutcome:
    """Did the people a rule prompted reply? Counted from the outcomes stored on prompts."""

    rule: str
    sent: int
    measured: int  # replied or not, the window over
    replied: int
    median_reply_seconds: float | None

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.measured if self.measured else None


def rule_outcomes(session: Session, course_id: int) -> list[RuleOutcome]:
    """Return, per rule, how many prompted people replied and how fast (stored outcomes)."""
    rows = session.execute(select(MentoringPrompt.rule, MentoringPrompt.outcome,
                                  MentoringPrompt.reply_seconds).where(
        MentoringPrompt.course_id == course_id, MentoringPrompt.status == SENT,
        MentoringPrompt.discussion_id.is_not(None))).all()
    by_rule: dict[str, list[Any]] = {}
    for row in rows:
        by_rule.setdefault(row.rule, []).append(row)
    found = []
    for rule, items in sorted(by_rule.items()):
        measured = [item for item in items if item.outcome in ("replied", "no_reply")]
        delays = [item.reply_seconds for item in measured
                  if item.outcome == "replied" and item.reply_seconds is not None]
        found.append(RuleOutcome(rule, len(items), len(measured),
                                 sum(item.outcome == "replied" for item in measured),
                                 statistics.median(delays) if delays else None))
    return found
