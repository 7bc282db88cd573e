"""The learner's pane through the test client: content, role protection, CSRF, privacy, export."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from middleware.models import Ambassador, MentoringPreference, MentoringPrompt, PrivacyChoice


def test_pane_shows_my_community_and_mobile_markup(launch_as):
    giulia = launch_as("giulia")
    response = giulia.get("/pane")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<html lang="en">' in html
    assert 'href="#main"' in html and '<main id="main"' in html
    assert "Marco Bianchi" in html and "Sara Esposito" in html
    assert "Quale obiettivo per i ritratti?" in html  # an open question she could answer
    assert "Messaggio privato" not in html
    assert "onclick" not in html and "<script>" not in html and "style=" not in html


def test_pane_frames_only_for_the_launching_platform(launch_as):
    response = launch_as("giulia").get("/pane")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' http://127.0.0.1:8081" in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy


def test_pane_speaks_italian_from_the_launch(launch_as):
    html = launch_as("giulia", locale="it").get("/pane").get_data(as_text=True)
    assert '<html lang="it">' in html
    assert "La mia comunità" in html
    assert "Scarica i miei dati" in html
    assert re.search(r'value="it"[^>]*aria-pressed="true"', html)
    assert re.search(r'value="en"[^>]*aria-pressed="false"', html)


def test_every_form_carries_the_csrf_token(launch_as):
    giulia = launch_as("giulia")
    html = giulia.get("/pane").get_data(as_text=True)
    forms = html.count("<form ")
    assert forms >= 2
    assert html.count(f'name="csrf_token" value="{giulia.csrf}"') == forms


def test_posts_without_csrf_are_refused(launch_as, small_course):
    giulia = launch_as("giulia")
    response = giulia.post("/pane/privacy", {"opt_out": "1"}, csrf=False)
    assert response.status_code == 400
    assert small_course.session.scalar(select(MentoringPreference)) is None


def test_privacy_choices_are_saved(launch_as, small_course):
    giulia = launch_as("giulia")
    person_id = small_course.people["giulia"].id
    response = giulia.post("/pane/privacy", {"opt_out": "1", "hidden": "1"})
    assert response.status_code == 303
    assert "done=saved" in response.headers["Location"]
    session = small_course.session
    session.expire_all()
    preference = session.scalar(select(MentoringPreference).where(
        MentoringPreference.person_id == person_id))
    assert preference.opted_out is True
    assert session.scalar(select(PrivacyChoice.hidden_from_suggestions).where(
        PrivacyChoice.person_id == person_id)) is True
    html = giulia.get("/pane?done=saved").get_data(as_text=True)
    assert "Your choices are saved." in html
    assert 'name="opt_out" value="1" checked' in html
    giulia.post("/pane/privacy", {})
    session.expire_all()
    assert session.scalar(select(MentoringPreference.opted_out)) is False


def test_prompts_not_now_and_stop_these(launch_as, small_course):
    session, course_id = small_course.session, small_course.course.id
    marco_id = small_course.people["marco"].id
    prompt = MentoringPrompt(course_id=course_id, rule="unanswered", kind="route_peer",
                             recipient_id=marco_id, status="sent",
                             discussion_id=small_course.discussions["lenses"].id,
                             body="Luca chiede: quale obiettivo per i ritratti?")
    session.add(prompt)
    session.commit()
    marco = launch_as("marco")
    html = marco.get("/pane").get_data(as_text=True)
    assert "Luca chiede" in html and "mod/forum/discuss.php?d=" in html
    assert marco.post(f"/pane/prompts/{prompt.id}/snooze").status_code == 303
    session.expire_all()
    assert session.get(MentoringPrompt, prompt.id).snoozed is True
    assert "Luca chiede" not in marco.get("/pane").get_data(as_text=True)
    assert marco.post("/pane/prompts/stop", {"rule": "unanswered"}).status_code == 303
    session.expire_all()
    stopped = session.scalar(select(MentoringPreference.stopped_rules).where(
        MentoringPreference.person_id == marco_id))
    assert stopped == ["unanswered"]


def test_a_learner_cannot_snooze_someone_elses_prompt(launch_as, small_course):
    session = small_course.session
    prompt = MentoringPrompt(course_id=small_course.course.id, rule="unanswered",
                             kind="route_peer", recipient_id=small_course.people["marco"].id,
                             status="sent", body="for Marco")
    session.add(prompt)
    session.commit()
    response = launch_as("giulia").post(f"/pane/prompts/{prompt.id}/snooze")
    assert response.status_code == 404
    session.expire_all()
    assert session.get(MentoringPrompt, prompt.id).snoozed is False


def test_ambassador_invitation_accept_and_step_down(launch_as, small_course):
    session = small_course.session
    sara_id = small_course.people["sara"].id
    session.add(Ambassador(course_id=small_course.course.id, person_id=sara_id,
                           status="invited"))
    session.commit()
    sara = launch_as("sara")
    assert "Accept the invitation" in sara.get("/pane").get_data(as_text=True)
    assert sara.post("/pane/ambassador/accept").status_code == 303
    html = sara.get("/pane").get_data(as_text=True)
    assert "Step down as ambassador" in html
    assert "Sara Esposito" in html
    # Other learners see the ambassador too.
    assert "Sara Esposito" in launch_as("luca").get("/pane").get_data(as_text=True)
    assert sara.post("/pane/ambassador/step-down").status_code == 303
    session.expire_all()
    assert session.scalar(select(Ambassador.status)) == "stepped_down"


def test_export_downloads_only_my_data(launch_as, small_course):
    response = launch_as("giulia").get("/pane/my-data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["person"]["fullname"] == "Giulia Rossi"
    body = response.get_data(as_text=True)
    assert "Marco Bianchi" not in body and "Messaggio privato" not in body


def test_learners_get_403_on_every_teacher_page(launch_as, app):
    giulia = launch_as("giulia")
    teacher_rules = [rule for rule in app.url_map.iter_rules()
                     if rule.endpoint.startswith("dashboard.")]
    assert len(teacher_rules) >= 5
    for rule in teacher_rules:
        path = rule.rule.replace("<int:person_id>", "1").replace("<int:prompt_id>", "1")
        method = "GET" if "GET" in rule.methods else "POST"
        response = giulia.get(path) if method == "GET" else giulia.post(path)
        assert response.status_code == 403, rule.rule


def test_without_a_launch_the_pane_asks_to_open_circolo_again(client):
    response = client.get("/pane")
    assert response.status_code == 401


def test_language_switch_changes_the_launch_locale(launch_as):
    giulia = launch_as("giulia", locale="en")
    response = giulia.post("/pane/language", {"locale": "it", "next": "/pane"})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/pane")
    # The redirect carries the renewed launch (with Italian) for browsers without cookies.
    token = location.split("launch_token=")[1].split("&")[0]
    html = giulia.client.get("/pane", headers={"X-Circolo-Launch": token}).get_data(as_text=True)
    assert '<html lang="it">' in html


def test_language_switch_never_redirects_away(launch_as):
    giulia = launch_as("giulia")
    for target in ("https://evil.example/pane", "//evil.example/x", "/lti/jwks"):
        response = giulia.post("/pane/language", {"locale": "it", "next": target})
        assert response.headers["Location"].startswith("/pane"), target


def test_post_html_is_sanitised_again_when_shown(launch_as, small_course):
    # Stored as sync stores it, but imagine a bad row: what is shown is cleaned at render.
    small_course.discussion(
        "evil", "luca", "Domanda con HTML", days_ago=1,
        text='<p onclick="steal()">Ciao <strong>tutti</strong><script>alert(1)</script>'
             '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">link</a>'
             '<a href="https://example.org/doc">doc</a></p>')
    small_course.session.commit()
    html = launch_as("marco").get("/pane").get_data(as_text=True)
    question = html.split("Domanda con HTML", 1)[1].split("</details>", 1)[0]
    assert "<strong>tutti</strong>" in question
    link = '<a href="https://example.org/doc" rel="noopener noreferrer nofollow">doc</a>'
    assert link in question
    for bad in ("<script", "onclick", "onerror", "javascript:", "<img"):
        assert bad not in question
