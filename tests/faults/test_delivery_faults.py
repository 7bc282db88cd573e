"""Delivery meets a broken Moodle or a database restart: each prompt still reaches Moodle
exactly once, and the teacher's log says where each one stands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from middleware.mentoring.delivery import LEASE, deliver_due
from middleware.mentoring.facts import RuleSettings
from middleware.mentoring.moodle_port import MoodleMessaging
from middleware.mentoring.outbox import enqueue
from middleware.models import (
    Discussion,
    Enrolment,
    MentoringPrompt,
    OutboxMessage,
    Person,
    utcnow,
)
from middleware.models.community import LEARNER
from middleware.models.moodle import SUCCEEDED
from middleware.sync.operations import run_sync

from .conftest import (
    SLOW,
    Switchable,
    TeacherView,
    closed_port_url,
    course_on,
    plain,
    test_client,
    wait_until,
)
from .test_sync_faults import teacher_of

pytestmark = pytest.mark.live_http

SEND = "core_message_send_instant_messages"
PROMPTS = 4
#: The fault starts with this message (the first ones go through).
AT_MESSAGE = 2


@pytest.fixture
def queued(db_session, settings, served):
    """A synced course with PROMPTS prompts to learners waiting in the outbox."""
    double, server = served
    course = course_on(db_session, settings, double, server, issuer="http://moodle-a.test")
    run = run_sync(db_session, course.id, key=settings.encryption_key,
                   checkpoint=db_session.commit,
                   client_factory=lambda _c: test_client(server.url))
    assert run.status == SUCCEEDED, run.error
    learners = db_session.scalars(
        select(Person).join(Enrolment, Enrolment.person_id == Person.id)
        .where(Enrolment.course_id == course.id, Enrolment.role == LEARNER,
               Enrolment.active.is_(True)).order_by(Person.id).limit(PROMPTS)).all()
    discussion = db_session.scalar(select(Discussion).where(Discussion.course_id == course.id)
                                   .order_by(Discussion.id))
    for learner in learners:
        prompt = MentoringPrompt(course_id=course.id, rule="unanswered", kind="route_peer",
                                 recipient_id=learner.id, discussion_id=discussion.id,
                                 reason_code="unanswered_peer", reason={"hours": 30}, lang="it")
        db_session.add(prompt)
        db_session.flush()
        enqueue(db_session, prompt, RuleSettings(), utcnow() - timedelta(minutes=1))
    db_session.commit()
    return course


def outbox(session):
    session.expire_all()
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def deliver_until_done(session, messaging, start):
    """Run the worker's minute-by-minute delivery until nothing is left to do."""
    for hour in range(1, 8):
        deliver_due(session, lambda _course: messaging, now=start + timedelta(hours=hour))
        if all(row.state in ("sent", "failed") for row in outbox(session)):
            return
    raise AssertionError([(r.id, r.state, r.error_code) for r in outbox(session)])


def assert_each_delivered_once(session, double, app, course):
    rows = outbox(session)
    assert [r.state for r in rows] == ["sent"] * PROMPTS
    assert double.references() == {r.reference: 1 for r in rows}
    assert all(r.prompt.status == "sent" for r in rows)
    log = plain(TeacherView(app, course, teacher_of(session, course))
                .page("/dashboard/mentoring/log"))
    assert log.count(" sent ") >= PROMPTS and "could not be reached" not in log


@pytest.mark.parametrize("kind", ["down", "slow", "html", "truncated"])
def test_moodle_fault_during_delivery_ends_with_each_prompt_delivered_once(
        app, db_session, served, queued, kind):
    double, server = served
    switch = Switchable(closed_port_url())
    messaging = MoodleMessaging(test_client(server.url, switch, retries=0),
                                double.community.service_user.id)
    if kind == "down":  # switched off as the message before it is answered
        double.on_call(SEND, AT_MESSAGE - 1, lambda: setattr(switch, "down", True))
    elif kind == "slow":  # Moodle stores the message, the answer comes after the timeout
        double.on_call(SEND, AT_MESSAGE, lambda: setattr(double, "latency", SLOW))
    elif kind in ("html", "truncated"):
        double.on_call(SEND, AT_MESSAGE, lambda: double.fail_next(kind, function=SEND))
    start = utcnow()

    report = deliver_due(db_session, lambda _course: messaging, now=start)
    assert report.sent and report.retrying  # some went, the others wait to be verified
    if kind == "slow":  # let the double finish storing what it was sent
        wait_until(lambda: sum(double.references().values()) == PROMPTS,
                   seconds=SLOW * PROMPTS + 2)
    waiting = [r for r in outbox(db_session) if r.state != "sent"]
    assert waiting and all(r.state == "unknown" for r in waiting)
    log = plain(TeacherView(app, queued, teacher_of(db_session, queued))
                .page("/dashboard/mentoring/log"))
    assert "Moodle could not be reached; Circolo keeps trying." in log
    assert " queued " in log

    switch.down = False
    double.latency = 0.0
    deliver_until_done(db_session, messaging, start)
    assert_each_delivered_once(db_session, double, app, queued)


def test_database_restart_during_delivery_ends_with_each_prompt_delivered_once(
        app, db_session, served, queued, database_restart):
    double, server = served
    messaging = MoodleMessaging(test_client(server.url, retries=0),
                                double.community.service_user.id)
    # Moodle stores the message, then the database goes before the worker records it.
    double.on_call(SEND, AT_MESSAGE, database_restart.restart)
    start = utcnow()
    with pytest.raises(OperationalError):
        deliver_due(db_session, lambda _course: messaging, now=start)
    db_session.rollback()
    states = [r.state for r in outbox(db_session)]
    assert states[:AT_MESSAGE] == ["sent"] * (AT_MESSAGE - 1) + ["sending"]
    # The claimed row is left alone until its lease expires (its worker might still run) ...
    deliver_due(db_session, lambda _course: messaging, now=start + timedelta(minutes=1))
    assert outbox(db_session)[AT_MESSAGE - 1].state == "sending"
    # ... then read back from Moodle, found, and recorded without sending it again.
    deliver_due(db_session, lambda _course: messaging, now=start + LEASE + timedelta(minutes=1))
    deliver_until_done(db_session, messaging, start + LEASE)
    assert_each_delivered_once(db_session, double, app, queued)
    assert double.calls[SEND] == PROMPTS
