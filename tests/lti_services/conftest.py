"""Fixtures for the LTI services tests: a tool key, a platform's endpoints, a services client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lti.keys import SigningKey, generate_private_key
from lti.services import AccessTokenCache, PlatformEndpoints, PlatformServices
from tests.conftest import recorded_file

ISSUER = "http://127.0.0.1:8081"
TOKEN_URL = f"{ISSUER}/mod/lti/token.php"
CLIENT_ID = "f7Fe9GlCpiCXwVj"


@pytest.fixture(scope="session")
def tool_key() -> SigningKey:
    """An RSA key standing in for the tool's current signing key."""
    return SigningKey(kid="tool-key-1", private_key=generate_private_key())


@pytest.fixture
def endpoints() -> PlatformEndpoints:
    return PlatformEndpoints(issuer=ISSUER, client_id=CLIENT_ID, token_url=TOKEN_URL)


@pytest.fixture
def token_cache() -> AccessTokenCache:
    return AccessTokenCache()


@pytest.fixture
def services(endpoints, tool_key, token_cache) -> Iterator[PlatformServices]:
    client = PlatformServices(endpoints, lambda: tool_key, token_cache=token_cache)
    yield client
    client.http.close()


@pytest.fixture
def lti_fixture(fixtures_dir: Path):
    """Load one recorded file of tests/fixtures/moodle-<version>/lti/ (each version in turn)."""
    def load(name: str) -> dict[str, Any]:
        return json.loads(recorded_file(fixtures_dir, f"lti/{name}").read_text())
    return load
