"""Each rule fires exactly when it should, once per subject."""

from __future__ import annotations

from datetime import timedelta

from middleware.mentoring.facts import (
    BRIDGE_BUDDY,
    BRIDGE_LEARNER,
    BRIDGING,
    RECOGNITION,
    ROUTE_PEER,
    ROUTE_TEACHER,
    THANK_YOU,
    UNANSWERED,
    WELCOME,
    WELCOME_AMBASSADOR,
    RuleSettings,
)
from middleware.mentoring.rules import evaluate

from .builders import NOW, Script


def run(script: Script, settings: RuleSettings | None = None, now=NOW):
    return evaluate(script.facts(), settings or RuleSettings(), script.history(), now)


def kinds(evaluation, kind):
    return [(d.recipient_id, d.discussion_id) for d in evaluation.decisions if d.kind == kind]


def only(settings_rule: str) -> RuleSettings:
    rules = {name: {"enabled": name == settings_rule}
             for name in (UNANSWERED, BRIDGING, WELCOME, RECOGNITION, "ambassador")}
    return RuleSettings(rules=rules)


def routing_script(age_hours: float) -> Script:
    s = Script()
    s.teacher(2)
    s.learners(10, 11, 12, 13)
    s.question(100, 10, age_hours)
    s.rank(100, 10, 11, 12, 13)  # the author may appear in analytics' ranking: never asked
    return s


def test_unanswered_question_routed_to_the_two_best_peers_after_24_hours():
    evaluation = run(routing_script(24), only(UNANSWERED))
    assert kinds(evaluation, ROUTE_PEER) == [(11, 100), (12, 100)]
    decision = evaluation.decisions[0]
    assert decision.reason_code == "unanswered_peer" and decision.reason == {"hours": 24}
    assert decision.about_person_id == 10
    assert kinds(evaluation, ROUTE_TEACHER) == []


def test_question_younger_than_the_threshold_is_not_routed():
    assert run(routing_script(23.9), only(UNANSWERED)).decisions == ()


def test_teacher_thresholds_change_when_routing_fires():
    settings = RuleSettings(rules={**only(UNANSWERED).rules,
                                   UNANSWERED: {"enabled": True, "hours": 6, "peers": 3}})
    assert kinds(run(routing_script(7), settings), ROUTE_PEER) == [(11, 100), (12, 100), (13, 100)]


def test_answered_question_announcement_and_teacher_thread_are_not_routed():
    s = routing_script(30)
    s.post(100, 11, 20)  # answered by a peer
    s.question(101, 12, 30, announcement=True)
    s.question(102, 2, 30)  # the teacher's own thread
    s.rank(101, 11, 13)
    s.rank(102, 11, 13)
    assert run(s, only(UNANSWERED)).decisions == ()


def test_a_follow_up_by_the_author_alone_does_not_answer_a_question():
    s = routing_script(30)
    s.post(100, 10, 29)
    assert kinds(run(s, only(UNANSWERED)), ROUTE_PEER) == [(11, 100), (12, 100)]


def test_routing_fires_once_per_discussion_even_if_the_teacher_dropped_it():
    s = routing_script(30)
    s.past(1, UNANSWERED, ROUTE_PEER, 11, 6, discussion=100, status="dropped")
    assert kinds(run(s, only(UNANSWERED)), ROUTE_PEER) == []


def test_still_unanswered_after_72_hours_tells_the_teacher_once():
    s = routing_script(72)
    s.past(1, UNANSWERED, ROUTE_PEER, 11, 48, discussion=100)
    evaluation = run(s, only(UNANSWERED))
    assert kinds(evaluation, ROUTE_TEACHER) == [(2, 100)]
    assert kinds(evaluation, ROUTE_PEER) == []
    s.past(2, UNANSWERED, ROUTE_TEACHER, 2, 1, discussion=100)
    assert run(s, only(UNANSWERED)).decisions == ()


