"""The plugin path on a real Moodle (MOODLE_SRC): Moodle with local_circolo, Circolo, Chromium.

Skipped with one line when MOODLE_SRC is not set. Everything runs on 127.0.0.1: Moodle on
PHP's built-in server and its own PostgreSQL database, Circolo through its entrypoint (web +
worker) in its own instance folder, each on a free port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from middleware.config import PROJECT_ROOT
from tests.browser.conftest import browser  # noqa: F401 - the same headless Chromium
from tests.e2e.moodle_site import MoodleSite

from .circolo import CircoloProcess

PLUGIN = PROJECT_ROOT / "moodle" / "local_circolo"
PHP = Path(__file__).resolve().parent / "php"
CLI = PHP / "moodle_cli.php"
TIMEOUT_MS = 30_000
SKIP_REASON = ("MOODLE_SRC is not set: the plugin path on a real Moodle is skipped (set it to "
               "Moodle's source tarball or folder, e.g. the 4.5 in ../shared/moodle/)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.live_http)
            item.add_marker(pytest.mark.slow)
            if not os.environ.get("MOODLE_SRC"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def moodle_site() -> Iterator[MoodleSite]:
    """Moodle installed without the plugin, then the plugin added and upgraded in."""
    site = MoodleSite.prepare(Path(os.environ["MOODLE_SRC"]).expanduser())
    try:
        site.install()
        site.add_language("it")
        site.configure()
        site.add_plugin(PLUGIN, "local/circolo")
        site.upgrade_output = site.upgrade()  # type: ignore[attr-defined]
        site.serve()
        yield site
    finally:
        site.destroy()


@pytest.fixture(scope="session")
def circolo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CircoloProcess]:
    process = CircoloProcess(instance=tmp_path_factory.mktemp("circolo-plugin-e2e"))
    process.start()
    yield process
    process.stop()


def logged_in_page(chromium: Any, site: MoodleSite, username: str, password: str) -> Any:
    """A new browser context logged into Moodle as `username`."""
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{site.wwwroot}/login/index.php", wait_until="networkidle")
    # Moodle 4.5's login page re-renders its password field when its JavaScript loads.
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#loginbtn")
    page.wait_for_load_state("networkidle")
    assert "/login/index.php" not in page.url, f"login as {username} failed"
    return page
