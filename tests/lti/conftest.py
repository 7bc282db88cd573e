"""LTI fixtures: the recorded Moodle launches, a forging platform key, a registered platform."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from middleware.db import database
from middleware.models import Deployment, Platform
from tests.conftest import FIXTURES_ROOT, recorded_file

ISSUER = "http://127.0.0.1:8081"
CLIENT_ID = "f7Fe9GlCpiCXwVj"
DEPLOYMENT_ID = "1"
JWKS_URL = ISSUER + "/mod/lti/certs.php"
AUTH_URL = ISSUER + "/mod/lti/auth.php"
TOKEN_URL = ISSUER + "/mod/lti/token.php"
TARGET = "http://127.0.0.1:8090/launch"
MOODLE_KID = "520607d0bca2975d9468"
FORGED_KID = "test-platform-key"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


RECORDED_LAUNCHES = {"learner": "resource_link.learner.json",
                     "instructor": "resource_link.instructor.json",
                     "deep_linking": "deep_linking.instructor.json"}


@pytest.fixture
def moodle_launch(fixtures_dir: Path) -> Callable[[str], dict[str, Any]]:
    """Load one recorded launch of this Moodle version: learner, instructor or deep_linking."""

    def load(name: str) -> dict[str, Any]:
        return json.loads(recorded_file(fixtures_dir, f"lti/{RECORDED_LAUNCHES[name]}")
                          .read_text())

    return load


@pytest.fixture
def moodle_jwks(fixtures_dir: Path) -> dict[str, Any]:
    return json.loads(recorded_file(fixtures_dir, "lti/platform_jwks.json").read_text())


def recorded_site(fixtures_dir: Path) -> SimpleNamespace:
    """The Moodle and the tool a version's launches were recorded with (issuer, client...)."""
    claims = json.loads(recorded_file(fixtures_dir, f"lti/{RECORDED_LAUNCHES['learner']}")
                        .read_text())["claims"]
    issuer = claims["iss"]
    target = claims[CLAIM + "target_link_uri"]
    return SimpleNamespace(issuer=issuer, client_id=claims["aud"],
                           deployment_id=claims[CLAIM + "deployment_id"],
                           jwks_url=issuer + "/mod/lti/certs.php",
                           tool_origin=target[:target.index("/", len("https://"))])


def _recorded_site_for(request: pytest.FixtureRequest) -> SimpleNamespace | None:
    """The recorded site when the test replays recordings (it uses `fixtures_dir`)."""
    if "fixtures_dir" not in request.fixturenames:
        return None
    return recorded_site(request.getfixturevalue("fixtures_dir"))


@pytest.fixture
def settings(settings: Any, request: pytest.FixtureRequest) -> Any:
    """The test settings; a replayed launch's tool was served where it was recorded."""
    site = _recorded_site_for(request)
    if site is None or site.tool_origin == settings.public_base_url:
        return settings
    return settings.with_overrides(public_base_url=site.tool_origin)


@pytest.fixture(scope="session")
def forging_key() -> rsa.RSAPrivateKey:
    """The private key of a test platform, to re-sign modified launches."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _with_forging_key(keys: dict[str, Any], forging_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    forged = RSAAlgorithm.to_jwk(forging_key.public_key(), as_dict=True)
    forged.update(kid=FORGED_KID, alg="RS256", use="sig")
    return {"keys": [*keys["keys"], forged]}


@pytest.fixture
def platform_jwks(forging_key) -> dict[str, Any]:
    """Moodle 4.4's recorded key plus the forging key: what the platform double publishes
    (the forged launches are shaped on that Moodle, whichever version a test replays)."""
    recorded = json.loads((FIXTURES_ROOT / "moodle-4.4" / "lti" / "platform_jwks.json")
                          .read_text())
    return _with_forging_key(recorded, forging_key)


@pytest.fixture
def serve_platform_jwks(http_mock, platform_jwks, forging_key, request):
    """Answer the platform JWKS URL (every fetch is recorded in http_mock.calls), and the
    recorded Moodle's with its own key when the test replays a version's recordings."""
    http_mock.get(JWKS_URL, json=platform_jwks)
    site = _recorded_site_for(request)
    if site is not None and site.jwks_url != JWKS_URL:
        http_mock.get(site.jwks_url, json=_with_forging_key(
            request.getfixturevalue("moodle_jwks"), forging_key))
    return http_mock


def jwks_fetches(http_mock) -> int:
    return sum(1 for call in http_mock.calls if call.request.url == JWKS_URL)


@pytest.fixture
def registered_platform(app, request):
    """Register the recorded Moodle 4.4 (issuer, client_id, deployment 1) in the test database,
    and the Moodle whose recordings the test replays when it is another."""
    site = _recorded_site_for(request)
    sites = [SimpleNamespace(issuer=ISSUER, client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID,
                             jwks_url=JWKS_URL)]
    if site is not None and (site.issuer, site.client_id) != (ISSUER, CLIENT_ID):
        sites.insert(0, site)
    with app.app_context(), database(app).transaction() as session:
        for each in sites:
            platform = Platform(name="Community Test Moodle", issuer=each.issuer,
                                client_id=each.client_id,
                                auth_login_url=each.issuer + "/mod/lti/auth.php",
                                auth_token_url=each.issuer + "/mod/lti/token.php",
                                key_set_url=each.jwks_url)
            platform.deployments.append(Deployment(deployment_id=each.deployment_id))
            session.add(platform)
            session.flush()
            if each is sites[0]:
                first = platform.id
        return first


def base_claims(nonce: str | None = None, *, message_type: str = "LtiResourceLinkRequest",
                now: float | None = None) -> dict[str, Any]:
    """A complete, valid resource-link launch as Moodle builds it (to be broken by tests)."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "nonce": nonce or uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + 60,
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "11",
        CLAIM + "deployment_id": DEPLOYMENT_ID,
        CLAIM + "target_link_uri": TARGET,
        CLAIM + "message_type": message_type,
        CLAIM + "version": "1.3.0",
        CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        CLAIM + "context": {"id": "2", "label": "CDP101", "title": "Didattica online",
                            "type": ["CourseSection"]},
        CLAIM + "resource_link": {"id": "1", "title": "Community pane"},
        CLAIM + "launch_presentation": {"locale": "it", "document_target": "iframe"},
        CLAIM + "tool_platform": {"product_family_code": "moodle"},
        "name": "Chiara Greco",
        "email": "learner7@example.org",
    }
    if message_type == "LtiDeepLinkingRequest":
        claims.pop(CLAIM + "resource_link")
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "accept_types": ["ltiResourceLink"], "accept_multiple": True,
            "deep_link_return_url": ISSUER + "/mod/lti/contentitem_return.php?course=2&id=1",
            "data": "opaque-platform-data",
        }
    return claims


