"""Forgetting a person: by command, and automatically once Moodle lists them nowhere."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from middleware.analytics.operations import refresh_course_analytics
from middleware.models import (
    AnalyticsSnapshot,
    CourseSyncState,
    Discussion,
    Enrolment,
    MentoringPrompt,
    OutboxMessage,
    Person,
    PersonMetrics,
    Post,
    utcnow,
)
from middleware.sync.tasks import sync_course_task

from .conftest import add_mentoring_rows, most_active_learner, tables_mentioning


def other_learners_view(session, course, forgotten_id):
    """Everyone else's people, enrolments and posts, as comparable tuples."""
    session.expire_all()
    return {
        "people": sorted((p.subject, p.fullname, p.email) for p in session.scalars(
            select(Person).where(Person.id != forgotten_id))),
        "enrolments": sorted((e.person_id, e.role, e.active) for e in session.scalars(
            select(Enrolment).where(Enrolment.person_id != forgotten_id))),
        "posts": sorted((p.moodle_post_id, p.author_id, p.message_text) for p in session.scalars(
            select(Post).where(Post.author_id.is_not(None), Post.author_id != forgotten_id))),
    }


def test_forget_leaves_no_trace_and_keeps_the_others(app, runner, db_session, course):
    learner = most_active_learner(db_session, course)
    other = most_active_learner(db_session, course, rank=1)
    add_mentoring_rows(db_session, course, learner, other)
    refresh_course_analytics(db_session, course.id)
    db_session.commit()
    assert db_session.scalar(select(func.count()).where(PersonMetrics.person_id == learner.id))
    person_id, subject = learner.id, learner.subject
    name, email = learner.fullname, learner.email
    own_posts = {p.moodle_post_id: p.message_text for p in db_session.scalars(
        select(Post).where(Post.author_id == person_id))}
    # Their posts' texts that nobody else wrote (the generator reuses sentences).
    others_texts = " ".join(db_session.scalars(select(Post.message_text).where(
        Post.author_id != person_id)))
    phrases = [text for text in own_posts.values() if text and text not in others_texts]
    assert phrases
    assert tables_mentioning(db_session, name, email, *phrases)  # the search does find them
    before = other_learners_view(db_session, course, person_id)

    result = runner.invoke(args=["circolo", "learner", "forget", "--platform",
                                 str(course.platform_id), "--user", subject, "--yes"])
    assert result.exit_code == 0, result.output
    assert f"person {person_id} forgotten" in result.output

    db_session.expire_all()
    assert tables_mentioning(db_session, name, email, *phrases) == {}
    assert db_session.get(Person, person_id) is None
    assert db_session.scalar(select(Person).where(Person.subject == subject)) is None
    for model, column in ((Enrolment, Enrolment.person_id), (PersonMetrics,
                                                             PersonMetrics.person_id),
                          (MentoringPrompt, MentoringPrompt.recipient_id),
                          (MentoringPrompt, MentoringPrompt.about_person_id),
                          (OutboxMessage, OutboxMessage.recipient_id)):
        assert db_session.scalar(select(func.count()).select_from(model)
                                 .where(column == person_id)) == 0
    # Their posts remain as blank, anonymous nodes: the discussions keep their shape.
    kept = {p.moodle_post_id: p for p in db_session.scalars(
        select(Post).where(Post.moodle_post_id.in_(own_posts)))}
    assert set(kept) == set(own_posts)
    assert all(p.author_id is None and p.author_deleted and p.message_text == ""
               and p.message_html == "" for p in kept.values())
    # The others are intact (the prompt quoting the address only lost the address).
    assert other_learners_view(db_session, course, person_id) == before
    quoting = db_session.scalar(select(MentoringPrompt).where(MentoringPrompt.kind == "welcome"))
    assert quoting.body == f"<p>{other.fullname}: scrivi a […]</p>"
    # Analytics were computed again without them (the command queued it; the queue is immediate).
    assert db_session.scalar(select(func.count(AnalyticsSnapshot.id))) > 0


def test_moodle_no_longer_listing_a_person_forgets_them_at_reconciliation(
        app, db_session, course, community):
    leaving = next(u for u in community.learners if u.enrolled and u.email)
    staying = most_active_learner(db_session, course)
    community.unenrol(leaving.id)
    # An incremental sync that re-reads the roster (an hour later) marks the enrolment
    # inactive only.
    db_session.get(CourseSyncState, course.id).roster_synced_at = None
    db_session.commit()
    state_sync = sync_course_task(course.id, full=False)
    assert state_sync is not None
    db_session.expire_all()
    person = db_session.scalar(select(Person).where(Person.subject == str(leaving.id)))
    assert person is not None
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.person_id == person.id))
    assert enrolment.active is False
    # The nightly reconciliation: the complete roster lists them in no course: forgotten.
    sync_course_task(course.id, full=True)
    db_session.expire_all()
    assert db_session.scalar(select(Person).where(Person.subject == str(leaving.id))) is None
    assert tables_mentioning(db_session, leaving.fullname, leaving.email) == {}
    assert db_session.get(Person, staying.id) is not None
    # The course's analytics were computed again, without them.
    assert db_session.scalar(select(func.count(AnalyticsSnapshot.id)).where(
        AnalyticsSnapshot.course_id == course.id)) > 0


