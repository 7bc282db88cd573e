"""What the teacher dashboard reads: groups, the review queue, the prompt log and outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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

