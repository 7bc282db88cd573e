"""The whole login → launch flow on the real Moodle launches, and what it leaves behind."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from sqlalchemy import select

from middleware.db import database
from middleware.lti import operations
from middleware.models import Course, Enrolment, LoginState, Person
from middleware.signals import course_activated

from .conftest import (
    AUTH_URL,
    CLAIM,
    CLIENT_ID,
    ISSUER,
    LOGIN_PARAMS,
    base_claims,
    forge,
    forged_launch,
    post_launch,
    refused_check,
    start_login,
)


@pytest.fixture
def activations():
    received = []

    def receiver(sender, course_id):
        received.append(course_id)

    course_activated.connect(receiver)
    yield received
    course_activated.disconnect(receiver)


def session_launch(client):
    with client.session_transaction() as session:
        return dict(session.get("launch") or {}), session.get("locale")


def landing_of(recorded):
    """Where Circolo lands a recorded launch: its activity's community_mode, or deep linking."""
    claims = recorded["claims"]
    if claims[CLAIM + "message_type"] == "LtiDeepLinkingRequest":
        return "/lti/deep-link"
    return {"pane": "/pane", "dashboard": "/dashboard"}[
        claims[CLAIM + "custom"]["community_mode"]]


@pytest.mark.parametrize(("name", "role"), [
    ("learner", "learner"),
    # Moodle 4.4's instructor launch is of a community_mode=pane activity (the teacher lands
    # on the pane), Moodle 4.5's of the dashboard activity.
    ("instructor", "teacher"),
    ("deep_linking", "teacher"),
])
def test_recorded_moodle_launch_goes_through(browser, lti_app, recorded_flow, moodle_launch,
                                             activations, name, role):
    recorded = moodle_launch(name)
    claims = recorded["claims"]
    with time_machine.travel(claims["iat"], tick=False):
        response = recorded_flow(browser, name)
        assert response.status_code == 302, response.get_data(as_text=True)
        location = urlsplit(response.headers["Location"])
        assert location.path.rstrip("/") == landing_of(recorded) and not location.netloc
        assert "launch_token" in parse_qs(location.query)

        launch, locale = session_launch(browser)
        assert launch["role"] == role
        assert locale == claims[CLAIM + "launch_presentation"]["locale"]
        assert launch["platform_origin"] == claims["iss"]
        with lti_app.app_context(), database(lti_app).session() as db:
            course = db.scalar(select(Course))
            person = db.get(Person, launch["person_id"])
            enrolment = db.scalar(select(Enrolment))
            assert course.id == launch["course_id"] and course.active and course.context_id == "2"
            assert course.moodle_course_id == 2 and course.title.startswith("Didattica online")
            assert person.subject == claims["sub"]
            assert enrolment.role == role and enrolment.person_id == person.id
            assert db.scalar(select(LoginState)).consumed_at is not None
        assert activations == [course.id]

        # The page the launch lands on is framed by that Moodle only.
        page = browser.get("/probe/whoami")
        assert page.status_code == 200
        policy = page.headers["Content-Security-Policy"]
        assert f"frame-ancestors 'self' {claims['iss']}" in policy


def test_a_second_launch_does_not_activate_again(browser, recorded_flow, moodle_launch,
                                                 activations):
    for name in ("learner", "instructor"):  # two people of one course, each at their time
        with time_machine.travel(moodle_launch(name)["claims"]["iat"], tick=False):
            assert recorded_flow(browser, name).status_code == 302
        assert len(activations) == 1


