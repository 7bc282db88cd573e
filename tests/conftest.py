"""Fixtures shared by every test: settings, app, client, runner, database session, HTTP guard.

The suite runs on SQLite by default. With CIRCOLO_DATABASE_URL=postgresql://... it runs on a
fresh PostgreSQL database created for this test session (and dropped after), so parallel runs
never share tables; with CIRCOLO_QUEUE_URL=redis://... the queue tests use Redis.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses as responses_lib
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from middleware import create_app
from middleware.config import PROJECT_ROOT, Settings
from middleware.db import database
from middleware.models import Base

#: Responses recorded from real Moodles, one folder per version (see each folder's README).
FIXTURES_ROOT = PROJECT_ROOT / "tests" / "fixtures"
#: The versions recorded (scripts/record_moodle.py adds one): tests of recordings parse each.
MOODLE_VERSIONS = tuple(sorted(p.name.removeprefix("moodle-")
                               for p in FIXTURES_ROOT.glob("moodle-*") if p.is_dir()))


def pytest_configure(config: pytest.Config) -> None:
    _move_clock_ahead()
    # Translations are compiled from the .po files so the tests always read the current ones.
    subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "i18n.py"), "compile"],
                   check=True, capture_output=True)


# --- test tiers (`make test-fast` leaves out browser, live_http and slow) ------------------------

#: A test that asks for one of these drives Chromium.
BROWSER_FIXTURES = frozenset({"playwright_instance", "chromium_executable"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Marked from what a test uses, so a new browser test cannot slip into the fast tier; a test
    # that reaches a server on 127.0.0.1 without `live_http` is refused by `http_mock` below.
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.live_http)


# --- database ---------------------------------------------------------------------------------

def _postgres_admin_url() -> str | None:
    url = os.environ.get("CIRCOLO_DATABASE_URL", "")
    return url if url.startswith(("postgresql", "postgres://")) else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this session (None when running on SQLite)."""
    admin_url = _postgres_admin_url()
    if admin_url is None:
        yield None
        return
    admin_url = Settings.from_env({"CIRCOLO_DATABASE_URL": admin_url,
                                   "CIRCOLO_INSTANCE_PATH": "/tmp/circolo-test-secrets"})
    with scratch_database(admin_url.database_url,
                          f"circolo_test_{os.getpid()}_{secrets.token_hex(3)}") as url:
        yield url


@contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """Create the PostgreSQL database `name` beside `server_url`'s, yield its URL, then drop it."""
    # No pool: the fault tests restart the database (terminating its connections) while a
    # session-long scratch database is alive; its teardown must open a fresh connection.
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server_url.rpartition('/')[0]}/{name}"
    finally:
        with engine.connect() as connection:
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
            ), {"name": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        engine.dispose()


@contextmanager
def served_database(postgres_url: str | None, folder: Path, label: str) -> Iterator[str]:
    """An empty database of this run's kind for a Circolo served in its own process."""
    if postgres_url is None:
        yield f"sqlite:///{folder}/circolo.db"
        return
    session_name = postgres_url.rpartition("/")[2]
    with scratch_database(postgres_url, f"{session_name}_{label}_{secrets.token_hex(2)}") as url:
        yield url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def fresh_database_url(postgres_url: str | None, tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind this run uses (for migrations and start-up tests)."""
    if postgres_url is None:
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    session_name = postgres_url.rpartition("/")[2]
    with scratch_database(postgres_url, f"{session_name}_{secrets.token_hex(3)}") as url:
        yield url


@pytest.fixture(scope="session")
def _postgres_schema(postgres_url: str | None) -> Iterator[None]:
    if postgres_url is not None:
        engine = create_engine(postgres_url)
        Base.metadata.create_all(engine)
        engine.dispose()
    yield


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str | None, _postgres_schema: None) -> Settings:
    """Test settings: a temporary instance folder, fixed secrets, a throwaway database."""
    return Settings(
        env="test",
        testing=True,
        instance_path=tmp_path / "instance",
        database_url=postgres_url or f"sqlite:///{tmp_path}/circolo.db",
        queue_url="memory://",
        secret_key="test-secret-" + uuid.uuid4().hex,
        encryption_key=Fernet.generate_key().decode(),
        public_base_url="http://127.0.0.1:8090",
    )


@pytest.fixture(scope="session")
def _sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with every table, made once: each test starts from a copy of it."""
    path = tmp_path_factory.mktemp("schema") / "schema.db"
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    Base.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture
def app(settings: Settings, _sqlite_schema: Path) -> Iterator[Flask]:
    if settings.database_url.startswith("sqlite:///"):
        # A file copy instead of CREATE TABLE for every table: a tenth of the time per test.
        target = Path(settings.database_url.removeprefix("sqlite:///"))
        if not target.exists():
            shutil.copyfile(_sqlite_schema, target)
    app = create_app(settings)
    db = database(app)
    yield app
    if db.engine.dialect.name == "postgresql":
        # One database per session: empty it after each test instead of recreating it.
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A session on the test database, inside an app context."""
    with app.app_context(), database(app).session() as session:
        yield session


# --- the clock ------------------------------------------------------------------------------------

#: CI runs the suite once with the clock this many days ahead, to prove that no test mixes a fixed
#: date with the real clock. The travel starts before collection (module-level dates move too);
#: a test that travels to its own time keeps doing so, because travels nest.
CLOCK_AHEAD_DAYS = os.environ.get("CIRCOLO_TEST_CLOCK_AHEAD_DAYS", "")
_clock_travel = None


def _move_clock_ahead() -> None:
    global _clock_travel
    if CLOCK_AHEAD_DAYS and _clock_travel is None:
        import time_machine

        ahead = datetime.now(UTC) + timedelta(days=int(CLOCK_AHEAD_DAYS))
        _clock_travel = time_machine.travel(ahead, tick=True)
        _clock_travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _clock_travel is not None:
        _clock_travel.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    if CLOCK_AHEAD_DAYS:
        return f"clock moved {CLOCK_AHEAD_DAYS} days ahead (CIRCOLO_TEST_CLOCK_AHEAD_DAYS)"
    return None


# --- queue --------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def immediate_queue() -> Iterator[None]:
    """Run enqueued tasks at once, in memory, unless a test starts a real consumer."""
    from middleware.queue import huey

    previous = huey.immediate
    huey.immediate = True
    yield
    huey.immediate = previous


# --- outbound HTTP --------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def http_mock(request: pytest.FixtureRequest) -> Iterator[responses_lib.RequestsMock]:
    """Fail outbound HTTP calls a test did not register; `live_http` tests may reach 127.0.0.1."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        if request.node.get_closest_marker("live_http"):
            mock.add_passthru("http://127.0.0.1")
            mock.add_passthru("http://localhost")
        yield mock


# --- chromium (one Playwright per process: its sync API cannot be started twice) -----------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's chromium; locally its absence skips, in CI it fails."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    reason = (f"{CHROMIUM} is not installed (Debian package `chromium`; `make test` installs "
              "it when run as root)")
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_instance(chromium_executable: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


# --- helpers ---------------------------------------------------------------------

@pytest.fixture(params=MOODLE_VERSIONS, ids=lambda version: f"moodle-{version}")
def fixtures_dir(request: pytest.FixtureRequest) -> Path:
    """One Moodle version's recorded responses (tests/fixtures/moodle-<version>): a test that
    reads recordings runs once per version."""
    folder = FIXTURES_ROOT / f"moodle-{request.param}"
    assert folder.is_dir(), f"recorded Moodle responses not found at {folder}"
    return folder


def recorded_file(folder: Path, relative: str) -> Path:
    """A recording of `folder`; a test skips for a version that has no such recording."""
    path = folder / relative
    if not path.exists():
        pytest.skip(f"{relative} is not recorded for {folder.name}")
    return path
