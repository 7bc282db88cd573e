"""The worker wiring: a course's analysis triggers its rules, then delivery through Moodle."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from middleware.mentoring import tasks
from middleware.models import MentoringPrompt, MoodleConnection, OutboxMessage
from middleware.moodle.operations import encrypt_token
from middleware.queue import TASK_MODULES, huey
from middleware.signals import course_analysed
from tests.doubles.community import generate_community
from tests.doubles.moodle_ws import DEFAULT_TOKEN, MoodleDouble, mock_double

from .builders import NOW

URL = "http://moodle.test"


@pytest.fixture(autouse=True)
def three_days_after_the_script():
    """The world is scripted at builders.NOW and the tasks read the clock: run them 3 days on."""
    with time_machine.travel(NOW + timedelta(days=3), tick=True):
        yield


def test_the_worker_knows_the_mentoring_tasks():
    assert "middleware.mentoring.tasks" in TASK_MODULES
    periodic = {task.__name__ for task in huey._registry._periodic_tasks}
    wanted = ("deliver_due_outbox", "evaluate_active_courses", "measure_outcomes")
    assert len({n for n in periodic if n.endswith(wanted)}) == 3


def connected_course(world, settings, http_mock):
    """The world's people are the double's; Circolo holds a checked connection to it."""
    double = MoodleDouble(generate_community(seed=2, learners=10, discussions=10, posts=30))
    mock_double(http_mock, double, URL)
    learners = [u for u in double.community.learners if u.enrolled]
    world.person("teacher", role="teacher", moodle_id=double.community.teachers[0].id)
    for index, user in enumerate(learners[:4]):
        world.person(f"p{index}", moodle_id=user.id)
    world.question("warmup", "p0", 24 * 5)
    for index in range(1, 4):
        world.reply("warmup", f"p{index}", 24 * 4)
    world.question("q", "p0", 30)
    world.settings(rules={"bridging": {"enabled": False}, "welcome": {"enabled": False}},
                   quiet_start_hour=0, quiet_end_hour=0)
    world.session.add(MoodleConnection(
        platform_id=world.course.platform_id, url=URL + "/webservice/rest/server.php",
        token_ciphertext=encrypt_token(settings.encryption_key, DEFAULT_TOKEN),
        service_user_id=double.community.service_user.id))
    world.session.commit()
    return double


def test_course_analysed_evaluates_rules_and_delivers_through_moodle(world, settings, http_mock):
    double = connected_course(world, settings, http_mock)
    course_analysed.send(None, course_id=world.course.id)
    world.session.expire_all()
    prompts = world.session.scalars(select(MentoringPrompt)).all()
    # The task runs three days after the scripted question: two peers were asked, and the
    # teacher told (the question is past the 72-hour mark).
    assert sorted(p.kind for p in prompts) == ["route_peer", "route_peer", "route_teacher"]
    assert {p.status for p in prompts} == {"sent"}
    delivered = [m for c in double.conversations.values() for m in c.messages]
    assert len(delivered) == 3
    assert double.calls["core_message_send_instant_messages"] == 3
    # Periodic delivery and a second analysis change nothing: every prompt went out once.
    tasks.deliver_due_outbox.call_local()
    course_analysed.send(None, course_id=world.course.id)
    assert double.calls["core_message_send_instant_messages"] == 3


def test_without_a_moodle_connection_messages_wait_in_the_outbox(world, settings, http_mock):
    connected_course(world, settings, http_mock)
    world.session.query(MoodleConnection).delete()
    world.session.commit()
    tasks.evaluate_course.call_local(world.course.id)
    world.session.expire_all()
    rows = world.session.scalars(select(OutboxMessage)).all()
    assert rows and {(r.state, r.error_code) for r in rows} == {("pending", "no_connection")}


def test_one_evaluation_of_a_course_at_a_time(world, settings, http_mock):
    connected_course(world, settings, http_mock)
    with huey.lock_task(f"mentoring-evaluate-{world.course.id}"):
        assert tasks.evaluate_course.call_local(world.course.id) == {"queued": 0,
                                                                     "for_review": 0}
    assert world.session.scalars(select(MentoringPrompt)).all() == []
    assert tasks.evaluate_course.call_local(world.course.id)["queued"] == 3


def test_outcomes_are_measured_hourly(world, settings, http_mock):
    connected_course(world, settings, http_mock)
    course_analysed.send(None, course_id=world.course.id)
    tasks.measure_outcomes.call_local()
    world.session.expire_all()
    asked = world.session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.kind == "route_peer")).all()
    assert {p.outcome for p in asked} == {"pending"} and len(asked) == 2

