"""The connect handshake: one-time code, the token checked back, platform and connection kept."""

from __future__ import annotations

import logging
from datetime import timedelta

import time_machine
from sqlalchemy import select

from middleware.companion.operations import create_invite, hash_code, usable_invite
from middleware.db import database
from middleware.models import (
    CompanionConnection,
    CompanionInvite,
    Deployment,
    MoodleConnection,
    Platform,
    utcnow,
)
from middleware.moodle.operations import decrypt_token
from middleware.moodle.service import SERVER_PATH
from tests.moodle.conftest import sent_form

from .conftest import TOKEN


def test_the_tool_description_is_what_dynamic_registration_sends(client, settings):
    answer = client.get("/api/companion/tool")
    assert answer.status_code == 200
    body = answer.get_json()
    base = settings.public_base_url
    assert body["connect_url"] == f"{base}/api/companion/connect"
    registration = body["registration"]
    assert registration["initiate_login_uri"] == f"{base}/lti/login"
    assert registration["redirect_uris"] == [f"{base}/lti/launch"]
    assert registration["jwks_uri"] == f"{base}/lti/jwks"
    assert {m["type"] for m in registration[
        "https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]} == {
        "LtiResourceLinkRequest", "LtiDeepLinkingRequest"}


def test_connect_checks_the_token_and_records_platform_deployment_and_connection(
        client, db_session, http_mock, connect_payload, moodle_answers, settings, wwwroot,
        caplog):
    caplog.set_level(logging.DEBUG)
    moodle_answers()
    answer = client.post("/api/companion/connect", json=connect_payload)

    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()["connection"]
    assert body["events_url"] == f"{settings.public_base_url}/api/companion/events"
    assert len(body["secret"]) >= 40 and body["key_id"]
    # The token was checked back with Moodle, in the request's body, not its URL.
    (call,) = http_mock.calls
    assert call.request.url == wwwroot + SERVER_PATH
    assert sent_form(call)["wsfunction"] == "core_webservice_get_site_info"
    assert sent_form(call)["wstoken"] == TOKEN

    platform = db_session.scalar(select(Platform))
    assert (platform.issuer, platform.client_id) == (wwwroot, "XfJm3lEr5rvfMn2")
    assert platform.auth_login_url == f"{wwwroot}/mod/lti/auth.php"
    assert platform.name == connect_payload["site"]["name"]
    assert [d.deployment_id for d in db_session.scalars(select(Deployment))] == ["1"]
    connection = db_session.scalar(select(MoodleConnection))
    assert connection.platform_id == platform.id
    assert TOKEN not in connection.token_ciphertext
    assert decrypt_token(settings.encryption_key, connection.token_ciphertext) == TOKEN
    # The plugin's service holds what Circolo calls; messaging is the plugin's own call.
    assert connection.missing_functions == []
    assert "local_circolo_get_course_changes" in connection.functions
    companion = db_session.scalar(select(CompanionConnection))
    assert companion.key_id == body["key_id"]
    assert body["secret"] not in companion.secret_ciphertext
    assert decrypt_token(settings.encryption_key, companion.secret_ciphertext) == body["secret"]
    assert (companion.plugin_version, companion.deployment_id) == ("2026120100", "1")
    invite = db_session.scalar(select(CompanionInvite))
    assert invite.used_at is not None and invite.platform_id == platform.id
    assert TOKEN not in caplog.text and body["secret"] not in caplog.text


def test_a_code_works_once(client, db_session, connect_payload, moodle_answers):
    moodle_answers()
    assert client.post("/api/companion/connect", json=connect_payload).status_code == 200
    again = client.post("/api/companion/connect", json=connect_payload)
    assert again.status_code == 403
    assert again.get_json()["error"]["code"] == "invite_used"
    assert len(db_session.scalars(select(CompanionConnection)).all()) == 1


def test_an_expired_or_unknown_code_is_refused_before_moodle_is_asked(
        client, http_mock, connect_payload):
    with time_machine.travel(utcnow() + timedelta(hours=1, seconds=1)):
        expired = client.post("/api/companion/connect", json=connect_payload)
    assert expired.status_code == 403
    assert expired.get_json()["error"]["code"] == "invite_expired"
    unknown = client.post("/api/companion/connect",
                          json={**connect_payload, "code": "AAAAA-BBBBB-CCCCC-DDDDD"})
    assert unknown.get_json()["error"]["code"] == "invite_invalid"
    assert len(http_mock.calls) == 0


def test_a_token_moodle_refuses_does_not_spend_the_code(client, db_session, connect_payload,
                                                        moodle_answers, site_info):
    refused = {"exception": "moodle_exception", "errorcode": "invalidtoken",
               "message": "Invalid token - token not found"}
    moodle_answers(refused)
    answer = client.post("/api/companion/connect", json=connect_payload,
                         headers={"Accept-Language": "it"})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "token_refused"
    assert "Moodle ha risposto" in error["message"] and "invalidtoken" in error["message"]
    assert db_session.scalar(select(Platform)) is None
    # Fixed on Moodle's side, the same code still connects.
    usable_invite(db_session, connect_payload["code"], now=utcnow())
    moodle_answers(site_info)
    assert client.post("/api/companion/connect", json=connect_payload).status_code == 200


def test_a_token_of_another_site_or_user_is_refused(client, connect_payload, moodle_answers,
                                                    site_info):
    moodle_answers({**site_info, "siteurl": "https://other.example.org"})
    answer = client.post("/api/companion/connect", json=connect_payload)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "site_mismatch"


def test_an_issuer_that_is_not_the_site_is_refused(client, http_mock, connect_payload):
    payload = {**connect_payload,
               "platform": {**connect_payload["platform"], "issuer": "https://elsewhere.example"}}
    answer = client.post("/api/companion/connect", json=payload)
    assert answer.get_json()["error"]["code"] == "site_mismatch"
    assert len(http_mock.calls) == 0


def test_a_token_of_another_user_is_refused(client, connect_payload, moodle_answers, site_info):
    moodle_answers({**site_info, "userid": site_info["userid"] + 1})
    answer = client.post("/api/companion/connect", json=connect_payload)
    assert answer.get_json()["error"]["code"] == "token_refused"


def test_garbage_is_a_clear_400(client, connect_payload):
    for body in ({}, {**connect_payload, "wwwroot": "not a url"},
                 {**connect_payload, "service_user_id": "x"}):
        answer = client.post("/api/companion/connect", json=body)
        assert answer.status_code == 400
        assert answer.get_json()["error"]["code"] == "bad_payload"
    answer = client.post("/api/companion/connect", data=b"\xff\xfe",
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 400


def test_connecting_again_keeps_the_platform_and_renews_the_secret(
        client, db_session, connected, connect_payload, moodle_answers):
    _invite, code = create_invite(db_session)
    db_session.commit()
    moodle_answers()
    answer = client.post("/api/companion/connect", json={**connect_payload, "code": code})
    assert answer.status_code == 200
    renewed = answer.get_json()["connection"]
    assert renewed["secret"] != connected["secret"] and renewed["key_id"] != connected["key_id"]
    assert len(db_session.scalars(select(Platform)).all()) == 1
    assert len(db_session.scalars(select(CompanionConnection)).all()) == 1


def test_invite_prints_a_code_that_is_stored_only_hashed(app, runner, settings):
    # No application context is pushed here: the command must push its own.
    result = runner.invoke(args=["circolo", "moodle", "invite", "--valid-for", "15"])
    assert result.exit_code == 0, result.output
    code = next(line.split(":", 1)[1].strip() for line in result.output.splitlines()
                if "One-time code" in line)
    assert len(code) == 23 and code.count("-") == 3
    assert settings.public_base_url in result.output
    with app.app_context(), database(app).session() as session:
        invite = session.scalar(select(CompanionInvite))
    assert invite.code_hash == hash_code(code) and code not in invite.code_hash
    assert timedelta(minutes=14) < invite.expires_at - invite.created_at <= timedelta(minutes=15)
    # Case, spaces and dashes as IT may have pasted them do not matter.
    assert hash_code(" " + code.lower().replace("-", " ") + " ") == invite.code_hash