def test_an_ambassador_takes_one_of_the_slots_even_when_not_ranked():
    s = routing_script(30)
    s.learner(20)
    s.ambassadors[20] = "active"
    s.ambassadors[12] = "invited"  # not yet accepted: an ordinary peer
    assert kinds(run(s, only(UNANSWERED)), ROUTE_PEER) == [(20, 100), (11, 100)]
    assert run(s, only(UNANSWERED)).decisions[0].reason_code == "unanswered_ambassador"


def test_isolated_learner_who_was_never_replied_to_is_paired_with_a_peer():
    s = Script()
    s.learner(10)
    s.learners(11, 12, days=3)  # peers too new to be called silent
    s.question(100, 10, 50)
    s.rank(100, 12, 11)
    evaluation = run(s, only(BRIDGING))
    assert kinds(evaluation, BRIDGE_BUDDY) == [(12, 100)]
    assert kinds(evaluation, BRIDGE_LEARNER) == [(10, 100)]
    buddy, learner = evaluation.decisions
    assert buddy.about_person_id == 10 and learner.about_person_id == 12
    assert learner.reason_code == "never_replied"


def test_bridging_waits_for_the_grace_period_and_not_once_replied():
    s = Script()
    s.learner(10)
    s.learners(11, 12, days=3)
    s.question(100, 10, 47)
    s.rank(100, 12, 11)
    assert run(s, only(BRIDGING)).decisions == ()
    s2 = Script()
    s2.learner(10)
    s2.learners(11, 12, days=3)
    s2.question(100, 10, 50)
    s2.post(100, 11, 45)
    s2.rank(100, 12, 11)
    assert run(s2, only(BRIDGING)).decisions == ()


def test_silent_learner_is_paired_with_an_ambassador_first():
    s = Script()
    s.learners(10, 11, 12, 13)
    s.question(100, 10, 24 * 9)
    s.post(100, 11, 24 * 8.5)  # 10 was answered, then fell silent for 9 days
    s.question(101, 11, 24 * 2)
    s.post(101, 12, 24 * 1)
    s.rank(100, 11, 12)
    s.ambassadors[13] = "active"
    evaluation = run(s, only(BRIDGING))
    assert kinds(evaluation, BRIDGE_BUDDY) == [(13, 100)]
    assert evaluation.decisions[1].reason_code == "silent"
    assert evaluation.decisions[1].reason["buddy_ambassador"] is True


def test_lurker_who_never_posted_is_bridged_into_the_liveliest_discussion():
    s = Script()
    s.learners(10, 11)
    s.learner(14, days=10)
    s.learner(15, days=3)  # too new to be called silent
    s.question(100, 10, 30)
    s.post(100, 11, 20)
    s.rank(100, 11, 10)
    evaluation = run(s, only(BRIDGING))
    assert kinds(evaluation, BRIDGE_LEARNER) == [(14, 100)]
    assert kinds(evaluation, BRIDGE_BUDDY) == [(11, 100)]


def test_bridging_is_not_repeated_within_its_cooldown():
    s = Script()
    s.learner(10)
    s.learners(11, 12, days=3)  # peers too new to be called silent
    s.question(100, 10, 50)
    s.rank(100, 12, 11)
    s.past(1, BRIDGING, BRIDGE_LEARNER, 10, 24 * 13, about=12)
    assert run(s, only(BRIDGING)).decisions == ()


def test_a_pair_is_all_or_nothing_when_the_isolated_learner_opted_out():
    from middleware.mentoring.facts import Preference

    s = Script()
    s.learner(10)
    s.learners(11, 12, days=3)  # peers too new to be called silent
    s.question(100, 10, 50)
    s.rank(100, 12, 11)
    s.preferences[10] = Preference(opted_out=True)
    evaluation = run(s, only(BRIDGING))
    assert evaluation.decisions == ()
    assert [(k.recipient_id, k.limit) for k in evaluation.skipped] == [(10, "opted_out")]


