"""Moodle's companion plugin (local_circolo): one-time invites, connections, received events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .community import Platform


class CompanionInvite(Base):
    """A one-time code IT pastes into the plugin's Connect page; only its SHA-256 is kept."""

    __tablename__ = "companion_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The platform the code connected, once used.
    platform_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform.id", ondelete="SET NULL"))


class CompanionConnection(Base):
    """A Moodle site whose plugin connected: the secret that signs its events, and its facts."""

    __tablename__ = "companion_connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(
        ForeignKey("platform.id", ondelete="CASCADE"), unique=True)
    # Public: the plugin names its connection with it in every event (X-Circolo-Key).
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Fernet ciphertext (settings.encryption_key) of the HMAC secret shared with the plugin.
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    wwwroot: Mapped[str] = mapped_column(String(1024))
    site_name: Mapped[str] = mapped_column(String(255), default="")
    moodle_release: Mapped[str] = mapped_column(String(255), default="")
    plugin_version: Mapped[str] = mapped_column(String(32), default="")
    plugin_release: Mapped[str] = mapped_column(String(64), default="")
    # The LTI deployment the plugin registered (Moodle: the tool type's id).
    deployment_id: Mapped[str] = mapped_column(String(255), default="")
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_event_at: Mapped[datetime | None]
    events_received: Mapped[int] = mapped_column(default=0)

    platform: Mapped[Platform] = relationship()

    def __repr__(self) -> str:
        return f"<CompanionConnection {self.id} platform={self.platform_id} {self.wwwroot}>"


class CompanionEvent(Base):
    """An event call accepted from a plugin; its id is refused if it comes again (replay)."""

    __tablename__ = "companion_event"
    __table_args__ = (UniqueConstraint("connection_id", "event_id"),
                      Index("ix_companion_event_received_at", "received_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("companion_connection.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    area: Mapped[str] = mapped_column(String(16), default="")
    moodle_course_id: Mapped[int | None]
    # What Circolo did about it: sync_queued, forget_queued or ignored.
    action: Mapped[str] = mapped_column(String(32), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
