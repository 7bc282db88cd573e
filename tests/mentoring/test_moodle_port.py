"""Delivery through the real Moodle client: recorded shapes, and the web-service double."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
import responses
from sqlalchemy import select

from middleware.mentoring import delivery
from middleware.mentoring.delivery import LEASE, DeliveryError, deliver_due
from middleware.mentoring.moodle_port import MoodleMessaging
from middleware.models import OutboxMessage
from middleware.moodle.service import MoodleClient
from tests.conftest import recorded_file
from tests.doubles.community import generate_community
from tests.doubles.moodle_ws import DEFAULT_TOKEN, MoodleDouble, mock_double

from .builders import NOW
from .test_delivery import decide

URL = "http://moodle.test"
SERVER = URL + "/webservice/rest/server.php"
BOT = 45


def client() -> MoodleClient:
    return MoodleClient(URL, "t0ken", retries=0, sleep=lambda _: None)


def recorded(fixtures_dir, name):
    return json.loads(recorded_file(fixtures_dir, f"ws/{name}.json").read_text())


def test_a_client_that_retries_sends_is_refused():
    with pytest.raises(ValueError, match="retries=0"):
        MoodleMessaging(MoodleClient(URL, "t0ken"), BOT)


def test_send_posts_the_reference_as_clientmsgid_and_reads_moodles_answer(http_mock,
                                                                          fixtures_dir):
    [answer] = recorded(fixtures_dir, "core_message_send_instant_messages.delivered")["response"]
    http_mock.add(responses.POST, SERVER, json=[answer])
    sent = MoodleMessaging(client(), BOT).send(9, "<p>Ciao</p>", "circolo1")
    assert (sent.msgid, sent.conversation_id, sent.error) == (
        answer["msgid"], answer["conversationid"], "")
    assert sent.msgid > 0
    form = dict(parse_qsl(http_mock.calls[0].request.body))
    assert form["wsfunction"] == "core_message_send_instant_messages"
    assert form["messages[0][clientmsgid]"] == "circolo1"
    assert form["messages[0][touserid]"] == "9" and form["messages[0][textformat]"] == "1"


def test_msgid_minus_one_comes_back_with_moodles_reason(http_mock, fixtures_dir):
    http_mock.add(responses.POST, SERVER, json=recorded(
        fixtures_dir, "core_message_send_instant_messages.blocked_by_preferences")["response"])
    sent = MoodleMessaging(client(), BOT).send(46, "<p>Ciao!</p>", "prompt2")
    assert sent.msgid == -1 and "message preferences" in sent.error
    assert delivery.refusal_code(sent.error) == "message_preferences"


def test_read_back_finds_the_reference_in_the_recorded_conversation(http_mock, fixtures_dir):
    conversation = copy.deepcopy(
        recorded(fixtures_dir, "core_message_get_conversation_between_users")["response"])
    conversation["messages"][0]["text"] += "<p><small>Riferimento Circolo: circolo12</small></p>"
    http_mock.add(responses.POST, SERVER, json=conversation)
    [message] = conversation["messages"][:1]
    bot = message["useridfrom"]  # the web-service user who sent it, in that Moodle
    port = MoodleMessaging(client(), bot)
    assert port.find(9, "circolo12", NOW - timedelta(days=400)) == message["id"]
    assert port.find(9, "circolo1", NOW - timedelta(days=400)) is None  # not a prefix match
    form = dict(parse_qsl(http_mock.calls[0].request.body))
    assert (form["userid"], form["otheruserid"]) == (str(bot), "9")


def test_a_timeout_is_not_taken_for_a_refusal(http_mock):
    http_mock.add(responses.POST, SERVER, status=503, body="<html>busy</html>")
    with pytest.raises(DeliveryError) as raised:
        MoodleMessaging(client(), BOT).send(9, "x", "circolo1")
    assert raised.value.definite is False  # maybe stored: read back before sending again


def test_an_error_body_means_nothing_was_delivered(http_mock, fixtures_dir):
    http_mock.add(responses.POST, SERVER,
                  json=recorded(fixtures_dir, "error.invalidtoken")["response"])
    with pytest.raises(DeliveryError) as raised:
        MoodleMessaging(client(), BOT).send(9, "x", "circolo1")
    assert raised.value.definite is True and raised.value.code == "invalidtoken"


# --- against the web-service double -----------------------------------------------------------

@pytest.fixture
def double(http_mock):
    community = generate_community(seed=4, learners=12, discussions=12, posts=40)
    double = MoodleDouble(community)
    mock_double(http_mock, double, URL)
    return double


def double_course(world, double):
    """People of the double's community in the database; two questions to route."""
    learners = [u for u in double.community.learners if u.enrolled][:5]
    world.person("teacher", role="teacher", moodle_id=double.community.teachers[0].id)
    for index, user in enumerate(learners):
        world.person(f"p{index}", moodle_id=user.id)
    world.question("warmup", "p0", 24 * 5)
    for index in range(1, 5):
        world.reply("warmup", f"p{index}", 24 * 4)
    world.question("q0", "p0", 30)
    world.question("q1", "p0", 30)
    world.settings(rules={"bridging": {"enabled": False}, "welcome": {"enabled": False},
                          "unanswered": {"peers": 2}},
                   quiet_start_hour=0, quiet_end_hour=0)
    return learners


