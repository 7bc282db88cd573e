"""Background sync: a scheduler that queues due courses, and one task per course sync."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from huey import crontab
from sqlalchemy.orm import Session

from ..models.moodle import SUCCEEDED
from ..queue import app_periodic_task, app_task
from ..signals import course_activated, course_synced
from . import metrics
from .operations import claim_due_courses, run_sync

log = logging.getLogger(__name__)


@app_task()
def sync_course_task(session: Session, course_id: int, trigger: str = "schedule",
                     requested_by_id: int | None = None, full: bool | None = None) -> int | None:
    """Sync one course (committing as it goes); announce it when it succeeded."""
    settings = current_app.config["CIRCOLO"]
    run = run_sync(session, course_id, key=settings.encryption_key,
                   reconcile_hour=settings.reconcile_hour, trigger=trigger, full=full,
                   requested_by_id=requested_by_id, checkpoint=session.commit)
    if run is None:  # another worker holds the course
        return None
    metrics.observe_run(run)
    if run.status == SUCCEEDED:
        course_synced.send(current_app._get_current_object(), course_id=course_id,
                           changed=run.changed)
    return run.id


@app_periodic_task(crontab(minute="*"))
def schedule_course_syncs(session: Session) -> list[int]:
    """Queue a sync of every connected active course not synced for the configured interval."""
    settings = current_app.config["CIRCOLO"]
    due = claim_due_courses(session, interval=timedelta(minutes=settings.sync_interval_minutes))
    # Committed before queueing: a worker must see the claims (and never wait on our lock).
    session.commit()
    for course_id in due:
        sync_course_task(course_id)
    return due


@course_activated.connect
def _first_sync(_sender: object, course_id: int, **_: object) -> None:
    """Sync a course as soon as it is launched for the first time."""
    sync_course_task(course_id, trigger="activation")
