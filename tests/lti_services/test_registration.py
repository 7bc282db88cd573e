"""Dynamic registration against a platform with the recorded Moodle 4.4 shapes."""

from __future__ import annotations

import json
import re

import pytest
import requests
import responses
from sqlalchemy import select

from lti.registration import (
    RegistrationError,
    ToolDescription,
    fetch_configuration,
    registration_request,
)
from lti.services import TOOL_SCOPES
from middleware.db import database
from middleware.models import Platform

TOOL = "http://127.0.0.1:8090"  # the test settings' public base URL


@pytest.fixture
def recorded(lti_fixture):
    return lti_fixture("dynamic_registration.json")


@pytest.fixture
def config_url(recorded) -> str:
    return recorded["registration_start"]["query"]["openid_configuration"]


@pytest.fixture
def registration_endpoint(recorded) -> str:
    return recorded["openid_configuration"]["registration_endpoint"]


@pytest.fixture
def moodle(http_mock, recorded, config_url, registration_endpoint, lti_fixture):
    """Serve the recorded configuration, and answer registrations as Moodle did (once)."""
    assert recorded["openid_configuration"] == lti_fixture("openid_configuration.json")
    http_mock.add(responses.GET, config_url, json=recorded["openid_configuration"])
    used: list[str] = []

    def answer(request):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in used:
            reused = recorded["reused_token_response"]
            return reused["status"], {}, reused["body"]
        used.append(token)
        return 200, {"Content-Type": "application/json"}, json.dumps(
            recorded["registration_response"]["body"])

    http_mock.add_callback(responses.POST, registration_endpoint, callback=answer)
    return http_mock


def _start(client, recorded, **headers):
    return client.get("/lti/register", query_string=recorded["registration_start"]["query"],
                      headers=headers)


def _platforms(app) -> list[Platform]:
    with database(app).session() as session:
        platforms = list(session.scalars(select(Platform)))
        for platform in platforms:
            platform.deployments  # noqa: B018 - load them before the session closes
        return platforms


def _posted(mock, endpoint):
    return [call.request for call in mock.calls
            if call.request.method == "POST" and call.request.url == endpoint]


