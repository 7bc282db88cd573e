"""A small course in the database for mentoring tests: people, a forum, questions and replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from middleware.lti.session import Launch, new_sid
from middleware.models import (
    Course,
    Discussion,
    Enrolment,
    Forum,
    MentoringSettings,
    Person,
    Platform,
    Post,
)
from tests.launching import LaunchedClient

from .builders import NOW
from .fake_moodle import FakeMoodle


@dataclass
class CourseWorld:
    """Factories for one course's rows; ids of what was created are kept by name."""

    session: Session
    course: Course
    forum: Forum
    people: dict[str, Person] = field(default_factory=dict)
    discussions: dict[str, Discussion] = field(default_factory=dict)
    _moodle_ids: int = 100

    def person(self, key: str, *, role: str = "learner", lang: str = "it",
               timezone: str = "Europe/Rome", days: float = 30, name: str = "",
               moodle_id: int | None = None) -> Person:
        self._moodle_ids += 1
        moodle_id = moodle_id or self._moodle_ids
        person = Person(platform_id=self.course.platform_id, subject=str(moodle_id),
                        moodle_user_id=moodle_id, fullname=name or key.title() + " Rossi",
                        lang=lang, timezone=timezone)
        self.session.add(person)
        self.session.flush()
        self.session.add(Enrolment(course_id=self.course.id, person_id=person.id, role=role,
                                   first_seen_at=NOW - timedelta(days=days)))
        self.people[key] = person
        return person

    def question(self, key: str, author: str, hours: float, title: str = "") -> Discussion:
        self._moodle_ids += 1
        discussion = Discussion(forum_id=self.forum.id, course_id=self.course.id,
                                moodle_discussion_id=self._moodle_ids,
                                first_post_moodle_id=self._moodle_ids * 10,
                                name=title or f"Question {key}",
                                author_id=self.people[author].id,
                                created_at=NOW - timedelta(hours=hours))
        self.session.add(discussion)
        self.session.flush()
        self.session.add(Post(discussion_id=discussion.id, course_id=self.course.id,
                              moodle_post_id=discussion.first_post_moodle_id,
                              author_id=self.people[author].id,
                              created_at=discussion.created_at, subject=discussion.name))
        self.discussions[key] = discussion
        return discussion

    def reply(self, discussion: str, author: str, hours: float) -> Post:
        self._moodle_ids += 1
        found = self.discussions[discussion]
        post = Post(discussion_id=found.id, course_id=self.course.id,
                    moodle_post_id=self._moodle_ids * 10 + 1,
                    parent_moodle_id=found.first_post_moodle_id,
                    author_id=self.people[author].id, created_at=NOW - timedelta(hours=hours))
        self.session.add(post)
        self.session.flush()
        return post

    def settings(self, **values) -> MentoringSettings:
        row = self.session.get(MentoringSettings, self.course.id)
        if row is None:
            row = MentoringSettings(course_id=self.course.id, rules={})
            self.session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        self.session.flush()
        return row


def make_world(session: Session, client_id: str = "client") -> CourseWorld:
    platform = Platform(name="Moodle", issuer="http://127.0.0.1:8081", client_id=client_id,
                        auth_login_url="http://127.0.0.1:8081/mod/lti/auth.php",
                        auth_token_url="http://127.0.0.1:8081/mod/lti/token.php",
                        key_set_url="http://127.0.0.1:8081/mod/lti/certs.php")
    session.add(platform)
    session.flush()
    course = Course(platform_id=platform.id, context_id="2", moodle_course_id=2,
                    title="Didattica online", active=True)
    session.add(course)
    session.flush()
    forum = Forum(course_id=course.id, moodle_forum_id=7, name="Domande e risposte")
    session.add(forum)
    session.flush()
    return CourseWorld(session, course, forum)


@pytest.fixture
def world(db_session) -> CourseWorld:
    return make_world(db_session)


@pytest.fixture
def moodle() -> FakeMoodle:
    return FakeMoodle()


def routed_course(world: CourseWorld, questions: int = 3, peers: int = 2) -> CourseWorld:
    """A course with `questions` unanswered questions, 30 hours old, and peers who answer."""
    world.person("teacher", role="teacher")
    for key in ("anna", "bruno", "carla", "dario", "elena", "fabio"):
        world.person(key)
    world.question("warmup", "anna", 24 * 5)
    for peer in ("bruno", "carla", "dario", "elena", "fabio"):
        world.reply("warmup", peer, 24 * 4)
    for index in range(questions):
        world.question(f"q{index}", "anna", 30)
    world.settings(rules={"bridging": {"enabled": False}, "welcome": {"enabled": False},
                          "unanswered": {"peers": peers}},
                   quiet_start_hour=0, quiet_end_hour=0, course_daily_cap=50,
                   learner_weekly_cap=5)
    return world


@pytest.fixture
def launch_as(app, world):
    """Open Circolo as one of the world's people (teacher or learner)."""
    def launch(key: str) -> LaunchedClient:
        person = world.people[key]
        world.session.commit()
        return LaunchedClient(app, Launch(
            sid=new_sid(), platform_id=world.course.platform_id,
            platform_origin="http://127.0.0.1:8081", course_id=world.course.id,
            person_id=person.id, role="teacher" if key == "teacher" else "learner",
            resource_link_id="rl-1", deployment_id="1", locale="en"))
    return launch
