"""A teacher of one course cannot reach people of another course by changing an id in a URL."""

from __future__ import annotations

from sqlalchemy import select

from middleware.models import Ambassador, Course, Enrolment, MentoringPrompt, Person


def _outsider(small_course) -> Person:
    """A learner of another course on the same Moodle site (not in the teacher's course)."""
    session = small_course.session
    other = Course(platform_id=small_course.platform.id, context_id="99", moodle_course_id=99,
                   title="Another course", active=True)
    session.add(other)
    session.flush()
    person = Person(platform_id=small_course.platform.id, subject="990", moodle_user_id=990,
                    fullname="Olga Esterna", lang="it")
    session.add(person)
    session.flush()
    session.add(Enrolment(course_id=other.id, person_id=person.id, role="learner"))
    session.commit()
    return person


def test_a_teacher_cannot_invite_someone_outside_the_course(launch_as, small_course):
    outsider = _outsider(small_course)
    response = launch_as("carla").post(f"/dashboard/candidates/{outsider.id}/approve")
    assert response.status_code == 404
    session = small_course.session
    session.expire_all()
    assert session.scalars(select(Ambassador)).all() == []
    assert session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.recipient_id == outsider.id)).all() == []


def test_a_teacher_cannot_invite_an_unknown_person(launch_as, small_course):
    response = launch_as("carla").post("/dashboard/candidates/987654/approve")
    assert response.status_code == 404
    small_course.session.expire_all()
    assert small_course.session.scalars(select(Ambassador)).all() == []
