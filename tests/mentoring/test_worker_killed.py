"""A worker killed at every step of delivery: after recovery, no duplicate and no lost prompt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import select

from middleware.config import PROJECT_ROOT
from middleware.db import database
from middleware.mentoring import delivery
from middleware.mentoring.delivery import LEASE, deliver_due
from middleware.models import MentoringPrompt, OutboxMessage

from .builders import NOW
from .conftest import routed_course
from .fake_moodle import FakeMoodle, FileMoodle
from .test_delivery import decide


class WorkerKilled(BaseException):
    """Process death: nothing after it runs, nothing uncommitted survives."""


def kill_at(step: str, target: int):
    def hook(name: str, outbox_id: int) -> None:
        if name == step and outbox_id == target:
            raise WorkerKilled(step)
    return delivery.on_step(hook)


# How the target message got into the outbox before the kill: never tried; tried, and Moodle
# stored it but the answer was lost; tried, and the connection failed before Moodle stored it.
PRELUDES = {"fresh": None, "stored_then_timed_out": "after", "lost_before_moodle": "before"}
CASES = [("fresh", "claimed"), ("fresh", "sent"), ("fresh", "recorded"),
         ("stored_then_timed_out", "claimed"), ("stored_then_timed_out", "verified"),
         ("stored_then_timed_out", "recorded"),
         ("lost_before_moodle", "claimed"), ("lost_before_moodle", "verified"),
         ("lost_before_moodle", "sent"), ("lost_before_moodle", "recorded")]


def prepare(world, moodle, prelude: str) -> tuple[list[int], int, object]:
    """Decide three prompts; return outbox ids, the target id, and the time to deliver at."""
    routed_course(world, questions=3, peers=1)
    decide(world)
    ids = list(world.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
    target = ids[0]
    now = NOW
    if PRELUDES[prelude]:
        moodle.failures = [PRELUDES[prelude]]
        delivery.deliver_one(world.session, target, moodle, now=NOW)
        now = NOW + timedelta(minutes=2)
        assert world.session.get(OutboxMessage, target, populate_existing=True).state == \
            "unknown"
    return ids, target, now


def recover(session, moodle, now) -> None:
    """What the next workers do: deliver now, after the lease, and a while later."""
    for later in (now, now + LEASE + timedelta(seconds=1), now + timedelta(hours=1)):
        deliver_due(session, lambda course: moodle, now=later)


def assert_exactly_once(session, moodle, ids: list[int]) -> None:
    session.expire_all()
    rows = [session.get(OutboxMessage, i) for i in ids]
    assert moodle.count_by_reference() == {row.reference: 1 for row in rows}
    assert {row.state for row in rows} == {"sent"}
    prompts = session.scalars(select(MentoringPrompt)).all()
    assert {p.status for p in prompts} == {"sent"} and len(prompts) == len(ids)
    for row in rows:  # the recorded msgid is the one Moodle gave that very message
        delivered = {d["clientmsgid"]: d["msgid"] for d in moodle.delivered()}
        assert row.moodle_msgid == delivered[row.reference]


@pytest.mark.parametrize("prelude, step", CASES)
def test_worker_killed_at_each_step_delivers_exactly_once(app, world, prelude, step):
    moodle = FakeMoodle()
    ids, target, now = prepare(world, moodle, prelude)
    remove = kill_at(step, target)
    try:
        with pytest.raises(WorkerKilled):
            deliver_due(world.session, lambda course: moodle, now=now)
    finally:
        remove()
    world.session.rollback()  # the dead process's open transaction is gone
    world.session.close()

    with database(app).session() as session:  # a new worker process
        recover(session, moodle, now)
        assert_exactly_once(session, moodle, ids)


def test_a_killed_workers_row_is_not_taken_over_before_its_lease_expires(app, world):
    moodle = FakeMoodle()
    ids, target, now = prepare(world, moodle, "fresh")
    remove = kill_at("claimed", target)
    try:
        with pytest.raises(WorkerKilled):
            deliver_due(world.session, lambda course: moodle, now=now)
    finally:
        remove()
    world.session.rollback()
    with database(app).session() as session:
        report = deliver_due(session, lambda course: moodle, now=now + LEASE - timedelta(seconds=1))
        assert target not in report.sent + report.recovered  # it might still be in flight
        assert session.get(OutboxMessage, target).state == "sending"
        report = deliver_due(session, lambda course: moodle, now=now + LEASE)
        assert report.sent == [target] and moodle.reads == 1  # read back first, then sent


WORKER = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime
    from middleware.db import Database
    from middleware.mentoring import delivery
    from tests.mentoring.fake_moodle import FileMoodle

    url, path, step, target, now = sys.argv[1:]
    moodle = FileMoodle(path)

    def die(name, outbox_id):
        if name == step and outbox_id == int(target):
            os.kill(os.getpid(), signal.SIGKILL)

    delivery.on_step(die)
    with Database(url).session() as session:
        delivery.deliver_due(session, lambda course: moodle, now=datetime.fromisoformat(now))
""")


@pytest.mark.slow  # a worker process per case
@pytest.mark.parametrize("prelude, step", [("fresh", "claimed"), ("fresh", "sent"),
                                           ("fresh", "recorded"),
                                           ("stored_then_timed_out", "verified"),
                                           ("lost_before_moodle", "sent")])
def test_worker_process_sigkilled_at_a_step_delivers_exactly_once(app, world, tmp_path, settings,
                                                                  prelude, step):
    moodle = FileMoodle(tmp_path / "moodle-deliveries.jsonl")
    ids, target, now = prepare(world, moodle, prelude)
    world.session.commit()
    world.session.close()
    process = subprocess.run(
        [sys.executable, "-c", WORKER, settings.database_url, str(moodle.path), step,
         str(target), now.isoformat()],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CIRCOLO_QUEUE_URL": "memory://"})
    assert process.returncode == -signal.SIGKILL, process.stderr
    with database(app).session() as session:
        recover(session, moodle, now)
        assert_exactly_once(session, moodle, ids)
