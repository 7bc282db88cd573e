"""Fuzz the LTI endpoints: whatever arrives, the answer is a 4xx page and no session starts.

Malformed JWTs (random text, broken base64, headers that are not JSON objects, `alg: none`,
HS256 keyed with the platform's public key), correctly signed tokens with a wrong type in one
claim, huge tokens and huge claims, and junk sent to `/lti/login` and `/lti/register`. Example
counts are bounded and derandomised so the suite stays fast and repeatable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from typing import Any

import pytest
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from middleware.db import database
from middleware.models import Course, Enrolment, Person, Platform
from tests.lti.conftest import (
    BROWSER,
    CLAIM,
    CLIENT_ID,
    FORGED_KID,
    ISSUER,
    LOGIN_PARAMS,
    base_claims,
    post_launch,
    start_login,
)

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=15)
SESSION_COOKIE = "circolo_session"


# --- what every answer must be ----------------------------------------------------------------

def client_of(app):
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=BROWSER["User-Agent"])
    return client


def launched_rows(app) -> tuple[int, int]:
    with app.app_context(), database(app).session() as session:
        return (session.scalar(select(func.count(Person.id))),
                session.scalar(select(func.count(Enrolment.id))))


def assert_refused(app, client, response, before: tuple[int, int] = (0, 0)) -> None:
    """A 4xx page, no stack trace, no session cookie, nobody (more) recorded as launched."""
    assert 400 <= response.status_code < 500, (response.status_code,
                                               response.get_data(as_text=True)[:500])
    assert "Traceback" not in response.get_data(as_text=True)
    cookies = " ".join(response.headers.getlist("Set-Cookie"))
    assert SESSION_COOKIE + "=" not in cookies.replace(SESSION_COOKIE + "=;", "")
    assert client.get_cookie(SESSION_COOKIE) is None
    assert launched_rows(app) == before


def assert_not_broken(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert "Traceback" not in response.get_data(as_text=True)


# --- strategies -------------------------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_b64(value: Any) -> str:
    return b64(json.dumps(value).encode())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=8)
not_strings = json_values.filter(lambda v: not isinstance(v, str))
segment = st.one_of(st.binary(max_size=80).map(b64), st.text(max_size=60),
                    st.text(alphabet=string.ascii_letters + string.digits + "-_=+/", max_size=60))
junk_tokens = st.one_of(
    st.text(max_size=300),
    st.lists(segment, min_size=1, max_size=5).map(".".join),
    st.tuples(json_values.map(json_b64), json_values.map(json_b64), segment).map(".".join),
)
algorithms = st.sampled_from(["none", "None", "NONE", "HS256", "HS512", "RS512", "ES256",
                              "PS256", "", "RS256 "]) | st.text(max_size=10)
headers = st.one_of(
    not_strings.filter(lambda v: not isinstance(v, dict)),
    st.fixed_dictionaries({"alg": algorithms | not_strings},
                          optional={"kid": st.just(FORGED_KID) | json_values,
                                    "typ": json_values}),
)


def forge(claims: Any, key: Any, header: Any = None) -> str:
    """Sign anything with RS256 (PyJWT's encoder refuses some wrong types we need to send)."""
    signing_input = ".".join((json_b64(header or {"alg": "RS256", "kid": FORGED_KID}),
                              json_b64(claims)))
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


# --- malformed tokens ---------------------------------------------------------------------------

@FUZZ
@given(token=junk_tokens)
def test_junk_id_tokens_are_refused(lti_app, token):
    client = client_of(lti_app)
    state, _ = start_login(client)
    assert_refused(lti_app, client, post_launch(client, token, state))


@FUZZ
@given(header=headers, signature=st.binary(max_size=300))
def test_tokens_with_bad_headers_are_refused(lti_app, header, signature):
    client = client_of(lti_app)
    state, nonce = start_login(client)
    token = ".".join((json_b64(header), json_b64(base_claims(nonce)), b64(signature)))
    assert_refused(lti_app, client, post_launch(client, token, state))


@FEW
@given(token=junk_tokens, state=st.text(max_size=200))
def test_junk_without_a_login_is_refused(lti_app, token, state):
    client = client_of(lti_app)
    assert_refused(lti_app, client, client.post("/lti/launch",
                                                data={"id_token": token, "state": state}))


@pytest.mark.parametrize("header", [{"alg": "none", "kid": FORGED_KID}, {"alg": "none"}])
def test_unsigned_tokens_are_refused(lti_app, header):
    client = client_of(lti_app)
    state, nonce = start_login(client)
    token = f"{json_b64(header)}.{json_b64(base_claims(nonce))}."
    assert_refused(lti_app, client, post_launch(client, token, state))


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_hs256_keyed_with_the_platform_public_key_is_refused(lti_app, forging_key, encoding):
    """The classic key-confusion attack: HMAC with the public key the tool verifies with."""
    public = forging_key.public_key().public_bytes(
        encoding, serialization.PublicFormat.SubjectPublicKeyInfo)
    client = client_of(lti_app)
    state, nonce = start_login(client)
    signing_input = f"{json_b64({'alg': 'HS256', 'kid': FORGED_KID, 'typ': 'JWT'})}." \
                    f"{json_b64(base_claims(nonce))}"
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(signature)}"
    assert_refused(lti_app, client, post_launch(client, token, state))


