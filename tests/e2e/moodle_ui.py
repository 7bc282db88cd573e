"""Moodle's pages as people use them, in Playwright: log in, open an activity, find Circolo.

Every helper takes a Playwright page and the site's wwwroot; none reaches into Moodle's database.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Milliseconds Playwright waits for a Moodle page or element (PHP's built-in server is slow).
TIMEOUT_MS = 60_000


def log_in(page: Any, wwwroot: str, username: str, password: str) -> None:
    """Log in through Moodle's login page, as a person does."""
    # Moodle 4.5's login page re-renders its password field when its JavaScript loads:
    # typing before that loses the password.
    page.goto(f"{wwwroot}/login/index.php", wait_until="networkidle")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#loginbtn")
    page.wait_for_load_state("networkidle")
    if "/login/" in page.url:
        error = page.locator(".alert-danger, .loginerrors").all_inner_texts()
        raise AssertionError(f"{username} could not log in to Moodle: {error}")


def edit_mode_on(page: Any) -> None:
    """Switch the course page's "Edit mode" on."""
    switch = page.locator("input[name=setmode]")
    if not switch.is_checked():
        with page.expect_navigation():
            switch.check()
        page.wait_for_load_state("networkidle")


def circolo_frame(page: Any, base_url: str, *, path: str | None = None,
                  timeout: float = TIMEOUT_MS / 1000) -> Any:
    """Wait for the frame of `page` that shows one of Circolo's own pages (not /lti/login or
    /lti/launch, which only pass through), optionally at `path`; return it loaded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if not frame.url.startswith(base_url):
                continue
            where = urlsplit(frame.url).path
            if where in ("/lti/login", "/lti/launch") or (path and where != path):
                continue
            frame.wait_for_load_state()
            return frame
        page.wait_for_timeout(100)
    raise AssertionError(f"Circolo's page{' ' + path if path else ''} never showed in "
                         f"{page.url}; frames: {[f.url[:120] for f in page.frames]}")


@dataclass
class LaunchRecord:
    """One LTI launch as the browser carried it: Moodle's login initiation and its id_token."""

    user: str
    login_initiation: dict[str, str]
    launch_post: dict[str, str]


class LaunchRecorder:
    """Keep the login initiations and launch posts a browser context sends to Circolo."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.launches: list[LaunchRecord] = []
        self.registration_queries: list[dict[str, str]] = []
        self._pending: dict[str, dict[str, str]] = {}

    def watch(self, context: Any, user: str) -> None:
        context.on("request", lambda request: self._seen(request, user))

    def _seen(self, request: Any, user: str) -> None:
        from urllib.parse import parse_qsl

        if not request.url.startswith(self.base_url):
            return
        path = urlsplit(request.url).path
        if path == "/lti/register":
            self.registration_queries.append(dict(parse_qsl(urlsplit(request.url).query)))
        if request.method != "POST" or path not in ("/lti/login", "/lti/launch"):
            return
        form = dict(parse_qsl(request.post_data or "", keep_blank_values=True))
        if path == "/lti/login":
            self._pending[user] = form
        else:
            self.launches.append(LaunchRecord(user, self._pending.pop(user, {}), form))

    def claims(self) -> list[dict[str, Any]]:
        """The decoded (unverified) id_token claims of every launch, in order."""
        from tests.doubles.lti_platform.platform import unverified_claims

        return [unverified_claims(launch.launch_post.get("id_token", "")) or {}
                for launch in self.launches]


def blocking_cookies_profile(folder: Path, site_pattern: str) -> Path:
    """A Chromium profile that refuses every cookie of `site_pattern` (e.g. "http://localhost:*"),
    partitioned ones included, as Safari and strict privacy settings refuse a tool's cookies."""
    (folder / "Default").mkdir(parents=True, exist_ok=True)
    preferences = {"profile": {"content_settings": {"exceptions": {"cookies": {
        f"{site_pattern},*": {"setting": 2}}}}}}
    (folder / "Default" / "Preferences").write_text(json.dumps(preferences))
    return folder
