"""The launched session: fresh per launch, cookie or signed token, CSRF, roles, no open redirect."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import time_machine

from middleware.lti.session import LAUNCH_TOKEN_MAX_AGE

from .conftest import CLAIM, ISSUER, forged_launch

TEACHER_ROLES = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]


def launch_token_of(response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["launch_token"][0]


def sid_of(client) -> str | None:
    with client.session_transaction() as session:
        return (session.get("launch") or {}).get("sid")


def test_each_launch_starts_a_fresh_session(browser, forging_key):
    with browser.session_transaction() as session:
        session["launch"] = {"sid": "planted-by-attacker"}
        session["planted"] = "value"
    forged_launch(browser, forging_key)
    first = sid_of(browser)
    with browser.session_transaction() as session:
        assert "planted" not in session
    assert first and first != "planted-by-attacker"
    forged_launch(browser, forging_key)
    assert sid_of(browser) not in {first, None}


def test_session_cookie_is_third_party_ready(browser, forging_key):
    response = forged_launch(browser, forging_key)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("circolo_session="))
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned"):
        assert attribute in session_cookie
    # The login's state cookie is removed.
    assert any(c.startswith("circolo_lti_state_") and "Max-Age=0" in c for c in cookies)


def test_cookie_session_links_need_no_token(browser, forging_key):
    forged_launch(browser, forging_key)
    data = browser.get("/probe/whoami").get_json()
    assert data["next"] == "/probe/whoami"
    assert 'name="launch_token"' not in data["fields"] and 'name="csrf_token"' in data["fields"]


def test_cookieless_browser_keeps_its_launch_through_the_token(cookieless_browser, forging_key):
    response = forged_launch(cookieless_browser, forging_key)
    assert response.status_code == 302
    token = launch_token_of(response)
    assert cookieless_browser.get("/probe/whoami").status_code == 401

    page = cookieless_browser.get("/probe/whoami", query_string={"launch_token": token})
    assert page.status_code == 200
    data = page.get_json()
    assert data["launch"]["role"] == "learner"
    assert page.headers["Content-Security-Policy"].endswith(f"frame-ancestors 'self' {ISSUER}")
    # Its own links and forms carry a fresh token, so the next click works too.
    next_token = parse_qs(urlsplit(data["next"]).query)["launch_token"][0]
    assert 'name="launch_token"' in data["fields"]
    assert cookieless_browser.get("/probe/whoami",
                                  headers={"X-Circolo-Launch": next_token}).status_code == 200


def test_expired_or_forged_launch_token_is_refused(cookieless_browser, forging_key):
    token = launch_token_of(forged_launch(cookieless_browser, forging_key))
    with time_machine.travel(time.time() + LAUNCH_TOKEN_MAX_AGE + 5):
        expired = cookieless_browser.get("/probe/whoami", query_string={"launch_token": token})
    assert expired.status_code == 401
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert cookieless_browser.get("/probe/whoami",
                                  query_string={"launch_token": forged}).status_code == 401


def test_a_token_keeps_its_own_course_when_the_cookie_holds_another(browser, forging_key):
    first = launch_token_of(forged_launch(browser, forging_key))
    other_course = {CLAIM + "context": {"id": "77", "title": "Another course"}}
    forged_launch(browser, forging_key, other_course)
    cookie_course = browser.get("/probe/whoami").get_json()["launch"]["course_id"]
    framed = browser.get("/probe/whoami", query_string={"launch_token": first}).get_json()
    assert framed["launch"]["course_id"] != cookie_course
    assert "launch_token=" in framed["next"]


def test_csrf_is_required_on_posts(browser, forging_key):
    forged_launch(browser, forging_key)
    missing = browser.post("/probe/form", data={"value": "x"})
    # The launch was in Italian: so is the page.
    assert missing.status_code == 400 and "non proviene da Circolo" in missing.get_data(True)
    wrong = browser.post("/probe/form", data={"value": "x", "csrf_token": "0" * 64})
    assert wrong.status_code == 400
    fields = browser.get("/probe/whoami").get_json()["fields"]
    token = fields.split('name="csrf_token" value="')[1].split('"')[0]
    assert browser.post("/probe/form", data={"value": "x", "csrf_token": token}).status_code == 200
    assert browser.post("/probe/form", data={"value": "x"},
                        headers={"X-CSRF-Token": token}).status_code == 200


def test_csrf_token_of_another_launch_is_refused(browser, forging_key):
    forged_launch(browser, forging_key)
    fields = browser.get("/probe/whoami").get_json()["fields"]
    old = fields.split('name="csrf_token" value="')[1].split('"')[0]
    forged_launch(browser, forging_key)
    assert browser.post("/probe/form", data={"csrf_token": old}).status_code == 400


def test_cookieless_form_posts_with_token_and_csrf(cookieless_browser, forging_key):
    token = launch_token_of(forged_launch(cookieless_browser, forging_key))
    fields = cookieless_browser.get("/probe/whoami",
                                    query_string={"launch_token": token}).get_json()["fields"]
    values = dict(part.split('" value="') for part in
                  fields.replace('<input type="hidden" name="', "").split('">') if part)
    response = cookieless_browser.post("/probe/form", data={**values, "value": "ok"})
    assert response.status_code == 200 and response.get_data(True) == "saved ok"


def test_teacher_pages_refuse_learners(browser, forging_key):
    forged_launch(browser, forging_key)
    assert browser.get("/probe/teacher").status_code == 403
    forged_launch(browser, forging_key, {CLAIM + "roles": TEACHER_ROLES})
    assert browser.get("/probe/teacher").status_code == 200


def test_pages_without_a_launch_are_refused(browser):
    assert browser.get("/probe/whoami").status_code == 401
    assert browser.get("/probe/teacher").status_code == 401


def test_teachers_land_on_the_dashboard_unless_the_link_asks_for_the_pane(browser, forging_key):
    teacher = {CLAIM + "roles": TEACHER_ROLES}
    assert urlsplit(forged_launch(browser, forging_key, teacher).headers["Location"]) \
        .path.startswith("/dashboard")
    pane = {**teacher, CLAIM + "custom": {"community_mode": "pane"}}
    assert urlsplit(forged_launch(browser, forging_key, pane).headers["Location"]) \
        .path.startswith("/pane")
    learner_asking = {CLAIM + "custom": {"community_mode": "dashboard"}}
    assert urlsplit(forged_launch(browser, forging_key, learner_asking).headers["Location"]) \
        .path.startswith("/pane")


def test_launches_never_redirect_off_site(browser, forging_key):
    for custom in ({"community_mode": "https://evil.example/"},
                   {"community_mode": "//evil.example"},
                   {"next": "https://evil.example/", "redirect": "https://evil.example/"}):
        response = forged_launch(browser, forging_key, {CLAIM + "custom": custom})
        location = urlsplit(response.headers["Location"])
        assert response.status_code == 302 and not location.netloc
        assert location.path.startswith("/pane")
    # target_link_uri pointing elsewhere is refused at login already.
    response = browser.post("/lti/login", data={"iss": ISSUER, "login_hint": "11",
                                                "target_link_uri": "https://evil.example/"})
    assert response.status_code == 400


def test_open_in_a_new_window_starts_a_first_party_session(cookieless_browser, browser,
                                                           forging_key, lti_app):
    token = launch_token_of(forged_launch(cookieless_browser, forging_key))
    with lti_app.test_request_context("/", query_string={"launch_token": token}):
        from middleware.lti.session import new_window_url

        url = new_window_url()
    assert url.startswith("/lti/resume?launch_token=")
    response = browser.get(url)  # the new top-level window keeps cookies
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path \
        .startswith("/pane")
    assert sid_of(browser) is not None
    assert browser.get("/probe/whoami").status_code == 200


def test_template_macros_carry_fields_and_the_new_window_link(cookieless_browser, forging_key,
                                                              lti_app):
    from flask import render_template_string

    token = launch_token_of(forged_launch(cookieless_browser, forging_key))
    template = ('{% import "lti/macros.html" as lti %}<form>{{ lti.launch_fields() }}</form>'
                '{{ lti.open_in_new_window() }}')
    with lti_app.test_request_context("/", query_string={"launch_token": token}):
        lti_app.preprocess_request()
        page = render_template_string(template)
    assert 'name="csrf_token"' in page and 'name="launch_token"' in page
    assert 'href="/lti/resume?launch_token=' in page and 'target="_blank"' in page
    assert "Apri in una nuova finestra" in page  # the launch was in Italian


def test_the_expired_page_still_shows_in_the_platform_frame(cookieless_browser, forging_key):
    token = launch_token_of(forged_launch(cookieless_browser, forging_key))
    with time_machine.travel(time.time() + LAUNCH_TOKEN_MAX_AGE + 5):
        expired = cookieless_browser.get("/probe/whoami", query_string={"launch_token": token})
    assert expired.status_code == 401
    assert expired.headers["Content-Security-Policy"].endswith(f"frame-ancestors 'self' {ISSUER}")
