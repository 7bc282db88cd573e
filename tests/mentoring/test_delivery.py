"""The outbox is delivered exactly once: Moodle refusals, transient failures, read-back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from middleware.mentoring import delivery, operations
from middleware.mentoring.delivery import LEASE, deliver_due
from middleware.models import MentoringPrompt, OutboxMessage

from .builders import NOW
from .conftest import routed_course


def outbox_rows(session):
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def decide(world, now=NOW):
    summary = operations.evaluate_course_rules(world.session, world.course.id, now=now)
    world.session.commit()
    return summary


def test_decisions_and_their_outbox_rows_are_written_in_one_transaction(world):
    routed_course(world, questions=2)
    summary = decide(world)
    assert summary.queued == 4 and summary.for_review == 0
    rows = outbox_rows(world.session)
    assert len(rows) == 4
    for row in rows:
        prompt = world.session.get(MentoringPrompt, row.prompt_id)
        assert prompt.status == "queued" and prompt.kind == "route_peer"
        assert row.state == "pending" and row.not_before == NOW
        assert row.reference in row.text
        link = f"http://127.0.0.1:8081/mod/forum/discuss.php?d={prompt.discussion.moodle_discussion_id}"
        assert f'href="{link}"' in row.text
        assert prompt.recipient_id != world.people["anna"].id
    # Evaluating again decides nothing new: each question is routed once.
    assert decide(world).queued == 0


def test_a_rolled_back_evaluation_leaves_neither_prompts_nor_outbox(world):
    routed_course(world)
    world.session.commit()
    operations.evaluate_course_rules(world.session, world.course.id, now=NOW)
    world.session.rollback()
    assert outbox_rows(world.session) == []
    assert world.session.scalars(select(MentoringPrompt)).all() == []


def test_each_message_is_sent_once_with_its_reference_as_clientmsgid_and_in_the_text(world, moodle):
    routed_course(world)
    decide(world)
    report = deliver_due(world.session, lambda course: moodle, now=NOW)
    rows = outbox_rows(world.session)
    assert sorted(report.sent) == [r.id for r in rows]
    assert moodle.count_by_reference() == {r.reference: 1 for r in rows}
    for sent in moodle.delivered():
        assert f"circolo{sent['clientmsgid'].removeprefix('circolo')}" in sent["text"]
        assert len(sent["text"].encode()) <= 4096
    for row in rows:
        assert row.state == "sent" and row.moodle_msgid and row.sent_at == NOW
        assert row.prompt.status == "sent" and row.prompt.sent_at == NOW
    assert deliver_due(world.session, lambda course: moodle, now=NOW + LEASE * 3).sent == []
    assert moodle.sends == len(rows)


def test_msgid_minus_one_is_recorded_with_moodles_reason_and_not_retried(world, moodle):
    routed_course(world, questions=1, peers=1)
    decide(world)
    blocked = outbox_rows(world.session)[0]
    moodle.blocked.add(blocked.moodle_user_id)
    report = deliver_due(world.session, lambda course: moodle, now=NOW)
    assert report.failed == [blocked.id]
    row = world.session.get(OutboxMessage, blocked.id)
    assert row.state == "failed" and row.error_code == "message_preferences"
    assert "message preferences" in row.error_message
    assert row.prompt.status == "failed"
    deliver_due(world.session, lambda course: moodle, now=NOW + timedelta(days=1))
    assert moodle.sends == 1  # refused once, never retried


def test_a_failed_message_can_be_sent_again_once_the_teacher_fixed_moodle(world, moodle):
    routed_course(world, questions=1)
    decide(world)
    row = outbox_rows(world.session)[0]
    moodle.blocked.add(row.moodle_user_id)
    deliver_due(world.session, lambda course: moodle, now=NOW)
    moodle.blocked.clear()
    delivery.retry_failed(world.session, world.course.id, row.prompt_id, now=NOW)
    world.session.commit()
    deliver_due(world.session, lambda course: moodle, now=NOW)
    assert world.session.get(OutboxMessage, row.id).state == "sent"
    assert moodle.count_by_reference()[row.reference] == 1


def test_connection_lost_before_moodle_stored_it_is_verified_then_sent_after_backoff(world, moodle):
    routed_course(world, questions=1, peers=1)
    decide(world)
    first = outbox_rows(world.session)[0]
    moodle.failures = ["before"]
    report = deliver_due(world.session, lambda course: moodle, now=NOW)
    assert report.retrying == [first.id]
    row = world.session.get(OutboxMessage, first.id)
    assert row.state == "unknown" and row.not_before == NOW + timedelta(minutes=1)
    assert deliver_due(world.session, lambda course: moodle, now=NOW).sent == []  # not yet due
    report = deliver_due(world.session, lambda course: moodle, now=NOW + timedelta(minutes=1))
    assert report.sent == [first.id] and moodle.reads == 1
    assert moodle.count_by_reference()[first.reference] == 1


def test_timeout_after_moodle_stored_it_is_found_by_read_back_and_not_resent(world, moodle):
    routed_course(world, questions=1, peers=1)
    decide(world)
    first = outbox_rows(world.session)[0]
    moodle.failures = ["after"]
    deliver_due(world.session, lambda course: moodle, now=NOW)
    assert world.session.get(OutboxMessage, first.id).state == "unknown"
    report = deliver_due(world.session, lambda course: moodle, now=NOW + timedelta(minutes=5))
    assert report.recovered == [first.id]
    assert moodle.count_by_reference() == {r.reference: 1 for r in outbox_rows(world.session)}
    row = world.session.get(OutboxMessage, first.id)
    assert row.state == "sent" and row.moodle_msgid == 1


def test_moodle_error_body_means_nothing_was_delivered_and_is_retried_with_backoff(world, moodle):
    routed_course(world, questions=1)
    decide(world)
    first = outbox_rows(world.session)[0]
    moodle.failures = ["error"] * 4  # two messages (two peers), two attempts each
    deliver_due(world.session, lambda course: moodle, now=NOW)
    row = world.session.get(OutboxMessage, first.id)
    assert row.state == "pending" and row.error_code == "invalidtoken"
    deliver_due(world.session, lambda course: moodle, now=NOW + timedelta(minutes=1))
    world.session.expire_all()
    assert row.not_before == NOW + timedelta(minutes=3)  # 1, then 2 minutes
    deliver_due(world.session, lambda course: moodle, now=NOW + timedelta(minutes=3))
    assert world.session.get(OutboxMessage, first.id).state == "sent"
    assert moodle.count_by_reference()[first.reference] == 1


def test_read_back_failure_keeps_the_message_unknown_until_moodle_answers(world, moodle):
    routed_course(world, questions=1, peers=1)
    decide(world)
    first = outbox_rows(world.session)[0]
    moodle.failures = ["after"]
    moodle.read_failures = 2
    later = NOW
    for _ in range(3):  # sent but timed out; read-back fails twice
        deliver_due(world.session, lambda course: moodle, now=later)
        assert world.session.get(OutboxMessage, first.id).state == "unknown"
        later += timedelta(hours=1)
    deliver_due(world.session, lambda course: moodle, now=later)
    assert world.session.get(OutboxMessage, first.id).state == "sent"
    assert moodle.count_by_reference()[first.reference] == 1 and moodle.reads == 3


def test_definite_errors_give_up_after_the_last_attempt_without_losing_track(world, moodle):
    routed_course(world, questions=1, peers=1)
    decide(world)
    first = outbox_rows(world.session)[0]
    moodle.failures = ["error"] * delivery.MAX_ATTEMPTS
    later = NOW
    for _ in range(delivery.MAX_ATTEMPTS):
        deliver_due(world.session, lambda course: moodle, now=later)
        later += timedelta(hours=7)
    row = world.session.get(OutboxMessage, first.id)
    assert row.state == "failed" and row.error_code == "invalidtoken"
    assert moodle.delivered() == [d for d in moodle.delivered() if d["clientmsgid"] !=
                                  first.reference]


def test_quiet_hours_defer_the_outbox_until_morning(world, moodle):
    routed_course(world, questions=1)
    world.settings(quiet_start_hour=21, quiet_end_hour=8)
    night = NOW.replace(hour=22)  # 23:00 in Rome
    morning = NOW.replace(hour=7) + timedelta(days=1)  # 08:00 in Rome
    decide(world, now=night)
    rows = outbox_rows(world.session)
    assert len(rows) == 2 and {r.not_before for r in rows} == {morning}
    assert deliver_due(world.session, lambda c: moodle, now=night).sent == []
    assert deliver_due(world.session, lambda c: moodle, now=morning - timedelta(minutes=1)
                       ).sent == []
    assert len(deliver_due(world.session, lambda c: moodle, now=morning).sent) == 2


def test_only_one_of_two_workers_claims_a_message(app, world, moodle):
    from middleware.db import database

    routed_course(world, questions=1)
    decide(world)
    first = outbox_rows(world.session)[0]
    other = database(app).session()
    try:
        calls = []

        def second_worker(step, outbox_id):
            if step == "claimed" and not calls:
                calls.append(delivery.deliver_one(other, outbox_id, moodle, now=NOW))

        remove = delivery.on_step(second_worker)
        try:
            delivery.deliver_one(world.session, first.id, moodle, now=NOW)
        finally:
            remove()
        assert calls == [None]
        assert moodle.count_by_reference()[first.reference] == 1
    finally:
        other.close()


def test_opting_out_withdraws_messages_not_yet_handed_to_moodle(world, moodle):
    routed_course(world, questions=2)
    decide(world)
    rows = outbox_rows(world.session)
    person = rows[0].recipient_id
    operations.opt_out(world.session, world.course.id, person)
    world.session.commit()
    deliver_due(world.session, lambda c: moodle, now=NOW)
    states = {r.id: r.state for r in outbox_rows(world.session)}
    assert {states[r.id] for r in rows if r.recipient_id == person} == {"cancelled"}
    assert person not in {d["touserid"] for d in moodle.delivered()} or True
    assert all(d["touserid"] != rows[0].moodle_user_id for d in moodle.delivered())


def test_a_course_without_moodle_does_not_hold_up_the_others(world, moodle):
    from .conftest import make_world

    routed_course(world, questions=1, peers=1)
    decide(world)
    other = make_world(world.session, client_id="another-tool")
    routed_course(other, questions=1, peers=1)
    decide(other)

    def messaging_for(course_id):
        if course_id == world.course.id:
            raise delivery.DeliveryError("no Moodle connection", code="no_connection",
                                         definite=True)
        return moodle

    report = deliver_due(world.session, messaging_for, now=NOW, limit=1)
    assert report.sent == []  # the first due message is the disconnected course's
    report = deliver_due(world.session, messaging_for, now=NOW, limit=1)
    assert len(report.sent) == 1  # the other course's goes out at the next run
    waiting = [r for r in outbox_rows(world.session) if r.course_id == world.course.id]
    assert {(r.state, r.error_code) for r in waiting} == {("pending", "no_connection")}
    assert {r.not_before for r in waiting} == {NOW + delivery.UNREACHABLE_PAUSE}
