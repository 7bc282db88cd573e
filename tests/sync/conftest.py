"""Fixtures for sync tests: a platform and course, a generated community served by the double."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from middleware.models import (
    Course,
    Discussion,
    Enrolment,
    Forum,
    MoodleConnection,
    Person,
    Platform,
    Post,
)
from middleware.moodle.operations import encrypt_token
from middleware.moodle.service import MoodleClient
from middleware.sync.operations import run_sync
from tests.doubles.community import Community, generate_community
from tests.doubles.moodle_ws import MoodleDouble, mock_double

MOODLE = "http://moodle.test"
TOKEN = "f00dfacef00dfacef00dfacef00dface"


def make_course(session: Session, key: str, service_user_id: int, *, issuer: str = MOODLE,
                moodle_course_id: int = 2, url: str = MOODLE) -> Course:
    """A platform with a Moodle connection, and an active course on it."""
    platform = Platform(issuer=issuer, client_id="client", auth_login_url=f"{issuer}/login",
                        auth_token_url=f"{issuer}/token", key_set_url=f"{issuer}/jwks")
    session.add(platform)
    session.flush()
    session.add(MoodleConnection(platform_id=platform.id, url=url + "/webservice/rest/server.php",
                                 token_ciphertext=encrypt_token(key, TOKEN),
                                 service_user_id=service_user_id))
    course = Course(platform_id=platform.id, context_id=str(moodle_course_id),
                    moodle_course_id=moodle_course_id, title="CDP101", active=True)
    session.add(course)
    session.commit()
    return course


@pytest.fixture
def community() -> Community:
    return generate_community(seed=11, learners=30, discussions=40, posts=200)


@pytest.fixture
def double(community: Community) -> MoodleDouble:
    return MoodleDouble(community, token=TOKEN)


@pytest.fixture
def moodle(http_mock: Any, double: MoodleDouble) -> MoodleDouble:
    """The double answering at MOODLE through the `responses` mock."""
    mock_double(http_mock, double, MOODLE)
    return double


@pytest.fixture
def course(db_session: Session, settings: Any, community: Community) -> Course:
    return make_course(db_session, settings.encryption_key, community.service_user.id)


@pytest.fixture
def clients() -> list[MoodleClient]:
    return []


@pytest.fixture
def sync(db_session: Session, settings: Any, clients: list[MoodleClient]) -> Callable[..., Any]:
    """Run a sync of a course the way the task does (commit at each checkpoint)."""

    def run(course: Course, *, client: MoodleClient | None = None, **options: Any) -> Any:
        def factory(connection: MoodleConnection) -> MoodleClient:
            nonlocal client
            client = client or MoodleClient(MOODLE, TOKEN, sleep=lambda _s: None)
            clients.append(client)
            return client

        return run_sync(db_session, course.id, key=settings.encryption_key,
                        checkpoint=db_session.commit, client_factory=factory, **options)

    return run


def snapshot(session: Session, course: Course) -> dict[str, Any]:
    """A course's synced content keyed by Moodle ids (comparable across platforms)."""
    session.expire_all()
    people = {p.id: p.subject for p in session.scalars(
        select(Person).where(Person.platform_id == course.platform_id))}
    forums = {f.id: f.moodle_forum_id for f in session.scalars(
        select(Forum).where(Forum.course_id == course.id))}
    discussions = {d.id: d for d in session.scalars(
        select(Discussion).where(Discussion.course_id == course.id))}
    return {
        "people": sorted((p.subject, p.fullname, p.email, p.lang, p.timezone, p.deleted)
                         for p in session.scalars(select(Person).where(
                             Person.platform_id == course.platform_id))),
        "enrolments": sorted(
            (people[e.person_id], e.role, tuple(e.moodle_roles), e.active, e.last_course_access,
             tuple(sorted(g.moodle_group_id for g in e.groups)))
            for e in session.scalars(select(Enrolment).where(Enrolment.course_id == course.id))),
        "forums": sorted((f.moodle_forum_id, f.cmid, f.type, f.name, f.watermark, f.deleted)
                         for f in session.scalars(select(Forum).where(
                             Forum.course_id == course.id))),
        "discussions": sorted(
            (d.moodle_discussion_id, forums[d.forum_id], d.first_post_moodle_id, d.name,
             people.get(d.author_id), d.moodle_group_id, d.created_at, d.moodle_timemodified,
             d.num_replies, d.pinned, d.locked, d.deleted) for d in discussions.values()),
        "posts": sorted(
            (p.moodle_post_id, discussions[p.discussion_id].moodle_discussion_id,
             p.parent_moodle_id, people.get(p.author_id), p.author_deleted, p.subject,
             p.message_html, p.message_text, p.created_at, p.modified_at, p.private_reply,
             p.moodle_group_id, p.deleted)
            for p in session.scalars(select(Post).where(Post.course_id == course.id))),
    }


@pytest.fixture
def data_writes(db_session: Session) -> list[str]:
    """Every INSERT/UPDATE/DELETE on synced data (not on run bookkeeping) from now on."""
    statements: list[str] = []
    engine = db_session.get_bind()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and not any(
                table in statement for table in ("sync_run", "course_sync_state")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield statements
    event.remove(engine, "before_cursor_execute", record)
