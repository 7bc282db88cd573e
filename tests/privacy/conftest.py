"""A synced course (generated community behind the Moodle double) with mentoring rows on top."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from middleware.models import (
    Ambassador,
    Base,
    Course,
    Enrolment,
    MentoringPreference,
    MentoringPrompt,
    OutboxMessage,
    Person,
    Post,
    PrivacyChoice,
)
from middleware.models.community import LEARNER
from middleware.sync.operations import run_sync
from tests.doubles.community import Community, generate_community
from tests.doubles.moodle_ws import MoodleDouble, mock_double
from tests.sync.conftest import MOODLE, TOKEN, make_course


@pytest.fixture
def community() -> Community:
    return generate_community(seed=5, learners=20, discussions=25, posts=120)


@pytest.fixture
def double(http_mock: Any, community: Community) -> MoodleDouble:
    double = MoodleDouble(community, token=TOKEN)
    mock_double(http_mock, double, MOODLE)
    return double


@pytest.fixture
def course(db_session: Session, settings: Any, community: Community, double: MoodleDouble
           ) -> Course:
    course = make_course(db_session, settings.encryption_key, community.service_user.id)
    run = run_sync(db_session, course.id, key=settings.encryption_key,
                   checkpoint=db_session.commit)
    assert run.status == "succeeded", run.error
    return course


def most_active_learner(session: Session, course: Course, rank: int = 0) -> Person:
    """A learner with posts (the `rank`-th most active)."""
    from sqlalchemy import func

    rows = session.execute(
        select(Person, func.count(Post.id)).join(Post, Post.author_id == Person.id)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(Enrolment.course_id == course.id, Enrolment.role == LEARNER)
        .group_by(Person.id).order_by(func.count(Post.id).desc(), Person.id)).all()
    return rows[rank][0]


def add_mentoring_rows(session: Session, course: Course, person: Person, other: Person) -> None:
    """Prompts to and about `person`, their outbox rows, choices and an ambassador record."""
    to_them = MentoringPrompt(course_id=course.id, rule="unanswered", kind="route_peer",
                              recipient_id=person.id, status="sent",
                              body=f"<p>Ciao {person.fullname}, puoi aiutare?</p>")
    about_them = MentoringPrompt(course_id=course.id, rule="bridging", kind="buddy",
                                 recipient_id=other.id, about_person_id=person.id,
                                 status="queued",
                                 body=f"<p>Ciao {other.fullname}, conosci {person.fullname}?</p>")
    quoting = MentoringPrompt(course_id=course.id, rule="welcome", kind="welcome",
                              recipient_id=other.id, status="sent",
                              body=f"<p>{other.fullname}: scrivi a {person.email}</p>")
    session.add_all([to_them, about_them, quoting])
    session.flush()
    for prompt in (to_them, about_them, quoting):
        session.add(OutboxMessage(prompt_id=prompt.id, course_id=course.id,
                                  recipient_id=prompt.recipient_id,
                                  moodle_user_id=int(session.get(Person, prompt.recipient_id)
                                                     .subject), text=prompt.body))
    session.add_all([
        MentoringPreference(course_id=course.id, person_id=person.id, opted_out=True),
        Ambassador(course_id=course.id, person_id=person.id, status="active"),
        PrivacyChoice(course_id=course.id, person_id=person.id, hidden_from_suggestions=True),
        MentoringPreference(course_id=course.id, person_id=other.id, snoozed_until=None),
    ])
    session.commit()


def tables_mentioning(session: Session, *needles: str) -> dict[str, list[str]]:
    """Every table whose rows, read whole (text and JSON columns alike), contain a needle."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            text = " ".join(str(value) for value in row)
            hits = [needle for needle in needles if needle and needle in text]
            if hits:
                found.setdefault(table.name, []).extend(hits)
    return found