def test_a_person_still_enrolled_elsewhere_on_the_platform_is_kept(app, db_session, course,
                                                                    community):
    from middleware.models import Course

    leaving = next(u for u in community.learners if u.enrolled and u.email)
    person = db_session.scalar(select(Person).where(Person.subject == str(leaving.id)))
    other_course = Course(platform_id=course.platform_id, context_id="77", moodle_course_id=77,
                          title="Other", active=False)
    db_session.add(other_course)
    db_session.flush()
    db_session.add(Enrolment(course_id=other_course.id, person_id=person.id, active=True))
    db_session.commit()
    community.unenrol(leaving.id)
    sync_course_task(course.id, full=True)
    db_session.expire_all()
    assert db_session.get(Person, person.id) is not None


def test_blank_text_past_retention_keeps_structure(app, runner, db_session, course):
    from middleware.models import Course

    posts_before = db_session.scalar(select(func.count(Post.id)))
    newest = db_session.scalar(select(func.max(Post.created_at)))
    young = Course(platform_id=course.platform_id, context_id="9", title="Still running")
    db_session.add(young)
    db_session.flush()
    discussion = Discussion(forum_id=db_session.scalar(select(Discussion.forum_id)),
                            course_id=young.id, moodle_discussion_id=1, name="Recent")
    db_session.add(discussion)
    db_session.flush()
    db_session.add(Post(discussion_id=discussion.id, course_id=young.id, moodle_post_id=1,
                        message_text="fresh", message_html="<p>fresh</p>",
                        created_at=utcnow()))
    db_session.commit()
    days = (utcnow() - newest).days - 1  # the synced course ended `days`+ days ago
    assert days > 0
    result = runner.invoke(args=["circolo", "privacy", "retention", "--days", str(days + 30)])
    assert result.exit_code == 0 and result.output.startswith("0 posts blanked")
    result = runner.invoke(args=["circolo", "privacy", "retention", "--days", str(days)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{posts_before} posts blanked")
    db_session.expire_all()
    old = db_session.scalars(select(Post).where(Post.course_id == course.id)).all()
    assert len(old) == posts_before
    assert all(p.message_text == "" and p.message_html == "" for p in old)
    assert sum(p.author_id is not None for p in old) > 0  # who answered whom is kept
    fresh = db_session.scalar(select(Post).where(Post.course_id == young.id))
    assert fresh.message_text == "fresh"


def test_retention_counts_from_the_course_end_when_known(app, db_session, course):
    from middleware.privacy.operations import courses_past_retention

    course.ends_at = utcnow() - timedelta(days=10)
    db_session.commit()
    assert courses_past_retention(db_session, 180) == []
    assert courses_past_retention(db_session, 9) == [course.id]


def test_default_retention_is_180_days(settings):
    from middleware.config import Settings

    assert Settings.from_env({"CIRCOLO_INSTANCE_PATH": str(settings.instance_path)}
                             ).post_retention_days == 180
    assert Settings.from_env({"CIRCOLO_INSTANCE_PATH": str(settings.instance_path),
                              "CIRCOLO_POST_RETENTION_DAYS": "30"}).post_retention_days == 30


def test_a_namesake_on_another_moodle_site_is_left_alone(app, runner, db_session, course):
    from middleware.models import Course, Forum, Platform

    learner = most_active_learner(db_session, course)
    name, subject = learner.fullname, learner.subject
    elsewhere = Platform(issuer="http://other.test", client_id="x", auth_login_url="u",
                         auth_token_url="u", key_set_url="u")
    db_session.add(elsewhere)
    db_session.flush()
    namesake = Person(platform_id=elsewhere.id, subject=learner.subject,
                      fullname=learner.fullname, email="namesake@example.test")
    other_course = Course(platform_id=elsewhere.id, context_id="5", title="Elsewhere")
    db_session.add_all([namesake, other_course])
    db_session.flush()
    forum = Forum(course_id=other_course.id, moodle_forum_id=1)
    db_session.add(forum)
    db_session.flush()
    discussion = Discussion(forum_id=forum.id, course_id=other_course.id,
                            moodle_discussion_id=1, name=f"Ciao {learner.fullname}")
    db_session.add(discussion)
    db_session.commit()
    result = runner.invoke(args=["circolo", "learner", "forget", "--platform",
                                 str(course.platform_id), "--user", subject, "--yes"])
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert db_session.get(Person, namesake.id).fullname == name
    assert db_session.get(Discussion, discussion.id).name == f"Ciao {name}"


def test_the_daily_task_blanks_with_the_configured_retention(settings, db_session, course):
    from middleware import create_app
    from middleware.privacy.tasks import blank_expired_post_text

    newest = db_session.scalar(select(func.max(Post.created_at)))
    days = (utcnow() - newest).days - 1
    from middleware.db import database

    # The newest app is the one tasks run in.
    task_app = create_app(settings.with_overrides(post_retention_days=days))
    assert db_session.scalar(select(func.count(Post.id)).where(Post.message_text != ""))
    try:
        blank_expired_post_text()  # periodic tasks keep no result: look at the posts
    finally:
        database(task_app).dispose()
    db_session.expire_all()
    assert db_session.scalar(select(func.count(Post.id)).where(Post.message_text != "")) == 0
