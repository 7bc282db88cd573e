"""Background work the plugin's events ask for: forgetting a user deleted in Moodle."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Person
from ..privacy.operations import forget_person
from ..privacy.tasks import reanalyse
from ..queue import app_task

log = logging.getLogger(__name__)


@app_task()
def forget_moodle_user(session: Session, platform_id: int, moodle_user_id: int) -> int | None:
    """Forget a person Moodle deleted; return their former person id (None if unknown)."""
    person = session.scalar(select(Person).where(Person.platform_id == platform_id,
                                                 Person.subject == str(moodle_user_id)))
    if person is None:
        return None
    report = forget_person(session, person)
    session.commit()
    log.info("person deleted in moodle forgotten",
             extra={"platform_id": platform_id, "person_id": report.person_id})
    reanalyse(report.courses)
    return report.person_id
