"""The worker heartbeat: a periodic task that proves the queue and its consumer work."""

from __future__ import annotations

import socket
from datetime import datetime

from huey import crontab
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import WorkerHeartbeat, utcnow
from .queue import app_periodic_task, app_task

HEARTBEAT = "worker"


def record_heartbeat(session: Session, *, name: str = HEARTBEAT) -> WorkerHeartbeat:
    """Record that a consumer is alive now."""
    beat = session.get(WorkerHeartbeat, name)
    if beat is None:
        try:
            with session.begin_nested():
                session.add(WorkerHeartbeat(name=name))
        except IntegrityError:
            pass  # two workers started together: the other one created the row
        beat = session.get(WorkerHeartbeat, name)
        assert beat is not None
    beat.last_seen_at = utcnow()
    beat.host = socket.gethostname()
    session.flush()
    return beat


def last_heartbeat(session: Session, *, name: str = HEARTBEAT) -> datetime | None:
    return session.scalar(select(WorkerHeartbeat.last_seen_at).where(WorkerHeartbeat.name == name))


@app_periodic_task(crontab(minute="*"))
def heartbeat(session: Session) -> None:
    """Record the heartbeat every minute."""
    record_heartbeat(session)


@app_task()
def heartbeat_now(session: Session) -> None:
    """Record the heartbeat at once (enqueued when a worker starts)."""
    record_heartbeat(session)
