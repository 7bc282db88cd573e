"""Load a course from the database, store its analysis, read it back; the worker task."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from middleware.analytics import operations
from middleware.analytics.analysis import analyse_activity
from middleware.analytics.graph import View, build_graph
from middleware.analytics.metrics import compute_metrics
from middleware.models import (
    AnalyticsSnapshot,
    Course,
    CourseGroup,
    Discussion,
    Enrolment,
    Forum,
    Person,
    PersonMetrics,
    Platform,
    Post,
)
from middleware.signals import course_analysed, course_synced

from .builders import NOW, CourseBuilder


def scenario() -> CourseBuilder:
    """A teacher, a service user, five learners in two groups, course-wide and group threads."""
    b = CourseBuilder()
    b.person(9, "teacher", last_access=NOW - timedelta(hours=1))
    b.person(8, "service")
    b.person(1, groups=(501,), last_access=NOW - timedelta(days=1))
    b.person(2, groups=(501,))
    b.person(3, groups=(502,))
    b.person(4, groups=(502,), active=False)
    b.person(5, groups=(502,), last_access=NOW - timedelta(days=3))  # never writes
    question = b.discussion(1, "Rubriche", "Come si fa una rubrica di valutazione?",
                            at=timedelta(days=10))
    answer = b.reply(question, 2, "Io uso una rubrica di valutazione a quattro livelli",
                     at=timedelta(days=9))
    b.reply(answer, 1, "Grazie!", at=timedelta(days=9))
    b.reply(question, 9, "Vedete anche la guida", at=timedelta(days=8), private=True)
    group_thread = b.discussion(3, "Progetto", "Chi prepara la scaletta?", group=502,
                                at=timedelta(days=5))
    b.reply(group_thread, 4, "Io!", at=timedelta(days=4))
    b.discussion(1, "Quiz", "Come imposto i tentativi del quiz?", at=timedelta(days=2))
    deleted_user = b.discussion(None, "Domanda di un utente rimosso", at=timedelta(days=3))
    b.reply(deleted_user, 3, "Risposta", at=timedelta(days=1))
    return b


def store(session, builder: CourseBuilder) -> int:
    """Write the builder's course into the shared models; return the course id."""
    platform = Platform(name="Moodle", issuer="https://moodle.example", client_id="c",
                        auth_login_url="https://moodle.example/auth",
                        auth_token_url="https://moodle.example/token",
                        key_set_url="https://moodle.example/certs")
    session.add(platform)
    session.flush()
    course = Course(platform_id=platform.id, context_id="2", title="Didattica")
    session.add(course)
    session.flush()
    groups = {}
    for moodle_group in (501, 502):
        groups[moodle_group] = CourseGroup(course_id=course.id, moodle_group_id=moodle_group,
                                           name=f"Gruppo {moodle_group}")
        session.add(groups[moodle_group])
    for record in builder.people.values():
        session.add(Person(id=record.id, platform_id=platform.id, subject=str(record.id),
                           fullname=f"Person {record.id}", deleted=record.deleted))
    session.flush()
    for record in builder.people.values():
        session.add(Enrolment(course_id=course.id, person_id=record.id, role=record.role,
                              active=record.active, last_course_access=record.last_access,
                              groups=[groups[g] for g in record.group_ids]))
    forum = Forum(course_id=course.id, moodle_forum_id=77, type="general", name="Domande")
    session.add(forum)
    session.flush()
    for d in builder.discussions:
        session.add(Discussion(id=d.id, forum_id=forum.id, course_id=course.id,
                               moodle_discussion_id=1000 + d.id, name=d.title,
                               author_id=d.author_id, created_at=d.created,
                               moodle_group_id=d.group_id if d.group_id else -1))
    session.flush()
    for p in builder.posts:
        session.add(Post(discussion_id=p.discussion_id, course_id=course.id,
                         moodle_post_id=p.id, parent_moodle_id=p.parent_id,
                         author_id=p.author_id, author_deleted=p.author_id is None,
                         subject="", message_text=p.text, created_at=p.created,
                         private_reply=p.private,
                         moodle_group_id=p.group_id if p.group_id else -1))
    session.flush()
    return course.id


def test_load_course_activity_reads_the_shared_models(db_session):
    builder = scenario()
    course_id = store(db_session, builder)
    # A post removed in Moodle and a deleted discussion are not activity.
    removed = db_session.scalars(select(Post).limit(1)).first()
    removed.deleted = True
    db_session.flush()
    activity = operations.load_course_activity(db_session, course_id, now=NOW)
    group_ids = dict(db_session.execute(select(CourseGroup.moodle_group_id, CourseGroup.id))
                     .all())
    people = activity.person_by_id
    assert set(people) == {1, 2, 3, 4, 5, 8, 9}
    assert (people[9].role, people[8].role, people[1].role) == ("teacher", "service", "learner")
    assert people[1].group_ids == {group_ids[501]} and not people[4].active
    assert people[1].last_access == NOW - timedelta(days=1)
    assert len(activity.posts) == len(builder.posts) - 1
    assert removed.moodle_post_id not in {p.id for p in activity.posts}
    by_id = {p.id: p for p in activity.posts}
    original = {p.id: p for p in builder.posts}
    for post_id, post in by_id.items():
        assert (post.parent_id, post.author_id, post.private, post.text, post.created) == (
            original[post_id].parent_id, original[post_id].author_id, original[post_id].private,
            original[post_id].text, original[post_id].created)
    group_thread = next(d for d in activity.discussions if d.title == "Progetto")
    assert group_thread.group_id == group_ids[502]
    assert activity.group_ids == tuple(sorted(group_ids.values()))


