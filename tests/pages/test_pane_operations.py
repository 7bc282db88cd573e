"""The pane's reads: who I talk with, who I could meet, open questions, my data export."""

from __future__ import annotations

import json

import pytest

from middleware.models import MentoringPreference, MentoringPrompt, utcnow
from middleware.pane.operations import (
    export_learner_data,
    open_questions,
    people_i_could_meet,
    people_i_talk_with,
    set_hidden_from_suggestions,
)


def test_people_i_talk_with_counts_both_directions_and_skips_private_replies(small_course):
    giulia = small_course.people["giulia"]
    peers = people_i_talk_with(small_course.session, small_course.course.id, giulia.id)
    by_name = {peer.name: peer for peer in peers}
    assert set(by_name) == {"Marco Bianchi", "Sara Esposito"}
    assert (by_name["Marco Bianchi"].replies_to, by_name["Marco Bianchi"].replies_from) == (1, 1)
    assert (by_name["Sara Esposito"].replies_to, by_name["Sara Esposito"].replies_from) == (0, 1)
    assert peers[0].name == "Marco Bianchi"  # most exchanges first


def test_people_i_could_meet_share_a_discussion_and_respect_hiding(small_course):
    marco, sara = small_course.people["marco"], small_course.people["sara"]
    course_id = small_course.course.id
    suggestions = people_i_could_meet(small_course.session, course_id, marco.id)
    # Marco already talks with Giulia; Sara wrote in the same discussion; Luca only privately.
    assert [s.name for s in suggestions] == ["Sara Esposito"]
    assert suggestions[0].shared_discussion == "Come scelgo l'esposizione?"
    assert suggestions[0].discussion_url.startswith("http://127.0.0.1:8081/mod/forum/discuss.php")
    set_hidden_from_suggestions(small_course.session, course_id, sara.id, True)
    assert people_i_could_meet(small_course.session, course_id, marco.id) == []


def test_open_questions_are_recent_unanswered_and_not_mine(small_course):
    course_id = small_course.course.id
    marco, luca = small_course.people["marco"], small_course.people["luca"]
    titles = [q.title for q in open_questions(small_course.session, course_id, marco.id,
                                              now=utcnow())]
    assert titles == ["Quale obiettivo per i ritratti?"]
    assert open_questions(small_course.session, course_id, luca.id, now=utcnow()) == []


def test_export_contains_only_the_learners_own_data(small_course):
    session, course_id = small_course.session, small_course.course.id
    giulia, marco = small_course.people["giulia"], small_course.people["marco"]
    session.add(MentoringPrompt(course_id=course_id, rule="unanswered", kind="route_peer",
                                recipient_id=giulia.id, body="Puoi aiutare?", status="sent"))
    session.add(MentoringPrompt(course_id=course_id, rule="unanswered", kind="route_peer",
                                recipient_id=marco.id, body="Per Marco", status="sent"))
    session.add(MentoringPreference(course_id=course_id, person_id=giulia.id, opted_out=True))
    session.flush()
    data = export_learner_data(session, course_id, giulia.id)
    json.dumps(data)  # JSON-ready
    assert data["person"]["fullname"] == "Giulia Rossi"
    assert data["enrolment"]["role"] == "learner"
    assert [p["message_html"] for p in data["posts"]] == [
        "<p>Question?</p>", "<p>Grazie Marco!</p>"]
    assert [p["text"] for p in data["prompts_received"]] == ["Puoi aiutare?"]
    assert data["mentoring_preferences"]["opted_out"] is True
    dumped = json.dumps(data)
    for other in ("Marco Bianchi", "Per Marco", "marco@example.test", "Usa l'istogramma",
                  "Messaggio privato"):
        assert other not in dumped


def test_export_refuses_someone_not_enrolled(small_course):
    with pytest.raises(LookupError):
        export_learner_data(small_course.session, small_course.course.id, 99_999)


def test_export_includes_the_figures_analytics_stored_about_me(small_course):
    from middleware.analytics.operations import refresh_course_analytics

    session, course_id = small_course.session, small_course.course.id
    refresh_course_analytics(session, course_id)
    giulia = small_course.people["giulia"]
    data = export_learner_data(session, course_id, giulia.id)
    views = {(m["audience"], m["window"]) for m in data["metrics"]}
    assert ("teacher", "all") in views and ("learner", "all") in views
    whole = next(m for m in data["metrics"] if (m["audience"], m["window"]) == ("teacher", "all"))
    assert whole["posts"] == 2 and whole["replies_received"] == 3
    json.dumps(data)
