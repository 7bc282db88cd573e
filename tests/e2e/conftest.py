"""The real-Moodle tier: Circolo against a Moodle installed from source, driven in Chromium.

Runs only when `MOODLE_SRC` names a Moodle source tarball or folder (`make e2e`); otherwise every
test here is skipped with one reason. Every test is marked `moodle` (and `browser`,
`live_http`). For the whole session:

- `moodle_site`: Moodle unpacked into a scratch folder, installed on its own PostgreSQL database
  (127.0.0.1:5432, user postgres or root; dropped at the end), a minimal Italian language pack,
  served by PHP's built-in server on a free port (`tests/e2e/moodle_site.py`).
- `seeded`: a course seeded once with Moodle's data generator (`php/seed_course.php`, the spec
  from `seeding.py`: the community the web-service double serves, plus a hidden forum).
- `webservices`: the web-service user, role, service and token, made exactly as the README's
  "Deployment" step 3 tells IT (`php/webservice_setup.php`, the lists read from the README).
- `circolo`: Circolo with its worker (`scripts/entrypoint.sh all`) on a free port, its own
  instance folder and database, known to browsers as http://localhost:<port> (a third-party
  iframe under Moodle's 127.0.0.1).
- `flow`: what the ordered steps of test_flow.py learnt (the tool's client id, the activities'
  ids, the launches the browser carried) for the steps after them.

Tests run in the order of the flow (test_flow.py, then test_contract.py); once a step fails the
later steps of the flow are skipped, and the failure shows what Moodle's PHP server and Circolo
logged meanwhile. `CIRCOLO_E2E_KEEP=1` keeps Moodle, its database and Circolo's instance after
the run (their paths are printed) to look at them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (  # noqa: F401 - `browser` is a fixture used here
    OUTPUT,
    CircoloServer,
    browser,
    circolo_environment,
)
from tests.conftest import served_database
from tests.e2e.deployment import webservice_setup
from tests.e2e.moodle_site import PHP, MoodleSite, free_port
from tests.e2e.moodle_ui import TIMEOUT_MS, LaunchRecorder, log_in
from tests.e2e.seeding import SeededCourse, course_spec

HERE = Path(__file__).parent
#: Modules in the order they run: the flow builds the state the others use.
ORDER = ("test_flow.py", "test_contract.py")
SKIP_REASON = ("the real-Moodle tier needs MOODLE_SRC (a Moodle source tarball or folder); "
               "run it with `MOODLE_SRC=... make e2e`")
_sites = pytest.StashKey[dict[str, Any]]()
_failed = pytest.StashKey[str]()
_figures = pytest.StashKey[dict[str, str]]()
_pages = pytest.StashKey[dict[str, Any]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in Path(str(item.fspath)).parents]
    skip = None if os.environ.get("MOODLE_SRC") else pytest.mark.skip(reason=SKIP_REASON)
    for item in ours:
        item.add_marker(pytest.mark.moodle)
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.live_http)
        if skip is not None:
            item.add_marker(skip)
    rank = {name: index for index, name in enumerate(ORDER)}
    ordered = sorted(ours, key=lambda i: rank.get(Path(str(i.fspath)).name, len(ORDER)))
    positions = [index for index, item in enumerate(items) if item in set(ours)]
    for position, item in zip(positions, ordered, strict=True):
        items[position] = item


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_sites] = {}
    config.stash[_figures] = {}
    config.stash[_pages] = {}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    figures = config.stash.get(_figures, {})
    if figures:
        terminalreporter.section("real-Moodle tier: measured")
        for name, value in figures.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> dict[str, str]:
    """What the tier measured (durations, call counts), printed at the end of the run."""
    started = time.monotonic()
    found = request.config.stash[_figures]
    request.addfinalizer(lambda: found.setdefault(
        "tier wall time (from the first Moodle step)", f"{time.monotonic() - started:.0f} s"))
    return found


def pytest_runtest_setup(item: pytest.Item) -> None:
    failed = item.config.stash.get(_failed, None)
    if failed and item.get_closest_marker("moodle") and Path(str(item.fspath)).name == ORDER[0]:
        pytest.skip(f"an earlier step of the flow failed: {failed}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    sites = item.config.stash[_sites]
    item.stash[_sites] = {name: site.log_size() for name, site in sites.items()}
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or not item.get_closest_marker("moodle"):
        return
    if Path(str(item.fspath)).name == ORDER[0]:
        item.config.stash[_failed] = item.name
    for person, page in item.config.stash[_pages].items():
        screenshot(page, f"FAILED-{item.name}-{person}")
    offsets = item.stash.get(_sites, {})
    for name, site in item.config.stash[_sites].items():
        report.sections.append((f"{name} logged during {item.name}",
                                site.log_since(offsets.get(name, 0)) or "(nothing)"))


# --- the sites ---------------------------------------------------------------------------------

def _keep() -> bool:
    return os.environ.get("CIRCOLO_E2E_KEEP") == "1"


@pytest.fixture(scope="session")
def moodle_site(request: pytest.FixtureRequest, figures: dict[str, str]) -> Iterator[MoodleSite]:
    """Moodle installed from MOODLE_SRC on its own database and port, served, Italian added."""
    source = os.environ.get("MOODLE_SRC")
    if not source:
        pytest.skip(SKIP_REASON)
    site = MoodleSite.prepare(Path(source))
    try:
        site.install()
        started = time.monotonic()
        site.add_language("it")
        site.configure()
        site.serve()
        request.config.stash[_sites]["Moodle (PHP server)"] = site
        figures["Moodle"] = f"{site.release} at {site.wwwroot}"
        figures["Moodle unpacked"] = f"{site.timings['unpack']:.0f} s"
        figures["Moodle installed"] = f"{site.timings['install']:.0f} s"
        figures["Moodle configured and served"] = f"{time.monotonic() - started:.0f} s"
        yield site
    finally:
        if _keep():
            site.stop()
            print(f"\nMoodle kept in {site.scratch}, database {site.name}")
        else:
            started = time.monotonic()
            site.destroy()
            figures["Moodle stopped and removed"] = f"{time.monotonic() - started:.0f} s"


@pytest.fixture(scope="session")
def seeded(moodle_site: MoodleSite, figures: dict[str, str]) -> SeededCourse:
    """The course, its people and forums, seeded once with Moodle's data generator."""
    started = time.monotonic()
    course = course_spec()
    course.ids = moodle_site.run_json(PHP / "seed_course.php", course.spec)
    figures["course seeded"] = (f"{time.monotonic() - started:.0f} s: {len(course.ids['users'])} "
                                f"people, {len(course.ids['forums'])} forums, "
                                f"{len(course.ids['posts'])} posts")
    return course


