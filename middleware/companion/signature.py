"""Signing the plugin's event calls: HMAC-SHA256 over "timestamp.body" with the shared secret."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature the plugin puts in X-Circolo-Signature."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return PREFIX + digest.hexdigest()


def is_valid(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Tell whether `signature` is the secret's signature of this timestamp and body."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip().lower())


def is_fresh(timestamp: int, now: float, tolerance_seconds: int) -> bool:
    """Tell whether a call made at `timestamp` may still be accepted at `now`."""
    return abs(now - timestamp) <= tolerance_seconds
