"""What /readyz checks: database reachable, migrations at head, worker heartbeat recent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..db import Database
from ..heartbeat import last_heartbeat
from ..migrate import head_revision
from ..models import utcnow


@dataclass
class Readiness:
    ready: bool = True
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fail(self, name: str, **details: Any) -> None:
        self.ready = False
        self.checks[name] = {"ok": False, **details}

    def ok(self, name: str, **details: Any) -> None:
        self.checks[name] = {"ok": True, **details}


def check_readiness(db: Database, *, heartbeat_max_age: timedelta) -> Readiness:
    """Check the database, the migration revision and the worker heartbeat."""
    result = Readiness()
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
            result.ok("database")
            current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            head = head_revision()
            if current == head:
                result.ok("migrations", revision=current)
            else:
                result.fail("migrations", revision=current, head=head)
            beat = last_heartbeat(session)
    except SQLAlchemyError as error:
        if "database" not in result.checks:
            result.fail("database", error=type(error).__name__)
        else:
            result.fail("migrations", error="not migrated")
        return result
    if beat is None:
        result.fail("worker", error="no heartbeat yet")
    else:
        age = utcnow() - beat
        details = {"last_seen": beat.isoformat(), "age_seconds": int(age.total_seconds())}
        if age <= heartbeat_max_age:
            result.ok("worker", **details)
        else:
            result.fail("worker", **details)
    return result
