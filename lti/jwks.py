"""Platform public keys: fetched with timeouts, cached, re-fetched once on an unknown `kid`.

Like PyJWT's `PyJWKClient`, but every fetch has a timeout, a platform cannot make the tool fetch
more than once per cool-down by sending made-up `kid`s, and failures are `LtiError`s.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import LtiError

log = logging.getLogger(__name__)

#: (connect, read) seconds for one JWKS fetch.
FETCH_TIMEOUT = (3.05, 5.0)
#: A key set larger than this is not one (Moodle's, with one key, is under 1 KiB).
MAX_JWKS_BYTES = 64 * 1024


@dataclass
class _CachedKeySet:
    keys: dict[str, Any]
    fetched_at: float


class PlatformKeySets:
    """The JWKS of every platform this process has seen, keyed by its URL."""

    def __init__(self, *, max_age_seconds: float = 3600.0, cooldown_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 http: requests.Session | None = None) -> None:
        self.max_age_seconds = max_age_seconds
        self.cooldown_seconds = cooldown_seconds
        self.clock = clock
        self.http = http or requests.Session()
        self._cache: dict[str, _CachedKeySet] = {}
        self._lock = threading.Lock()

    def signing_key(self, jwks_url: str, kid: str) -> Any:
        """Return the public key `kid` of the JWKS at `jwks_url` (fetching it when needed)."""
        cached = self._fresh(jwks_url)
        if cached is None:
            stale = self._cached(jwks_url)
            try:
                cached = self._fetch(jwks_url)
            except LtiError:
                if stale is None or kid not in stale.keys:
                    raise
                # The platform's keys page is down but we know this key: keep launching.
                cached = stale
        elif kid not in cached.keys and self.clock() - cached.fetched_at >= self.cooldown_seconds:
            # The platform may have rotated its key: look once more, at most once per cool-down.
            cached = self._fetch(jwks_url)
        if kid not in cached.keys:
            raise LtiError("token_unknown_kid", f"kid {kid!r} not in {jwks_url}")
        return cached.keys[kid]

    def forget(self, jwks_url: str | None = None) -> None:
        """Drop the cached key set of `jwks_url` (or all of them)."""
        with self._lock:
            if jwks_url is None:
                self._cache.clear()
            else:
                self._cache.pop(jwks_url, None)

    def _cached(self, jwks_url: str) -> _CachedKeySet | None:
        with self._lock:
            return self._cache.get(jwks_url)

    def _fresh(self, jwks_url: str) -> _CachedKeySet | None:
        cached = self._cached(jwks_url)
        if cached is None or self.clock() - cached.fetched_at > self.max_age_seconds:
            return None
        return cached

    def _fetch(self, jwks_url: str) -> _CachedKeySet:
        try:
            key_set = jwt.PyJWKSet.from_dict(json.loads(self._download(jwks_url)))
        except (requests.RequestException, ValueError, jwt.PyJWKSetError) as error:
            log.warning("platform JWKS unavailable", extra={"jwks_url": jwks_url,
                                                            "error": type(error).__name__})
            raise LtiError("jwks_unavailable",
                           f"{jwks_url}: {type(error).__name__} {error}"[:300]) from None
        # Only RSA keys can verify RS256 (another kind would fail in PyJWT with a TypeError).
        keys = {key.key_id: key.key for key in key_set.keys
                if key.key_id and key.public_key_use in (None, "sig")
                and isinstance(key.key, rsa.RSAPublicKey | rsa.RSAPrivateKey)}
        cached = _CachedKeySet(keys=keys, fetched_at=self.clock())
        with self._lock:
            self._cache[jwks_url] = cached
        log.info("platform JWKS fetched", extra={"jwks_url": jwks_url, "kids": sorted(keys)})
        return cached

    def _download(self, jwks_url: str) -> bytes:
        """Read the key set at `jwks_url`: a 200 answer, not redirected, at most MAX_JWKS_BYTES."""
        with self.http.get(jwks_url, timeout=FETCH_TIMEOUT, allow_redirects=False, stream=True,
                           headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            body = b""
            for chunk in response.iter_content(16 * 1024):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"answer too large (over {MAX_JWKS_BYTES} bytes)")
            return body
