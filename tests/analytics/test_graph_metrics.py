"""The interaction graph and per-person metrics on small courses with known answers."""

from datetime import timedelta

import numpy as np
import pytest

from middleware.analytics.activity import anonymous_node
from middleware.analytics.graph import View, build_graph
from middleware.analytics.metrics import compute_metrics

from .builders import CourseBuilder


def edges(graph):
    ids = graph.node_ids
    return {(int(ids[s]), int(ids[t])): float(w)
            for s, t, w in zip(graph.sources, graph.targets, graph.weights, strict=True)}


def metrics_of(activity, view=None):
    return compute_metrics(build_graph(activity, view or View()))


def test_a_reply_is_an_edge_from_its_author_to_the_parent_author_weighted_by_count():
    b = CourseBuilder()
    b.learners(1, 2, 3)
    question = b.discussion(1, "Rubrics?")
    b.reply(question, 2)
    answer = b.reply(question, 2)
    b.reply(answer, 3)
    graph = build_graph(b.build(), View())
    assert edges(graph) == {(2, 1): 2.0, (3, 2): 1.0}


def test_self_replies_are_posts_but_not_edges():
    b = CourseBuilder()
    b.learners(1, 2)
    question = b.discussion(1)
    follow_up = b.reply(question, 1, "I found it myself")
    b.reply(follow_up, 1)
    m = metrics_of(b.build())
    assert m.graph.edge_count == 0
    row = m.person(1)
    assert (row["posts"], row["replies_given"], row["replies_received"]) == (3, 0, 0)
    assert row["answered"] == 0


def test_isolated_enrolled_people_are_nodes_with_zero_metrics():
    b = CourseBuilder()
    b.learners(1, 2, 3)
    b.reply(b.discussion(1), 2)
    m = metrics_of(b.build())
    assert 3 in m.graph.node_ids
    row = m.person(3)
    assert row["posts"] == row["in_degree"] == row["out_degree"] == row["coreness"] == 0
    assert row["betweenness"] == 0.0 and row["last_activity"] is None
    assert [r["person_id"] for r in m.rows()] == [1, 2]  # inactive people are not stored


def test_bidirectional_teacher_star():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.learners(1, 2, 3, 4)
    for learner in (1, 2, 3, 4):
        b.reply(b.reply(b.discussion(9), learner), 9)
    m = metrics_of(b.build())
    teacher = m.person(9)
    assert teacher["betweenness"] == pytest.approx(1.0)  # every learner pair passes through
    assert teacher["reciprocity"] == 1.0
    assert teacher["in_degree"] == teacher["out_degree"] == 4
    assert {m.person(i)["coreness"] for i in (1, 2, 3, 4, 9)} == {1}
    assert all(m.person(i)["betweenness"] == 0 for i in (1, 2, 3, 4))
    assert m.person(9)["pagerank"] == max(m.values["pagerank"])


def test_teacher_only_star_of_answers_has_no_brokers_and_no_reciprocity():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.learners(1, 2, 3)
    for learner in (1, 2, 3):
        b.reply(b.discussion(learner), 9)
    m = metrics_of(b.build())
    assert edges(m.graph) == {(9, 1): 1.0, (9, 2): 1.0, (9, 3): 1.0}
    assert not m.values["betweenness"].any()
    assert not m.values["reciprocity"].any()
    assert m.person(9)["answered"] == 3 and m.person(9)["first_replies"] == 3


def test_empty_course():
    m = metrics_of(CourseBuilder().build())
    assert m.graph.node_count == 0 and m.graph.edge_count == 0
    assert list(m.rows()) == [] and m.top("betweenness", limit=5) == []


def test_course_with_people_but_no_posts():
    b = CourseBuilder()
    b.learners(1, 2)
    m = metrics_of(b.build())
    assert m.graph.node_count == 2
    assert m.values["pagerank"].tolist() == pytest.approx([0.5, 0.5])


def test_deleted_users_are_anonymous_nodes_one_per_discussion():
    b = CourseBuilder()
    b.learners(1)
    first = b.discussion(None, "Posted by a deleted user")
    b.reply(first, 1)
    b.reply(first, None)  # another hidden author in the same thread: not an edge
    second = b.discussion(1)
    b.reply(second, None)
    m = metrics_of(b.build())
    assert edges(m.graph) == {(1, anonymous_node(1)): 1.0, (anonymous_node(2), 1): 1.0}
    assert m.role(int(m.graph.index_of(anonymous_node(1)))) == "anonymous"
    assert [r["person_id"] for r in m.rows()] == [1]


