"""The tool's RSA keys: generated, encrypted at rest, rotated, published as a JWKS.

During a rotation the newest key signs and the previous one stays published, so a platform that
cached the old JWKS (Moodle re-fetches on a verification failure) keeps verifying.
A key mounted from a secret store (`CIRCOLO_TOOL_PRIVATE_KEY_FILE`) signs instead of the stored
ones when it is configured; stored keys still published alongside it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from middleware.models.base import utcnow
from middleware.models.lti import ToolKey

KEY_SIZE = 2048
#: How many of the newest keys stay published after a rotation (the signer and its predecessor).
PUBLISHED_KEYS = 2


class KeySettings(Protocol):
    encryption_key: str
    tool_private_key_file: str


class ToolKeyError(RuntimeError):
    """The tool's private key cannot be read (wrong encryption key, unreadable file)."""


@dataclass(frozen=True)
class SigningKey:
    """The key that signs the tool's JWTs now: its `kid` goes in the JWT header."""

    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        return public_jwk(self.private_key.public_key(), self.kid)


def generate_private_key() -> rsa.RSAPrivateKey:
    """Generate a fresh RSA private key for RS256."""
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """Return the RFC 7638 thumbprint of `public_key`: a stable `kid`."""
    numbers = public_key.public_numbers()
    members = {"e": _b64_int(numbers.e), "kty": "RSA", "n": _b64_int(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def public_jwk(public_key: rsa.RSAPublicKey, kid: str) -> dict[str, Any]:
    """Export `public_key` as a JWK with `kid`, `alg` RS256 and `use` sig."""
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    # RFC 7517 advises against `key_ops` next to `use`, which is what platforms read.
    return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"], "kid": kid, "alg": "RS256",
            "use": "sig"}


def _b64_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def encrypt_private_key(private_key: rsa.RSAPrivateKey, encryption_key: str) -> str:
    return Fernet(encryption_key.encode()).encrypt(_pem(private_key)).decode()


def decrypt_private_key(token: str, encryption_key: str) -> rsa.RSAPrivateKey:
    try:
        pem = Fernet(encryption_key.encode()).decrypt(token.encode())
    except InvalidToken:
        raise ToolKeyError(
            "The tool's private key cannot be decrypted: CIRCOLO_ENCRYPTION_KEY is not the key "
            "it was stored with. Restore that key, or run `flask circolo keys rotate`."
        ) from None
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ToolKeyError("The stored tool key is not an RSA key.")
    return key


# The mounted key is read once per path; decrypted stored keys once per kid.
_file_keys: dict[str, SigningKey] = {}
_decrypted: dict[tuple[str, str], rsa.RSAPrivateKey] = {}
_lock = threading.Lock()


def load_key_file(path: str) -> SigningKey:
    """Read the PEM private key mounted at `path` (cached per path)."""
    with _lock:
        if path in _file_keys:
            return _file_keys[path]
    try:
        pem = Path(path).read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
    except (OSError, ValueError, TypeError) as error:
        raise ToolKeyError(
            f"CIRCOLO_TOOL_PRIVATE_KEY_FILE ({path}) is not a readable, unencrypted PEM private "
            f"key: {type(error).__name__}"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ToolKeyError(f"CIRCOLO_TOOL_PRIVATE_KEY_FILE ({path}) is not an RSA key.")
    signing = SigningKey(kid=key_id(key.public_key()), private_key=key)
    with _lock:
        _file_keys[path] = signing
    return signing


def published_keys(session: Session) -> list[ToolKey]:
    """Return the stored keys still published, newest first."""
    return list(session.scalars(
        select(ToolKey).where(ToolKey.retired_at.is_(None))
        .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
    ))


def rotate_keys(session: Session, settings: KeySettings, *,
                keep: int = PUBLISHED_KEYS, now: datetime | None = None) -> ToolKey:
    """Create a new signing key; retire all but the `keep` newest (erasing their private key)."""
    if keep < 1:
        raise ValueError("at least the new key must stay published")
    now = now or utcnow()
    private_key = generate_private_key()
    kid = key_id(private_key.public_key())
    key = ToolKey(kid=kid, public_jwk=public_jwk(private_key.public_key(), kid),
                  private_key_encrypted=encrypt_private_key(private_key, settings.encryption_key),
                  created_at=now)
    session.add(key)
    session.flush()
    for old in published_keys(session)[keep:]:
        old.retired_at = now
        old.private_key_encrypted = ""
    session.flush()
    return key


def current_signing_key(session: Session, settings: KeySettings) -> SigningKey:
    """Return the key that signs now: the mounted file's, else the newest stored (made if none)."""
    if settings.tool_private_key_file:
        return load_key_file(settings.tool_private_key_file)
    keys = published_keys(session)
    key = keys[0] if keys else rotate_keys(session, settings)
    cache_key = (key.kid, settings.encryption_key)
    with _lock:
        private_key = _decrypted.get(cache_key)
    if private_key is None:
        private_key = decrypt_private_key(key.private_key_encrypted, settings.encryption_key)
        with _lock:
            _decrypted[cache_key] = private_key
    return SigningKey(kid=key.kid, private_key=private_key)


def tool_jwks(session: Session, settings: KeySettings) -> dict[str, list[dict[str, Any]]]:
    """Return the tool's public JWKS: the signing key first, then the others still published."""
    signing = current_signing_key(session, settings)
    keys = [signing.public_jwk()]
    keys += [dict(key.public_jwk) for key in published_keys(session) if key.kid != signing.kid]
    return {"keys": keys}
