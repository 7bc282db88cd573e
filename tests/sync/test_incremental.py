"""Incremental sync, full reconciliation, pagination edges, and interrupted-then-resumed runs."""

from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from middleware.models import Discussion, Enrolment, Forum, Person, Post
from middleware.models.moodle import FAILED, SUCCEEDED
from middleware.moodle.service import MoodleClient, MoodleUnavailable
from middleware.sync import operations
from tests.doubles.community import generate_community
from tests.doubles.moodle_ws import MoodleDouble, mock_double
from tests.sync.conftest import MOODLE, TOKEN, make_course, snapshot


def post_row(session, moodle_post_id):
    session.expire_all()
    return session.scalar(select(Post).where(Post.moodle_post_id == moodle_post_id))


def test_new_posts_are_fetched_only_for_changed_discussions(db_session, course, moodle,
                                                             community, sync):
    sync(course)
    touched = sorted(community.discussions, key=lambda d: d.timemodified)[:3]  # the oldest
    new = [community.add_post(d.id, community.learners[1].id, "<p>ancora io</p>")
           for d in touched]
    moodle.reset_stats()
    run = sync(course)
    assert run.status == SUCCEEDED and run.full is False
    assert moodle.calls["mod_forum_get_discussion_posts"] == len(touched)
    assert all(post_row(db_session, p.id) is not None for p in new)
    moodle.reset_stats()
    assert sync(course).changed == 0  # and again: nothing left to do


def test_new_discussion_in_a_forum_is_found(db_session, course, moodle, community, sync):
    sync(course)
    started = community.add_discussion(3, community.learners[2].id, "Nuova domanda",
                                       "<p>Come si usa la rubrica?</p>")
    sync(course)
    stored = db_session.scalar(select(Discussion).where(
        Discussion.moodle_discussion_id == started.id))
    assert stored is not None and len(stored.posts) == 1


def test_edits_are_caught_by_reconciliation_not_by_incremental(db_session, course, moodle,
                                                               community, sync):
    sync(course)
    target = community.posts[5]
    community.edit_post(target.id, "<p>Testo corretto dopo la pubblicazione</p>")
    sync(course)  # Moodle's sort key does not move on an edit
    assert "corretto" not in post_row(db_session, target.id).message_text
    run = sync(course, full=True)
    assert run.full and run.changed >= 1
    assert post_row(db_session, target.id).message_text == (
        "Testo corretto dopo la pubblicazione")


def test_deleted_reply_is_caught_when_numreplies_drops(db_session, course, moodle, community,
                                                       sync):
    sync(course)
    discussion = next(d for d in community.discussions if d.num_replies >= 2)
    last_reply = discussion.post_ids[-1]
    removed = community.delete_post(last_reply)
    run = sync(course)
    assert run.full is False
    assert all(post_row(db_session, pid).deleted for pid in removed)


