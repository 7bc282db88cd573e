"""Background analytics: analyse a course after each sync, then announce it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from huey.exceptions import TaskLockedException
from sqlalchemy.orm import Session

from ..models import utcnow
from ..queue import app_task, huey
from ..signals import course_analysed, course_synced
from .operations import latest_snapshot, refresh_course_analytics

log = logging.getLogger(__name__)

#: After a sync that changed nothing, results younger than this are kept as they are.
FRESH_ENOUGH = timedelta(minutes=60)


@app_task()
def analyse_course(session: Session, course_id: int, force: bool = True) -> int | None:
    """Analyse a course and store its snapshots; return how many were stored."""
    if not force:
        latest = latest_snapshot(session, course_id)
        if latest is not None and latest.computed_at >= utcnow() - FRESH_ENOUGH:
            return None
    try:
        with huey.lock_task(f"analyse-course-{course_id}"):
            snapshots = refresh_course_analytics(session, course_id)
            # Committed before announcing: mentoring reads the snapshots in its own session.
            session.commit()
    except TaskLockedException:
        log.info("course already being analysed", extra={"course_id": course_id})
        return None
    log.info("course analysed", extra={"course_id": course_id, "snapshots": len(snapshots),
                                       "duration_ms": snapshots[0].duration_ms if snapshots
                                       else 0})
    course_analysed.send(current_app._get_current_object(), course_id=course_id)
    return len(snapshots)


@course_synced.connect
def _analyse_after_sync(_sender: Any, course_id: int, changed: int = 0, **_: Any) -> None:
    """Analyse after every successful sync (time alone moves the windows, so even unchanged
    courses are refreshed once results are older than `FRESH_ENOUGH`)."""
    analyse_course(course_id, force=bool(changed))
