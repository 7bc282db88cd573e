"""Two worker processes on one Redis queue and one PostgreSQL database lose and duplicate nothing.

Circolo's workers run as `scripts/entrypoint.sh worker` (separate processes, each with its own
periodic scheduler, so every minute's periodic tasks are queued twice), on a queue named for this
test run alone (`CIRCOLO_QUEUE_NAME`). The Moodle web-service double runs in a process of its
own, a little slow, so that syncs of one course really overlap in time. The double serves one
Moodle course; the Circolo courses are several LTI contexts reading it, i.e. independent sync
jobs. The test also queues every sync and delivery several times from outside, as a teacher's
"sync now" and the schedulers of other hosts would, and then checks:

- each course synced completely (same rows as the double's community) and no two runs of one
  course overlapped (the per-course lease);
- every outbox message reached Moodle exactly once (the double's own record of sent messages,
  read back through its web services), and each row records the msgid Moodle gave it.

It needs PostgreSQL and Redis (`CIRCOLO_DATABASE_URL=postgresql://...`,
`CIRCOLO_QUEUE_URL=redis://...`, as the CI's second pass sets them) and is skipped otherwise.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from middleware.config import PROJECT_ROOT
from middleware.mentoring.tasks import deliver_outbox
from middleware.models import (
    Course,
    Discussion,
    Enrolment,
    MentoringPrompt,
    MoodleConnection,
    OutboxMessage,
    Person,
    Platform,
    Post,
    SyncRun,
    utcnow,
)
from middleware.models.moodle import SUCCEEDED
from middleware.moodle.operations import encrypt_token
from middleware.moodle.service import MoodleClient, MoodleError
from middleware.queue import create_huey, huey
from middleware.sync.tasks import sync_course_task
from tests.doubles.community import generate_community
from tests.doubles.moodle_ws import spawn_double

DATABASE_URL = os.environ.get("CIRCOLO_DATABASE_URL", "")
QUEUE_URL = os.environ.get("CIRCOLO_QUEUE_URL", "")
ENTRYPOINT = PROJECT_ROOT / "scripts" / "entrypoint.sh"
OUTPUT = PROJECT_ROOT / "test-output" / "scaleout"

pytestmark = [
    pytest.mark.live_http,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATABASE_URL.startswith(("postgresql", "postgres://"))
             and QUEUE_URL.startswith(("redis://", "rediss://"))),
        reason="scale-out needs CIRCOLO_DATABASE_URL=postgresql://... and "
               "CIRCOLO_QUEUE_URL=redis://... (the CI's second pass runs it)"),
]

COMMUNITY = {"seed": 23, "learners": 40, "discussions": 24, "posts": 160}
COURSES = 6
MESSAGES_PER_COURSE = 5
TOKEN = "scaleout-double-token"


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             logs: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} not within {timeout}s\n{logs()}")


class Workers:
    """`scripts/entrypoint.sh worker` processes, each logging to its own file."""

    def __init__(self, env: dict[str, str], count: int, name: str) -> None:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        self.logs = [OUTPUT / f"{name}-worker{i}.log" for i in range(count)]
        self.processes: list[subprocess.Popen[bytes]] = []
        for path in self.logs:
            with open(path, "wb") as log:
                self.processes.append(subprocess.Popen(
                    [str(ENTRYPOINT), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))

    def text(self, index: int) -> str:
        return self.logs[index].read_text(errors="replace")

    def tail(self) -> str:
        return "\n".join(f"--- {path.name}\n" + "\n".join(self.text(i).splitlines()[-25:])
                         for i, path in enumerate(self.logs))

    def started(self) -> bool:
        for process in self.processes:
            if process.poll() is not None:
                raise AssertionError(f"a worker exited with {process.returncode}\n{self.tail()}")
        return all("worker starting" in self.text(i) for i in range(len(self.logs)))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def environment(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    """The workers' environment: this test's database and a queue name of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCOLO_", "PROMETHEUS"))}
    env["PATH"] = f"{PROJECT_ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env.update(CIRCOLO_ENV="development", CIRCOLO_INSTANCE_PATH=str(tmp_path / "instance"),
               CIRCOLO_DATABASE_URL=fresh_database_url, CIRCOLO_QUEUE_URL=QUEUE_URL,
               CIRCOLO_QUEUE_NAME=f"circolo-scaleout-{secrets.token_hex(6)}",
               CIRCOLO_SECRET_KEY=secrets.token_urlsafe(32),
               CIRCOLO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
               CIRCOLO_SYNC_INTERVAL="1", CIRCOLO_QUEUE_WORKERS="2", CIRCOLO_LOG_LEVEL="INFO")
    subprocess.run([str(ENTRYPOINT), "migrate"], env=env, check=True, capture_output=True,
                   timeout=120)
    return env


