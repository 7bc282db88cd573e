"""The `LtiDeepLinkingResponse` a tool posts back to the platform after a teacher's choice."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from .keys import SigningKey
from .launch import CLAIM, DL_CLAIM, LTI_VERSION

RESPONSE_LIFETIME_SECONDS = 300


@dataclass(frozen=True)
class ResourceLinkItem:
    """One `ltiResourceLink` content item: what the platform will create and launch."""

    title: str
    url: str
    text: str = ""
    custom: Mapping[str, str] = field(default_factory=dict)

    def as_claim(self) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "ltiResourceLink", "title": self.title, "url": self.url}
        if self.text:
            item["text"] = self.text
        if self.custom:
            item["custom"] = dict(self.custom)
        return item


def build_deep_linking_response(*, signing_key: SigningKey, client_id: str, issuer: str,
                                deployment_id: str, items: Sequence[ResourceLinkItem],
                                data: str | None = None, message: str | None = None,
                                now: float | None = None) -> str:
    """Return the signed JWT: iss = the tool's client_id, aud = the platform's issuer."""
    issued_at = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": issuer,
        "iat": issued_at,
        "exp": issued_at + RESPONSE_LIFETIME_SECONDS,
        "nonce": secrets.token_urlsafe(24),
        CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": LTI_VERSION,
        CLAIM + "deployment_id": deployment_id,
        DL_CLAIM + "content_items": [item.as_claim() for item in items],
    }
    if data is not None:
        claims[DL_CLAIM + "data"] = data
    if message:
        claims[DL_CLAIM + "msg"] = message
    return jwt.encode(claims, signing_key.private_key, algorithm="RS256",
                      headers={"kid": signing_key.kid, "typ": "JWT"})