def messages_in(double):
    return [m for c in double.conversations.values() for m in c.messages]


def port_for(double):
    return MoodleMessaging(MoodleClient(URL, DEFAULT_TOKEN, retries=0, sleep=lambda _: None),
                           double.community.service_user.id)


def test_delivery_through_the_double_sends_once_and_records_refusals(world, double):
    learners = double_course(world, double)
    decide(world)
    rows = world.session.scalars(select(OutboxMessage)).all()
    refused = rows[0]
    double.community.unenrol(refused.moodle_user_id)  # no shared course: Moodle refuses
    refused_ids = [r.id for r in rows if r.moodle_user_id == refused.moodle_user_id]
    report = deliver_due(world.session, lambda course: port_for(double), now=NOW)
    assert report.failed == refused_ids and len(report.sent) == len(rows) - len(refused_ids)
    world.session.expire_all()
    assert refused.state == "failed" and refused.error_code == "message_preferences"
    assert "message preferences" in refused.error_message
    texts = [m["text"] for m in messages_in(double)]
    for row in (r for r in rows if r.id not in refused_ids):
        assert sum(delivery.reference_pattern(row.reference).search(t) is not None
                   for t in texts) == 1
    assert learners


def test_transient_failure_then_read_back_through_the_double(world, double):
    double_course(world, double)
    decide(world)
    rows = world.session.scalars(select(OutboxMessage)).all()
    double.fail_next("503", function="core_message_send_instant_messages")
    report = deliver_due(world.session, lambda course: port_for(double), now=NOW)
    assert len(report.retrying) == 1 and len(report.sent) == len(rows) - 1
    report = deliver_due(world.session, lambda course: port_for(double),
                         now=NOW + timedelta(minutes=1))
    assert len(report.sent) == 1
    assert double.calls["core_message_get_conversation_between_users"] == 1
    assert len(messages_in(double)) == len(rows)


def test_worker_killed_after_the_double_stored_the_message_is_not_sent_twice(app, world,
                                                                              double):
    from middleware.db import database

    double_course(world, double)
    decide(world)
    ids = list(world.session.scalars(select(OutboxMessage.id)))

    class Killed(BaseException):
        pass

    def die(step, outbox_id):
        if step == "sent" and outbox_id == ids[0]:
            raise Killed()

    remove = delivery.on_step(die)
    try:
        with pytest.raises(Killed):
            deliver_due(world.session, lambda course: port_for(double), now=NOW)
    finally:
        remove()
    world.session.rollback()
    with database(app).session() as session:
        report = deliver_due(session, lambda course: port_for(double), now=NOW + LEASE)
        assert report.recovered == [ids[0]]
        assert {r.state for r in session.scalars(select(OutboxMessage))} == {"sent"}
    assert len(messages_in(double)) == len(ids)
    assert double.calls["core_message_send_instant_messages"] == len(ids)


def test_read_back_pages_through_a_long_conversation(double):
    port = port_for(double)
    learner = next(u for u in double.community.learners if u.enrolled)
    target = port.send(learner.id, "<p>Aiuto?</p><p>ref circolo5</p>", "circolo5")
    for index in range(70):  # newer messages push it off the first page
        port.send(learner.id, f"<p>altro</p><p>ref circolo{1000 + index}</p>",
                  f"circolo{1000 + index}")
    double.reset_stats()
    assert port.find(learner.id, "circolo5", NOW - timedelta(days=3650)) == target.msgid
    assert double.calls["core_message_get_conversation_messages"] == 1
    assert port.find(learner.id, "circolo6", NOW - timedelta(days=3650)) is None
    stranger = [u for u in double.community.learners if u.enrolled][1]
    assert port.find(stranger.id, "circolo5", NOW) is None  # no conversation at all