# --- wrong types in correctly signed tokens ---------------------------------------------------

def _set(claims: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    node = claims
    for name in path[:-1]:
        node = node.setdefault(name, {})
    node[path[-1]] = value
    return claims


strings = st.text(max_size=40)
#: Claims a launch cannot do without, with values of every wrong type for them.
REQUIRED = {
    ("iss",): not_strings,
    ("aud",): st.one_of(st.integers(), st.none(), st.booleans(), st.dictionaries(strings, strings),
                        st.lists(st.integers(), min_size=1, max_size=3)),
    ("sub",): not_strings,
    ("exp",): st.one_of(strings, st.none(), st.lists(st.integers(), max_size=2),
                        st.dictionaries(strings, st.integers(), max_size=2)),
    ("iat",): st.one_of(strings, st.none(), st.lists(st.integers(), max_size=2),
                        st.dictionaries(strings, st.integers(), max_size=2)),
    ("nonce",): json_values,
    (CLAIM + "deployment_id",): not_strings,
    (CLAIM + "message_type",): json_values,
    (CLAIM + "version",): json_values,
    (CLAIM + "target_link_uri",): json_values,
    (CLAIM + "roles",): json_values.filter(lambda v: not isinstance(v, list)),
    (CLAIM + "resource_link",): json_values.filter(lambda v: not isinstance(v, dict)),
    (CLAIM + "resource_link", "id"): st.one_of(st.none(), st.booleans(), st.just(""),
                                               st.floats(allow_nan=False),
                                               st.lists(json_values, max_size=3),
                                               st.dictionaries(strings, json_values, max_size=3)),
    (CLAIM + "context", "id"): st.one_of(st.booleans(), st.floats(allow_nan=False),
                                         st.lists(json_values, max_size=3),
                                         st.dictionaries(strings, json_values, max_size=3)),
}


@FUZZ
@given(path=st.sampled_from(sorted(REQUIRED)), data=st.data())
def test_a_wrong_type_in_a_required_claim_is_refused(lti_app, forging_key, path, data):
    value = data.draw(REQUIRED[path], label=".".join(path))
    client = client_of(lti_app)
    state, nonce = start_login(client)
    claims = _set(base_claims(nonce), path, value)
    before = launched_rows(lti_app)
    response = post_launch(client, forge(claims, forging_key), state)
    assert_refused(lti_app, client, response, before)


#: Claims a launch can do without: a wrong type is ignored (or refused), never a crash.
OPTIONAL = [("name",), ("given_name",), ("family_name",), ("email",), ("azp",), ("nbf",),
            (CLAIM + "context",), (CLAIM + "context", "title"), (CLAIM + "context", "label"),
            (CLAIM + "context", "type"), (CLAIM + "resource_link", "title"),
            (CLAIM + "launch_presentation",), (CLAIM + "launch_presentation", "locale"),
            (CLAIM + "launch_presentation", "return_url"), (CLAIM + "tool_platform",),
            (CLAIM + "custom",), (CLAIM + "roles",), (CLAIM + "lis",),
            ("https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice",),
            ("https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",)]


def assert_launch_kept_only_text(app) -> None:
    """A launch that ignored a malformed optional claim stored strings within their columns."""
    with app.app_context(), database(app).session() as session:
        for person in session.scalars(select(Person)):
            assert isinstance(person.fullname, str) and len(person.fullname) <= 512
            assert person.email is None or (isinstance(person.email, str)
                                            and len(person.email) <= 512)
            assert len(person.lang) <= 16 and "\x00" not in person.fullname
        for course in session.scalars(select(Course)):
            assert len(course.context_id) <= 255 and len(course.title) <= 512
            assert len(course.label) <= 255


@FUZZ
@given(path=st.sampled_from(OPTIONAL), value=json_values)
def test_a_wrong_type_in_an_optional_claim_never_breaks_the_launch(lti_app, forging_key, path,
                                                                   value):
    client = client_of(lti_app)
    state, nonce = start_login(client)
    claims = _set(base_claims(nonce), path, value)
    before = launched_rows(lti_app)
    response = post_launch(client, forge(claims, forging_key), state)
    assert_not_broken(response)
    if response.status_code == 302:
        assert_launch_kept_only_text(lti_app)
    else:
        assert_refused(lti_app, client, response, before)


# --- huge tokens and huge claims ------------------------------------------------------------

def test_a_token_beyond_the_request_limit_is_refused(lti_app, forging_key):
    limit = lti_app.config["MAX_CONTENT_LENGTH"]
    client = client_of(lti_app)
    state, nonce = start_login(client)
    claims = {**base_claims(nonce), "name": "x" * limit}
    response = post_launch(client, forge(claims, forging_key), state)
    assert response.status_code == 413
    assert_refused(lti_app, client, response)
    client = client_of(lti_app)
    assert_refused(lti_app, client, post_launch(client, "a." * (limit // 2 + 10), "s"))


@FEW
@given(size=st.integers(min_value=256, max_value=50_000),
       path=st.sampled_from([("sub",), (CLAIM + "context", "id"),
                             (CLAIM + "resource_link", "id"), (CLAIM + "deployment_id",)]),
       filler=st.sampled_from(["1", "é", "\x00", "𝒞"]))
def test_identifiers_longer_than_lti_allows_are_refused(lti_app, forging_key, size, path,
                                                        filler):
    """LTI caps these identifiers at 255 characters: longer ones are refused, not truncated."""
    client = client_of(lti_app)
    state, nonce = start_login(client)
    claims = _set(base_claims(nonce), path, filler * size)
    before = launched_rows(lti_app)
    response = post_launch(client, forge(claims, forging_key), state)
    assert_refused(lti_app, client, response, before)


@FEW
@given(size=st.integers(min_value=200, max_value=200_000),
       path=st.sampled_from([("name",), ("given_name",), ("email",),
                             (CLAIM + "context", "title"), (CLAIM + "context", "label"),
                             (CLAIM + "resource_link", "title"),
                             (CLAIM + "launch_presentation", "locale"),
                             (CLAIM + "custom", "community_mode")]),
       filler=st.sampled_from(["a", "è", "\x00", "🙂 "]))
def test_huge_display_claims_never_break_the_launch(lti_app, forging_key, size, path, filler):
    client = client_of(lti_app)
    state, nonce = start_login(client)
    claims = _set(base_claims(nonce), path, filler * size)
    before = launched_rows(lti_app)
    response = post_launch(client, forge(claims, forging_key), state)
    assert_not_broken(response)
    if response.status_code == 302:
        assert_launch_kept_only_text(lti_app)
    else:
        assert_refused(lti_app, client, response, before)


@FEW
@given(sub=st.text(min_size=1, max_size=60).filter(lambda s: s.strip()))
def test_any_short_subject_either_launches_or_is_refused_cleanly(lti_app, forging_key, sub):
    client = client_of(lti_app)
    state, nonce = start_login(client)
    before = launched_rows(lti_app)
    response = post_launch(client, forge({**base_claims(nonce), "sub": sub}, forging_key), state)
    assert_not_broken(response)
    if response.status_code != 302:
        assert_refused(lti_app, client, response, before)


# --- login and registration junk ---------------------------------------------------------------

login_values = st.one_of(st.text(max_size=80), st.just(ISSUER), st.just(CLIENT_ID),
                         st.just(LOGIN_PARAMS["target_link_uri"]),
                         st.text(max_size=3000).map(lambda s: LOGIN_PARAMS["target_link_uri"]
                                                    + "/" + s))
login_params = st.dictionaries(st.sampled_from(sorted(LOGIN_PARAMS) + ["junk"]), login_values,
                               max_size=7)


@FUZZ
@given(params=login_params, method=st.sampled_from(["GET", "POST"]))
def test_login_junk_never_breaks_the_login(lti_app, params, method):
    client = client_of(lti_app)
    if method == "GET":
        response = client.get("/lti/login", query_string=params)
    else:
        response = client.post("/lti/login", data=params)
    assert_not_broken(response)
    if response.status_code != 302:
        assert_refused(lti_app, client, response)
    assert client.get_cookie(SESSION_COOKIE) is None


CONFIGURATION = "http://moodle.fuzz/mod/lti/openid-configuration.php"


def valid_configuration() -> dict[str, Any]:
    return {
        "issuer": "http://moodle.fuzz",
        "authorization_endpoint": "http://moodle.fuzz/mod/lti/auth.php",
        "registration_endpoint": "http://moodle.fuzz/mod/lti/openid-registration.php",
        "jwks_uri": "http://moodle.fuzz/mod/lti/certs.php",
        "token_endpoint": "http://moodle.fuzz/mod/lti/token.php",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"], "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "name"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "moodle", "version": "4.4",
            "messages_supported": [{"type": "LtiResourceLinkRequest"},
                                   {"type": "LtiDeepLinkingRequest"}],
            "variables": []},
    }


@FEW
@given(args=st.dictionaries(st.sampled_from(["openid_configuration", "registration_token",
                                             "junk"]),
                            st.text(max_size=200) | st.just(CONFIGURATION), max_size=3))
def test_registration_junk_is_refused(lti_app, http_mock, args):
    http_mock.upsert(responses.GET, CONFIGURATION, body="<html>not json</html>")
    client = client_of(lti_app)
    response = client.get("/lti/register", query_string=args)
    assert_refused(lti_app, client, response)
    with lti_app.app_context(), database(lti_app).session() as session:
        assert session.scalar(select(func.count(Platform.id))) == 1  # only the registered one


@FEW
@given(key=st.sampled_from(sorted(valid_configuration())), value=json_values,
       registration=json_values)
def test_a_platform_configuration_with_wrong_types_never_breaks_registration(
        lti_app, http_mock, key, value, registration):
    http_mock.upsert(responses.GET, CONFIGURATION, json={**valid_configuration(), key: value})
    http_mock.upsert(responses.POST, "http://moodle.fuzz/mod/lti/openid-registration.php",
                     json=registration)
    client = client_of(lti_app)
    response = client.get("/lti/register", query_string={"openid_configuration": CONFIGURATION,
                                                         "registration_token": "t0ken"})
    assert_not_broken(response)


@pytest.mark.parametrize("name", ["iss", "client_id", "target_link_uri", "lti_deployment_id",
                                  "login_hint", "lti_message_hint"])
def test_a_nul_character_in_a_login_parameter_is_refused_or_harmless(lti_app, name):
    """PostgreSQL refuses NUL in text: such a value must never reach a query."""
    client = client_of(lti_app)
    params = {**LOGIN_PARAMS, name: LOGIN_PARAMS[name] + "\x00"}
    response = client.post("/lti/login", data=params)
    assert_not_broken(response)
    if name in ("iss", "client_id", "target_link_uri", "lti_deployment_id"):
        assert_refused(lti_app, client, response)


def test_a_nul_character_in_the_state_is_refused(lti_app, forging_key):
    client = client_of(lti_app)
    state, nonce = start_login(client)
    response = post_launch(client, forge(base_claims(nonce), forging_key), state + "\x00")
    assert_refused(lti_app, client, response)
