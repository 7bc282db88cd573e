"""LTI state of the tool: its signing keys and the single-use login states (state + nonce)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .community import Platform


class ToolKey(Base):
    """An RSA key pair of the tool; the private half is Fernet-encrypted, emptied once retired."""

    __tablename__ = "lti_tool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(default=dict)
    private_key_encrypted: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Retired keys are no longer published nor used; their private key is erased.
    retired_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<ToolKey {self.kid} retired={self.retired_at is not None}>"


class LoginState(Base):
    """An OIDC login in progress: `state` and `nonce` are single-use and expire quickly."""

    __tablename__ = "lti_login_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(128), unique=True)
    nonce: Mapped[str] = mapped_column(String(128))
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    deployment_id: Mapped[str | None] = mapped_column(String(255))
    target_link_uri: Mapped[str] = mapped_column(String(1024))
    # SHA-256 of the User-Agent: a weak binding for browsers that refuse the state cookie.
    browser_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]

    platform: Mapped[Platform] = relationship()
