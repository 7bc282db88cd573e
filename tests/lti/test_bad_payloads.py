"""The 1EdTech certification's known-bad payloads, one test each, and the must-pass launches."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import select

from middleware.db import database
from middleware.lti.views import KEY_SETS
from middleware.models import Course, Enrolment, Person

from .conftest import (
    CLAIM,
    base_claims,
    forge,
    forged_launch,
    jwks_fetches,
    post_launch,
    refused_check,
    start_login,
)


def assert_refused(response, caplog, code):
    assert 400 <= response.status_code < 500, response.status_code
    page = response.get_data(as_text=True)
    assert "<h1" in page and "Traceback" not in page
    assert refused_check(caplog) == code


def test_1_no_kid_in_header(browser, forging_key, caplog):
    assert_refused(forged_launch(browser, forging_key, kid=None), caplog, "token_no_kid")


def test_2_kid_not_in_the_platform_jwks(browser, lti_app, forging_key, caplog,
                                        serve_platform_jwks):
    assert forged_launch(browser, forging_key).status_code == 302  # JWKS fetched and cached
    assert jwks_fetches(serve_platform_jwks) == 1
    lti_app.extensions[KEY_SETS].cooldown_seconds = 0  # as if the cool-down had passed
    response = forged_launch(browser, forging_key, kid="imsglobal.org.security.badkid")
    assert_refused(response, caplog, "token_unknown_kid")
    assert jwks_fetches(serve_platform_jwks) == 2  # fetched once more, then refused


def test_3_wrong_lti_version(browser, forging_key, caplog):
    response = forged_launch(browser, forging_key, {CLAIM + "version": "1.2.0"})
    assert_refused(response, caplog, "version_unsupported")


def test_4_no_lti_version(browser, forging_key, caplog):
    response = forged_launch(browser, forging_key, remove=[CLAIM + "version"])
    assert_refused(response, caplog, "version_missing")


def test_5_invalid_jwt_and_not_an_lti_message(browser, forging_key, caplog):
    state, _ = start_login(browser)
    assert_refused(post_launch(browser, "this.is.not-a-jwt", state), caplog, "token_malformed")

    state, nonce = start_login(browser)
    now = int(time.time())
    plain_oidc = {"iss": base_claims()["iss"], "aud": base_claims()["aud"], "sub": "11",
                  "nonce": nonce, "iat": now, "exp": now + 60}
    assert_refused(post_launch(browser, forge(plain_oidc, forging_key), state), caplog,
                   "version_missing")


@pytest.mark.parametrize("claim, code", [
    ("aud", "aud_missing"),
    ("iss", "iss_missing"),
    ("sub", "sub_missing"),
    (CLAIM + "deployment_id", "deployment_missing"),
    (CLAIM + "roles", "roles_missing"),
])
def test_6_missing_required_claims(browser, forging_key, caplog, claim, code):
    assert_refused(forged_launch(browser, forging_key, remove=[claim]), caplog, code)


@pytest.mark.parametrize("offsets, code", [
    ((-600, -300), "token_expired"),  # exp long past
    ((+600, +660), "token_not_yet_valid"),  # iat in the future, beyond the leeway
])
def test_7_bad_timestamps(browser, forging_key, caplog, offsets, code):
    now = int(time.time())
    change = {"iat": now + offsets[0], "exp": now + offsets[1]}
    assert_refused(forged_launch(browser, forging_key, change), caplog, code)


def test_8_no_message_type(browser, forging_key, caplog):
    response = forged_launch(browser, forging_key, remove=[CLAIM + "message_type"])
    assert_refused(response, caplog, "message_type_missing")


def test_9_no_roles_claim(browser, forging_key, caplog):
    response = forged_launch(browser, forging_key, remove=[CLAIM + "roles"])
    assert_refused(response, caplog, "roles_missing")


def test_10_no_deployment_id(browser, forging_key, caplog):
    response = forged_launch(browser, forging_key, remove=[CLAIM + "deployment_id"])
    assert_refused(response, caplog, "deployment_missing")


def test_11_no_resource_link_id(browser, forging_key, caplog):
    response = forged_launch(browser, forging_key, {CLAIM + "resource_link": {"title": "x"}})
    assert_refused(response, caplog, "resource_link_missing")
    response = forged_launch(browser, forging_key, remove=[CLAIM + "resource_link"])
    assert_refused(response, caplog, "resource_link_missing")


def test_12_no_sub(browser, forging_key, caplog):
    assert_refused(forged_launch(browser, forging_key, remove=["sub"]), caplog, "sub_missing")
    assert_refused(forged_launch(browser, forging_key, {"sub": ""}), caplog, "sub_missing")


def test_unknown_deployment_is_refused(browser, forging_key, caplog):
    params = {"iss": base_claims()["iss"], "login_hint": "11",
              "target_link_uri": base_claims()[CLAIM + "target_link_uri"],
              "client_id": base_claims()["aud"]}  # no lti_deployment_id at login
    response = forged_launch(browser, forging_key, {CLAIM + "deployment_id": "42"},
                             params=params)
    assert_refused(response, caplog, "deployment_unknown")


def test_a_token_signed_by_another_key_with_a_known_kid_is_refused(browser, caplog):
    from cryptography.hazmat.primitives.asymmetric import rsa

    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_refused(forged_launch(browser, impostor), caplog, "token_bad_signature")


def test_unsigned_token_is_refused(browser, caplog):
    state, nonce = start_login(browser)
    token = jwt.encode(base_claims(nonce), None, algorithm="none", headers={"kid": "x"})
    assert_refused(post_launch(browser, token, state), caplog, "token_bad_algorithm")


# --- must pass ---------------------------------------------------------------------------------

def enrolment_of(app):
    with app.app_context(), database(app).session() as db:
        enrolment = db.scalar(select(Enrolment))
        return enrolment.role, db.get(Person, enrolment.person_id), db.get(Course,
                                                                           enrolment.course_id)


@pytest.mark.parametrize("roles, role", [
    ([], "learner"),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor", "urn:example:made-up"],
     "learner"),
    (["Instructor"], "teacher"),
    (["Learner"], "learner"),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"],
     "teacher"),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"], "teacher"),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"], "teacher"),
])
def test_empty_unknown_and_short_roles_launch(browser, lti_app, forging_key, roles, role):
    response = forged_launch(browser, forging_key, {CLAIM + "roles": roles})
    assert response.status_code == 302
    assert enrolment_of(lti_app)[0] == role


def test_no_pii_launches(browser, lti_app, forging_key):
    response = forged_launch(browser, forging_key,
                             remove=["name", "given_name", "family_name", "email"])
    assert response.status_code == 302
    _role, person, _course = enrolment_of(lti_app)
    assert person.subject == "11" and person.fullname == "" and person.email is None


def test_no_context_launches(browser, lti_app, forging_key):
    response = forged_launch(browser, forging_key, remove=[CLAIM + "context"])
    assert response.status_code == 302
    _role, _person, course = enrolment_of(lti_app)
    assert course.active and course.moodle_course_id is None
    assert course.context_id.startswith("no-context:")
