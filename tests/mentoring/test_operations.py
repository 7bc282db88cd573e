"""What learners choose in the pane and the ambassador lifecycle, through the operations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from middleware.errors import BadRequest, Conflict
from middleware.mentoring import operations
from middleware.mentoring.delivery import deliver_due
from middleware.mentoring.operations import NoInvitation, PromptNotFound
from middleware.models import Ambassador, MentoringPrompt, OutboxMessage

from .builders import NOW
from .conftest import routed_course
from .test_delivery import decide


def prompts_to(world, key):
    world.session.expire_all()
    return world.session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.recipient_id == world.people[key].id)).all()


def test_opt_out_withdraws_unsent_prompts_and_holds_at_the_next_evaluation(world):
    routed_course(world, questions=1, peers=5)
    decide(world)
    assert {p.status for p in prompts_to(world, "bruno")} == {"queued"}
    operations.opt_out(world.session, world.course.id, world.people["bruno"].id)
    world.session.commit()
    assert {p.status for p in prompts_to(world, "bruno")} == {"withdrawn"}
    assert {p.outbox.state for p in prompts_to(world, "bruno")} == {"cancelled"}
    world.question("later", "anna", 30)
    decide(world)
    assert len(prompts_to(world, "bruno")) == 1
    operations.opt_in(world.session, world.course.id, world.people["bruno"].id)
    world.question("later2", "anna", 30)
    decide(world)
    assert len(prompts_to(world, "bruno")) == 2
    assert operations.mentoring_choices(world.session, world.course.id,
                                        world.people["bruno"].id).opted_out is False


def test_a_message_already_with_moodle_is_not_withdrawn(world, moodle):
    routed_course(world, questions=1, peers=5)
    decide(world)
    deliver_due(world.session, lambda c: moodle, now=NOW)
    operations.opt_out(world.session, world.course.id, world.people["bruno"].id)
    world.session.commit()
    assert {p.status for p in prompts_to(world, "bruno")} == {"sent"}


def test_stop_prompts_of_one_rule(world):
    routed_course(world, questions=1, peers=5)
    decide(world)
    operations.stop_prompts_of_rule(world.session, world.course.id, world.people["bruno"].id,
                                     "unanswered")
    world.session.commit()
    assert {p.status for p in prompts_to(world, "bruno")} == {"withdrawn"}
    with pytest.raises(BadRequest):
        operations.stop_prompts_of_rule(world.session, world.course.id,
                                        world.people["bruno"].id, "everything")
    world.question("later", "anna", 30)
    decide(world)
    assert len(prompts_to(world, "bruno")) == 1
    operations.resume_prompts_of_rule(world.session, world.course.id, world.people["bruno"].id,
                                      "unanswered")
    world.question("later2", "anna", 30)
    decide(world)
    assert len(prompts_to(world, "bruno")) == 2


def test_not_now_snoozes_new_prompts_for_a_few_days(world, moodle):
    routed_course(world, questions=1, peers=5)
    decide(world)
    deliver_due(world.session, lambda c: moodle, now=NOW)
    mine = prompts_to(world, "bruno")[0]
    with pytest.raises(PromptNotFound):
        operations.snooze_prompt(world.session, world.course.id, world.people["carla"].id,
                                 mine.id)
    operations.snooze_prompt(world.session, world.course.id, world.people["bruno"].id, mine.id,
                             now=NOW)
    world.session.commit()
    choices = operations.mentoring_choices(world.session, world.course.id,
                                           world.people["bruno"].id)
    assert choices.snoozed_until == NOW + timedelta(days=3)
    world.question("later", "anna", 30)
    decide(world)
    assert len(prompts_to(world, "bruno")) == 1
    assert [p.id for p in operations.prompts_for_learner(
        world.session, world.course.id, world.people["bruno"].id)] == [mine.id]


def test_ambassador_is_invited_accepts_gets_questions_and_steps_down(world, moodle):
    routed_course(world, questions=0)
    world.person("gina")
    teacher, gina = world.people["teacher"].id, world.people["gina"].id
    operations.invite_ambassador(world.session, world.course.id, gina, teacher, now=NOW)
    world.session.commit()
    invite = prompts_to(world, "gina")[0]
    assert invite.kind == "ambassador_invite" and invite.status == "queued"
    assert "http://127.0.0.1:8081/course/view.php?id=2" in invite.outbox.text
    assert operations.ambassador_status(world.session, world.course.id, gina) == "invited"
    with pytest.raises(Conflict):
        operations.invite_ambassador(world.session, world.course.id, gina, teacher)
    # Not an ambassador before accepting: not in the list, no questions routed to her first.
    assert operations.ambassadors_of_course(world.session, world.course.id) == []
    operations.accept_ambassador_invitation(world.session, world.course.id, gina, now=NOW)
    world.session.commit()
    assert [a.person_id for a in operations.ambassadors_of_course(
        world.session, world.course.id)] == [gina]
    world.question("q", "anna", 30)
    decide(world)
    routed = [p for p in prompts_to(world, "gina") if p.kind == "route_peer"]
    assert len(routed) == 1 and routed[0].reason_code == "unanswered_ambassador"
    operations.step_down_as_ambassador(world.session, world.course.id, gina, now=NOW)
    world.session.commit()
    assert {p.status for p in prompts_to(world, "gina") if p.kind == "route_peer"} == \
        {"withdrawn"}
    assert operations.ambassador_status(world.session, world.course.id, gina) == "stepped_down"
    with pytest.raises(NoInvitation):
        operations.step_down_as_ambassador(world.session, world.course.id, gina)


def test_an_invitation_can_be_declined(world):
    routed_course(world, questions=0)
    teacher, bruno = world.people["teacher"].id, world.people["bruno"].id
    with pytest.raises(NoInvitation):
        operations.accept_ambassador_invitation(world.session, world.course.id, bruno)
    operations.invite_ambassador(world.session, world.course.id, bruno, teacher)
    operations.decline_ambassador_invitation(world.session, world.course.id, bruno)
    assert operations.ambassador_status(world.session, world.course.id, bruno) == "declined"


def test_analytics_candidates_become_suggestions_once(world):
    from middleware.mentoring import activity

    routed_course(world, questions=0)
    bruno, carla = world.people["bruno"].id, world.people["carla"].id
    facts = activity.load_facts(world.session, world.course.id, NOW)
    facts = facts.__class__(facts.course_id, facts.members, facts.discussions, facts.posts,
                            facts.ranked_peers, ((bruno, 0.9), (carla, 0.8)))
    summary = operations.evaluate_course_rules(world.session, world.course.id, now=NOW,
                                               facts=facts)
    assert summary.suggested == 2
    again = operations.evaluate_course_rules(world.session, world.course.id, now=NOW,
                                             facts=facts)
    assert again.suggested == 0
    operations.dismiss_ambassador_candidate(world.session, world.course.id, carla)
    statuses = dict(world.session.execute(select(Ambassador.person_id, Ambassador.status)).all())
    assert statuses == {bruno: "suggested", carla: "dismissed"}


def test_the_first_prompted_answer_is_thanked(world, moodle):
    routed_course(world, questions=1, peers=2)
    decide(world)
    deliver_due(world.session, lambda c: moodle, now=NOW)
    helper_prompt = world.session.scalars(select(MentoringPrompt)).first()
    helper = next(k for k, p in world.people.items() if p.id == helper_prompt.recipient_id)
    world.reply("q0", helper, -1)
    world.session.commit()
    summary = operations.evaluate_course_rules(world.session, world.course.id,
                                               now=NOW + timedelta(hours=2))
    world.session.commit()
    thanks = [p for p in prompts_to(world, helper) if p.kind == "recognition"]
    assert len(thanks) == 1 and summary.queued == 1
    assert thanks[0].outbox.state == "pending"
    deliver_due(world.session, lambda c: moodle, now=NOW + timedelta(hours=2))
    assert [p.id for p in operations.recognitions_for_learner(
        world.session, world.course.id, world.people[helper].id)] == [thanks[0].id]
    assert world.session.scalars(select(OutboxMessage).where(
        OutboxMessage.state != "sent")).all() == []
