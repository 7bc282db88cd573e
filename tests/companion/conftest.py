"""Fixtures for the companion plugin's side of Circolo: recordings of the real plugin, a
connect payload as the plugin sends it, a connected site and a signed event sender."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import responses
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from middleware.companion import signature
from middleware.companion.operations import create_invite
from middleware.config import PROJECT_ROOT
from middleware.moodle.service import SERVER_PATH

RECORDINGS = PROJECT_ROOT / "tests" / "fixtures" / "local_circolo"
TOKEN = "b5f8efeb252d8e97a69c5a642bd118da"


def recording(name: str) -> dict[str, Any]:
    """A recorded exchange with the real plugin (tests/fixtures/local_circolo/<name>.json)."""
    return json.loads((RECORDINGS / f"{name}.json").read_text())


@pytest.fixture
def site_info() -> dict[str, Any]:
    """core_webservice_get_site_info as Moodle answers it for the plugin's token."""
    return copy.deepcopy(recording("core_webservice_get_site_info.plugin_token")["response"])


@pytest.fixture
def wwwroot(site_info: dict[str, Any]) -> str:
    return site_info["siteurl"]


@pytest.fixture
def invite_code(db_session: Session) -> str:
    _invite, code = create_invite(db_session)
    db_session.commit()
    return code


@pytest.fixture
def connect_payload(wwwroot: str, site_info: dict[str, Any],
                    invite_code: str) -> dict[str, Any]:
    """What the plugin's Connect sends (moodle/local_circolo/classes/local/setup.php)."""
    return {
        "code": invite_code, "wwwroot": wwwroot, "token": TOKEN,
        "service_user_id": site_info["userid"],
        "site": {"name": site_info["sitename"], "release": site_info["release"],
                 "version": site_info["version"]},
        "plugin": {"release": "1.0.0", "version": "2026120100"},
        "platform": {"issuer": wwwroot, "client_id": "XfJm3lEr5rvfMn2", "deployment_id": "1",
                     "auth_login_url": f"{wwwroot}/mod/lti/auth.php",
                     "auth_token_url": f"{wwwroot}/mod/lti/token.php",
                     "key_set_url": f"{wwwroot}/mod/lti/certs.php"},
    }


@pytest.fixture
def moodle_answers(http_mock: responses.RequestsMock, wwwroot: str,
                   site_info: dict[str, Any]) -> Callable[[Any], None]:
    """Make the mocked Moodle answer every web-service call with `body`."""

    def answer(body: Any = None) -> None:
        http_mock.add(responses.POST, wwwroot + SERVER_PATH,
                      json=site_info if body is None else body)

    return answer


@pytest.fixture
def connected(client: FlaskClient, connect_payload: dict[str, Any],
              moodle_answers: Callable[[Any], None]) -> dict[str, Any]:
    """A site whose plugin connected: what Circolo answered it."""
    moodle_answers()
    answer = client.post("/api/companion/connect", json=connect_payload)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["connection"]


@pytest.fixture
def send_event(client: FlaskClient, connected: dict[str, Any], wwwroot: str) -> Callable[..., Any]:
    """POST an event as the plugin's notify_circolo task does, signed unless told otherwise."""

    def send(event: dict[str, Any] | None = None, *, body: bytes | None = None,
             made_at: int | None = None, secret: str | None = None,
             headers: dict[str, str] | None = None) -> Any:
        payload = {"id": "5f0c7a9e-2b1d-4c3e-9f1a-0123456789ab", "type": "course_changed",
                   "site": wwwroot, "courseid": 2, "area": "forum", "userid": 0,
                   "time": int(time.time()), **(event or {})}
        raw = body if body is not None else json.dumps(payload).encode()
        made_at = int(time.time()) if made_at is None else made_at
        signed = {"X-Circolo-Key": connected["key_id"], "X-Circolo-Timestamp": str(made_at),
                  "X-Circolo-Signature": signature.sign(secret or connected["secret"], made_at,
                                                        raw)}
        return client.post("/api/companion/events", data=raw,
                           headers={**signed, **(headers or {}),
                                    "Content-Type": "application/json"})

    return send
