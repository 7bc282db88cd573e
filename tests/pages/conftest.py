"""Fixtures for the pages: a small course community built straight in the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy.orm import Session

from middleware.lti.session import Launch, new_sid
from middleware.models import (
    LEARNER,
    TEACHER,
    Course,
    CourseGroup,
    Deployment,
    Discussion,
    Enrolment,
    Forum,
    Person,
    Platform,
    Post,
    utcnow,
)
from tests.launching import LaunchedClient

ISSUER = "http://127.0.0.1:8081"


@dataclass
class SmallCourse:
    """A course with a teacher, learners, forums, discussions and posts (ids are Circolo's)."""

    session: Session
    platform: Platform
    course: Course
    forum: Forum
    people: dict[str, Person] = field(default_factory=dict)
    discussions: dict[str, Discussion] = field(default_factory=dict)
    _ids: count = field(default_factory=lambda: count(100))

    def person(self, key: str, name: str, role: str = LEARNER, group: CourseGroup | None = None,
               ) -> Person:
        person = Person(platform_id=self.platform.id, subject=str(len(self.people) + 10),
                        moodle_user_id=len(self.people) + 10, fullname=name,
                        email=f"{key}@example.test", lang="it")
        self.session.add(person)
        self.session.flush()
        enrolment = Enrolment(course_id=self.course.id, person_id=person.id, role=role)
        if group is not None:
            enrolment.groups.append(group)
        self.session.add(enrolment)
        self.session.flush()
        self.people[key] = person
        return person

    def discussion(self, key: str, author: str, title: str, *, days_ago: float = 1,
                   text: str = "<p>Question?</p>") -> Post:
        moodle_id = next(self._ids)
        at = utcnow() - timedelta(days=days_ago)
        discussion = Discussion(forum_id=self.forum.id, course_id=self.course.id,
                                moodle_discussion_id=moodle_id, name=title,
                                author_id=self.people[author].id, created_at=at)
        self.session.add(discussion)
        self.session.flush()
        self.discussions[key] = discussion
        return self.post(key, author, text, parent=None, days_ago=days_ago, subject=title)

    def post(self, discussion: str, author: str, text: str, *, parent: Post | None,
             days_ago: float = 0.5, private: bool = False, subject: str = "Re") -> Post:
        post = Post(discussion_id=self.discussions[discussion].id, course_id=self.course.id,
                    moodle_post_id=next(self._ids),
                    parent_moodle_id=parent.moodle_post_id if parent else None,
                    author_id=self.people[author].id if author else None, subject=subject,
                    message_html=text, message_text=text,
                    created_at=utcnow() - timedelta(days=days_ago), private_reply=private)
        self.session.add(post)
        self.session.flush()
        return post


@pytest.fixture
def small_course(db_session: Session) -> SmallCourse:
    platform = Platform(name="Moodle", issuer=ISSUER, client_id="client-1",
                        auth_login_url=f"{ISSUER}/mod/lti/auth.php",
                        auth_token_url=f"{ISSUER}/mod/lti/token.php",
                        key_set_url=f"{ISSUER}/mod/lti/certs.php")
    db_session.add(platform)
    db_session.flush()
    db_session.add(Deployment(platform_id=platform.id, deployment_id="1"))
    course = Course(platform_id=platform.id, context_id="2", moodle_course_id=2,
                    title="Fotografia digitale", active=True)
    db_session.add(course)
    db_session.flush()
    forum = Forum(course_id=course.id, moodle_forum_id=1, name="Domande e risposte")
    db_session.add(forum)
    db_session.flush()
    built = SmallCourse(db_session, platform, course, forum)
    built.person("carla", "Carla Verdi", TEACHER)
    built.person("giulia", "Giulia Rossi")
    built.person("marco", "Marco Bianchi")
    built.person("sara", "Sara Esposito")
    built.person("luca", "Luca Romano")
    q1 = built.discussion("exposure", "giulia", "Come scelgo l'esposizione?")
    a1 = built.post("exposure", "marco", "<p>Usa l'istogramma</p>", parent=q1)
    built.post("exposure", "giulia", "<p>Grazie Marco!</p>", parent=a1)
    built.post("exposure", "sara", "<p>Anche io avevo questo dubbio</p>", parent=q1)
    built.post("exposure", "luca", "<p>Messaggio privato a Giulia</p>", parent=q1, private=True)
    built.discussion("lenses", "luca", "Quale obiettivo per i ritratti?", days_ago=2)
    built.discussion("old", "sara", "Domanda vecchia", days_ago=30)
    db_session.commit()
    return built


@pytest.fixture
def launch_as(app, small_course):
    """Return a function that opens Circolo as one of the small course's people."""
    def launch(key: str, *, locale: str | None = "en") -> LaunchedClient:
        person = small_course.people[key]
        enrolment = next(e for e in person.enrolments if e.course_id == small_course.course.id)
        return LaunchedClient(app, Launch(
            sid=new_sid(), platform_id=small_course.platform.id, platform_origin=ISSUER,
            course_id=small_course.course.id, person_id=person.id, role=enrolment.role,
            resource_link_id="rl-1", deployment_id="1", locale=locale))

    return launch
