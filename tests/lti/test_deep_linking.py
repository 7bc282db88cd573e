"""Deep linking: a teacher picks the placement; the signed response goes back to the platform."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import time_machine
from jwt.algorithms import RSAAlgorithm

from lti.deep_linking import ResourceLinkItem, build_deep_linking_response
from lti.keys import SigningKey, generate_private_key, key_id

from .conftest import CLAIM, CLIENT_ID, ISSUER, forged_launch

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
TEACHER = {CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]}


def deep_linking_launch(browser, forging_key, change=None):
    response = forged_launch(browser, forging_key, {**TEACHER, **(change or {})},
                             message_type="LtiDeepLinkingRequest")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == "/lti/deep-link"
    return response


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def decode_with_tool_jwks(browser, token: str, *, platform: str = ISSUER,
                          client_id: str = CLIENT_ID) -> dict:
    """Verify a deep-linking answer as Moodle does: the tool's key, from the tool to it."""
    jwks = browser.get("/lti/jwks").get_json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = RSAAlgorithm.from_jwk(next(k for k in jwks["keys"] if k["kid"] == kid))
    return jwt.decode(token, key, algorithms=["RS256"], audience=platform, issuer=client_id)


def test_teacher_picks_placements_and_the_signed_response_is_posted_back(browser, forging_key):
    deep_linking_launch(browser, forging_key)
    page = browser.get("/lti/deep-link")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'type="checkbox"' in text  # accept_multiple is true

    response = browser.post("/lti/deep-link", data={"csrf_token": csrf_of(text),
                                                   "placement": ["pane", "dashboard"]})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    return_url = ISSUER + "/mod/lti/contentitem_return.php?course=2&id=1"
    assert f'action="{html.escape(return_url)}"' in text
    assert "autosubmit.js" in text
    assert f"form-action 'self' {ISSUER}" in response.headers["Content-Security-Policy"]

    token = re.search(r'name="JWT" value="([^"]+)"', text).group(1)
    claims = decode_with_tool_jwks(browser, token)
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[CLAIM + "version"] == "1.3.0"
    assert claims[CLAIM + "deployment_id"] == "1"
    assert claims[DL + "data"] == "opaque-platform-data"
    items = claims[DL + "content_items"]
    assert [item["custom"] for item in items] == [{"community_mode": "pane"},
                                                  {"community_mode": "dashboard"}]
    assert {item["type"] for item in items} == {"ltiResourceLink"}
    assert {item["url"] for item in items} == {"http://127.0.0.1:8090/lti/launch"}
    assert [item["title"] for item in items] == ["Comunità", "Cruscotto della comunità"]


def test_recorded_moodle_deep_linking_round_trip(browser, moodle_launch, recorded_flow):
    recorded = moodle_launch("deep_linking")
    with time_machine.travel(recorded["claims"]["iat"], tick=False):
        launch = recorded_flow(browser, "deep_linking")
        token = parse_qs(urlsplit(launch.headers["Location"]).query)["launch_token"][0]
        page = browser.get("/lti/deep-link", query_string={"launch_token": token})
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "Add Circolo to your course" in text
        response = browser.post("/lti/deep-link",
                                data={"csrf_token": csrf_of(text), "placement": "pane"})
        jwt_value = re.search(r'name="JWT" value="([^"]+)"', response.get_data(True)).group(1)
        claims = decode_with_tool_jwks(browser, jwt_value, platform=recorded["claims"]["iss"],
                                       client_id=recorded["claims"]["aud"])
    assert DL + "data" not in claims  # Moodle sent no data: none echoed
    assert claims["iat"] == recorded["claims"]["iat"]
    assert len(claims[DL + "content_items"]) == 1


def test_single_choice_when_the_platform_accepts_one_item(browser, forging_key):
    settings = {"accept_types": ["ltiResourceLink"], "accept_multiple": False,
                "deep_link_return_url": ISSUER + "/return"}
    deep_linking_launch(browser, forging_key, {DL + "deep_linking_settings": settings})
    text = browser.get("/lti/deep-link").get_data(as_text=True)
    assert 'type="radio"' in text
    refused = browser.post("/lti/deep-link", data={"csrf_token": csrf_of(text),
                                                  "placement": ["pane", "dashboard"]})
    assert refused.status_code == 400


def test_deep_linking_response_needs_csrf(browser, forging_key):
    deep_linking_launch(browser, forging_key)
    assert browser.post("/lti/deep-link", data={"placement": "pane"}).status_code == 400


def test_learners_cannot_deep_link(browser, forging_key, caplog):
    response = forged_launch(browser, forging_key, message_type="LtiDeepLinkingRequest")
    assert response.status_code == 403
    assert [r.lti_check for r in caplog.records if hasattr(r, "lti_check")] == [
        "deep_linking_not_allowed"]


def test_deep_linking_without_return_url_is_refused(browser, forging_key):
    response = forged_launch(browser, forging_key,
                             {**TEACHER, DL + "deep_linking_settings": {"accept_types": []}},
                             message_type="LtiDeepLinkingRequest")
    assert response.status_code == 400


def test_resource_link_launch_has_no_deep_linking_page(browser, forging_key):
    forged_launch(browser, forging_key, TEACHER)
    assert browser.get("/lti/deep-link").status_code == 400


def test_response_builder_claims():
    private_key = generate_private_key()
    signing = SigningKey(kid=key_id(private_key.public_key()), private_key=private_key)
    token = build_deep_linking_response(
        signing_key=signing, client_id="tool", issuer="https://moodle.example",
        deployment_id="3", items=[ResourceLinkItem(title="T", url="https://tool/lti/launch",
                                                   custom={"community_mode": "pane"})],
        data="d", now=time.time())
    assert jwt.get_unverified_header(token)["kid"] == signing.kid
    claims = jwt.decode(token, private_key.public_key(), algorithms=["RS256"],
                        audience="https://moodle.example", issuer="tool")
    assert claims["exp"] - claims["iat"] == 300 and claims["nonce"]
    assert claims[DL + "data"] == "d"