def forge(claims: dict[str, Any], key: rsa.RSAPrivateKey, *, kid: str | None = FORGED_KID,
          algorithm: str = "RS256") -> str:
    """Sign `claims` with the test platform's key (no kid header when kid is None)."""
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


# --- the login → launch flow through the app ---------------------------------------------------

LOGIN_PARAMS = {
    "iss": ISSUER,
    "target_link_uri": TARGET,
    "login_hint": "11",
    "lti_message_hint": '{"cmid":6,"launchid":"ltilaunch1_1045436882"}',
    "client_id": CLIENT_ID,
    "lti_deployment_id": DEPLOYMENT_ID,
}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}


@pytest.fixture
def lti_app(app, registered_platform, serve_platform_jwks):
    """The app with the recorded Moodle registered, its JWKS served, and test-only pages."""
    from flask import Blueprint, jsonify, request

    from middleware.lti.session import (
        current_launch,
        launch_form_fields,
        launch_url_for,
        learner_required,
        teacher_required,
    )

    probe = Blueprint("probe", __name__, url_prefix="/probe")

    @probe.get("/whoami")
    @learner_required
    def whoami():
        return jsonify(launch=current_launch().to_dict(), next=launch_url_for("probe.whoami"),
                       fields=str(launch_form_fields()))

    @probe.get("/teacher")
    @teacher_required
    def teacher_only():
        return "teacher page"

    @probe.post("/form")
    @learner_required
    def form():
        return "saved " + request.form.get("value", "")

    app.register_blueprint(probe)
    return app


@pytest.fixture
def browser(lti_app):
    """A browser that keeps cookies."""
    client = lti_app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=BROWSER["User-Agent"])
    return client


@pytest.fixture
def cookieless_browser(lti_app):
    """A browser that refuses (third-party) cookies."""
    client = lti_app.test_client(use_cookies=False)
    client.environ_base.update(HTTP_USER_AGENT=BROWSER["User-Agent"])
    return client


def start_login(client, params: dict[str, str] | None = None) -> tuple[str, str]:
    """Run the OIDC login initiation; return the (state, nonce) sent to the platform."""
    from urllib.parse import parse_qs, urlsplit

    response = client.post("/lti/login", data=params or LOGIN_PARAMS)
    assert response.status_code == 302, response.get_data(as_text=True)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return query["state"][0], query["nonce"][0]


def post_launch(client, id_token: str, state: str, **headers: str):
    return client.post("/lti/launch", data={"id_token": id_token, "state": state},
                       headers=headers)


def forged_launch(client, key, change=None, remove=(), *, kid=FORGED_KID, params=None,
                  message_type="LtiResourceLinkRequest"):
    """Log in, then post a token signed by the test platform key with claims changed/removed."""
    state, nonce = start_login(client, params)
    claims = {**base_claims(nonce, message_type=message_type), **(change or {})}
    for name in remove:
        claims.pop(name, None)
    return post_launch(client, forge(claims, key, kid=kid), state)


def refused_check(caplog) -> str | None:
    """The check the last refused launch logged."""
    checks = [r.lti_check for r in caplog.records if hasattr(r, "lti_check")]
    return checks[-1] if checks else None


@pytest.fixture
def recorded_flow(monkeypatch, moodle_launch):
    """Log in as Moodle did, with the recorded state and nonce issued, then post its launch."""
    def run(client, name):
        recorded = moodle_launch(name)
        issued = iter([recorded["launch_post"]["state"], recorded["claims"]["nonce"]])
        from middleware.lti import operations

        monkeypatch.setattr(operations, "secrets",
                            SimpleNamespace(token_urlsafe=lambda n: next(issued, None)
                                            or secrets.token_urlsafe(n)))
        state, nonce = start_login(client, recorded["login_initiation"]["params"])
        assert (state, nonce) == (recorded["launch_post"]["state"], recorded["claims"]["nonce"])
        return post_launch(client, recorded["launch_post"]["id_token"], state)
    return run
