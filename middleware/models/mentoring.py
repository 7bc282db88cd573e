"""Peer mentoring: course rule settings, prompts, their outbox, learner preferences, ambassadors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .community import Course, Person
from .forum import Discussion

#: Course modes: prompts go out on their own, or wait in the teacher's review queue.
AUTOMATIC = "automatic"
REVIEW_FIRST = "review"
MODES = (AUTOMATIC, REVIEW_FIRST)


class MentoringSettings(Base):
    """A course's mentoring choices: mode, caps, quiet hours, each rule's switch and thresholds."""

    __tablename__ = "mentoring_settings"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(16), default=AUTOMATIC)
    learner_weekly_cap: Mapped[int] = mapped_column(default=2)
    ambassador_weekly_cap: Mapped[int] = mapped_column(default=5)
    course_daily_cap: Mapped[int] = mapped_column(default=20)
    quiet_start_hour: Mapped[int] = mapped_column(default=21)
    quiet_end_hour: Mapped[int] = mapped_column(default=8)
    # The course's IANA zone, used for people whose own zone Moodle does not tell.
    timezone: Mapped[str] = mapped_column(String(64), default="")
    default_lang: Mapped[str] = mapped_column(String(8), default="en")
    # {rule: {"enabled": bool, <threshold>: number}}; missing keys take the defaults in rules.py.
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    course: Mapped[Course] = relationship()


class MentoringPrompt(Base):
    """One decision to ask someone something, with why, its review, delivery and outcome."""

    __tablename__ = "mentoring_prompt"
    __table_args__ = (
        Index("ix_mentoring_prompt_course_created", "course_id", "created_at"),
        Index("ix_mentoring_prompt_recipient_created", "recipient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    about_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    discussion_id: Mapped[int | None] = mapped_column(
        ForeignKey("discussion.id", ondelete="SET NULL"), index=True
    )
    reason_code: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # review → queued → sent | failed; review → dropped; queued → withdrawn (opt-out, stop)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    lang: Mapped[str] = mapped_column(String(8), default="en")
    body: Mapped[str] = mapped_column(Text, default="")
    edited: Mapped[bool] = mapped_column(default=False)
    snoozed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None]
    # "" (not measured), pending, replied, no_reply
    outcome: Mapped[str] = mapped_column(String(16), default="")
    replied_at: Mapped[datetime | None]
    reply_seconds: Mapped[int | None]
    outcome_checked_at: Mapped[datetime | None]

    recipient: Mapped[Person] = relationship(foreign_keys=[recipient_id])
    about_person: Mapped[Person | None] = relationship(foreign_keys=[about_person_id])
    discussion: Mapped[Discussion | None] = relationship()
    outbox: Mapped[OutboxMessage | None] = relationship(back_populates="prompt")


class OutboxMessage(Base):
    """A message to deliver through Moodle, written in the transaction that decided it."""

    __tablename__ = "mentoring_outbox"
    __table_args__ = (Index("ix_mentoring_outbox_state_due", "state", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(
        ForeignKey("mentoring_prompt.id", ondelete="CASCADE"), unique=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    moodle_user_id: Mapped[int | None]
    # pending → sending → sent | failed; sending/unknown → (read back) → sent | pending
    state: Mapped[str] = mapped_column(String(16), default="pending")
    text: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str] = mapped_column(String(32), default="")
    moodle_msgid: Mapped[int | None]
    conversation_id: Mapped[int | None]
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None]

    prompt: Mapped[MentoringPrompt] = relationship(back_populates="outbox")

    @property
    def reference(self) -> str:
        """The id Moodle echoes in `clientmsgid`, also written into the text to find it again."""
        return f"circolo{self.id}"


class MentoringPreference(Base):
    """What a learner chose in the pane: opted out, rules stopped, prompts snoozed until when."""

    __tablename__ = "mentoring_preference"
    __table_args__ = (UniqueConstraint("course_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    opted_out: Mapped[bool] = mapped_column(default=False)
    stopped_rules: Mapped[list[Any]] = mapped_column(default=list)
    snoozed_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Ambassador(Base):
    """A learner suggested, invited or serving as a course ambassador (they must accept)."""

    __tablename__ = "mentoring_ambassador"
    __table_args__ = (UniqueConstraint("course_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    # suggested → invited → active → stepped_down; suggested → dismissed; invited → declined
    status: Mapped[str] = mapped_column(String(16), default="suggested")
    score: Mapped[float | None]
    suggested_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class MessageTemplate(Base):
    """A teacher's wording of one prompt kind in one language (defaults live in code)."""

    __tablename__ = "mentoring_template"
    __table_args__ = (UniqueConstraint("course_id", "kind", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