def test_private_replies_count_only_in_the_teacher_view():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.learners(1, 2)
    question = b.discussion(1)
    b.reply(question, 9, private=True)
    b.reply(question, 2)
    activity = b.build()
    assert edges(build_graph(activity, View(audience="teacher"))) == {(9, 1): 1.0, (2, 1): 1.0}
    learner_view = metrics_of(activity, View(audience="learner"))
    assert edges(learner_view.graph) == {(2, 1): 1.0}
    assert learner_view.person(9)["posts"] == 0


def test_windows_keep_replies_by_their_time_even_to_older_posts():
    b = CourseBuilder()
    b.learners(1, 2, 3)
    old = b.discussion(1, at=timedelta(days=20))
    b.reply(old, 2, at=timedelta(days=19))
    b.reply(old, 3, at=timedelta(days=2))
    activity = b.build()
    assert edges(build_graph(activity, View("7d"))) == {(3, 1): 1.0}
    assert edges(build_graph(activity, View("30d"))) == {(2, 1): 1.0, (3, 1): 1.0}
    week = metrics_of(activity, View("7d"))
    # The discussion began before the window: its replies are not "answers" in this window.
    assert week.person(3)["answered"] == 0 and week.person(1)["posts"] == 0
    assert metrics_of(activity, View("30d")).person(3)["answered"] == 1


def test_group_view_has_its_discussions_and_members_course_wide_posts():
    b = CourseBuilder()
    b.learners(1, 2, groups=(10,))
    b.learners(3, 4, groups=(20,))
    b.reply(b.discussion(1, group=10), 2)
    b.reply(b.discussion(3, group=20), 4)
    course_wide = b.discussion(4)
    b.reply(course_wide, 1)
    b.reply(course_wide, 3)
    activity = b.build()
    group = build_graph(activity, View(group_id=10))
    assert edges(group) == {(2, 1): 1.0, (1, 4): 1.0}
    assert set(group.node_ids[group.in_scope].tolist()) == {1, 2}
    assert len(edges(build_graph(activity, View()))) == 4


def test_answers_first_replies_and_median_time_of_first_replies():
    b = CourseBuilder()
    b.learners(1, 2, 3)
    start = b.now - timedelta(days=5)
    q1 = b.discussion(1, at=start)
    b.reply(q1, 2, at=start + timedelta(hours=1))
    b.reply(q1, 3, at=start + timedelta(hours=2))
    b.reply(q1, 2, at=start + timedelta(hours=9))  # not a first reply of 2 in q1
    q2 = b.discussion(1, at=start + timedelta(days=1))
    b.reply(q2, 2, at=start + timedelta(days=1, hours=3))
    q3 = b.discussion(3, at=start + timedelta(days=2))
    b.reply(q3, 2, at=start + timedelta(days=2, hours=8))
    m = metrics_of(b.build())
    two = m.person(2)
    assert two["answered"] == 3 and two["first_replies"] == 3
    assert two["median_first_reply_seconds"] == 3 * 3600
    assert m.person(3)["answered"] == 1 and m.person(3)["first_replies"] == 0
    assert m.person(3)["median_first_reply_seconds"] == 2 * 3600
    assert m.person(1)["median_first_reply_seconds"] is None
    assert two["last_activity"] == (start + timedelta(days=2, hours=8)).timestamp()


def test_top_brokers_are_ordered_and_limited_to_roles():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.learners(1, 2, 3)
    # 1 -> 2 -> 3 chain through 2, and the teacher bridges 3 and 1.
    b.reply(b.discussion(2), 1)
    b.reply(b.discussion(3), 2)
    b.reply(b.discussion(9), 3)
    b.reply(b.discussion(1), 9)
    m = metrics_of(b.build())
    top = m.top("betweenness", limit=2, roles=("learner",))
    assert len(top) == 2 and all(r["role"] == "learner" for r in top)
    assert np.all(np.diff([r["betweenness"] for r in top]) <= 0)