def test_deleted_discussions_and_unenrolled_users_are_caught_by_reconciliation(
        db_session, course, moodle, community, sync):
    sync(course)
    gone = community.discussions[len(community.discussions) // 2]
    post_ids = list(gone.post_ids)
    community.delete_discussion(gone.id)
    leaver = community.learners[3]
    community.unenrol(leaver.id)
    sync(course, full=True)
    db_session.expire_all()
    stored = db_session.scalar(select(Discussion).where(
        Discussion.moodle_discussion_id == gone.id))
    assert stored.deleted
    assert all(post_row(db_session, pid).deleted for pid in post_ids)
    enrolment = db_session.scalar(select(Enrolment).join(Person).where(
        Person.subject == str(leaver.id)))
    assert enrolment.active is False
    others = db_session.scalars(select(Enrolment).join(Person).where(
        Person.subject != str(leaver.id)))
    assert all(e.active for e in others)


def test_reconciliation_becomes_due_after_the_nightly_hour(db_session, course):
    from datetime import UTC, datetime

    state = operations.sync_state(db_session, course.id)
    assert operations.reconciliation_due(state, datetime(2026, 11, 23, 10, tzinfo=UTC), 3)
    state.reconciled_at = datetime(2026, 11, 23, 3, 5, tzinfo=UTC)
    assert not operations.reconciliation_due(state, datetime(2026, 11, 23, 23, tzinfo=UTC), 3)
    assert not operations.reconciliation_due(state, datetime(2026, 11, 24, 2, 59, tzinfo=UTC), 3)
    assert operations.reconciliation_due(state, datetime(2026, 11, 24, 3, 0, tzinfo=UTC), 3)


# --- pagination edges ------------------------------------------------------------------------

def test_pages_until_a_short_page_and_survives_an_exactly_full_one(db_session, settings,
                                                                  http_mock, monkeypatch, sync):
    monkeypatch.setattr(operations, "DISCUSSIONS_PER_PAGE", 5)
    monkeypatch.setattr(operations, "ROSTER_PAGE", 7)
    community = generate_community(seed=3, learners=19, discussions=10, posts=40)
    # One forum only, holding exactly two full pages: the third page comes back empty.
    for discussion in community.discussions:
        discussion.forum_id = 1
    double = MoodleDouble(community, token=TOKEN)
    mock_double(http_mock, double, MOODLE)
    course = make_course(db_session, settings.encryption_key, community.service_user.id)
    run = sync(course)
    assert run.status == SUCCEEDED, run.error
    assert double.calls["mod_forum_get_forum_discussions"] == 3 + 3  # forum 1: 3, others: 1
    enrolled = len(community.enrolled_users_json())  # 19 learners + 2 teachers + bot = 22
    assert double.calls["core_enrol_get_enrolled_users"] == enrolled // 7 + 1
    assert len(db_session.scalars(select(Discussion)).all()) == 10
    assert len(db_session.scalars(select(Enrolment)).all()) == enrolled


def test_empty_forum_costs_one_call(db_session, settings, http_mock, sync):
    community = generate_community(seed=4, learners=10, discussions=4, posts=10)
    forum = community.forums[0]
    for discussion in community.discussions_of(forum.id):
        community.delete_discussion(discussion.id)
    double = MoodleDouble(community, token=TOKEN)
    mock_double(http_mock, double, MOODLE)
    course = make_course(db_session, settings.encryption_key, community.service_user.id)
    assert sync(course).status == SUCCEEDED
    assert double.calls["mod_forum_get_forum_discussions"] == len(community.forums)


def test_pinned_old_discussion_does_not_stop_paging(db_session, settings, http_mock, sync):
    community = generate_community(seed=5, learners=10, discussions=12, posts=40)
    double = MoodleDouble(community, token=TOKEN)
    mock_double(http_mock, double, MOODLE)
    course = make_course(db_session, settings.encryption_key, community.service_user.id)
    sync(course)
    forum_id = 3
    oldest = min(community.discussions_of(forum_id), key=lambda d: d.timemodified)
    oldest.pinned = True  # listed first, far older than the watermark
    newer = community.add_post(
        max(community.discussions_of(forum_id), key=lambda d: d.timemodified).id,
        community.learners[0].id, "<p>dopo il pin</p>")
    double.reset_stats()
    sync(course)
    assert post_row(db_session, newer.id) is not None
    stored = db_session.scalar(select(Discussion).where(
        Discussion.moodle_discussion_id == oldest.id))
    assert stored.pinned is True  # the listing-only change was applied without re-reading posts
    assert double.calls["mod_forum_get_discussion_posts"] == 1


def test_watermark_stops_paging_at_the_first_known_discussion(db_session, settings, http_mock,
                                                             monkeypatch, sync):
    # A page must hold the pinned discussions plus the newest one (inside the overlap) plus one
    # known discussion: forum 1 here has two pinned ones.
    monkeypatch.setattr(operations, "DISCUSSIONS_PER_PAGE", 4)
    community = generate_community(seed=6, learners=10, discussions=30, posts=60)
    double = MoodleDouble(community, token=TOKEN)
    mock_double(http_mock, double, MOODLE)
    course = make_course(db_session, settings.encryption_key, community.service_user.id)
    sync(course)
    watermarks = {f.moodle_forum_id: f.watermark for f in db_session.scalars(select(Forum))}
    assert watermarks == {f.id: max(d.timemodified for d in community.discussions_of(f.id))
                          for f in community.forums}
    double.reset_stats()
    assert sync(course).changed == 0
    assert double.calls["mod_forum_get_forum_discussions"] == len(community.forums)


# --- interruption ---------------------------------------------------------------------------------

class BrokenAfter(MoodleClient):
    """A client that fails (as a crash or as Moodle going away) after `limit` calls."""

    def __init__(self, limit, failure):
        super().__init__(MOODLE, TOKEN, sleep=lambda _s: None, retries=0)
        self.limit = limit
        self.failure = failure

    def call(self, *args, **kwargs):
        if self.calls >= self.limit:
            raise self.failure
        return super().call(*args, **kwargs)


@pytest.mark.parametrize("failure", [RuntimeError("worker killed"),
                                     MoodleUnavailable("gone", errorcode="unavailable")])
def test_interrupted_at_any_point_then_resumed_equals_uninterrupted(db_session, settings,
                                                                    http_mock, sync, failure,
                                                                    monkeypatch):
    monkeypatch.setattr(operations, "CHECKPOINT_EVERY", 3)  # crashes inside and between batches
    community = generate_community(seed=8, learners=10, discussions=7, posts=30)
    double = MoodleDouble(community, token=TOKEN)
    mock_double(http_mock, double, MOODLE)
    reference = make_course(db_session, settings.encryption_key, community.service_user.id,
                            issuer="http://reference.test")
    assert sync(reference).status == SUCCEEDED
    expected = snapshot(db_session, reference)
    total = double.total_calls
    assert total > 10
    for limit in range(total):
        course = make_course(db_session, settings.encryption_key, community.service_user.id,
                             issuer=f"http://interrupted-{limit}.test")
        if isinstance(failure, RuntimeError):
            with pytest.raises(RuntimeError):
                sync(course, client=BrokenAfter(limit, failure))
        else:
            assert sync(course, client=BrokenAfter(limit, failure)).status == FAILED
        resumed = sync(course)
        assert resumed.status == SUCCEEDED, (limit, resumed.error)
        assert snapshot(db_session, course) == expected, f"interrupted after {limit} calls"


def test_retry_inside_a_sync_is_transparent(db_session, course, moodle, sync, clients):
    moodle.fail_next("503", count=2, function="mod_forum_get_discussion_posts")
    moodle.fail_next("truncated", count=1, function="mod_forum_get_forum_discussions")
    run = sync(course)
    assert run.status == SUCCEEDED
    assert run.calls == clients[0].calls == moodle.total_calls


def test_moodle_error_is_recorded_without_the_token(db_session, course, http_mock, moodle,
                                                    sync):
    moodle.fail_next("invalidtoken", count=1)
    run = sync(course)
    assert run.status == FAILED
    assert "invalidtoken" in run.error and TOKEN not in run.error
    assert run.finished_at is not None and run.calls == 1


def test_course_without_connection_records_a_failed_run(db_session, course, sync):
    from middleware.models import MoodleConnection

    db_session.delete(db_session.scalar(select(MoodleConnection)))
    db_session.commit()
    run = sync(course)
    assert run.status == FAILED and "notconnected" in run.error


def test_unreadable_discussion_leaves_the_watermark_for_next_time(db_session, course, moodle,
                                                                  community, sync):
    sync(course)
    discussion = max(community.discussions_of(3), key=lambda d: d.timemodified)
    reply = community.add_post(discussion.id, community.learners[0].id, "<p>nuovo</p>")
    moodle.fail_next("Error", count=1, function="mod_forum_get_discussion_posts")
    forum = db_session.scalar(select(Forum).where(Forum.moodle_forum_id == 3))
    before = forum.watermark
    sync(course)
    db_session.expire_all()
    assert forum.watermark == before
    sync(course)
    assert post_row(db_session, reply.id) is not None


def test_unknown_users_in_posts_become_people(db_session, course, http_mock, moodle, community,
                                              sync):
    sync(course)
    stranger = next(u for u in community.users if u.deleted)
    person = db_session.scalar(select(Person).where(Person.subject == str(stranger.id)))
    assert person is not None and person.deleted
    assert responses  # the double answered through the mock


def test_a_page_short_only_because_of_hidden_discussions_is_not_the_last(
        db_session, settings, http_mock, monkeypatch, sync):
    monkeypatch.setattr(operations, "DISCUSSIONS_PER_PAGE", 3)
    community = generate_community(seed=12, learners=10, discussions=4, posts=10)
    for discussion in community.discussions:
        discussion.forum_id = 1
    double = MoodleDouble(community, token=TOKEN)
    listing = double.mod_forum_get_forum_discussions

    def with_a_hidden_one(params):
        page = listing(params)
        if params.get("forumid") == "1" and params.get("page") == "0":
            # Moodle moved a discussion it would not show into the warnings.
            hidden = page["discussions"].pop(1)
            page["warnings"] = [{"item": "post", "itemid": hidden["id"], "warningcode": "1",
                                 "message": "You can't see this discussion"}]
        return page

    double.mod_forum_get_forum_discussions = with_a_hidden_one
    mock_double(http_mock, double, MOODLE)
    course = make_course(db_session, settings.encryption_key, community.service_user.id)
    assert sync(course).status == SUCCEEDED
    pages = [c for c in http_mock.calls if "mod_forum_get_forum_discussions" in c.request.body
             and "forumid=1&" in c.request.body]
    assert len(pages) == 2  # page 0 held 2 + 1 hidden: page 1 was still read
    assert len(db_session.scalars(select(Discussion)).all()) == 3
