"""Outcomes on a scripted course whose answers are known in advance."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from middleware.mentoring import operations
from middleware.mentoring.delivery import deliver_due
from middleware.mentoring.facts import (
    BRIDGE_BUDDY,
    BRIDGE_LEARNER,
    BRIDGING,
    ROUTE_PEER,
    UNANSWERED,
)
from middleware.mentoring.outcomes import (
    NO_REPLY,
    PENDING,
    REPLIED,
    course_outcomes,
    outcomes_of_course,
    update_outcomes,
)
from middleware.models import MentoringPrompt

from .builders import NOW, Script
from .conftest import routed_course
from .test_delivery import decide


def scripted() -> Script:
    s = Script()
    s.teacher(2)
    s.learners(10, 11, 12, 13, 14, 15, 16)
    # Routed questions.
    s.question(100, 10, 100)
    s.past(1, UNANSWERED, ROUTE_PEER, 11, 77, discussion=100, sent_hours=76)
    s.past(2, UNANSWERED, ROUTE_PEER, 12, 77, discussion=100, sent_hours=76)
    s.post(100, 11, 75)  # 11 answers 60 minutes after the prompt; 12 never does
    s.question(101, 13, 50)
    s.past(3, UNANSWERED, ROUTE_PEER, 14, 26, discussion=101)
    s.post(101, 14, 24)  # 120 minutes
    s.question(102, 15, 10)
    s.past(4, UNANSWERED, ROUTE_PEER, 11, 2, discussion=102)  # no reply yet: window open
    s.past(5, UNANSWERED, ROUTE_PEER, 13, 2, discussion=102, status="review")  # never sent
    # Questions nobody was asked about.
    s.question(103, 16, 40)
    s.post(103, 12, 36)  # 4 hours
    s.question(104, 10, 20)
    s.post(104, 13, 18)  # 2 hours
    s.question(105, 13, 5)
    s.question(106, 2, 30)  # the teacher's: not a learner's question
    s.post(106, 10, 29)
    # Bridging: 16 then got an answer, 15 did not.
    s.past(6, BRIDGING, BRIDGE_BUDDY, 12, 45, discussion=103, about=16)
    s.past(7, BRIDGING, BRIDGE_LEARNER, 16, 45, discussion=103, about=12)
    s.past(8, BRIDGING, BRIDGE_BUDDY, 13, 9, discussion=102, about=15)
    s.past(9, BRIDGING, BRIDGE_LEARNER, 15, 9, discussion=102, about=13)
    return s


def test_each_prompts_outcome_and_reply_time():
    s = scripted()
    sent = [p for p in s.prompts if p.status == "sent"]
    result = course_outcomes(s.facts(), sent, NOW)
    states = {i: (o.state, o.reply_seconds) for i, o in result.per_prompt.items()}
    assert states == {1: (REPLIED, 3600), 2: (NO_REPLY, None), 3: (REPLIED, 7200),
                      4: (PENDING, None), 6: (REPLIED, 9 * 3600), 8: (PENDING, None)}


def test_reply_rates_per_rule():
    s = scripted()
    result = course_outcomes(s.facts(), [p for p in s.prompts if p.status == "sent"], NOW)
    rules = {r.rule: r for r in result.rules}
    routing = rules[UNANSWERED]
    assert (routing.prompts, routing.replied, routing.pending) == (3, 2, 1)
    assert routing.reply_rate == 2 / 3 and routing.median_reply_minutes == 90
    bridging = rules[BRIDGING]
    assert (bridging.prompts, bridging.replied, bridging.pending) == (1, 1, 1)
    assert bridging.median_reply_minutes == 540


def test_routed_against_unrouted_questions_in_the_same_course():
    s = scripted()
    result = course_outcomes(s.facts(), [p for p in s.prompts if p.status == "sent"], NOW)
    assert (result.routed.questions, result.routed.answered, result.routed.median_hours) == \
        (3, 2, 25.5)
    assert (result.unrouted.questions, result.unrouted.answered,
            result.unrouted.median_hours) == (3, 2, 3.0)


def test_isolated_learners_answered_after_bridging():
    s = scripted()
    result = course_outcomes(s.facts(), [p for p in s.prompts if p.status == "sent"], NOW)
    assert (result.bridged_learners, result.bridged_answered) == (2, 1)
    assert result.bridged_rate == 0.5


def test_a_reply_after_the_window_does_not_count():
    s = Script()
    s.learners(10, 11)
    s.question(100, 10, 200)
    s.past(1, UNANSWERED, ROUTE_PEER, 11, 180)
    s.prompts[0] = s.prompts[0].__class__(1, UNANSWERED, ROUTE_PEER, 11, s.prompts[0].created_at,
                                          "sent", 10, 100, s.prompts[0].sent_at)
    s.post(100, 11, 180 - 73)
    result = course_outcomes(s.facts(), s.prompts, NOW)
    assert result.per_prompt[1].state == NO_REPLY


def test_outcomes_are_stored_on_prompts_and_read_for_the_dashboard(world, moodle):
    routed_course(world, questions=1, peers=2)
    decide(world)
    deliver_due(world.session, lambda course: moodle, now=NOW)
    prompts = world.session.scalars(select(MentoringPrompt).order_by(MentoringPrompt.id)).all()
    helper = next(key for key, person in world.people.items()
                  if person.id == prompts[0].recipient_id)
    world.reply("q0", helper, -1.5)  # 90 minutes after the prompt went out
    world.session.commit()
    later = NOW + timedelta(hours=2)
    assert update_outcomes(world.session, world.course.id, now=later) == 2
    world.session.commit()
    world.session.expire_all()
    assert (prompts[0].outcome, prompts[0].reply_seconds) == (REPLIED, 5400)
    assert prompts[1].outcome == PENDING
    figures = outcomes_of_course(world.session, world.course.id, now=later)
    routing = {r.rule: r for r in figures.rules}[UNANSWERED]
    assert (routing.prompts, routing.replied, routing.pending) == (1, 1, 1)
    assert figures.routed.answered == 1 and figures.routed.median_hours == 31.5
    assert operations.recognitions_for_learner(world.session, world.course.id,
                                               prompts[0].recipient_id) == []
