"""Leases, "sync now" rate limiting, the scheduler, the task and its signals, and metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from middleware.models import Course, SyncRun, utcnow
from middleware.models.moodle import SUCCEEDED
from middleware.signals import course_activated, course_synced
from middleware.sync import operations
from middleware.sync.operations import (
    SyncRequestedTooSoon,
    acquire_sync_lease,
    last_sync,
    release_sync_lease,
    request_sync,
)


def test_lease_excludes_a_second_holder_until_released_or_expired(db_session, course):
    now = utcnow()
    assert acquire_sync_lease(db_session, course.id, "host-a:1", now=now)
    db_session.commit()
    assert not acquire_sync_lease(db_session, course.id, "host-b:2", now=now)
    assert acquire_sync_lease(db_session, course.id, "host-a:1", now=now)  # renewal
    release_sync_lease(db_session, course.id, "host-a:1")
    db_session.commit()
    assert acquire_sync_lease(db_session, course.id, "host-b:2", now=now)
    db_session.commit()
    later = now + operations.LEASE_TTL + timedelta(seconds=1)
    assert acquire_sync_lease(db_session, course.id, "host-c:3", now=later)  # b crashed


def test_a_course_being_synced_elsewhere_is_skipped(db_session, course, sync, http_mock):
    assert acquire_sync_lease(db_session, course.id, "other-host:99")
    db_session.commit()
    assert sync(course) is None  # no web-service call either: http_mock would fail it
    assert db_session.scalar(select(SyncRun)) is None


def test_the_lease_is_released_after_success_and_failure(db_session, course, moodle, sync):
    sync(course)
    moodle.fail_next("invalidtoken")
    sync(course)
    state = operations.sync_state(db_session, course.id)
    db_session.refresh(state)
    assert state.lease_holder is None and state.lease_expires_at is None


def test_sync_now_is_rate_limited_and_queued_only_after_commit(app, db_session, course):
    queued = []
    request_sync(db_session, course.id, requested_by=None,
                 enqueue=lambda *a, **k: queued.append((a, k)))
    assert queued == []
    db_session.commit()
    assert queued == [((course.id,), {"trigger": "manual", "requested_by_id": None})]
    with pytest.raises(SyncRequestedTooSoon) as caught:
        request_sync(db_session, course.id, enqueue=queued.append)
    assert caught.value.status_code == 429
    db_session.rollback()
    with app.test_request_context(), force_locale("it"):
        assert "due minuti" in str(caught.value.message)
    later = utcnow() + operations.REQUEST_INTERVAL
    request_sync(db_session, course.id, now=later, enqueue=lambda *a, **k: queued.append(a))
    db_session.rollback()  # not committed: nothing queued
    assert len(queued) == 1


def test_sync_task_records_the_run_and_announces_it(app, db_session, course, moodle):
    from middleware.sync.tasks import sync_course_task

    heard = []

    def listener(sender, course_id, changed):
        heard.append((course_id, changed))

    course_synced.connect(listener)
    try:
        sync_course_task(course.id)  # immediate mode: runs now, in its own session
    finally:
        course_synced.disconnect(listener)
    db_session.expire_all()
    run = last_sync(db_session, course.id)
    assert run.status == SUCCEEDED and run.trigger == "schedule"
    assert heard == [(course.id, run.changed)] and run.changed > 0


def test_scheduler_queues_each_due_course_once_per_interval(app, db_session, course, moodle,
                                                            settings):
    from middleware.sync.tasks import schedule_course_syncs

    inactive = Course(platform_id=course.platform_id, context_id="99", moodle_course_id=99,
                      active=False)
    db_session.add(inactive)
    db_session.commit()
    schedule_course_syncs()
    db_session.expire_all()
    assert [r.course_id for r in db_session.scalars(select(SyncRun))] == [course.id]
    schedule_course_syncs()  # within the interval: nothing queued again
    assert len(db_session.scalars(select(SyncRun)).all()) == 1
    later = utcnow() + timedelta(minutes=settings.sync_interval_minutes)
    assert operations.claim_due_courses(db_session, interval=timedelta(minutes=10),
                                        now=later) == [course.id]


def test_first_launch_activates_sync(app, db_session, course, moodle):
    course_activated.send(app, course_id=course.id)
    db_session.expire_all()
    run = last_sync(db_session, course.id)
    assert run is not None and run.trigger == "activation" and run.status == SUCCEEDED


def test_metrics_show_the_last_sync_per_active_course(app, client, db_session, course, moodle,
                                                      sync):
    sync(course)
    moodle.fail_next("invalidtoken")
    sync(course)
    body = client.get("/metrics").get_data(as_text=True)
    label = f'{{course_id="{course.id}"}}'
    assert f"circolo_sync_last_failed{label} 1.0" in body
    assert f"circolo_sync_last_calls{label} 1.0" in body
    assert "circolo_sync_failing_courses 1.0" in body
    assert f"circolo_sync_last_success_timestamp_seconds{label}" in body


def test_sync_now_runs_the_sync_task_once_committed(app, db_session, course, moodle):
    request_sync(db_session, course.id, requested_by=None)
    assert last_sync(db_session, course.id) is None  # nothing before the commit
    db_session.commit()  # immediate queue: the task runs now, in its own session
    db_session.expire_all()
    run = last_sync(db_session, course.id)
    assert run is not None and run.trigger == "manual" and run.status == SUCCEEDED


def test_two_threads_of_one_worker_are_two_lease_holders(db_session, course):
    import threading

    from middleware.sync.operations import worker_identity

    here = worker_identity()
    other: list[str] = []
    thread = threading.Thread(target=lambda: other.append(worker_identity()))
    thread.start()
    thread.join()
    assert other[0] != here
    assert acquire_sync_lease(db_session, course.id, here)
    db_session.commit()
    assert not acquire_sync_lease(db_session, course.id, other[0])
