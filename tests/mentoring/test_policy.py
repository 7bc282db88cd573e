"""Never aggressive: weekly and daily caps, quiet hours, same discussion, opt-outs, snoozes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from middleware.mentoring.facts import (
    BRIDGING,
    RECOGNITION,
    ROUTE_PEER,
    THANK_YOU,
    UNANSWERED,
    WELCOME,
    Preference,
    RuleSettings,
)
from middleware.mentoring.policy import in_quiet_hours, next_send_time, zone
from middleware.mentoring.rules import evaluate

from .builders import NOW, Script, hours_ago

ROUTING_ONLY = RuleSettings(rules={name: {"enabled": name == UNANSWERED} for name in
                                   (UNANSWERED, BRIDGING, WELCOME, RECOGNITION, "ambassador")})


def routed(evaluation):
    return [(d.recipient_id, d.discussion_id) for d in evaluation.decisions
            if d.kind == ROUTE_PEER]


def three_questions() -> Script:
    s = Script()
    s.learners(10, 11, 12, 13, 14)
    for discussion, author in ((100, 10), (101, 13), (102, 14)):
        s.question(discussion, author, 30)
        s.rank(discussion, 11, 12, 10, 13, 14)
    return s


def test_learner_weekly_cap_moves_prompts_to_the_next_peer():
    evaluation = evaluate(three_questions().facts(), ROUTING_ONLY, three_questions().history(),
                          NOW)
    # 11 and 12 take two prompts each (the cap); the third question goes to the next peers.
    assert routed(evaluation) == [(11, 100), (12, 100), (11, 101), (12, 101), (10, 102),
                                  (13, 102)]
    assert {(k.recipient_id, k.limit) for k in evaluation.skipped} == {
        (11, "weekly_cap"), (12, "weekly_cap")}


def test_weekly_cap_counts_last_weeks_prompts_but_not_older_or_dropped_ones():
    s = three_questions()
    s.past(1, UNANSWERED, ROUTE_PEER, 11, 24 * 6, discussion=90)
    s.past(2, UNANSWERED, ROUTE_PEER, 11, 24 * 8, discussion=91)
    s.past(3, UNANSWERED, ROUTE_PEER, 11, 24 * 1, discussion=92, status="dropped")
    evaluation = evaluate(s.facts(), ROUTING_ONLY, s.history(), NOW)
    assert [r for r in routed(evaluation) if r[0] == 11] == [(11, 100)]


def test_course_daily_cap_stops_the_run():
    settings = RuleSettings(course_daily_cap=3, rules=ROUTING_ONLY.rules)
    s = three_questions()
    evaluation = evaluate(s.facts(), settings, s.history(), NOW)
    assert len(routed(evaluation)) == 3
    assert "course_daily_cap" in {k.limit for k in evaluation.skipped}


def test_nobody_is_asked_twice_about_the_same_discussion():
    s = three_questions()
    s.past(1, UNANSWERED, "bridge_buddy", 11, 2, discussion=100)  # another rule asked 11
    evaluation = evaluate(s.facts(), ROUTING_ONLY, s.history(), NOW)
    assert (11, 100) not in routed(evaluation)
    assert ("same_discussion", 11) in {(k.limit, k.recipient_id) for k in evaluation.skipped}


@pytest.mark.parametrize("preference, limit", [
    (Preference(opted_out=True), "opted_out"),
    (Preference(stopped_rules=frozenset({UNANSWERED})), "rule_stopped"),
    (Preference(snoozed_until=NOW + timedelta(days=2)), "snoozed"),
])
def test_opted_out_stopped_and_snoozed_learners_are_skipped(preference, limit):
    s = three_questions()
    s.preferences[11] = preference
    evaluation = evaluate(s.facts(), ROUTING_ONLY, s.history(), NOW)
    assert 11 not in {r[0] for r in routed(evaluation)}
    assert (11, limit) in {(k.recipient_id, k.limit) for k in evaluation.skipped}


def test_expired_snooze_and_other_stopped_rules_do_not_block():
    s = three_questions()
    s.preferences[11] = Preference(stopped_rules=frozenset({BRIDGING}),
                                   snoozed_until=NOW - timedelta(minutes=1))
    assert (11, 100) in routed(evaluate(s.facts(), ROUTING_ONLY, s.history(), NOW))


def test_ambassadors_are_not_asked_beyond_their_own_cap():
    s = three_questions()
    s.learner(30)
    s.ambassadors[30] = "active"
    settings = RuleSettings(ambassador_weekly_cap=2, rules=ROUTING_ONLY.rules)
    evaluation = evaluate(s.facts(), settings, s.history(), NOW)
    assert [r for r in routed(evaluation) if r[0] == 30] == [(30, 100), (30, 101)]
    s.past(9, UNANSWERED, ROUTE_PEER, 30, 24, discussion=99)
    evaluation = evaluate(s.facts(), settings, s.history(), NOW)
    assert [r for r in routed(evaluation) if r[0] == 30] == [(30, 100)]


def test_thank_yous_are_not_capped_but_respect_opt_out():
    s = Script()
    s.learners(10, 11)
    s.question(100, 10, 40)
    s.past(1, UNANSWERED, ROUTE_PEER, 11, 20, discussion=100)
    s.past(2, UNANSWERED, ROUTE_PEER, 11, 20, discussion=101)
    s.post(100, 11, 10)
    settings = RuleSettings(rules={UNANSWERED: {"enabled": False}})
    kinds = [d.kind for d in evaluate(s.facts(), settings, s.history(), NOW).decisions]
    assert THANK_YOU in kinds
    s.preferences[11] = Preference(opted_out=True)
    kinds = [d.kind for d in evaluate(s.facts(), settings, s.history(), NOW).decisions]
    assert THANK_YOU not in kinds


def test_quiet_hours_defer_delivery_to_the_morning_in_the_learners_own_zone():
    s = Script()
    s.learner(10)
    s.learner(11, tz="America/New_York")
    s.learner(12, tz="")  # unknown: the course's zone
    s.learner(13, tz="99")  # Moodle's "server default": the course's zone
    s.question(100, 10, 38.5)  # 30 hours old at `late`
    s.rank(100, 11, 12, 13)
    settings = RuleSettings(timezone="Asia/Tokyo", rules={**ROUTING_ONLY.rules,
                                                          UNANSWERED: {"peers": 3}})
    late = datetime(2026, 11, 18, 3, 30, tzinfo=UTC)  # 22:30 in New York, 12:30 in Tokyo
    evaluation = evaluate(s.facts(), settings, s.history(), late)
    at = {d.recipient_id: d.deliver_at for d in evaluation.decisions}
    assert at[11] == datetime(2026, 11, 18, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert at[12] == late and at[13] == late  # Tokyo is awake
    assert len(evaluation.decisions) == 3  # deferred, not dropped


@pytest.mark.parametrize("local_hour, quiet", [(20, False), (21, True), (23, True), (0, True),
                                               (7, True), (8, False), (12, False)])
def test_quiet_window_spans_midnight(local_hour, quiet):
    rome = zone("Europe/Rome")
    moment = datetime(2026, 11, 18, local_hour, 15, tzinfo=rome)
    assert in_quiet_hours(moment, rome, 21, 8) is quiet
    after = next_send_time(moment, rome, 21, 8)
    assert not in_quiet_hours(after, rome, 21, 8)
    assert after >= moment and after - moment < timedelta(hours=12)


def test_unknown_zone_falls_back_to_utc():
    assert zone("Not/AZone", "Also/Bad").key == "UTC"
    assert zone("", "Europe/Rome").key == "Europe/Rome"


def test_opt_out_is_honoured_from_the_next_evaluation():
    s = three_questions()
    first = evaluate(s.facts(), ROUTING_ONLY, s.history(), NOW)
    assert 11 in {r[0] for r in routed(first)}
    s.preferences[11] = Preference(opted_out=True)
    s.question(103, 10, 30)
    s.rank(103, 11, 12)
    assert 11 not in {r[0] for r in routed(evaluate(s.facts(), ROUTING_ONLY, s.history(),
                                                    NOW))}


def test_inactive_members_are_never_prompted():
    s = three_questions()
    s.learner(11, active=False)
    assert 11 not in {r[0] for r in routed(evaluate(s.facts(), ROUTING_ONLY, s.history(), NOW))}
    assert hours_ago(0) == NOW
