"""Signed events: refused when stale, unsigned, wrongly signed or replayed; else acted on."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from middleware.companion import signature, views
from middleware.models import CompanionConnection, CompanionEvent, Course, Person, utcnow


@pytest.fixture
def queued_syncs(monkeypatch):
    """Syncs the events queue (the real task would call Moodle)."""
    calls = []
    monkeypatch.setattr(views, "sync_course_task",
                        lambda course_id, **options: calls.append((course_id, options)))
    return calls


@pytest.fixture
def course(db_session, connected):
    """An active course of the connected platform: Moodle course 2."""
    platform_id = db_session.scalar(select(CompanionConnection.platform_id))
    course = Course(platform_id=platform_id, context_id="2", moodle_course_id=2,
                    title="Comunità di prova", active=True)
    db_session.add(course)
    db_session.commit()
    return course


def test_a_change_in_an_active_course_queues_its_sync_once_committed(
        send_event, queued_syncs, course, db_session):
    answer = send_event()
    assert answer.status_code == 202
    assert answer.get_json() == {"accepted": True, "action": "sync_queued"}
    assert queued_syncs == [(course.id, {"trigger": "event"})]
    event = db_session.scalar(select(CompanionEvent))
    assert (event.type, event.area, event.moodle_course_id, event.action) == (
        "course_changed", "forum", 2, "sync_queued")
    connection = db_session.scalar(select(CompanionConnection))
    assert connection.events_received == 1 and connection.last_event_at is not None


def test_a_change_in_a_course_circolo_does_not_manage_is_accepted_and_ignored(
        send_event, queued_syncs):
    answer = send_event({"courseid": 77})
    assert answer.status_code == 202 and answer.get_json()["action"] == "ignored"
    assert queued_syncs == []


def test_unsigned_wrongly_signed_and_stale_calls_are_refused(send_event, queued_syncs, course,
                                                             client):
    wrong = send_event(secret="not-the-secret")
    assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (401, "bad_signature")
    stale = send_event(made_at=int(time.time()) - 301)
    assert (stale.status_code, stale.get_json()["error"]["code"]) == (401, "stale")
    future = send_event(made_at=int(time.time()) + 301)
    assert future.get_json()["error"]["code"] == "stale"
    unsigned = client.post("/api/companion/events", json={"id": "x" * 10})
    assert (unsigned.status_code, unsigned.get_json()["error"]["code"]) == (401, "unsigned")
    for header in ("X-Circolo-Timestamp", "X-Circolo-Signature"):
        missing = send_event(headers={header: ""})
        assert missing.get_json()["error"]["code"] == "unsigned"
    assert queued_syncs == []


def test_a_replayed_call_is_refused_with_409(send_event, queued_syncs, course):
    made_at = int(time.time())
    assert send_event(made_at=made_at).status_code == 202
    replay = send_event(made_at=made_at)
    assert (replay.status_code, replay.get_json()["error"]["code"]) == (409, "replayed")
    assert len(queued_syncs) == 1
    # A new call (new id) about the same course is a new event.
    assert send_event({"id": "a-second-event-id-000"}).status_code == 202


def test_a_body_changed_after_signing_fails_its_signature(client, connected, wwwroot, course,
                                                         queued_syncs):
    made_at = int(time.time())
    signed = json.dumps({"id": "5f0c7a9e-2b1d-4c3e", "type": "course_changed", "site": wwwroot,
                         "courseid": 2}).encode()
    changed = signed.replace(b'"courseid": 2', b'"courseid": 3')
    answer = client.post("/api/companion/events", data=changed, headers={
        "X-Circolo-Key": connected["key_id"], "X-Circolo-Timestamp": str(made_at),
        "X-Circolo-Signature": signature.sign(connected["secret"], made_at, signed)})
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (401, "bad_signature")
    assert queued_syncs == []


def test_an_unknown_connection_is_gone(send_event, client, connected):
    answer = send_event(headers={"X-Circolo-Key": "no-such-key"})
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (410, "connection_unknown")


def test_signed_garbage_and_events_of_another_site_are_a_clear_400(send_event):
    for body in (b"not json", b"[]", json.dumps({"id": "short"}).encode(),
                 json.dumps({"id": "5f0c7a9e-2b1d-4c3e", "type": "course_changed",
                             "site": "https://other.example.org", "courseid": 2}).encode()):
        answer = send_event(body=body)
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (400, "bad_payload")


def test_a_user_deleted_in_moodle_is_forgotten(send_event, db_session, course):
    person = Person(platform_id=course.platform_id, subject="9", moodle_user_id=9,
                    fullname="Learner 004", email="username6@example.com")
    db_session.add(person)
    db_session.commit()
    answer = send_event({"type": "user_deleted", "courseid": 0, "area": "user", "userid": 9})
    assert answer.status_code == 202 and answer.get_json()["action"] == "forget_queued"
    db_session.expire_all()
    assert db_session.scalar(select(Person).where(Person.subject == "9")) is None


def test_a_deleted_user_circolo_never_knew_is_ignored(send_event):
    answer = send_event({"type": "user_deleted", "courseid": 0, "area": "user", "userid": 404})
    assert answer.get_json()["action"] == "ignored"


def test_event_ids_are_kept_for_a_day(send_event, db_session, course, queued_syncs):
    assert send_event().status_code == 202
    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1)):
        assert send_event({"id": "the-next-day-event-0"}).status_code == 202
    ids = {e.event_id for e in db_session.scalars(select(CompanionEvent))}
    assert ids == {"the-next-day-event-0"}