@dataclass
class WebServices:
    """What IT made for Circolo in Moodle: its user, service, role and token."""

    userid: int
    serviceid: int
    roleid: int
    token: str = field(repr=False)
    functions: list[str] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def webservices(moodle_site: MoodleSite, seeded: SeededCourse) -> WebServices:
    """The web-service user, role, service and token, as the README tells IT to make them."""
    setup = webservice_setup([seeded.course_id])
    made = moodle_site.run_json(PHP / "webservice_setup.php", setup)
    assert made["unknown"] == [], f"the README names what this Moodle does not have: {made}"
    return WebServices(made["userid"], made["serviceid"], made["roleid"], made["token"],
                       setup["functions"], setup["capabilities"])


@pytest.fixture(scope="session")
def circolo_database_url(postgres_url: str | None,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of this run's kind for the served Circolo."""
    with served_database(postgres_url, tmp_path_factory.mktemp("circolo-e2e-db"), "e2e") as url:
        yield url


@pytest.fixture(scope="session")
def circolo(request: pytest.FixtureRequest, moodle_site: MoodleSite, circolo_database_url: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[CircoloServer]:
    """Circolo and its worker on a free port, migrated, with nothing registered yet."""
    port = free_port()
    instance = tmp_path_factory.mktemp("circolo-e2e-instance")
    (OUTPUT / "e2e").mkdir(parents=True, exist_ok=True)
    log_path = OUTPUT / "e2e" / f"circolo-{port}.log"
    log_path.unlink(missing_ok=True)
    env = circolo_environment(instance, port, circolo_database_url)
    env["CIRCOLO_QUEUE_WORKERS"] = "2"
    server = CircoloServer(base_url=f"http://localhost:{port}",
                           bind_url=f"http://127.0.0.1:{port}", env=env, log_path=log_path,
                           role="all")
    server.flask("db", "upgrade")
    server.start()
    request.config.stash[_sites]["Circolo"] = _CircoloLog(log_path)
    yield server
    started = time.monotonic()
    server.stop()
    request.config.stash[_figures]["Circolo stopped"] = f"{time.monotonic() - started:.0f} s"
    if _keep():
        print(f"\nCircolo's instance kept in {instance}, log {log_path}")
    else:
        shutil.rmtree(instance, ignore_errors=True)


@dataclass
class _CircoloLog:
    """Circolo's log file, read like the Moodle site's (for failure reports)."""

    path: Path

    def log_size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def log_since(self, offset: int, limit: int = 12_000) -> str:
        if not self.path.exists():
            return ""
        with open(self.path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")[-limit:]


# --- browsers and what the flow learnt ------------------------------------------------------------

@dataclass
class Flow:
    """What the steps found out, for the steps after them."""

    recorder: LaunchRecorder
    client_id: str = ""
    deployment_id: str = ""
    platform_id: str = ""
    #: Moodle course-module ids of the activities the teacher added, by their name.
    activities: dict[str, int] = field(default_factory=dict)
    circolo_course_id: int = 0
    pages: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def flow(request: pytest.FixtureRequest, circolo: CircoloServer,
         figures: dict[str, str]) -> Flow:
    found = Flow(recorder=LaunchRecorder(circolo.base_url), figures=figures)
    request.config.stash[_pages] = found.pages  # screenshots of them when a step fails
    return found


@pytest.fixture(scope="session")
def person_page(browser: Any, moodle_site: MoodleSite, seeded: SeededCourse,  # noqa: F811
                flow: Flow) -> Iterator[Any]:
    """`person_page(username)`: a logged-in Moodle page of that person, kept for the session."""
    contexts = []

    def open_page(username: str) -> Any:
        if username in flow.pages:
            return flow.pages[username]
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        flow.recorder.watch(context, username)
        contexts.append(context)
        page = context.new_page()
        password = moodle_site.admin_password if username == "admin" else seeded.password
        log_in(page, moodle_site.wwwroot, username, password)
        flow.pages[username] = page
        return page

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Save the page under test-output/screenshots/e2e-<name>.png (never fails a test)."""
    folder = OUTPUT / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    # A screenshot must never hide the test's own result.
    with contextlib.suppress(Exception):
        page.screenshot(path=str(folder / f"e2e-{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"),
                        full_page=True)


def wait_until(check: Any, *, timeout: float, every: float = 1.0, what: str = "",
               page: Any = None) -> Any:
    """Call `check()` until it returns something truthy; fail after `timeout` seconds.

    Give the `page` when `check` looks at a browser: Playwright's sync API only takes in what
    the browser did (navigations, new frames) while it is called, so it waits, not `sleep`.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what or check}")
        if page is not None:
            page.wait_for_timeout(every * 1000)
        else:
            time.sleep(every)
