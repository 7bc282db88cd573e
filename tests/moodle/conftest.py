"""Fixtures for the Moodle client tests: recorded responses and a client that never sleeps."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from middleware.moodle.service import MoodleClient
from tests.conftest import recorded_file

MOODLE = "http://moodle.test"
ENDPOINT = MOODLE + "/webservice/rest/server.php"
TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def recorded(fixtures_dir: Path) -> Callable[[str], dict[str, Any]]:
    """Load a recorded web-service exchange of this version by file name (without .json)."""

    def load(name: str) -> dict[str, Any]:
        return json.loads(recorded_file(fixtures_dir, f"ws/{name}.json").read_text())

    return load


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def moodle(sleeps: list[float]) -> MoodleClient:
    """A client for a mocked Moodle; backoff delays are recorded instead of slept."""
    return MoodleClient(MOODLE, TOKEN, sleep=sleeps.append, jitter=lambda: 1.0)


def sent_form(call: Any) -> dict[str, str]:
    """The form fields of a request captured by `responses`."""
    return dict(parse_qsl(call.request.body))