def test_login_redirects_to_the_platform_with_every_oidc_parameter(browser):
    response = browser.post("/lti/login", data=LOGIN_PARAMS)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == AUTH_URL
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert query == {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none", "client_id": CLIENT_ID,
        "redirect_uri": "http://127.0.0.1:8090/lti/launch", "login_hint": "11",
        "lti_message_hint": LOGIN_PARAMS["lti_message_hint"],
        "state": query["state"], "nonce": query["nonce"],
    }
    assert len(query["state"]) >= 32 and query["state"] != query["nonce"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("circolo_lti_state_" + query["state"] + "=")
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/lti/"):
        assert attribute in cookie


def test_login_accepts_get_too(browser):
    response = browser.get("/lti/login", query_string=LOGIN_PARAMS)
    assert response.status_code == 302 and response.headers["Location"].startswith(AUTH_URL)


@pytest.mark.parametrize("change, code", [
    ({"iss": "http://unknown.example"}, "platform_unknown"),
    ({"client_id": "another-client"}, "platform_unknown"),
    ({"lti_deployment_id": "99"}, "deployment_unknown"),
    ({"login_hint": ""}, "login_param_missing"),
    ({"target_link_uri": "https://evil.example/launch"}, "target_link_uri_foreign"),
])
def test_login_refuses_what_it_cannot_trust(browser, caplog, change, code):
    caplog.set_level(logging.INFO)
    response = browser.post("/lti/login", data={**LOGIN_PARAMS, **change})
    assert response.status_code == 400
    assert "Circolo could not open" in response.get_data(as_text=True)
    assert refused_check(caplog) == code


def test_replayed_launch_is_refused(browser, forging_key, caplog):
    state, nonce = start_login(browser)
    token = forge(base_claims(nonce), forging_key)
    assert post_launch(browser, token, state).status_code == 302
    replay = post_launch(browser, token, state)
    assert replay.status_code == 400 and refused_check(caplog) == "state_used"


def test_the_old_token_with_a_new_login_is_refused(browser, forging_key, caplog):
    state, nonce = start_login(browser)
    token = forge(base_claims(nonce), forging_key)
    assert post_launch(browser, token, state).status_code == 302
    new_state, _ = start_login(browser)
    assert post_launch(browser, token, new_state).status_code == 400
    assert refused_check(caplog) == "nonce_mismatch"


def test_wrong_or_missing_state_is_refused(browser, forging_key, caplog):
    _state, nonce = start_login(browser)
    token = forge(base_claims(nonce), forging_key)
    assert post_launch(browser, token, "made-up-state").status_code == 400
    assert refused_check(caplog) == "state_unknown"
    assert post_launch(browser, token, "").status_code == 400
    assert refused_check(caplog) == "state_missing"


def test_expired_state_is_refused(browser, forging_key, caplog):
    state, nonce = start_login(browser)
    with time_machine.travel(time_now() + operations.LOGIN_STATE_TTL_SECONDS + 5, tick=False):
        token = forge(base_claims(nonce), forging_key)
        assert post_launch(browser, token, state).status_code == 400
    assert refused_check(caplog) == "state_expired"


def test_a_state_is_spent_even_when_the_launch_fails(browser, forging_key, caplog):
    state, nonce = start_login(browser)
    bad = forge({**base_claims(nonce), "aud": "someone-else"}, forging_key)
    assert post_launch(browser, bad, state).status_code == 400
    good = forge(base_claims(nonce), forging_key)
    assert post_launch(browser, good, state).status_code == 400
    assert refused_check(caplog) == "state_used"


def test_expired_token_is_refused(browser, forging_key, caplog):
    response = forged_launch(browser, forging_key,
                             {"iat": int(time_now()) - 600, "exp": int(time_now()) - 300})
    assert response.status_code == 400 and refused_check(caplog) == "token_expired"


def test_state_started_in_another_browser_is_refused(browser, lti_app, forging_key, caplog):
    # The attacker's browser starts a login and hands its state to the victim's browser.
    attacker = lti_app.test_client()
    state, nonce = start_login(attacker)
    start_login(browser)  # the victim's browser does keep our cookies
    response = post_launch(browser, forge(base_claims(nonce), forging_key), state)
    assert response.status_code == 400 and refused_check(caplog) == "state_not_bound"


def test_cookieless_launch_needs_the_same_browser(cookieless_browser, forging_key, caplog):
    state, nonce = start_login(cookieless_browser)
    token = forge(base_claims(nonce), forging_key)
    response = post_launch(cookieless_browser, token, state, **{"User-Agent": "curl/8"})
    assert response.status_code == 400 and refused_check(caplog) == "state_not_bound"


def test_error_page_speaks_the_launch_language(browser, forging_key):
    change = {"aud": "someone-else",
              CLAIM + "launch_presentation": {"locale": "it_IT"}}
    page = forged_launch(browser, forging_key, change).get_data(as_text=True)
    assert 'lang="it"' in page and "Circolo non si è aperto" in page


def test_error_page_without_a_token_follows_the_browser_language(browser):
    response = browser.post("/lti/launch", data={"state": "x"},
                            headers={"Accept-Language": "it-IT,it;q=0.9"})
    assert response.status_code == 400 and 'lang="it"' in response.get_data(as_text=True)
    response = browser.post("/lti/launch", data={"state": "x"},
                            headers={"Accept-Language": "en-GB"})
    assert 'lang="en"' in response.get_data(as_text=True)


def test_launch_only_accepts_post(browser):
    assert browser.get("/lti/launch").status_code == 405


def time_now() -> float:
    import time

    return time.time()


def test_refusal_pages_can_show_inside_the_platform_frame(browser, forging_key):
    refused = forged_launch(browser, forging_key, {"aud": "someone-else"})
    assert f"frame-ancestors 'self' {ISSUER}" in refused.headers["Content-Security-Policy"]
    unknown = browser.post("/lti/login", data={**LOGIN_PARAMS, "client_id": "other"})
    assert f"frame-ancestors 'self' {ISSUER}" in unknown.headers["Content-Security-Policy"]
    garbage = browser.post("/lti/launch", data={"state": "x", "id_token": "not-a-jwt"})
    assert garbage.headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")


def test_configured_leeway_applies_to_launches(browser, recorded_flow, moodle_launch, caplog):
    # Moodle's token lives 60 s; CIRCOLO_LTI_LEEWAY (60 by default) absorbs a late clock.
    claims = moodle_launch("learner")["claims"]
    with time_machine.travel(claims["exp"] + 30, tick=False):
        assert recorded_flow(browser, "learner").status_code == 302


def test_beyond_the_leeway_the_recorded_launch_is_expired(browser, lti_app, recorded_flow,
                                                          moodle_launch, caplog):
    claims = moodle_launch("learner")["claims"]
    with time_machine.travel(claims["exp"] + lti_app.config["CIRCOLO"].lti_leeway_seconds + 1,
                             tick=False):
        assert recorded_flow(browser, "learner").status_code == 400
    assert refused_check(caplog) == "token_expired"
