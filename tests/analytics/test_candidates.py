"""Candidates with reasons: peers for a question, ambassadors, isolated learners, unanswered."""

from datetime import timedelta

import pytest
from flask_babel import force_locale

from middleware.analytics.candidates import (
    ambassador_candidates,
    isolated_learners,
    rank_peers_for_discussion,
    unanswered_discussions,
)
from middleware.analytics.graph import View, build_graph
from middleware.analytics.metrics import compute_metrics
from middleware.analytics.reasons import Reason

from .builders import CourseBuilder

RUBRIC_QUESTIONS = (
    "Come si costruisce una rubrica di valutazione per un progetto di gruppo?",
    "Quanti livelli mettete nelle rubriche di valutazione?",
    "Rubrica di valutazione analitica o olistica per un saggio?",
)


def rubric_course():
    """Learner 2 answers rubric questions (twice first), 3 answers quiz questions, 4 chats."""
    b = CourseBuilder()
    b.person(9, "teacher")
    b.person(8, "service")
    b.learners(1, 2, 3, 4, 5, 6)
    for i, text in enumerate(RUBRIC_QUESTIONS):
        question = b.discussion(5, text[:40], text, at=timedelta(days=20 - i))
        if i == 2:
            b.reply(question, 6, "Bella domanda, non saprei", at=timedelta(days=19 - i))
        b.reply(question, 2, "Nella rubrica di valutazione uso quattro livelli e descrittori "
                "chiari per ogni criterio", at=timedelta(days=18 - i))
        b.reply(question, 9, "La rubrica di valutazione va condivisa prima",
                at=timedelta(days=17 - i))
    for i in range(3):
        quiz = b.discussion(6, "Quiz", "Come imposto la banca domande del quiz?",
                            at=timedelta(days=10 - i))
        b.reply(quiz, 3, "Nel quiz usa categorie nella banca domande e tentativi multipli",
                at=timedelta(days=9 - i))
    chat = b.discussion(4, "Ciao a tutti", "Mi presento: insegno storia a Torino",
                        at=timedelta(days=3))
    b.reply(chat, 6, "Benvenuta! Anch'io insegno storia", at=timedelta(days=2))
    asked = b.discussion(1, "Rubriche", "Mi aiutate con una rubrica di valutazione per le "
                         "presentazioni orali?", at=timedelta(hours=30))
    return b, b.build(), asked


def asked_discussion(builder, starting_post):
    return next(p.discussion_id for p in builder.posts if p.id == starting_post)


def test_the_peer_who_answered_the_topic_ranks_first_with_its_reason_in_both_languages():
    b, activity, asked = rubric_course()
    discussion = asked_discussion(b, asked)
    peers = rank_peers_for_discussion(activity, discussion, k=3)
    assert [p.person_id for p in peers][:1] == [2]
    best = peers[0]
    assert best.discussion_id == discussion and best.answered_on_topic == 3
    assert best.reason.to_json() == {"key": "peer.topic_answers_first", "params": {
        "num": 3, "first": 2, "topic": "rubrica di valutazione"}}
    assert best.reason.render("en") == (
        "answered 3 questions on rubrica di valutazione, 2 of them first")
    assert best.reason.render("it") == (
        "ha risposto a 3 domande su rubrica di valutazione, di cui 2 per primo")
    assert all(a.score >= b.score for a, b in zip(peers, peers[1:], strict=False))


def test_reasons_render_with_flask_babel_in_the_request_language(app):
    reason = Reason("peer.topic_answers", {"num": 1, "topic": "quiz"})
    with app.test_request_context("/?lang=it"):
        assert str(reason) == "ha risposto a 1 domanda su quiz"
        assert reason.render("en") == "answered 1 question on quiz"
    with app.app_context():
        assert reason.render() == "answered 1 question on quiz"
        with force_locale("it"):
            assert str(reason.lazy()) == "ha risposto a 1 domanda su quiz"


def test_peers_exclude_the_asker_teachers_the_service_user_participants_and_exclude():
    b, activity, asked = rubric_course()
    b.reply(asked, 4, "Anche io ho lo stesso dubbio")  # 4 already takes part
    activity = b.build()
    discussion = asked_discussion(b, asked)
    peers = rank_peers_for_discussion(activity, discussion, k=10, exclude=[3])
    assert {p.person_id for p in peers} == {2, 5, 6}


def test_a_group_discussion_only_gets_peers_of_its_group():
    b = CourseBuilder()
    b.learners(1, 2, groups=(10,))
    b.learners(3, groups=(20,))
    for helper in (2, 3):
        b.reply(b.discussion(1, "Rubrica", "rubrica di valutazione?"), helper,
                "rubrica di valutazione con livelli")
    asked = b.discussion(1, "Rubrica", "rubrica di valutazione per gruppi", group=10)
    peers = rank_peers_for_discussion(b.build(), asked_discussion(b, asked), k=5)
    assert [p.person_id for p in peers] == [2]


def test_the_load_penalty_moves_a_peer_asked_often_down():
    b = CourseBuilder()
    b.learners(1, 2, 3)
    for helper in (2, 3):
        question = b.discussion(1, "Quiz", "Come imposto il quiz?", at=timedelta(days=3))
        b.reply(question, helper, "Il quiz con la banca domande", at=timedelta(days=2))
    asked = b.discussion(1, "Quiz", "Domanda sul quiz e la banca domande")
    activity, discussion = b.build(), asked_discussion(b, asked)
    free = rank_peers_for_discussion(activity, discussion, k=2)
    assert free[0].score == pytest.approx(free[1].score)
    loaded = rank_peers_for_discussion(activity, discussion, k=2, load={2: 3})
    assert [p.person_id for p in loaded] == [3, 2]
    assert loaded[1].score == pytest.approx(free[0].score / 2.5)


