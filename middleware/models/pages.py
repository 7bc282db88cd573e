"""What a learner chose in the pane's privacy controls beyond mentoring's opt-out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class PrivacyChoice(Base):
    """A learner's privacy choices in one course (e.g. never be suggested to peers)."""

    __tablename__ = "privacy_choice"
    __table_args__ = (UniqueConstraint("course_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    # Not shown to other learners as "someone you could meet" nor named in their buddy prompts.
    hidden_from_suggestions: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
