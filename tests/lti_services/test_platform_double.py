"""The Moodle-like platform double behaves as Moodle does, and the services client works with it."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from lti.keys import public_jwk
from lti.services import LineItem, PlatformEndpoints, PlatformServices, Score, ServiceError
from tests.doubles.lti_platform import DEEP_LINKING, running_platform

pytestmark = pytest.mark.live_http
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture
def tool_jwks_url(tool_key) -> Iterator[str]:
    """Serve the tool key's public JWKS on 127.0.0.1, as Circolo's /lti/jwks would."""
    body = json.dumps({"keys": [public_jwk(tool_key.private_key.public_key(), tool_key.kid)]})
    server = make_server("127.0.0.1", 0, Response(body, content_type="application/json"))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/lti/jwks"
    server.shutdown()
    server.server_close()


@pytest.fixture
def platform(tool_jwks_url):
    with running_platform(nrps_page_size=5) as platform:
        platform.add_tool(client_id="circolo-test", base_url="http://127.0.0.1:9/x",
                          jwks_uri=tool_jwks_url)
        yield platform


@pytest.fixture
def services_client(platform, tool_key, token_cache):
    endpoints = PlatformEndpoints(issuer=platform.issuer, client_id="circolo-test",
                                  token_url=platform.token_url)
    return PlatformServices(endpoints, lambda: tool_key, token_cache=token_cache)


def _form(html: str) -> tuple[str, dict[str, str]]:
    action = unescape(re.search(r'<form action="([^"]+)"', html).group(1))
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    return action, fields


def _login(platform, user_id="11", **query) -> dict[str, str]:
    page = requests.get(platform.launch_page_url(user_id, **query), timeout=5)
    assert page.status_code == 200
    action, fields = _form(page.text)
    assert action == platform.only_tool().initiate_login_uri
    return fields


def _auth(platform, login: dict[str, str], **overrides) -> requests.Response:
    params = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
              "prompt": "none", "client_id": login["client_id"],
              "redirect_uri": platform.only_tool().redirect_uris[0],
              "login_hint": login["login_hint"], "lti_message_hint": login["lti_message_hint"],
              "state": "state-1", "nonce": "nonce-1"}
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return requests.get(platform.auth_url, params=params,
                        timeout=5)


def test_login_initiation_carries_what_moodle_posts(platform):
    fields = _login(platform)
    tool = platform.only_tool()
    assert fields["iss"] == platform.issuer
    assert fields["target_link_uri"] == tool.target_link_uri
    assert fields["login_hint"] == "11"
    assert fields["client_id"] == "circolo-test"
    assert fields["lti_deployment_id"] == tool.type_id
    assert json.loads(fields["lti_message_hint"])["cmid"] == 6


def test_auth_posts_a_signed_id_token_shaped_like_moodles(platform, lti_fixture):
    login = _login(platform, locale="en")
    answer = _auth(platform, login)
    action, fields = _form(answer.text)
    assert action == platform.only_tool().redirect_uris[0]
    assert fields["state"] == "state-1"
    keys = jwt.PyJWKSet.from_dict(requests.get(platform.jwks_url, timeout=5).json())
    header = jwt.get_unverified_header(fields["id_token"])
    claims = jwt.decode(fields["id_token"], keys[header["kid"]].key, algorithms=["RS256"],
                        audience="circolo-test", issuer=platform.issuer)
    assert claims["exp"] - claims["iat"] == 60
    assert claims["nonce"] == "nonce-1" and claims["sub"] == "11"
    assert claims[f"{CLAIM}launch_presentation"]["locale"] == "en"
    assert claims[f"{CLAIM}launch_presentation"]["document_target"] == "iframe"
    recorded = lti_fixture("resource_link.learner.json")["claims"]
    missing = set(recorded) - set(claims) - {"https://purl.imsglobal.org/spec/lti-bo/claim/"
                                             "basicoutcome"}
    assert missing == set()
    assert claims[f"{CLAIM}roles"] == recorded[f"{CLAIM}roles"]
    assert set(claims[f"{CLAIM}context"]) == set(recorded[f"{CLAIM}context"])


def test_a_teacher_gets_instructor_and_deep_linking_settings(platform):
    login = _login(platform, "3", message_type=DEEP_LINKING)
    assert "cmid" not in json.loads(login["lti_message_hint"])
    _action, fields = _form(_auth(platform, login).text)
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    assert claims[f"{CLAIM}message_type"] == DEEP_LINKING
    assert claims[f"{CLAIM}roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership"
                                       "#Instructor"]
    settings = claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]
    assert settings["accept_types"] == ["ltiResourceLink"]
    assert settings["deep_link_return_url"].startswith(platform.issuer)
    assert f"{CLAIM}resource_link" not in claims


@pytest.mark.parametrize(("overrides", "error"), [
    ({"scope": "openid profile"}, "invalid_scope"),
    ({"response_type": "code"}, "unsupported_response_type"),
    ({"client_id": "someone-else"}, "unauthorized_client"),
    ({"login_hint": "12"}, "access_denied"),
    ({"response_mode": "query"}, "invalid_request"),
    ({"response_mode": None}, "invalid_request"),
    ({"prompt": "login"}, "invalid_request"),
    ({"nonce": None}, "invalid_request"),
])
def test_auth_refuses_what_moodle_refuses(platform, overrides, error):
    answer = _auth(platform, _login(platform), **overrides)
    _action, fields = _form(answer.text)
    assert fields["error"] == error
    assert "id_token" not in fields
    assert fields["state"] == "state-1"


@pytest.mark.parametrize("overrides", [
    {"redirect_uri": "http://127.0.0.1:9/evil"},
    # Without a launch Moodle cannot load the tool, so it trusts no redirect URI either.
    {"lti_message_hint": '{"cmid":6}'},
])
def test_auth_never_posts_to_an_unregistered_redirect_uri(platform, overrides):
    answer = _auth(platform, _login(platform), **overrides)
    assert answer.status_code == 400
    assert "<form" not in answer.text


def test_a_launch_is_single_use(platform):
    login = _login(platform)
    assert "id_token" in _form(_auth(platform, login).text)[1]
    assert _auth(platform, login).status_code == 400


def test_a_pending_tool_cannot_be_launched(platform):
    tool = platform.add_tool(client_id="pending-tool", base_url="http://127.0.0.1:9",
                             pending=True)
    answer = requests.get(platform.course_page_url("11", tool=tool), timeout=5)
    assert answer.status_code == 403
    platform.activate("pending-tool")
    assert requests.get(platform.course_page_url("11", tool=tool), timeout=5).status_code == 200


def test_the_course_page_embeds_the_launch_in_an_iframe(platform):
    page = requests.get(platform.course_page_url("11"), timeout=5)
    src = unescape(re.search(r'<iframe id="contentframe"[^>]* src="([^"]+)"', page.text).group(1))
    assert src.startswith("/mod/lti/launch.php?")


def test_services_client_against_the_double(platform, services_client):
    client = services_client
    tool = platform.only_tool()
    roster = list(client.memberships(platform.memberships_url(tool)))
    assert {m.user_id for m in roster} == set(platform.users)
    nrps_calls = [r for r in platform.service_requests if "memberships" in r["url"]]
    assert len(nrps_calls) == -(-len(platform.users) // 5) >= 3
    assert "from=5" in nrps_calls[1]["url"]
    teacher = next(m for m in roster if m.user_id == "3")
    assert teacher.roles == ("Instructor",) and teacher.email == "carla.verdi@example.org"

    items = client.line_items(platform.lineitems_url(tool))
    assert [i.label for i in items] == ["Comunità del corso"]
    created = client.create_line_item(platform.lineitems_url(tool),
                                      LineItem(label="Partecipazione", score_maximum=10,
                                               tag="circolo"))
    assert created.id == platform.lineitem_url(tool, "4")
    client.post_score(created.id, Score(user_id="11", score_given=7, score_maximum=10,
                                        timestamp=datetime(2026, 11, 23, 18, 54, 12, tzinfo=UTC),
                                        comment="Partecipazione alla comunità"))
    assert platform.scores == [{"lineitem": "4", "userId": "11", "scoreGiven": 7,
                                "scoreMaximum": 10, "activityProgress": "Completed",
                                "gradingProgress": "FullyGraded",
                                "timestamp": "2026-11-23T18:54:12+00:00",
                                "comment": "Partecipazione alla comunità"}]

    verified = [r for r in platform.token_requests if "assertion" in r]
    assert verified and all(r["assertion"]["header"]["kid"] == "tool-key-1" for r in verified)
    assert {r["form"]["scope"] for r in verified} == {
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score"}


def test_token_endpoint_refuses_a_foreign_key_and_a_replayed_assertion(platform, tool_key):
    from lti.keys import SigningKey, generate_private_key
    from lti.services import client_assertion

    endpoints = PlatformEndpoints(issuer=platform.issuer, client_id="circolo-test",
                                  token_url=platform.token_url)
    stranger = SigningKey(kid="tool-key-1", private_key=generate_private_key())
    form = {"grant_type": "client_credentials", "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    refused = requests.post(platform.token_url, timeout=5, data={
        **form, "client_assertion": client_assertion(endpoints, stranger)})
    assert refused.status_code == 400 and refused.json()["error"].startswith("invalid_client")
    assertion = client_assertion(endpoints, tool_key)
    assert requests.post(platform.token_url, timeout=5,
                         data={**form, "client_assertion": assertion}).status_code == 200
    replay = requests.post(platform.token_url, timeout=5,
                           data={**form, "client_assertion": assertion})
    assert replay.json() == {"error": "invalid_client"}


def test_services_refuse_a_token_without_the_scope(platform, services_client):
    client = services_client
    client.access_token(["https://purl.imsglobal.org/spec/lti-ags/scope/score"])
    # A token for AGS only must not read the roster.
    token = client.access_token(["https://purl.imsglobal.org/spec/lti-ags/scope/score"])
    answer = requests.get(platform.memberships_url(platform.only_tool()), timeout=5,
                          headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403
    with pytest.raises(ServiceError):
        client.post_score(platform.lineitem_url(platform.only_tool(), "3"),
                          Score(user_id="nobody", score_given=1, score_maximum=1,
                                timestamp=datetime.now(UTC)))


def test_registration_start_redirects_with_config_and_token(platform):
    answer = requests.get(platform.issuer
                          + "/mod/lti/startltiadvregistration.php",
                          params={"url": "http://127.0.0.1:9/lti/register"},
                          allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["openid_configuration"] == [platform.openid_configuration_url]
    claims = jwt.decode(query["registration_token"][0], platform.key.public_key(),
                        algorithms=["RS256"])
    assert claims["scope"] == "reg" and claims["exp"] - claims["iat"] == 3600
