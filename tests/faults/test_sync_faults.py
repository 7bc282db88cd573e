"""A sync meets a broken Moodle or a database restart mid-way, fails plainly, then recovers to
exactly what an uninterrupted sync stores."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from middleware.dashboard.board import sync_failure_text
from middleware.models import Enrolment, Person, SyncRun
from middleware.models.community import TEACHER
from middleware.models.moodle import FAILED, SUCCEEDED
from middleware.sync.operations import run_sync
from tests.sync.conftest import TOKEN, snapshot

from .conftest import (
    SLOW,
    Switchable,
    TeacherView,
    closed_port_url,
    course_on,
    plain,
    test_client,
)

pytestmark = pytest.mark.live_http

#: The fault starts at this discussion's posts: after several checkpoints, before the end.
AT_DISCUSSION = 25

#: What the teacher reads on the dashboard for each fault.
PLAIN_WORDS = {
    "down": "Moodle could not be reached",
    "slow": "Moodle did not answer in time",
    "html": "Moodle answered with an error page instead of data",
    "truncated": "Moodle's answer was cut off",
    "database": "Circolo's database was unavailable",
}


def sync(session, settings, course, url, http=None):
    return run_sync(session, course.id, key=settings.encryption_key, checkpoint=session.commit,
                    client_factory=lambda _connection: test_client(url, http))


def teacher_of(session, course):
    return session.scalar(select(Person).join(Enrolment, Enrolment.person_id == Person.id)
                          .where(Enrolment.course_id == course.id, Enrolment.role == TEACHER))


@pytest.fixture
def baseline(db_session, settings, twin):
    """The same community synced once, with nothing going wrong."""
    double, server = twin
    course = course_on(db_session, settings, double, server, issuer="http://moodle-b.test")
    run = sync(db_session, settings, course, server.url)
    assert run.status == SUCCEEDED, run.error
    return snapshot(db_session, course)


def inject(kind, double, switch):
    """Arm the fault to start at the AT_DISCUSSION-th discussion's posts."""
    function = "mod_forum_get_discussion_posts"
    if kind == "down":
        hook = lambda: setattr(switch, "down", True)  # noqa: E731
    elif kind == "slow":
        hook = lambda: setattr(double, "latency", SLOW)  # noqa: E731
    else:  # every attempt of that call (the client tries three times)
        hook = lambda: double.fail_next(kind, count=3, function=function)  # noqa: E731
    double.on_call(function, AT_DISCUSSION, hook)


def heal(double, switch):
    switch.down = False
    double.latency = 0.0


@pytest.mark.parametrize("kind", ["down", "slow", "html", "truncated"])
def test_moodle_fault_mid_sync_fails_plainly_then_recovers_without_loss(
        app, db_session, settings, served, baseline, kind):
    double, server = served
    course = course_on(db_session, settings, double, server, issuer="http://moodle-a.test")
    switch = Switchable(closed_port_url())
    inject(kind, double, switch)

    failed = sync(db_session, settings, course, server.url, switch)
    assert failed.status == FAILED
    assert TOKEN not in failed.error
    partial = snapshot(db_session, course)
    assert 0 < len(partial["posts"]) < len(baseline["posts"])  # work before the fault was kept
    page = plain(TeacherView(app, course, teacher_of(db_session, course)).page("/dashboard"))
    assert "The last sync" in page and "failed" in page
    assert PLAIN_WORDS[kind] in page

    heal(double, switch)
    recovered = sync(db_session, settings, course, server.url, switch)
    assert recovered.status == SUCCEEDED, recovered.error
    assert snapshot(db_session, course) == baseline
    page = plain(TeacherView(app, course, teacher_of(db_session, course)).page("/dashboard"))
    assert "Last synced" in page and PLAIN_WORDS[kind] not in page


def test_database_restart_mid_sync_records_the_failure_then_recovers_without_loss(
        app, db_session, settings, served, baseline, database_restart):
    double, server = served
    course = course_on(db_session, settings, double, server, issuer="http://moodle-a.test")
    double.on_call("mod_forum_get_discussion_posts", AT_DISCUSSION, database_restart.restart)

    # The worker's task re-raises (for its log) after recording the run.
    with pytest.raises(OperationalError):
        sync(db_session, settings, course, server.url)
    db_session.rollback()
    assert database_restart.restarts == 1
    run = db_session.scalars(select(SyncRun).where(SyncRun.course_id == course.id)).one()
    assert run.status == FAILED and run.finished_at is not None
    partial = snapshot(db_session, course)
    assert 0 < len(partial["posts"]) < len(baseline["posts"])
    page = plain(TeacherView(app, course, teacher_of(db_session, course)).page("/dashboard"))
    assert "failed" in page and PLAIN_WORDS["database"] in page

    recovered = sync(db_session, settings, course, server.url)
    assert recovered.status == SUCCEEDED, recovered.error
    assert snapshot(db_session, course) == baseline


def test_database_down_longer_than_the_sync_then_the_next_run_closes_the_interrupted_one(
        app, db_session, settings, served, baseline, database_restart):
    double, server = served
    course = course_on(db_session, settings, double, server, issuer="http://moodle-a.test")
    # Down long enough that even recording the failure fails: the run is left "running".
    double.on_call("mod_forum_get_discussion_posts", AT_DISCUSSION,
                   lambda: database_restart.restart(down_for=1))
    with pytest.raises(OperationalError):
        sync(db_session, settings, course, server.url)
    db_session.rollback()
    db_session.expire_all()
    [stale] = db_session.scalars(select(SyncRun).where(SyncRun.course_id == course.id)).all()
    assert stale.status == "running" and stale.finished_at is None

    # The worker's next sync of the course (same process: its lease is still its own).
    recovered = sync(db_session, settings, course, server.url)
    assert recovered.status == SUCCEEDED, recovered.error
    assert snapshot(db_session, course) == baseline
    db_session.expire_all()
    stale = db_session.get(SyncRun, stale.id)
    assert stale.status == FAILED and stale.finished_at is not None
    with app.test_request_context():
        assert sync_failure_text(stale.error).startswith("It was interrupted before it finished")
    page = plain(TeacherView(app, course, teacher_of(db_session, course)).page("/dashboard"))
    assert "Last synced" in page and "still running" not in page