def test_registration_posts_the_tool_with_the_bearer_token_and_stores_the_platform(
        app, client, moodle, recorded, registration_endpoint):
    answer = _start(client, recorded)

    assert answer.status_code == 200, answer.text
    [posted] = _posted(moodle, registration_endpoint)
    token = recorded["registration_start"]["query"]["registration_token"]
    assert posted.headers["Authorization"] == f"Bearer {token}"
    assert posted.headers["Content-Type"] == "application/json"
    body = json.loads(posted.body)
    assert body["application_type"] == "web"
    assert body["response_types"] == ["id_token"]
    assert body["grant_types"] == ["implicit", "client_credentials"]
    assert body["initiate_login_uri"] == f"{TOOL}/lti/login"
    assert body["redirect_uris"] == [f"{TOOL}/lti/launch"]
    assert body["jwks_uri"] == f"{TOOL}/lti/jwks"
    assert body["client_name"] == "Circolo"
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert set(body["scope"].split()) == set(TOOL_SCOPES)
    assert "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in (
        body["scope"].split())
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in body["scope"].split()
    config = body["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert config["domain"] == "127.0.0.1:8090"
    assert config["target_link_uri"] == f"{TOOL}/lti/launch"
    assert {"iss", "sub", "name"} <= set(config["claims"])
    assert config["custom_parameters"] == {
        "context_memberships_url": "$ToolProxyBinding.memberships.url"}
    messages = {m["type"]: m for m in config["messages"]}
    assert set(messages) == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    assert messages["LtiDeepLinkingRequest"]["placements"] == ["ContentArea"]
    assert messages["LtiDeepLinkingRequest"]["target_link_uri"] == f"{TOOL}/lti/launch"
    # Everything Moodle's registration_helper requires is there.
    for required in recorded["registration_request"]["body"]:
        if required != "logo_uri":
            assert required in body

    [platform] = _platforms(app)
    configuration = recorded["openid_configuration"]
    assert platform.issuer == configuration["issuer"]
    assert platform.client_id == recorded["registration_response"]["body"]["client_id"]
    assert platform.auth_login_url == configuration["authorization_endpoint"]
    assert platform.auth_token_url == configuration["token_endpoint"]
    assert platform.key_set_url == configuration["jwks_uri"]
    assert [d.deployment_id for d in platform.deployments] == ["2"]


def test_the_page_closes_the_dialog_without_inline_script(client, moodle, recorded):
    answer = _start(client, recorded)
    page = answer.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all(body.strip() == "" and "src=" in attrs for attrs, body in scripts)
    assert 'src="/static/lti-close.js"' in page
    moodle_site = recorded["openid_configuration"]["issuer"]
    assert f'data-target-origin="{moodle_site}"' in page
    assert f"frame-ancestors 'self' {moodle_site}" in answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert "pending" in page and recorded["registration_response"]["body"]["client_id"] in page
    script = client.get("/static/lti-close.js")
    assert script.status_code == 200
    text = script.get_data(as_text=True)
    assert "org.imsglobal.lti.close" in text and "window.opener || " in text


def test_the_page_speaks_italian(client, moodle, recorded):
    page = _start(client, recorded, **{"Accept-Language": "it-IT,it;q=0.9"})
    assert "Circolo è registrato" in page.get_data(as_text=True)


def test_a_reused_token_gets_a_readable_page(app, client, moodle, recorded,
                                             registration_endpoint):
    assert _start(client, recorded).status_code == 200
    again = _start(client, recorded)
    assert again.status_code == 409
    assert "already used" in again.get_data(as_text=True)
    assert len(_posted(moodle, registration_endpoint)) == 2
    assert len(_platforms(app)) == 1


def test_a_reused_token_in_italian(client, moodle, recorded):
    _start(client, recorded)
    again = _start(client, recorded, **{"Accept-Language": "it"})
    assert "già stato usato" in again.get_data(as_text=True)


def test_a_mismatched_issuer_is_refused_before_registering(app, client, http_mock, recorded,
                                                           config_url, registration_endpoint):
    foreign = dict(recorded["openid_configuration"], issuer="http://moodle.example.org")
    http_mock.add(responses.GET, config_url, json=foreign)
    answer = _start(client, recorded)
    assert answer.status_code == 400
    assert "different site" in answer.get_data(as_text=True)
    assert _posted(http_mock, registration_endpoint) == []
    assert _platforms(app) == []


@pytest.mark.parametrize("failure", [
    {"body": requests.ConnectionError("refused")},
    {"body": requests.ConnectTimeout("slow")},
    {"status": 503, "body": "maintenance"},
    {"status": 302, "headers": {"Location": "http://elsewhere.example/config"}},
])
def test_an_unreachable_platform_gets_a_readable_page(app, client, http_mock, recorded,
                                                      config_url, failure):
    http_mock.add(responses.GET, config_url, **failure)
    answer = _start(client, recorded)
    assert answer.status_code == 400
    assert "could not reach your Moodle site" in answer.get_data(as_text=True)
    assert _platforms(app) == []


@pytest.mark.parametrize("mangle", [
    lambda c: {k: v for k, v in c.items() if k != "registration_endpoint"},
    lambda c: dict(c, jwks_uri="not a url"),
    lambda c: dict(c, token_endpoint="ftp://127.0.0.1:8081/token"),
    lambda c: ["not", "an", "object"],
])
def test_an_unusable_configuration_is_refused(app, client, http_mock, recorded, config_url,
                                              mangle):
    http_mock.add(responses.GET, config_url, json=mangle(recorded["openid_configuration"]))
    answer = _start(client, recorded)
    assert answer.status_code == 400
    assert "configuration could not be read" in answer.get_data(as_text=True)
    assert _platforms(app) == []


def test_a_configuration_that_is_not_json_is_refused(client, http_mock, recorded, config_url):
    http_mock.add(responses.GET, config_url, body="<html>Moodle</html>")
    assert _start(client, recorded).status_code == 400


@pytest.mark.parametrize(("status", "body", "expected"), [
    (400, "missing required attribute jwks_uri", 400),
    (500, "", 400),
    (200, json.dumps({"scope": "no client id"}), 400),
    (200, "not json", 400),
])
def test_a_refused_or_unreadable_registration_stores_nothing(app, client, http_mock, recorded,
                                                             config_url, registration_endpoint,
                                                             status, body, expected):
    http_mock.add(responses.GET, config_url, json=recorded["openid_configuration"])
    http_mock.add(responses.POST, registration_endpoint, status=status, body=body)
    answer = _start(client, recorded)
    assert answer.status_code == expected
    assert "Nothing was changed" in answer.get_data(as_text=True)
    assert _platforms(app) == []


@pytest.mark.parametrize("query", [
    {},
    {"openid_configuration": "http://127.0.0.1:8081/mod/lti/openid-configuration.php"},
    {"registration_token": "x"},
])
def test_missing_parameters_explain_where_the_address_goes(client, query):
    answer = client.get("/lti/register", query_string=query)
    assert answer.status_code == 400
    assert "Manage tools" in answer.get_data(as_text=True)


def test_a_configuration_url_that_is_not_http_is_refused(client):
    answer = client.get("/lti/register", query_string={
        "openid_configuration": "file:///etc/passwd", "registration_token": "x"})
    assert answer.status_code == 400
    assert answer.headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")


def test_registration_request_uses_the_platforms_deep_linking_placements(recorded):
    site = recorded["openid_configuration"]["issuer"]
    configuration = {name: value.replace(site, "https://moodle.example.org")
                     if isinstance(value, str) else value
                     for name, value in recorded["openid_configuration"].items()}
    configuration["https://purl.imsglobal.org/spec/lti-platform-configuration"] = {
        "messages_supported": [{"type": "LtiDeepLinkingRequest",
                                "placements": ["ContentArea", "RichTextEditor"]}]}
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, "https://moodle.example.org/mod/lti/openid-configuration.php",
                 json=dict(configuration, issuer="https://moodle.example.org"))
        loaded = fetch_configuration(
            "https://moodle.example.org/mod/lti/openid-configuration.php")
    body = registration_request(ToolDescription(base_url="https://circolo.example.org"), loaded)
    deep = body["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"][1]
    assert deep["placements"] == ["ContentArea", "RichTextEditor"]
    assert body["https://purl.imsglobal.org/spec/lti-tool-configuration"]["domain"] == (
        "circolo.example.org")


def test_an_issuer_with_a_path_matches_its_origin(recorded):
    with responses.RequestsMock() as mock:
        url = "https://school.example.org/moodle/mod/lti/openid-configuration.php"
        site = recorded["openid_configuration"]["issuer"]
        moved = {name: value.replace(site, "https://school.example.org/moodle")
                 if isinstance(value, str) else value
                 for name, value in recorded["openid_configuration"].items()}
        mock.add(responses.GET, url, json=moved)
        assert fetch_configuration(url).issuer == "https://school.example.org/moodle"


def test_an_oversized_configuration_is_refused(recorded):
    with responses.RequestsMock() as mock:
        url = "https://moodle.example.org/mod/lti/openid-configuration.php"
        mock.add(responses.GET, url, body=b"{" + b" " * (600 * 1024) + b"}")
        with pytest.raises(RegistrationError) as failure:
            fetch_configuration(url)
    assert failure.value.code == "configuration_invalid"
