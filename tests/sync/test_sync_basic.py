"""A first sync stores the whole community; a second one changes and writes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from middleware.models import (
    LEARNER,
    SERVICE,
    TEACHER,
    Discussion,
    Enrolment,
    Forum,
    Person,
    Post,
)
from middleware.models.moodle import SUCCEEDED
from middleware.moodle.service import MoodleClient
from middleware.sync.operations import last_sync
from middleware.sync.records import CourseRecords
from tests.sync.conftest import MOODLE, TOKEN


def test_first_sync_stores_roster_forums_discussions_and_posts(db_session, course, moodle,
                                                                community, sync):
    run = sync(course)
    assert run.status == SUCCEEDED, run.error
    assert run.full is True  # never reconciled before
    assert db_session.scalar(select(func.count(Forum.id))) == len(community.forums)
    assert db_session.scalar(select(func.count(Discussion.id))) == len(community.discussions)
    assert db_session.scalar(select(func.count(Post.id))) == len(community.posts)

    roles = {p.subject: e.role for e, p in db_session.execute(
        select(Enrolment, Person).join(Person, Enrolment.person_id == Person.id))}
    assert roles["3"] == TEACHER and roles["4"] == TEACHER
    assert roles[str(community.service_user.id)] == SERVICE
    assert all(roles[str(u.id)] == LEARNER for u in community.learners)

    posts = {p.moodle_post_id: p for p in db_session.scalars(select(Post))}
    people = {p.id: p.subject for p in db_session.scalars(select(Person))}
    for generated in community.posts:
        stored = posts[generated.id]
        assert stored.parent_moodle_id == generated.parent_id
        assert people[stored.author_id] == str(generated.user_id)
        assert stored.private_reply == (generated.private_reply_to is not None)
        assert stored.deleted == generated.deleted
        assert int(stored.created_at.timestamp()) == generated.created
        assert int(stored.modified_at.timestamp()) == generated.modified
    deleted_author = next(p for p in community.posts if community.user(p.user_id).deleted)
    assert posts[deleted_author.id].author_deleted is True
    group_post = next(p for p in community.posts
                      if community.discussion(p.discussion_id).group_id > 0)
    assert posts[group_post.id].moodle_group_id == community.discussion(
        group_post.discussion_id).group_id
    some = posts[community.posts[0].id]
    assert some.message_text and "<" not in some.message_text
    assert last_sync(db_session, course.id).id == run.id


def test_second_sync_changes_nothing_and_costs_one_call_per_forum(db_session, course, moodle,
                                                                  community, sync,
                                                                  data_writes, clients):
    sync(course)
    data_writes.clear()
    moodle.reset_stats()
    run = sync(course)
    assert run.status == SUCCEEDED and run.full is False
    assert run.changed == 0
    assert data_writes == []
    assert run.calls == moodle.total_calls <= 1 + len(community.forums)
    assert moodle.calls["mod_forum_get_discussion_posts"] == 0
    assert moodle.calls["core_enrol_get_enrolled_users"] == 0  # roster is fresh


def test_post_html_is_sanitised_and_text_extracted(db_session, course, moodle, community, sync):
    discussion = community.discussions[0]
    reply = community.add_post(
        discussion.id, community.learners[0].id,
        '<p>Guardate <a href="https://example.org" onclick="steal()">qui</a> &amp; '
        "<script>alert(1)</script>poi</p><p>seconda riga</p>")
    sync(course)
    stored = db_session.scalar(select(Post).where(Post.moodle_post_id == reply.id))
    assert "script" not in stored.message_html and "onclick" not in stored.message_html
    assert 'href="https://example.org"' in stored.message_html
    assert stored.message_text == "Guardate qui & poi\nseconda riga"


def test_course_dates_are_read_with_the_roster(db_session, course, moodle, community, sync):
    # Post texts are retained from a course's end on (privacy), so the sync keeps its dates.
    sync(course)
    assert moodle.calls["core_course_get_courses_by_field"] == 1
    assert int(course.starts_at.timestamp()) == community.now - 12 * 7 * 86400
    assert course.ends_at is None  # Moodle's enddate 0: no end date

    community.course_enddate = community.now + 30 * 86400
    moodle.reset_stats()
    run = sync(course, full=True)  # the roster, and with it the course, is read again
    assert run.changed == 1 and moodle.calls["core_course_get_courses_by_field"] == 1
    assert int(course.ends_at.timestamp()) == community.course_enddate


def test_a_course_the_token_cannot_see_keeps_its_dates(db_session, course, moodle, community,
                                                       sync):
    sync(course)
    known = course.starts_at
    # Moodle leaves out a course the token cannot see (here: one it does not hold at all).
    assert MoodleClient(MOODLE, TOKEN).get_courses_by_field("id", 99) == []
    records = CourseRecords(db_session, course, community.service_user.id)
    records.apply_course_dates(2, [])
    assert course.starts_at == known and course.ends_at is None and records.changed == 0
