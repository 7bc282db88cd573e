"""Prometheus figures of the last sync per active course, refreshed from the database.

They are read from the database when /metrics is scraped, so they are right whichever worker
process or host ran the sync. Per-course series exist only for active courses (labelled by
Circolo's course id alone), which keeps the number of series bounded by what is in use.
"""

from __future__ import annotations

from flask import Flask, request
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Course, SyncRun, utcnow
from ..models.moodle import FAILED, SUCCEEDED

_LABELS = ["course_id"]
LAST_STARTED = Gauge("circolo_sync_last_started_timestamp_seconds",
                     "Start of the course's last sync run", _LABELS,
                     multiprocess_mode="mostrecent")
LAST_SUCCESS = Gauge("circolo_sync_last_success_timestamp_seconds",
                     "End of the course's last successful sync run", _LABELS,
                     multiprocess_mode="mostrecent")
LAST_DURATION = Gauge("circolo_sync_last_duration_seconds",
                      "Duration of the course's last finished sync run", _LABELS,
                      multiprocess_mode="mostrecent")
LAST_CALLS = Gauge("circolo_sync_last_calls", "Web-service calls of the course's last sync run",
                   _LABELS, multiprocess_mode="mostrecent")
LAST_CHANGED = Gauge("circolo_sync_last_changed", "Rows changed by the course's last sync run",
                     _LABELS, multiprocess_mode="mostrecent")
LAST_FAILED = Gauge("circolo_sync_last_failed", "1 if the course's last sync run failed",
                    _LABELS, multiprocess_mode="mostrecent")
FAILING = Gauge("circolo_sync_failing_courses", "Active courses whose last sync run failed",
                multiprocess_mode="mostrecent")
STALEST = Gauge("circolo_sync_stalest_seconds",
                "Age of the oldest last successful sync among active courses",
                multiprocess_mode="mostrecent")
RUNS = Counter("circolo_sync_runs_total", "Sync runs finished by this process",
               ["status", "full"])


def observe_run(run: SyncRun) -> None:
    """Count a finished run (in the process that ran it)."""
    RUNS.labels(run.status, "true" if run.full else "false").inc()


def refresh(session: Session) -> None:
    """Set the per-course gauges from each active course's latest runs."""
    latest = (select(SyncRun.course_id, func.max(SyncRun.id).label("run_id"))
              .join(Course, Course.id == SyncRun.course_id).where(Course.active.is_(True))
              .group_by(SyncRun.course_id).subquery())
    runs = session.scalars(select(SyncRun).join(latest, SyncRun.id == latest.c.run_id)).all()
    successes = dict(session.execute(
        select(SyncRun.course_id, func.max(SyncRun.finished_at))
        .join(Course, Course.id == SyncRun.course_id)
        .where(Course.active.is_(True), SyncRun.status == SUCCEEDED)
        .group_by(SyncRun.course_id)).all())
    now = utcnow()
    failing = 0
    for run in runs:
        label = str(run.course_id)
        LAST_STARTED.labels(label).set(run.started_at.timestamp())
        if run.finished_at is not None:
            LAST_DURATION.labels(label).set(run.duration_seconds or 0.0)
            LAST_CALLS.labels(label).set(run.calls)
            LAST_CHANGED.labels(label).set(run.changed)
        LAST_FAILED.labels(label).set(1 if run.status == FAILED else 0)
        failing += run.status == FAILED
    # max() keeps the column's type: aware UTC datetimes on SQLite and PostgreSQL alike.
    for course_id, finished in successes.items():
        if finished is not None:
            LAST_SUCCESS.labels(str(course_id)).set(finished.timestamp())
    FAILING.set(failing)
    oldest = min((f for f in successes.values() if f is not None), default=None)
    if oldest is not None:
        STALEST.set(max(0.0, (now - oldest).total_seconds()))


def init_app(app: Flask) -> None:
    @app.before_request
    def refresh_before_scrape() -> None:
        if request.endpoint != "ops.metrics":
            return
        from ..db import database

        with database(app).session() as session:
            refresh(session)
