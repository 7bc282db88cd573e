"""Course health figures and their week-by-week trend on hand-built courses."""

from datetime import timedelta

import pytest

from middleware.analytics.graph import View, build_graph
from middleware.analytics.health import (
    course_health,
    discussion_table,
    weekly_trend,
    weekly_trend_by_graphs,
)

from .builders import CourseBuilder


def health_of(activity, view=None):
    view = view or View()
    table = discussion_table(activity, teacher_view=view.teacher_view)
    return course_health(build_graph(activity, view), table, now=activity.now_ts)


def test_empty_course_has_zeros_and_no_ratios():
    health = health_of(CourseBuilder().build())
    assert health["enrolled_learners"] == health["edges"] == health["questions"] == 0
    assert health["active_share"] is None and health["density"] is None
    assert health["median_first_reply_seconds"] is None and health["conversation_ratio"] is None


def test_participation_and_isolated_learners():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.person(8, "service")
    b.learners(1, 2, 3, 4)
    b.person(5, active=False)  # a suspended enrolment is not counted
    b.reply(b.discussion(1), 2)
    b.discussion(3)  # 3 writes but nobody answers
    health = health_of(b.build())
    assert health["enrolled_learners"] == 4
    assert health["active_learners"] == 3 and health["active_share"] == 0.75
    # 2 received nothing either: isolated means never replied to, or never active.
    assert health["never_active"] == 1 and health["never_replied_to"] == 2
    assert health["isolated_learners"] == 3 and health["isolated_share"] == 0.75


def test_teacher_share_density_and_reciprocity():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.learners(1, 2)
    question = b.discussion(1)
    b.reply(b.reply(question, 2), 1)  # 2 -> 1 and 1 -> 2
    b.reply(question, 9)
    b.reply(question, 9)
    health = health_of(b.build())
    assert health["edges"] == 3 and health["interactions"] == 4
    assert health["teacher_share"] == 0.5
    assert health["reciprocity"] == pytest.approx(2 / 3)
    assert health["density"] == pytest.approx(3 / 6)


def test_teacher_only_star_is_fully_teacher_centred():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.learners(1, 2, 3)
    for learner in (1, 2, 3):
        b.reply(b.discussion(learner), 9)
    health = health_of(b.build())
    assert health["teacher_share"] == 1.0 and health["reciprocity"] == 0.0


def test_unanswered_questions_after_24_and_72_hours_and_time_to_first_reply():
    b = CourseBuilder()
    b.learners(1, 2)
    b.discussion(1, "never answered", at=timedelta(hours=100))
    late = b.discussion(1, "answered after 30 h", at=timedelta(hours=50))
    b.reply(late, 2, at=timedelta(hours=20))
    b.discussion(1, "too recent to judge", at=timedelta(hours=10))
    quick = b.discussion(1, "answered in an hour", at=timedelta(hours=100))
    b.reply(quick, 1, at=timedelta(hours=99, minutes=30))  # the asker's own follow-up
    b.reply(quick, 2, at=timedelta(hours=99))
    b.discussion(2, "Welcome!", at=timedelta(hours=200), forum_type="news")
    health = health_of(b.build())
    assert health["questions"] == 4  # announcements are not questions
    assert health["unanswered_24h"] == 2 and health["unanswered_24h_share"] == pytest.approx(2 / 3)
    assert health["unanswered_72h"] == 1 and health["unanswered_72h_share"] == 0.5
    assert health["median_first_reply_seconds"] == pytest.approx((30 * 3600 + 3600) / 2)
    assert health["starting_posts"] == 5 and health["replies"] == 3
    assert health["conversation_ratio"] == pytest.approx(3 / 5)


def test_private_first_reply_counts_only_for_teachers():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.learners(1)
    question = b.discussion(1, at=timedelta(hours=50))
    b.reply(question, 9, at=timedelta(hours=49), private=True)
    assert health_of(b.build(), View(audience="teacher"))["unanswered_24h"] == 0
    assert health_of(b.build(), View(audience="learner"))["unanswered_24h"] == 1


def test_weekly_trend_has_one_entry_per_week_ending_with_the_current_one():
    b = CourseBuilder()  # now is Friday 2026-11-20 12:00 UTC
    b.learners(1, 2, 3)
    b.reply(b.discussion(1, at=timedelta(days=15)), 2, at=timedelta(days=14))
    b.reply(b.discussion(3, at=timedelta(days=1)), 1, at=timedelta(hours=20))
    b.reply(b.discussion(2, at=timedelta(days=1)), 3, at=timedelta(hours=2))
    activity = b.build()
    trend = weekly_trend(activity, View(), discussion_table(activity, teacher_view=True))
    assert [w["week_start"] for w in trend] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert [w["active_learners"] for w in trend] == [2, 0, 3]
    assert [w["edges"] for w in trend] == [1, 0, 2]
    assert trend[1]["conversation_ratio"] is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_vectorised_trend_equals_each_week_built_as_its_own_graph(seed):
    from tests.doubles.community import generate_community

    from .builders import activity_from_community

    community = generate_community(seed=seed, learners=60, discussions=80, posts=500, weeks=8,
                                   groups=3)
    activity = activity_from_community(community)
    for view in (View(), View(audience="learner"), View(group_id=activity.group_ids[0])):
        table = discussion_table(activity, teacher_view=view.teacher_view)
        fast = weekly_trend(activity, view, table)
        slow = weekly_trend_by_graphs(activity, view, table)
        assert len(fast) >= 8
        assert fast == slow
        assert weekly_trend(activity, view, table, graph=build_graph(activity, view)) == slow
