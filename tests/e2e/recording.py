"""Exchanges with a real Moodle, kept as the shapes the tests parse (tests/fixtures/moodle-<v>/).

The e2e tier records what it sends and gets back when `CIRCOLO_RECORD_MOODLE` names a folder
(`scripts/record_moodle.py` sets it): web services as `ws/<name>.json`
({request: {method, url, wsfunction, params, encoded_form}, status, response}) and LTI as
`lti/<name>.json`, the same shapes as the Moodle 4.4 recordings. Nothing secret is written: the
web-service token never enters a request here (it travels beside the parameters), and keys
that would let someone act as a user (`userprivateaccesskey`, tokens) are replaced.

`CapturingClient` is Circolo's own Moodle client, calling exactly as Circolo calls, that also
keeps each raw exchange for the contract test.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from middleware.moodle.service import SERVER_PATH, MoodleClient, encode_params

RECORD_ENV = "CIRCOLO_RECORD_MOODLE"
REDACTED = "<redacted>"
#: Keys whose values are never written to a recording.
SECRET_KEYS = frozenset({"userprivateaccesskey", "wstoken", "token", "privatetoken"})


@dataclass
class Exchange:
    """One web-service call: what was asked, and Moodle's answer as it came."""

    wsfunction: str
    params: dict[str, Any]
    status: int
    body: Any


class CapturingClient(MoodleClient):
    """Circolo's Moodle client that keeps every exchange (retries off: one call, one answer)."""

    def __init__(self, url: str, token: str, **options: Any) -> None:
        super().__init__(url, token, retries=0, **options)
        self.exchanges: list[Exchange] = []
        self._asked: tuple[str, dict[str, Any]] = ("", {})

    def _call_once(self, wsfunction: str, params: Any) -> Any:
        self._asked = (wsfunction, dict(params))
        return super()._call_once(wsfunction, params)

    def _parse(self, wsfunction: str, response: requests.Response) -> Any:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        self.exchanges.append(Exchange(wsfunction, self._asked[1], response.status_code, body))
        return super()._parse(wsfunction, response)

    def last(self, wsfunction: str) -> Exchange:
        return next(e for e in reversed(self.exchanges) if e.wsfunction == wsfunction)


def recording_folder() -> Path | None:
    """Where to record (CIRCOLO_RECORD_MOODLE), or None when not recording."""
    folder = os.environ.get(RECORD_ENV)
    return Path(folder) if folder else None


def scrub(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """A copy of `value` without secrets: SECRET_KEYS' values and any of `secrets` replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if k in SECRET_KEYS and v else scrub(v, secrets)
                for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, REDACTED)
    return value


def write(relative: str, data: Any, secrets: tuple[str, ...] = ()) -> Path | None:
    """Write `data` (scrubbed) as JSON under the recording folder; None when not recording."""
    folder = recording_folder()
    if folder is None:
        return None
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(scrub(data, secrets), indent=1, ensure_ascii=False) + "\n"
    for secret in secrets:
        assert not secret or secret not in text, f"a secret would be written to {relative}"
    path.write_text(text)
    return path


def write_exchange(name: str, exchange: Exchange, secrets: tuple[str, ...] = ()) -> Path | None:
    """Record a web-service exchange as ws/<name>.json, in the 4.4 recordings' shape."""
    params = {k: v for k, v in exchange.params.items() if v is not None}  # never sent
    return write(f"ws/{name}.json", {
        "request": {"method": "POST", "url": SERVER_PATH, "wsfunction": exchange.wsfunction,
                    "params": params, "encoded_form": dict(encode_params(params))},
        "status": exchange.status,
        "response": exchange.body,
    }, secrets)