def test_first_post_gets_a_welcome_prompt_to_an_ambassador():
    s = Script()
    s.learners(10, 11, 30, 31)
    s.ambassadors.update({30: "active", 31: "active"})
    s.past(1, UNANSWERED, ROUTE_PEER, 30, 30, discussion=99)  # 30 is busier: 31 is asked
    s.question(100, 10, 3)
    evaluation = run(s, only(WELCOME))
    assert kinds(evaluation, WELCOME_AMBASSADOR) == [(31, 100)]
    assert evaluation.decisions[0].about_person_id == 10


def test_welcome_respects_delay_window_replies_and_once_per_learner():
    s = Script()
    s.learners(10, 11, 12, 13, 30)
    s.ambassadors[30] = "active"
    s.question(100, 10, 1)  # too fresh
    s.question(101, 11, 80)  # too old
    s.question(102, 12, 5)
    s.post(102, 13, 4)  # already welcomed by a peer (13's own first post is a reply)
    evaluation = run(s, only(WELCOME))
    assert kinds(evaluation, WELCOME_AMBASSADOR) == [(30, 102)] or \
        kinds(evaluation, WELCOME_AMBASSADOR) == []
    # 13's first post is a reply to 12; nobody replied to 13 → 13 is welcomed, 12 is not.
    assert [d.about_person_id for d in evaluation.decisions] == [13]
    s.past(5, WELCOME, WELCOME_AMBASSADOR, 30, 1, discussion=102, about=13)
    assert run(s, only(WELCOME)).decisions == ()


def test_without_ambassadors_there_is_no_welcome_prompt():
    s = Script()
    s.learners(10, 11)
    s.question(100, 10, 3)
    evaluation = run(s, only(WELCOME))
    assert evaluation.decisions == ()
    assert evaluation.skipped[0].limit == "no_ambassador"


def test_prompted_peer_whose_reply_came_first_is_thanked_once():
    s = routing_script(40)
    s.past(1, UNANSWERED, ROUTE_PEER, 11, 16, discussion=100)
    s.past(2, UNANSWERED, ROUTE_PEER, 12, 16, discussion=100)
    s.post(100, 11, 10)
    s.post(100, 12, 9)
    evaluation = run(s, only(RECOGNITION))
    assert kinds(evaluation, THANK_YOU) == [(11, 100)]
    assert evaluation.decisions[0].reason == {"prompt": 1, "minutes": 360}
    s.past(3, RECOGNITION, THANK_YOU, 11, 1, discussion=100)
    assert run(s, only(RECOGNITION)).decisions == ()


def test_no_thanks_when_the_reply_came_before_the_prompt_or_from_someone_else():
    s = routing_script(40)
    s.past(1, UNANSWERED, ROUTE_PEER, 11, 16, discussion=100)
    s.post(100, 13, 10)  # 13 answered first, unprompted
    s.post(100, 11, 9)
    assert run(s, only(RECOGNITION)).decisions == ()
    s2 = routing_script(40)
    s2.past(1, UNANSWERED, ROUTE_PEER, 11, 16, discussion=100, status="review")
    s2.post(100, 11, 10)  # never sent: not a prompted answer
    assert run(s2, only(RECOGNITION)).decisions == ()


def test_ambassador_suggestions_leave_out_people_already_known():
    s = Script()
    s.learners(10, 11, 12, 13, 14)
    s.teacher(2)
    s.candidates = [(2, 0.99), (10, 0.9), (11, 0.8), (12, 0.7), (13, 0.6), (14, 0.5)]
    s.ambassadors.update({10: "declined", 11: "active"})
    evaluation = run(s, only("ambassador"))
    assert evaluation.ambassador_suggestions == ((12, 0.7), (13, 0.6), (14, 0.5))


def test_disabled_rules_decide_nothing():
    s = routing_script(80)
    settings = RuleSettings(rules={name: {"enabled": False} for name in
                                   (UNANSWERED, BRIDGING, WELCOME, RECOGNITION, "ambassador")})
    assert run(s, settings).decisions == ()


def test_evaluation_is_a_pure_function_of_its_inputs():
    s = routing_script(30)
    first = run(s)
    assert run(s) == first
    assert run(s, now=NOW + timedelta(hours=1)).decisions[0].reason == {"hours": 31}
