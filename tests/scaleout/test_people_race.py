"""Two courses of one Moodle site synced at once create the same people without failing."""

from __future__ import annotations

from sqlalchemy import func, select

from middleware.db import database
from middleware.models import Course, Person
from middleware.sync.records import CourseRecords
from tests.sync.conftest import make_course


def test_people_created_meanwhile_by_another_sync_are_reused(app, db_session, settings):
    first = make_course(db_session, settings.encryption_key, service_user_id=99)
    second = Course(platform_id=first.platform_id, context_id="3", moodle_course_id=3,
                    title="Another course", active=True)
    db_session.add(second)
    db_session.commit()

    records = CourseRecords(db_session, first, service_user_id=99)
    records.people([7, 8])  # looked up: not there yet
    # Meanwhile the other course's sync, in another worker, creates learner 7 and commits.
    with database(app).session() as other:
        other_records = CourseRecords(other, other.get(Course, second.id), service_user_id=99)
        other_records.ensure_people([(7, "Giulia Rossi", False)])
        other.commit()

    records.ensure_people([(7, "Giulia Rossi", False), (8, "Marco Bianchi", False)])
    db_session.commit()
    people = {p.subject: p for p in db_session.scalars(select(Person))}
    assert set(people) == {"7", "8"}
    assert db_session.scalar(select(func.count(Person.id))) == 2
    assert records.person(7).id == people["7"].id and people["8"].fullname == "Marco Bianchi"
