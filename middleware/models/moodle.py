"""Moodle web services: the connection per site, sync runs, and the per-course sync state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .community import Course, Platform

#: SyncRun.status values.
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"


class MoodleConnection(Base):
    """How Circolo reaches one Moodle site's web services: its endpoint and encrypted token."""

    __tablename__ = "moodle_connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(
        ForeignKey("platform.id", ondelete="CASCADE"), unique=True
    )
    # {wwwroot}/webservice/rest/server.php
    url: Mapped[str] = mapped_column(String(1024))
    # Fernet ciphertext of the token (settings.encryption_key); never shown, never logged.
    token_ciphertext: Mapped[str] = mapped_column(Text)
    # The web-service user ("communitybot"): in the roster with the `service` role.
    service_user_id: Mapped[int | None]
    site_name: Mapped[str] = mapped_column(String(255), default="")
    release: Mapped[str] = mapped_column(String(255), default="")
    functions: Mapped[list[Any]] = mapped_column(default=list)
    missing_functions: Mapped[list[Any]] = mapped_column(default=list)
    missing_capabilities: Mapped[list[Any]] = mapped_column(default=list)
    checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    platform: Mapped[Platform] = relationship()

    def __repr__(self) -> str:
        return f"<MoodleConnection {self.id} platform={self.platform_id} {self.url}>"


class SyncRun(Base):
    """One sync of a course: when, how many calls, how many rows changed, and how it ended."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_course_started", "course_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    # schedule | manual | activation
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")
    # A full reconciliation (every discussion and post re-read) rather than an incremental sync.
    full: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    calls: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    # What failed, for IT: Moodle's error code and message (never the token).
    error: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )

    course: Mapped[Course] = relationship()

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CourseSyncState(Base):
    """A course's sync lease (one worker at a time, on any host), "sync now" and reconciliation."""

    __tablename__ = "course_sync_state"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), primary_key=True
    )
    lease_holder: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None]
    last_requested_at: Mapped[datetime | None]
    # When the scheduler last queued a sync, so a queued course is not queued again.
    scheduled_at: Mapped[datetime | None]
    roster_synced_at: Mapped[datetime | None]
    reconciled_at: Mapped[datetime | None]