class Queue:
    """The workers' queue seen from this process (as another host would enqueue)."""

    def __init__(self, name: str) -> None:
        self.huey = create_huey(QUEUE_URL, name=name)
        self.huey._registry = huey._registry  # the same task classes, another queue

    def enqueue(self, task: Any, *args: Any, **kwargs: Any) -> None:
        self.huey.enqueue(task.s(*args, **kwargs))

    def pending(self) -> int:
        return self.huey.pending_count()


@pytest.fixture
def queue(environment: dict[str, str]) -> Iterator[Queue]:
    queue = Queue(environment["CIRCOLO_QUEUE_NAME"])
    yield queue
    queue.huey.storage.flush_all()


def seed(session: Session, key: str, url: str, service_user_id: int) -> list[int]:
    platform = Platform(issuer="http://moodle.scaleout", client_id="circolo",
                        auth_login_url="http://moodle.scaleout/auth",
                        auth_token_url="http://moodle.scaleout/token",
                        key_set_url="http://moodle.scaleout/jwks")
    session.add(platform)
    session.flush()
    session.add(MoodleConnection(platform_id=platform.id, url=url + "/webservice/rest/server.php",
                                 token_ciphertext=encrypt_token(key, TOKEN),
                                 service_user_id=service_user_id))
    courses = [Course(platform_id=platform.id, context_id=f"2-{i}", moodle_course_id=2,
                      title=f"CDP101 section {i}", active=True) for i in range(COURSES)]
    session.add_all(courses)
    session.commit()
    return [course.id for course in courses]


def add_messages(session: Session, course_ids: list[int]) -> list[int]:
    """Queue MESSAGES_PER_COURSE outbox messages per course, to synced learners, due now."""
    ids = []
    for course_id in course_ids:
        learners = session.scalars(
            select(Person).join(Enrolment, Enrolment.person_id == Person.id)
            .where(Enrolment.course_id == course_id, Enrolment.role == "learner",
                   Enrolment.active.is_(True), Person.moodle_user_id.is_not(None))
            .order_by(Person.moodle_user_id).limit(MESSAGES_PER_COURSE)).all()
        assert len(learners) == MESSAGES_PER_COURSE
        for person in learners:
            prompt = MentoringPrompt(course_id=course_id, rule="welcome", kind="welcome",
                                     recipient_id=person.id, status="queued")
            session.add(prompt)
            session.flush()
            message = OutboxMessage(prompt_id=prompt.id, course_id=course_id,
                                    recipient_id=person.id, moodle_user_id=person.moodle_user_id,
                                    state="pending", not_before=utcnow() - timedelta(seconds=5))
            session.add(message)
            session.flush()
            message.text = f"Benvenuto nel corso {course_id}! ({message.reference})"
            ids.append(message.id)
    session.commit()
    return ids


