"""The teacher's mentoring pages: rules, review queue, wordings, log, outcomes; learners refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from middleware.mentoring import delivery, operations
from middleware.models import MentoringPrompt, MentoringSettings, MessageTemplate, OutboxMessage

from .builders import NOW
from .conftest import routed_course
from .fake_moodle import FakeMoodle

PAGES = ["/dashboard/mentoring/", "/dashboard/mentoring/review", "/dashboard/mentoring/templates",
         "/dashboard/mentoring/templates/route_peer/it", "/dashboard/mentoring/log",
         "/dashboard/mentoring/outcomes"]


@pytest.fixture
def course(world):
    routed_course(world, questions=2)
    world.session.commit()
    return world


@pytest.mark.parametrize("path", PAGES)
def test_teacher_pages_render_accessibly(course, launch_as, path):
    response = launch_as("teacher").get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1 and 'lang="en"' in html
    for field in re.findall(r'<(?:input|select|textarea)[^>]*id="([^"]+)"', html):
        assert f'for="{field}"' in html, f"no label for {field}"
    assert "<script" not in html and "style=" not in html


@pytest.mark.parametrize("path", PAGES)
def test_learners_are_refused(course, launch_as, path):
    assert launch_as("bruno").get(path).status_code == 403


def test_without_a_launch_the_pages_ask_to_open_circolo_again(course, client):
    assert client.get("/dashboard/mentoring/").status_code == 401


def test_learners_cannot_post_to_teacher_forms(course, launch_as):
    response = launch_as("bruno").post("/dashboard/mentoring/", {"mode": "review"})
    assert response.status_code == 403
    assert course.session.get(MentoringSettings, course.course.id).mode == "automatic"


def test_forms_without_csrf_are_refused(course, launch_as):
    response = launch_as("teacher").post("/dashboard/mentoring/", {"mode": "review"}, csrf=False)
    assert response.status_code == 400
    course.session.expire_all()
    assert course.session.get(MentoringSettings, course.course.id).mode == "automatic"


def test_teacher_switches_to_review_first_and_changes_thresholds(course, launch_as):
    form = {"mode": "review", "learner_weekly_cap": "1", "ambassador_weekly_cap": "4",
            "course_daily_cap": "10", "quiet_start_hour": "22", "quiet_end_hour": "7",
            "timezone": "Europe/Rome", "default_lang": "it", "unanswered-enabled": "1",
            "unanswered-hours": "12", "unanswered-peers": "3", "welcome-enabled": "1"}
    response = launch_as("teacher").post("/dashboard/mentoring/", form)
    assert response.status_code == 303 and "done=saved" in response.headers["Location"]
    course.session.expire_all()
    row = course.session.get(MentoringSettings, course.course.id)
    assert (row.mode, row.learner_weekly_cap, row.quiet_end_hour, row.timezone) == \
        ("review", 1, 7, "Europe/Rome")
    assert row.rules["unanswered"]["hours"] == 12 and row.rules["bridging"]["enabled"] is False
    html = launch_as("teacher").get("/dashboard/mentoring/").get_data(as_text=True)
    assert 'value="12"' in html


def test_out_of_bounds_thresholds_are_refused(course, launch_as):
    response = launch_as("teacher").post("/dashboard/mentoring/", {"learner_weekly_cap": "50"})
    assert response.status_code == 400
    course.session.expire_all()
    assert course.session.get(MentoringSettings, course.course.id).learner_weekly_cap == 5


def test_review_queue_approve_edit_and_drop(course, launch_as):
    course.settings(mode="review")
    summary = operations.evaluate_course_rules(course.session, course.course.id, now=NOW)
    course.session.commit()
    assert summary.for_review == 4 and summary.queued == 0
    assert course.session.scalars(select(OutboxMessage)).all() == []
    first, second, third = summary.prompt_ids[:3]
    teacher = launch_as("teacher")
    html = teacher.get("/dashboard/mentoring/review").get_data(as_text=True)
    assert html.count("Approve and send") == 4 and "{link}" in html

    assert teacher.post(f"/dashboard/mentoring/review/{first}/approve").status_code == 303
    edited = "Ciao, ti va di rispondere? {link}"
    assert teacher.post(f"/dashboard/mentoring/review/{second}/approve",
                        {"body": edited}).status_code == 303
    assert teacher.post(f"/dashboard/mentoring/review/{third}/drop").status_code == 303
    assert teacher.post(f"/dashboard/mentoring/review/{third}/approve").status_code == 409

    course.session.expire_all()
    prompts = {p.id: p for p in course.session.scalars(select(MentoringPrompt))}
    assert prompts[first].status == "queued" and prompts[first].outbox.state == "pending"
    assert prompts[second].edited and prompts[second].outbox.text.startswith(
        "<p>Ciao, ti va di rispondere? <a href=")
    assert prompts[third].status == "dropped" and prompts[third].outbox is None
    assert prompts[first].reviewed_by_id == course.people["teacher"].id
    # A dropped prompt is not proposed again.
    assert operations.evaluate_course_rules(course.session, course.course.id,
                                            now=NOW).for_review == 0


def test_wording_preview_save_and_reset(course, launch_as):
    teacher = launch_as("teacher")
    path = "/dashboard/mentoring/templates/route_peer/it"
    body = "Ciao {name}, ci aiuti con «{discussion}»? {link}"
    html = teacher.post(path, {"body": body, "action": "preview"}).get_data(as_text=True)
    assert "Ciao Giulia, ci aiuti con «Come si imposta la bibliografia?»" in html
    assert "Riferimento Circolo" in html
    html = teacher.post(path, {"body": "Ciao {nome} {link}", "action": "save"}
                        ).get_data(as_text=True)
    assert "{nome} is not a placeholder Circolo knows." in html and 'role="alert"' in html
    assert course.session.scalars(select(MessageTemplate)).all() == []
    assert teacher.post(path, {"body": body, "action": "save"}).status_code == 303
    course.session.expire_all()
    assert course.session.scalar(select(MessageTemplate.body)) == body
    # New prompts use the teacher's wording.
    operations.evaluate_course_rules(course.session, course.course.id, now=NOW)
    course.session.commit()
    texts = [r.text for r in course.session.scalars(select(OutboxMessage))
             if r.prompt.lang == "it"]
    assert texts and all("ci aiuti con «" in t for t in texts)
    assert teacher.post(path, {"action": "reset"}).status_code == 303
    course.session.expire_all()
    assert course.session.scalars(select(MessageTemplate)).all() == []


def test_log_shows_who_why_and_moodles_refusal_in_plain_words(course, launch_as):
    operations.evaluate_course_rules(course.session, course.course.id, now=NOW)
    course.session.commit()
    moodle = FakeMoodle()
    blocked = course.session.scalars(select(OutboxMessage)).first()
    moodle.blocked.add(blocked.moodle_user_id)
    delivery.deliver_due(course.session, lambda c: moodle, now=NOW)
    html = launch_as("teacher").get("/dashboard/mentoring/log").get_data(as_text=True)
    assert "enrol the Circolo user in the course" in html
    assert "due to their message preferences" in html  # Moodle's own words too
    assert "this peer is among the best placed" in html
    failed = course.session.scalars(select(OutboxMessage).where(
        OutboxMessage.state == "failed")).all()
    assert failed and html.count("Send again") == len(failed)


def test_outcomes_page_shows_the_figures(course, launch_as, moodle):
    operations.evaluate_course_rules(course.session, course.course.id, now=NOW)
    course.session.commit()
    delivery.deliver_due(course.session, lambda c: moodle, now=NOW)
    html = launch_as("teacher").get("/dashboard/mentoring/outcomes").get_data(as_text=True)
    assert "Questions Circolo routed to peers" in html and "0 of 2 answered" in html


def test_pages_speak_italian(course, app, world):
    from middleware.lti.session import TOKEN_HEADER, Launch, issue_launch_token, new_sid

    launch = Launch(sid=new_sid(), platform_id=world.course.platform_id,
                    platform_origin="http://127.0.0.1:8081", course_id=world.course.id,
                    person_id=world.people["teacher"].id, role="teacher",
                    resource_link_id="rl-1", deployment_id="1", locale="it")
    with app.test_request_context():
        token = issue_launch_token(launch)
    html = app.test_client().get("/dashboard/mentoring/", headers={TOKEN_HEADER: token}
                                 ).get_data(as_text=True)
    assert "Regole" in html or "regole" in html