def test_refresh_stores_every_view_and_pages_read_them_back(db_session):
    course_id = store(db_session, scenario())
    snapshots = operations.refresh_course_analytics(db_session, course_id, now=NOW)
    assert len(snapshots) == 6 + 2 * 3  # course: 3 windows × 2 audiences; groups: 3 windows

    activity = operations.load_course_activity(db_session, course_id, now=NOW)
    expected = {(a.view.window, a.view.group_id, a.view.audience): a
                for a in analyse_activity(activity)}
    latest = operations.latest_snapshot(db_session, course_id, window="all")
    reference = expected[("all", None, "teacher")]
    assert latest.health == pytest.approx(reference.health)
    assert latest.trend == reference.trend
    assert latest.betweenness_method == "exact" and latest.betweenness_pivots is None
    assert latest.data_until == NOW and latest.computed_at is not None
    assert sorted(map(tuple, latest.edges)) == sorted(
        [(1, 2, 1), (2, 1, 1), (9, 1, 1), (4, 3, 1), (3, -4, 1)])
    assert [c["person_id"] for c in latest.candidates["isolated"]][:1] == [5]
    assert {d["title"] for d in latest.candidates["unanswered"]} == {"Quiz"}
    assert latest.candidates["isolated"][0]["reason"] == {
        "key": "isolated.lurking", "params": {"num": 3}}

    learners_view = operations.latest_snapshot(db_session, course_id, window="all",
                                               audience="learner")
    assert learners_view.betweenness_method == "none"
    assert [9, 1, 1] not in learners_view.edges  # the teacher's private reply

    group = db_session.scalar(select(CourseGroup.id).where(CourseGroup.moodle_group_id == 502))
    week = operations.latest_snapshot(db_session, course_id, window="7d", group_id=group)
    # Its own thread, and what its member 3 wrote course-wide (to a deleted user's question).
    assert week.group_id == group and week.edges == [[3, -4, 1], [4, 3, 1]]
    assert week.health["enrolled_learners"] == 2  # 3 and 5 (4 is no longer enrolled)
    assert {(p.person_id, p.replies_given) for p in operations.snapshot_people(
        db_session, week)} == {(3, 1), (4, 1)}

    row = operations.person_metrics(db_session, latest, 2)
    metrics = compute_metrics(build_graph(activity, View()))
    assert row.replies_given == 1 and row.answered == 1 and row.first_replies == 1
    assert row.pagerank == pytest.approx(metrics.person(2)["pagerank"])
    assert row.last_activity == NOW - timedelta(days=9)
    assert operations.person_metrics(db_session, latest, 5) is None  # no activity, no row
    assert [p.person_id for p in operations.top_people(db_session, latest, "posts",
                                                       limit=2)] == [1, 3]
    assert {p.person_id for p in operations.snapshot_people(db_session, latest)} == {
        1, 2, 3, 4, 9}
    assert operations.betweenness_method(latest).render("it") == (
        "intermediazione calcolata in modo esatto")


def test_a_new_analysis_replaces_the_previous_one(db_session):
    course_id = store(db_session, scenario())
    first = operations.refresh_course_analytics(db_session, course_id, now=NOW)
    second = operations.refresh_course_analytics(db_session, course_id,
                                                 now=NOW + timedelta(days=30))
    count = db_session.scalar(select(func.count()).select_from(AnalyticsSnapshot))
    assert count == len(second) == len(first)
    rows = db_session.scalar(select(func.count()).select_from(PersonMetrics))
    assert rows == db_session.scalar(select(func.count()).select_from(PersonMetrics).where(
        PersonMetrics.snapshot_id.in_([s.id for s in second])))
    latest = operations.latest_snapshot(db_session, course_id, window="7d")
    assert latest.health["active_learners"] == 0  # nothing in the last week any more


def test_a_course_without_activity_is_stored_too(db_session):
    course_id = store(db_session, CourseBuilder())
    snapshots = operations.refresh_course_analytics(db_session, course_id, now=NOW)
    latest = operations.latest_snapshot(db_session, course_id)
    assert latest is not None and latest.node_count == 0 and latest.trend == []
    assert len(snapshots) == 6 + 2 * 3
    assert operations.latest_snapshot(db_session, course_id + 1) is None


def test_sync_signal_runs_the_task_which_announces_the_analysis(app, db_session):
    import middleware.analytics.tasks  # noqa: F401  (connects the receiver, as the worker does)

    course_id = store(db_session, scenario())
    db_session.commit()
    announced = []

    def listener(_sender, course_id, **_):
        announced.append(course_id)

    course_analysed.connect(listener)
    try:
        course_synced.send(app, course_id=course_id, changed=3)
        assert announced == [course_id]
        db_session.expire_all()
        assert operations.latest_snapshot(db_session, course_id) is not None
        # Nothing changed and the results are fresh: no new analysis, no announcement.
        course_synced.send(app, course_id=course_id, changed=0)
        assert announced == [course_id]
    finally:
        course_analysed.disconnect(listener)


def test_mentoring_reaches_the_loader_through_the_candidates_module(db_session):
    from middleware.analytics import candidates

    course_id = store(db_session, scenario())
    activity = candidates.load_course_activity(db_session, course_id, now=NOW)
    discussion = next(d.id for d in activity.discussions if d.title == "Quiz")
    peers = candidates.rank_peers_for_discussion(activity, discussion, k=3, exclude=(1,))
    assert [p.person_id for p in peers] and all(p.person_id in (2, 3) for p in peers)