def test_two_workers_sync_and_deliver_everything_exactly_once(environment, queue):
    started = time.monotonic()
    community = generate_community(**COMMUNITY)
    engine = create_engine(environment["CIRCOLO_DATABASE_URL"])
    with spawn_double(token=TOKEN, **COMMUNITY) as double, Session(engine) as session:
        double.control("latency", seconds=0.01)  # syncs take long enough to collide
        course_ids = seed(session, environment["CIRCOLO_ENCRYPTION_KEY"], double.url,
                          community.service_user.id)
        workers = Workers(environment, 2, environment["CIRCOLO_QUEUE_NAME"])
        try:
            wait_for(workers.started, 30, "both workers started", workers.tail)
            # Each worker's scheduler has queued the due courses at start-up; another host
            # (this test) asks for every course twice more.
            for _ in range(2):
                for course_id in course_ids:
                    queue.enqueue(sync_course_task, course_id, trigger="manual")

            def all_synced() -> bool:
                session.expire_all()
                runs = session.scalars(select(SyncRun)).all()
                done = {r.course_id for r in runs if r.status == SUCCEEDED}
                return done == set(course_ids) and all(r.finished_at for r in runs) \
                    and queue.pending() == 0

            wait_for(all_synced, 45, "every course synced", workers.tail)

            # --- syncs: complete, and never two at once for one course ----------------------
            runs = session.scalars(select(SyncRun).order_by(SyncRun.course_id,
                                                            SyncRun.started_at)).all()
            failed = [(r.course_id, r.error) for r in runs if r.status != SUCCEEDED]
            assert not failed, failed
            for course_id in course_ids:
                mine = [r for r in runs if r.course_id == course_id]
                for earlier, later in zip(mine, mine[1:], strict=False):
                    assert later.started_at >= earlier.finished_at, \
                        f"course {course_id}: runs {earlier.id} and {later.id} overlapped"
                counts = {
                    "posts": session.scalar(select(func.count(Post.id))
                                            .where(Post.course_id == course_id)),
                    "discussions": session.scalar(select(func.count(Discussion.id))
                                                  .where(Discussion.course_id == course_id)),
                }
                assert counts == {"posts": len(community.posts),
                                  "discussions": len(community.discussions)}, course_id
            synced_by = [len(re.findall(r'"course synced"', workers.text(i))) for i in (0, 1)]
            assert all(synced_by), f"one worker synced nothing: {synced_by}"
            assert sum(synced_by) == len(runs)

            # --- deliveries: every message exactly once ---------------------------------------
            # Rules may have decided prompts of their own after each analysis: those count too.
            message_ids = add_messages(session, course_ids)
            for _ in range(2):
                for course_id in course_ids:
                    queue.enqueue(deliver_outbox, course_id)
                queue.enqueue(deliver_outbox)

            def all_delivered() -> bool:
                session.expire_all()
                rows = session.scalars(select(OutboxMessage)).all()
                mine_sent = all(r.state == "sent" for r in rows if r.id in message_ids)
                settled = all(r.state in ("sent", "failed") or
                              (r.state == "pending" and r.not_before > utcnow()) for r in rows)
                return mine_sent and settled and queue.pending() == 0

            wait_for(all_delivered, 30, "every due message delivered", workers.tail)
            rows = session.scalars(select(OutboxMessage)).all()
            states = Counter(row.state for row in rows)
            sends = double.stats()["calls"].get("core_message_send_instant_messages", 0)
            assert sends == states["sent"] + states["failed"], (sends, states)

            client = MoodleClient(double.url, TOKEN)
            found: Counter[str] = Counter()
            msgids: dict[str, int] = {}
            for recipient in sorted({row.moodle_user_id for row in rows}):
                try:
                    conversation = client.get_conversation_between_users(
                        community.service_user.id, recipient, messagelimit=100)
                except MoodleError:  # no conversation: nothing was sent to them
                    continue
                for message in conversation.messages if conversation else ():
                    for reference in re.findall(r"circolo\d+", message.text):
                        found[reference] += 1
                        msgids[reference] = message.id
            assert found == Counter({row.reference: 1 for row in rows if row.state == "sent"})
            assert msgids == {row.reference: row.moodle_msgid for row in rows
                              if row.state == "sent"}
            delivered_by = [len(re.findall(r'"outbox message sent"', workers.text(i)))
                            for i in (0, 1)]
            assert sum(delivered_by) == states["sent"]
        finally:
            workers.stop()
            engine.dispose()
    print(f"scale-out: {len(runs)} sync runs (by worker: {synced_by}), "
          f"{states['sent']} messages sent (by worker: {delivered_by}), {dict(states)}, "
          f"{time.monotonic() - started:.1f}s")

