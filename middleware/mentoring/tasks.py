"""Background mentoring: evaluate rules after each analysis (and hourly), deliver the outbox
every minute and right after decisions, and measure outcomes hourly."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from huey import crontab
from huey.exceptions import TaskLockedException
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models.community import Course
from ..queue import app_periodic_task, app_task, huey
from ..signals import course_analysed
from . import delivery, moodle_port, operations, outcomes

log = logging.getLogger(__name__)


@app_task(retries=2, retry_delay=60)
def evaluate_course(session: Session, course_id: int) -> dict[str, int]:
    """Run a course's mentoring rules; hand new messages to delivery once they are committed."""
    # Two evaluations of one course at once would both read the same history and decide the
    # same prompts twice: one at a time, across every worker of the queue.
    try:
        with huey.lock_task(f"mentoring-evaluate-{course_id}"):
            summary = operations.evaluate_course_rules(session, course_id)
            session.commit()  # the outbox rows must be visible before delivery looks for them
    except TaskLockedException:
        log.info("mentoring rules already being evaluated", extra={"course_id": course_id})
        return {"queued": 0, "for_review": 0}
    if summary.queued:
        deliver_outbox(course_id)
    log.info("mentoring rules evaluated", extra={
        "course_id": course_id, "queued": summary.queued, "for_review": summary.for_review,
        "skipped": summary.skipped})
    return {"queued": summary.queued, "for_review": summary.for_review}


@course_analysed.connect
def _evaluate_after_analysis(_sender: Any, course_id: int, **_: Any) -> None:
    evaluate_course(course_id)


def _active_courses(session: Session) -> list[int]:
    return list(session.scalars(select(Course.id).where(Course.active.is_(True))))


@app_periodic_task(crontab(minute="17"))
def evaluate_active_courses(session: Session) -> None:
    """Hourly, in case no analysis ran: time alone makes questions unanswered."""
    for course_id in _active_courses(session):
        evaluate_course(course_id)


def _deliver(session: Session, course_id: int | None) -> dict[str, int]:
    key = current_app.config["CIRCOLO"].encryption_key
    report = delivery.deliver_due(
        session, lambda course: moodle_port.messaging_for_course(session, course, key),
        course_id=course_id)
    return {"sent": len(report.sent), "recovered": len(report.recovered),
            "failed": len(report.failed), "retrying": len(report.retrying)}


@app_task()
def deliver_outbox(session: Session, course_id: int | None = None) -> dict[str, int]:
    """Deliver what is due (a course's, or everyone's)."""
    return _deliver(session, course_id)


@app_periodic_task(crontab(minute="*"))
def deliver_due_outbox(session: Session) -> None:
    """Every minute: messages whose quiet hours or backoff ended, and rows of dead workers."""
    _deliver(session, None)


@app_periodic_task(crontab(minute="43"))
def measure_outcomes(session: Session) -> None:
    """Hourly: did the prompted peers reply?"""
    for course_id in _active_courses(session):
        outcomes.update_outcomes(session, course_id)
