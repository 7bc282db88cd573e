"""Background data rights: forget people Moodle dropped (after each nightly reconciliation) and
blank post text past retention (daily)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from huey import crontab
from sqlalchemy.orm import Session

from ..queue import app_periodic_task, app_task
from ..signals import course_synced
from ..sync.operations import last_sync
from . import operations

log = logging.getLogger(__name__)


def reanalyse(course_ids: list[int]) -> None:
    """Queue a fresh analysis of courses whose snapshots a forget dropped."""
    from ..analytics.tasks import analyse_course

    for course_id in course_ids:
        analyse_course(course_id)


@app_task()
def forget_people_moodle_dropped(session: Session, course_id: int) -> list[int]:
    """Forget the people of the course's platform no longer listed in any course roster."""
    reports = operations.forget_people_moodle_dropped(session, course_id)
    session.commit()
    if reports:
        log.info("people no longer in Moodle forgotten",
                 extra={"course_id": course_id, "people": [r.person_id for r in reports]})
        # Including this course: its analysis may have run before the forget dropped it.
        reanalyse(sorted({c for r in reports for c in r.courses}))
    return [r.person_id for r in reports]


@course_synced.connect
def _forget_after_reconciliation(_sender: Any, course_id: int, **_: Any) -> None:
    """After a successful full reconciliation, the roster is complete: act on who left."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    from ..db import database

    with database(app).session() as session:
        run = last_sync(session, course_id)
        full = bool(run and run.full)
    if full:
        forget_people_moodle_dropped(course_id)


@app_periodic_task(crontab(minute="31", hour="4"))
def blank_expired_post_text(session: Session) -> int:
    """Daily: blank the text of posts in courses past CIRCOLO_POST_RETENTION_DAYS."""
    days = current_app.config["CIRCOLO"].post_retention_days
    blanked = operations.blank_expired_post_text(session, days)
    log.info("post text past retention blanked", extra={"posts": blanked, "days": days})
    return blanked
