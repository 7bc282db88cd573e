"""A person's data export: everything about them, nothing about anyone else."""

from __future__ import annotations

import json

from sqlalchemy import select

from middleware.models import Enrolment, Person, Post

from .conftest import add_mentoring_rows, most_active_learner


def test_export_contains_that_learners_data_and_nobody_elses(app, runner, db_session, course):
    learner = most_active_learner(db_session, course)
    other = most_active_learner(db_session, course, rank=1)
    add_mentoring_rows(db_session, course, learner, other)
    result = runner.invoke(args=["circolo", "learner", "export", "--platform",
                                 str(course.platform_id), "--user", learner.subject])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["person"]["fullname"] == learner.fullname
    assert data["person"]["email"] == learner.email
    [exported] = data["courses"]
    own_posts = set(db_session.scalars(select(Post.moodle_post_id).where(
        Post.author_id == learner.id)))
    assert {p["moodle_post_id"] for p in exported["posts"]} == own_posts and own_posts
    assert {p["text"] for p in exported["prompts_received"]} == {
        f"<p>Ciao {learner.fullname}, puoi aiutare?</p>"}
    assert exported["privacy"]["hidden_from_suggestions"] is True
    # Nobody else's name or address is in it (their prompt about this learner is not).
    dumped = json.dumps(data, ensure_ascii=False)
    others = db_session.scalars(select(Person).join(Enrolment, Enrolment.person_id == Person.id)
                                .where(Person.id != learner.id, Enrolment.course_id == course.id))
    for person in others:
        assert person.email not in dumped
        assert person.fullname not in dumped, person.fullname


def test_export_of_an_unknown_person_says_so(runner, course):
    result = runner.invoke(args=["circolo", "learner", "export", "--platform",
                                 str(course.platform_id), "--user", "999999"])
    assert result.exit_code != 0 and "no person '999999'" in result.output
