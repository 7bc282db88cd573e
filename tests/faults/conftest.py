"""Fault injection: the Moodle double served on 127.0.0.1, and a database that goes away.

`database_restart(engine)` makes the database drop out under a running operation: on PostgreSQL
it terminates every other backend of the test database (`pg_terminate_backend`), so the
operation's connection dies mid-transaction; on SQLite it makes the next write statement fail
with the `OperationalError` a vanished database file or a failed disk gives.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from middleware.models import Course, Person
from middleware.moodle.service import MoodleClient
from tests.doubles.community import Community, generate_community
from tests.doubles.moodle_ws import DoubleServer, MoodleDouble, start_double
from tests.sync.conftest import TOKEN, make_course

#: Client timeouts short enough for tests: connect, read (seconds).
TIMEOUT = (1.0, 0.4)
#: What the double waits when it is "slow": well past the read timeout.
SLOW = 1.0


class DatabaseRestart:
    """Make the database drop out once, at the moment `restart()` is called."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.restarts = 0
        self._armed = False
        self._refusals = 0
        if engine.dialect.name == "sqlite":
            event.listen(engine, "before_cursor_execute", self._fail_armed_write)
        else:
            event.listen(engine, "do_connect", self._refuse_connection)

    def restart(self, *, down_for: int = 0) -> None:
        """Drop every connection; with `down_for`, also refuse that many reconnections (on
        SQLite: fail that many more writes), as a database still starting up does."""
        self.restarts += 1
        if self.engine.dialect.name == "postgresql":
            # From a connection of its own, as a DBA's restart would: every session dies.
            admin = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
                connection.invalidate()  # not back into the pool: no live connection is left
            self._refusals = down_for
        else:
            self._refusals = down_for
            self._armed = True

    def _refuse_connection(self, *_: Any) -> None:
        if self._refusals > 0:
            self._refusals -= 1
            import psycopg

            raise psycopg.OperationalError("FATAL: the database system is starting up")

    def _fail_armed_write(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
                          *_: Any) -> None:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if self._armed and verb in ("INSERT", "UPDATE", "DELETE"):
            self._armed = self._refusals > 0
            self._refusals -= 1
            raise OperationalError(statement, parameters,
                                   sqlite3.OperationalError("disk I/O error"))

    def close(self) -> None:
        if self.engine.dialect.name == "sqlite":
            event.remove(self.engine, "before_cursor_execute", self._fail_armed_write)
        else:
            event.remove(self.engine, "do_connect", self._refuse_connection)


@pytest.fixture
def database_restart(db_session: Session) -> Iterator[DatabaseRestart]:
    restart = DatabaseRestart(db_session.get_bind())
    yield restart
    restart.close()


class HookedDouble(MoodleDouble):
    """The double, with a hook called when the n-th call of a function arrives."""

    def __init__(self, community: Community, **options: Any) -> None:
        super().__init__(community, **options)
        self.hooks: dict[str, tuple[int, Callable[[], None]]] = {}
        self.delivered_at: list[float] = []

    def on_call(self, function: str, nth: int, hook: Callable[[], None]) -> None:
        self.hooks[function] = (self.calls[function] + nth, hook)

    def handle(self, form: Any) -> tuple[int, str, dict[str, str]]:
        pairs = list(form.items()) if hasattr(form, "items") else list(form)
        function = next((v for k, v in pairs if k == "wsfunction"), "")
        hook = self.hooks.get(function)
        if hook is not None and self.calls[function] + 1 == hook[0]:
            del self.hooks[function]
            hook[1]()
        return super().handle(form)

    def references(self) -> dict[str, int]:
        """How many delivered messages carry each `circolo<id>` reference."""
        import re

        found: dict[str, int] = {}
        with self.lock:
            for conversation in self.conversations.values():
                for message in conversation.messages:
                    for reference in set(re.findall(r"circolo\d+", message["text"])):
                        found[reference] = found.get(reference, 0) + 1
        return found


class Switchable(requests.Session):
    """A client's HTTP session whose Moodle can be switched off: calls go to a closed port."""

    def __init__(self, dead_url: str) -> None:
        super().__init__()
        self.trust_env = False
        self.dead_url = dead_url
        self.down = False

    def post(self, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.down:
            url = self.dead_url + "/webservice" + url.split("/webservice", 1)[1]
        return super().post(url, *args, **kwargs)


def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def served() -> Iterator[tuple[HookedDouble, DoubleServer]]:
    """A generated community served by the hooked double on 127.0.0.1."""
    double = HookedDouble(generate_community(seed=23, learners=25, discussions=45, posts=220),
                          token=TOKEN)
    server = start_double(double)
    double.community.siteurl = server.url
    yield double, server
    server.stop()


@pytest.fixture
def twin() -> Iterator[tuple[MoodleDouble, DoubleServer]]:
    """The same community served by a second double: the uninterrupted baseline."""
    double = MoodleDouble(generate_community(seed=23, learners=25, discussions=45, posts=220),
                          token=TOKEN)
    server = start_double(double)
    yield double, server
    server.stop()


def course_on(session: Session, settings: Any, double: MoodleDouble, server: DoubleServer,
              issuer: str) -> Course:
    return make_course(session, settings.encryption_key, double.community.service_user.id,
                       issuer=issuer, url=server.url)


def test_client(url: str, session: requests.Session | None = None, retries: int = 2
                ) -> MoodleClient:
    """A client as the worker builds it, with test-sized timeouts and no backoff sleeps."""
    return MoodleClient(url, TOKEN, timeout=TIMEOUT, retries=retries, sleep=lambda _s: None,
                        session=session)


test_client.__test__ = False  # type: ignore[attr-defined]


class TeacherView:
    """The teacher's pages of a course, opened with a launch token as the pane's links carry."""

    def __init__(self, app: Any, course: Course, teacher: Person) -> None:
        from middleware.lti.session import TOKEN_HEADER, Launch, issue_launch_token, new_sid

        launch = Launch(sid=new_sid(), platform_id=course.platform_id,
                        platform_origin="http://127.0.0.1:8081", course_id=course.id,
                        person_id=teacher.id, role="teacher", resource_link_id="rl-1",
                        deployment_id="1", locale="en")
        self.client = app.test_client()
        with app.test_request_context():
            self.headers = {TOKEN_HEADER: issue_launch_token(launch)}

    def page(self, path: str) -> str:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)


def plain(html: str) -> str:
    """The page's text with tags and runs of whitespace collapsed, for phrase assertions."""
    import re
    from html import unescape

    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)