def test_peers_without_topic_fall_back_to_helpfulness_and_recency():
    b = CourseBuilder()
    b.learners(1, 2, 3)
    b.reply(b.discussion(1, "Orari", "A che ora apre la piattaforma?", at=timedelta(days=5)),
            2, "Sempre aperta", at=timedelta(days=4))
    b.discussion(3, "Presentazione", "Salve, sono nuovo", at=timedelta(hours=3))
    asked = b.discussion(1, "Gite", "Organizzate uscite didattiche?")
    peers = rank_peers_for_discussion(b.build(), asked_discussion(b, asked), k=5)
    reasons = {p.person_id: p.reason.render("en") for p in peers}
    assert reasons == {2: "answered 1 question in this course, the first to reply",
                       3: "wrote in the forums today"}


def test_ambassadors_are_helpful_learners_never_teachers():
    b, activity, _ = rubric_course()
    metrics = compute_metrics(build_graph(activity, View()))
    candidates = ambassador_candidates(activity, metrics, limit=5)
    by_id = {c.person_id: c for c in candidates}
    assert set(by_id) == {2, 3, 6}  # learners who answered at least two questions
    assert by_id[2].reason.render("en") == "answered 3 questions, 2 of them first"
    assert by_id[2].reason.render("it") == "ha risposto a 3 domande, di cui 2 per primo"
    # 6 answered fewer, but bridges the quiz helper (3) to the people 6 answers (4, 5).
    assert metrics.person(6)["betweenness"] > 0 == metrics.person(2)["betweenness"]
    # 3 answered three questions too, all of them first: ahead of 2 (two of three first).
    assert [c.person_id for c in candidates] == [6, 3, 2]
    assert ambassador_candidates(activity, metrics, limit=1) == candidates[:1]


def test_isolated_learners_with_their_kind_and_reason():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.person(1, last_access=b.now - timedelta(days=2))  # reads, never writes
    b.person(2)  # never opened the course nor wrote
    b.learners(3, 4, 5)
    b.discussion(3, "Nobody answers me", at=timedelta(days=1))
    b.discussion(3, "Still nobody", at=timedelta(hours=5))
    b.reply(b.discussion(4, at=timedelta(days=40)), 5, at=timedelta(days=30))
    b.reply(b.discussion(5, at=timedelta(days=2)), 4, at=timedelta(days=1))
    found = {c.person_id: (c.kind, c.reason.render("en"), c.reason.render("it"))
             for c in isolated_learners(b.build(), silent_days=14)}
    assert found == {
        3: ("never_replied_to", "wrote 2 posts but nobody has replied yet",
            "ha scritto 2 messaggi ma nessuno ha ancora risposto"),
        1: ("lurking", "opened the course 2 days ago but has not written in the forums yet",
            "ha aperto il corso 2 giorni fa ma non ha ancora scritto nei forum"),
        2: ("never_active", "has not written in the forums yet",
            "non ha ancora scritto nei forum"),
    }
    assert [c.person_id for c in isolated_learners(b.build(), silent_days=14)] == [3, 1, 2]
    silent = {c.person_id: c.reason.render("en")
              for c in isolated_learners(b.build(), silent_days=2)}
    assert silent[5] == "has not written for 2 days" and 4 not in silent


def test_unanswered_discussions_oldest_first_with_reasons():
    b = CourseBuilder()
    b.person(9, "teacher")
    b.person(8, "service")
    b.learners(1, 2)
    old = b.discussion(1, "Old", at=timedelta(days=3, hours=2))
    b.reply(old, 1, "anyone?", at=timedelta(days=3))  # the author's own reply does not count
    b.discussion(2, "Recent", at=timedelta(hours=30))
    b.discussion(2, "Too recent", at=timedelta(hours=2))
    b.reply(b.discussion(2, "Answered privately", at=timedelta(days=2)), 9, private=True,
            at=timedelta(days=1))
    b.discussion(8, "Bot digest", at=timedelta(days=2))
    b.discussion(9, "Welcome", at=timedelta(days=4), forum_type="news")
    found = unanswered_discussions(b.build(), older_than=timedelta(hours=24))
    assert [(d.title, d.reason.render("en")) for d in found] == [
        ("Old", "no reply for 3 days"), ("Recent", "no reply for 30 hours")]
    assert found[0].reason.render("it") == "nessuna risposta da 3 giorni"
    assert found[0].author_id == 1 and found[0].score == pytest.approx(3 + 2 / 24)


def test_empty_course_has_no_candidates():
    activity = CourseBuilder().build()
    metrics = compute_metrics(build_graph(activity, View()))
    assert ambassador_candidates(activity, metrics, limit=5) == []
    assert isolated_learners(activity, silent_days=7) == []
    assert unanswered_discussions(activity, older_than=timedelta(0)) == []


def test_reasons_round_trip_as_json_and_reject_unknown_keys():
    reason = Reason("isolated.silent", {"num": 1})
    assert Reason.from_json(reason.to_json()) == reason
    assert reason.render("it") == "non scrive da 1 giorno"
    with pytest.raises(KeyError):
        Reason("nonsense")
