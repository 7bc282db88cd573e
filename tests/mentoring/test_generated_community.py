"""Rules on generated communities: they fire exactly on the ground truth the generator plants."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from middleware.mentoring.facts import BRIDGE_LEARNER, ROUTE_PEER, History, RuleSettings
from middleware.mentoring.rules import evaluate
from tests.doubles.community import generate_community
from tests.mentoring.community_facts import at, facts_of

GENEROUS = {"learner_weekly_cap": 50, "ambassador_weekly_cap": 50, "course_daily_cap": 10_000}


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_routing_fires_exactly_on_the_unanswered_questions_in_the_window(seed):
    community = generate_community(seed=seed, learners=60, discussions=120, posts=500, weeks=3)
    facts = facts_of(community)
    now = at(community.now) + timedelta(hours=1)
    settings = RuleSettings(**GENEROUS)
    evaluation = evaluate(facts, settings, History(), now)

    routed = {d.discussion_id for d in evaluation.decisions if d.kind == ROUTE_PEER}
    in_window = {d.id for d in community.discussions
                 if timedelta(hours=24) <= now - at(d.created) <= timedelta(days=14)}
    expected = {
        d.id for d in community.discussions
        if d.id in in_window and d.kind in ("question", "introduction", "group_work")
        and community.user(d.user_id).role == "learner"
        and all(p.user_id == d.user_id or community.user(p.user_id).role == "service"
                for p in community.posts_of(d.id) if not p.deleted)
    }
    assert routed == expected
    assert set(community.unanswered) & in_window <= routed
    per_discussion = Counter(d.discussion_id for d in evaluation.decisions
                             if d.kind == ROUTE_PEER)
    assert set(per_discussion.values()) == {2}


def test_isolated_learners_planted_by_the_generator_are_bridged():
    community = generate_community(seed=5, learners=50, discussions=90, posts=400, weeks=4)
    facts = facts_of(community)
    now = at(community.now) + timedelta(hours=1)
    evaluation = evaluate(facts, RuleSettings(**GENEROUS), History(), now)
    bridged = {d.recipient_id: d.reason_code for d in evaluation.decisions
               if d.kind == BRIDGE_LEARNER}
    never_replied = {p for p, code in bridged.items() if code == "never_replied"}
    planted = {i for i in community.isolated
               if any(p.user_id == i for p in community.posts)
               and now - min(at(p.created) for p in community.posts if p.user_id == i)
               >= timedelta(hours=48)}
    assert planted and planted <= never_replied
    for learner in never_replied:  # and nobody else: each really had no reply from anyone
        own = {p.id for p in community.posts if p.user_id == learner}
        firsts = {d.first_post_id: d.id for d in community.discussions if d.user_id == learner}
        assert not any(
            p.user_id != learner and community.user(p.user_id).role != "service"
            and (p.parent_id in own or (p.discussion_id in firsts.values()))
            for p in community.posts if not p.deleted)
    lurkers = {p for p, code in bridged.items() if code == "never_posted"}
    assert lurkers <= set(community.lurkers)


def test_default_caps_hold_on_a_large_generated_course():
    community = generate_community(seed=9, learners=200, discussions=300, posts=1500, weeks=3)
    facts = facts_of(community)
    now = at(community.now) + timedelta(hours=1)
    evaluation = evaluate(facts, RuleSettings(), History(), now)
    capped = [d for d in evaluation.decisions if d.kind not in ("route_teacher", "recognition")]
    assert len(capped) == 20  # the course's daily cap
    per_person = Counter(d.recipient_id for d in capped)
    assert max(per_person.values()) <= 2
    pairs = Counter((d.recipient_id, d.discussion_id) for d in evaluation.decisions)
    assert max(pairs.values()) == 1
