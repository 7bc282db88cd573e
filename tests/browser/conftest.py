"""The browser end-to-end harness: Circolo served for real, a Moodle double, headless Chromium.

Every test in `tests/browser/` is marked `browser` and `live_http` automatically. For the whole
session the harness starts:

- `moodle`: the Moodle-like LTI 1.3 platform double (`tests.doubles.lti_platform`) on a free
  port of 127.0.0.1 (`moodle.issuer`).
- `circolo`: Circolo through `scripts/entrypoint.sh` (gunicorn, one worker) listening on another
  free port of 127.0.0.1, known to browsers and to the double as `http://localhost:<port>`
  (`circolo.base_url`): another site than the double's, so Circolo runs in a *third-party*
  iframe, as under a real Moodle (its cookies must be `SameSite=None; Secure; Partitioned`).
  It has a freshly migrated database of this run's kind (SQLite or PostgreSQL) and its own
  instance folder; the double is registered as its platform (`circolo.platform_id`, the row in
  Circolo's database; `circolo.client_id`, `circolo.deployment_id`). The whole session shares
  this one Circolo: a test that adds platforms or changes settings puts them back. No queue
  consumer runs (tasks wait in a SQLite queue), and Circolo only ever talks to the double.
  `circolo.flask("platform", "list")` runs a CLI command against the same database;
  `circolo.log_tail()` shows its log (also in `test-output/browser/`).
- `browser`: Debian's `/usr/bin/chromium` through Playwright (headless). Missing chromium skips
  the browser tests locally and fails them in CI (`CI` set).

Per test:

- `page`: a fresh browser context and page; when the test ends, a screenshot is saved as
  `test-output/screenshots/<test name>.png`. `screenshot(page, "step")` saves more.
- `page_without_third_party_cookies`: the same, in a browser that refuses every cookie of a frame
  embedded under the Moodle double's pages, partitioned (CHIPS) ones included, as Safari and
  strict privacy settings do. (Chromium 156 already drops unpartitioned third-party cookies by
  default and keeps partitioned ones even with `--test-third-party-cookie-phaseout`; only a
  profile cookie setting refuses them all, so that is what this fixture uses.)
- `launch(page, user_id, ...)`: open the Moodle course page as that user (the double's users:
  "11" Chiara Greco and "6", "8", ... learners, "3" Carla Verdi teacher, "4" a tutor; see
  `tests/doubles/lti_platform/platform.py`) and wait until the launch lands on one of Circolo's
  own pages; it returns a `LaunchResult` with the Circolo `frame`, the landing `url` and `path`,
  and the HTTP `status` of that page. The double's course has two Circolo activities:
  `link_id="1"` the community pane (custom `community_mode=pane`, the default) and `"2"` the
  dashboard (`community_mode=dashboard`); `message_type=DEEP_LINKING` launches "add an
  activity" instead.

A test::

    def test_a_learner_sees_the_pane(page, launch):
        landed = launch(page, "11", locale="it")
        assert landed.path == "/pane" and landed.status == 200
        assert landed.frame.get_by_role("heading", level=1).inner_text() == "..."
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from middleware.config import PROJECT_ROOT
from tests.conftest import CHROMIUM_ARGS, served_database  # noqa: E402
from tests.doubles.lti_platform import RESOURCE_LINK, PlatformServer, Tool, start_platform

ENTRYPOINT = PROJECT_ROOT / "scripts" / "entrypoint.sh"
OUTPUT = PROJECT_ROOT / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
#: Milliseconds Playwright waits for a page or an element.
TIMEOUT_MS = 20_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.live_http)


# --- chromium -------------------------------------------------------------------------------------

# `chromium_executable` and `playwright_instance` live in tests/conftest.py: one Playwright
# per process, shared with every other test that drives chromium.


@pytest.fixture(scope="session")
def browser(playwright_instance: Any, chromium_executable: str) -> Iterator[Any]:
    """Headless chromium with default settings (partitioned third-party cookies allowed)."""
    browser = playwright_instance.chromium.launch(executable_path=chromium_executable,
                                                  args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


def _test_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:150]


def _save_screenshot(page: Any, name: str) -> Path | None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception:  # noqa: BLE001 - a screenshot must never hide the test's own result
        return None
    return path


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path | None]:
    """Save `page` as test-output/screenshots/<test name>-<step>.png."""
    return lambda page, step: _save_screenshot(page, f"{_test_name(request)}-{step}")


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh context and page; a screenshot of it is saved when the test ends."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    _save_screenshot(page, _test_name(request))
    context.close()


@pytest.fixture
def page_without_third_party_cookies(playwright_instance: Any, chromium_executable: str,
                                     moodle: PlatformServer, tmp_path: Path,
                                     request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a browser that refuses all cookies of frames embedded in Moodle's pages."""
    profile = tmp_path / "chromium-profile"
    (profile / "Default").mkdir(parents=True)
    moodle_site = urlsplit(moodle.issuer).hostname
    # A cookie content setting: primary pattern = the cookie's site, secondary = the top frame's.
    preferences = {"profile": {"content_settings": {"exceptions": {"cookies": {
        f"*,http://{moodle_site}:*": {"setting": 2}}}}}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
    context = playwright_instance.chromium.launch_persistent_context(
        str(profile), executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True,
        viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.pages[0] if context.pages else context.new_page()
    yield page
    _save_screenshot(page, _test_name(request))
    context.close()


# --- the Moodle double and Circolo ------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moodle() -> Iterator[PlatformServer]:
    """The Moodle-like platform double, on 127.0.0.1."""
    platform = start_platform()
    yield platform
    platform.stop()


@pytest.fixture(scope="session")
def browser_database_url(postgres_url: str | None,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database for the served Circolo, of the kind this run uses."""
    with served_database(postgres_url, tmp_path_factory.mktemp("circolo-browser"),
                         "browser") as url:
        yield url


@dataclass
class CircoloServer:
    """Circolo served by gunicorn for the browser tests."""

    base_url: str  # what browsers and the platform use: http://localhost:<port>
    bind_url: str  # where gunicorn listens: http://127.0.0.1:<port>
    env: dict[str, str]
    log_path: Path
    tool: Tool | None = None  # the double's tool (None when a real Moodle registers Circolo)
    platform_id: int = 0  # the Moodle double's platform row in Circolo
    #: The entrypoint role: `web` (gunicorn only), or `all` (gunicorn and the queue worker).
    role: str = "web"
    process: subprocess.Popen[bytes] | None = None
    commands: list[list[str]] = field(default_factory=list)

    @property
    def client_id(self) -> str:
        assert self.tool is not None
        return self.tool.client_id

    @property
    def deployment_id(self) -> str:
        assert self.tool is not None
        return self.tool.type_id

    def flask(self, *args: str, check: bool = True,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `flask circolo <args>` against the served Circolo's database and instance
        (`env` adds variables, e.g. a secret the command reads)."""
        command = [str(ENTRYPOINT), "flask", "circolo", *args]
        self.commands.append(command)
        result = subprocess.run(command, env={**self.env, **(env or {})}, capture_output=True,
                                text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"flask circolo {' '.join(args)} failed:\n{result.stdout}\n"
                                 f"{result.stderr}")
        return result

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self, *, timeout: float = 90) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([str(ENTRYPOINT), self.role], env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"Circolo exited with {self.process.returncode}:\n"
                                     f"{self.log_tail()}")
            try:
                if requests.get(f"{self.bind_url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet, or still booting its worker
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"Circolo did not start in {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def circolo_environment(instance: Path, port: int, database_url: str) -> dict[str, str]:
    """The environment of a served Circolo: nothing inherited from the test run's CIRCOLO_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCOLO_", "PROMETHEUS"))}
    env["PATH"] = f"{PROJECT_ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env.update(CIRCOLO_ENV="test", CIRCOLO_INSTANCE_PATH=str(instance),
               CIRCOLO_DATABASE_URL=database_url,
               # Its own queue file: no consumer runs, and no shared Redis is touched.
               CIRCOLO_QUEUE_URL=f"sqlite:///{instance}/queue.db",
               CIRCOLO_PUBLIC_BASE_URL=f"http://localhost:{port}",
               CIRCOLO_BIND=f"127.0.0.1:{port}", CIRCOLO_WEB_WORKERS="1",
               CIRCOLO_WEB_THREADS="8", CIRCOLO_LOG_LEVEL="INFO", CIRCOLO_MIGRATE="0")
    return env


@pytest.fixture(scope="session")
def circolo(moodle: PlatformServer, browser_database_url: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[CircoloServer]:
    """Circolo on a free port, migrated, with the Moodle double registered as its platform."""
    port = free_port()
    instance = tmp_path_factory.mktemp("circolo-instance")
    (OUTPUT / "browser").mkdir(parents=True, exist_ok=True)
    log_path = OUTPUT / "browser" / f"circolo-{port}.log"
    log_path.unlink(missing_ok=True)
    base_url = f"http://localhost:{port}"
    tool = moodle.add_tool(base_url=base_url, client_id=f"circolo-{secrets.token_hex(4)}",
                           name="Circolo")
    server = CircoloServer(base_url=base_url, bind_url=f"http://127.0.0.1:{port}", tool=tool,
                           log_path=log_path,
                           env=circolo_environment(instance, port, browser_database_url))
    server.flask("db", "upgrade")
    added = server.flask("platform", "add", "--issuer", moodle.issuer, "--client-id",
                         tool.client_id, "--deployment-id", tool.type_id, "--auth-login-url",
                         moodle.auth_url, "--auth-token-url", moodle.token_url, "--key-set-url",
                         moodle.jwks_url, "--name", "Moodle double")
    server.platform_id = int(re.search(r"platform (\d+):", added.stdout).group(1))
    server.start()
    yield server
    server.stop()
    shutil.rmtree(instance, ignore_errors=True)


# --- launching ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LaunchResult:
    """Where a launch landed in Circolo: its frame, URL, path and HTTP status."""

    frame: Any
    url: str
    path: str
    status: int


def circolo_frame(page: Any, base_url: str) -> Any | None:
    """Return the frame of `page` that shows Circolo, if any."""
    return next((f for f in page.frames if f.url.startswith(base_url)), None)


@pytest.fixture
def launch(moodle: PlatformServer, circolo: CircoloServer) -> Callable[..., LaunchResult]:
    """Open the Moodle course page as a user and wait for the launch to land in Circolo."""

    def run(page: Any, user_id: str, *, locale: str | None = None, link_id: str = "1",
            message_type: str = RESOURCE_LINK, tool: Tool | None = None,
            timeout: float = TIMEOUT_MS / 1000) -> LaunchResult:
        statuses: dict[str, int] = {}

        def remember(response: Any) -> None:
            if response.url.startswith(circolo.base_url):
                statuses[response.url] = response.status

        page.on("response", remember)
        try:
            page.goto(moodle.course_page_url(user_id, tool=tool or circolo.tool,
                                             message_type=message_type, locale=locale,
                                             link_id=link_id))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                frame = circolo_frame(page, circolo.base_url)
                if frame is not None:
                    path = urlsplit(frame.url).path
                    # /lti/login and /lti/launch only pass through: wait for where they lead.
                    if path not in {"/lti/login", "/lti/launch"} and frame.url in statuses:
                        frame.wait_for_load_state()
                        return LaunchResult(frame, frame.url, path, statuses[frame.url])
                page.wait_for_timeout(100)
        finally:
            page.remove_listener("response", remember)
        frames = [f.url for f in page.frames]
        raise AssertionError(f"the launch did not land in Circolo within {timeout}s; frames: "
                             f"{frames}\nCircolo log:\n{circolo.log_tail()}")

    return run
