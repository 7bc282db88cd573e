"""Launch bookkeeping under concurrency: one course row, one activation."""

from __future__ import annotations

from sqlalchemy import select

from lti.launch import LaunchMessage
from middleware.db import database
from middleware.lti.operations import _get_or_create, record_launch
from middleware.models import Course, Platform


def message(subject: str = "11") -> LaunchMessage:
    return LaunchMessage(issuer="i", client_id="c", deployment_id="1",
                         message_type="LtiResourceLinkRequest", subject=subject, roles=(),
                         role="learner", target_link_uri="t", context_id="2",
                         resource_link_id="1", product_family_code="moodle")


def test_a_racing_insert_reads_the_winners_row(app, registered_platform, monkeypatch):
    with app.app_context(), database(app).transaction() as winner:
        winner.add(Course(platform_id=registered_platform, context_id="2", title="won"))
    with app.app_context(), database(app).session() as loser:
        real_scalar = loser.scalar
        calls = []

        def scalar_missing_once(statement, *args, **kwargs):
            calls.append(statement)
            return None if len(calls) == 1 else real_scalar(statement, *args, **kwargs)

        monkeypatch.setattr(loser, "scalar", scalar_missing_once)
        course = _get_or_create(loser, Course, {"platform_id": registered_platform,
                                                "context_id": "2"}, {})
        assert course.title == "won" and len(calls) == 2
        monkeypatch.undo()
        assert len(loser.scalars(select(Course)).all()) == 1


def test_only_the_first_launch_activates(app, registered_platform):
    with app.app_context(), database(app).session() as db:
        platform = db.get(Platform, registered_platform)
        first = record_launch(db, platform, message("11"))
        second = record_launch(db, platform, message("12"))
        db.commit()
        assert first.activated and not second.activated
        assert first.course.id == second.course.id and first.course.moodle_course_id == 2
        assert first.person.moodle_user_id == 11 and second.person.moodle_user_id == 12
