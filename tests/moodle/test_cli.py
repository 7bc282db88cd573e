"""`flask circolo moodle connect|status|sync`: checks in plain words, token kept secret."""

from __future__ import annotations

import logging

import responses
from sqlalchemy import select

from middleware.models import MoodleConnection, Platform
from middleware.moodle.operations import decrypt_token
from tests.doubles.community import SERVICE_FUNCTIONS, generate_community
from tests.doubles.moodle_ws import MoodleDouble, mock_double

MOODLE = "http://moodle.test"
TOKEN = "c0ffeec0ffeec0ffeec0ffeec0ffee00"


def platform(db_session):
    record = Platform(issuer="http://moodle.test", client_id="abc",
                      auth_login_url=f"{MOODLE}/login", auth_token_url=f"{MOODLE}/token",
                      key_set_url=f"{MOODLE}/jwks")
    db_session.add(record)
    db_session.commit()
    return record


def connect(runner, *extra):
    return runner.invoke(args=["circolo", "moodle", "connect", "--platform", "http://moodle.test",
                               "--url", MOODLE, "--token", TOKEN, *extra])


def test_connect_stores_the_token_encrypted_and_names_what_is_missing(
        runner, db_session, http_mock, settings, caplog):
    caplog.set_level(logging.DEBUG)
    platform(db_session)
    lacking = tuple(f for f in SERVICE_FUNCTIONS
                    if f not in ("core_message_get_conversation_between_users",
                                 "mod_forum_add_discussion_post"))
    double = MoodleDouble(generate_community(seed=1, learners=10, discussions=8, posts=20),
                          token=TOKEN, functions=lacking)
    double.deny("core_enrol_get_enrolled_users", "nopermissions")
    mock_double(http_mock, double, MOODLE)
    result = connect(runner, "--course", "2")
    assert result.exit_code == 0, result.output
    assert "core_message_get_conversation_between_users: needed to check which prompts" in (
        result.output)
    assert "mod_forum_add_discussion_post: needed to post mentoring prompts" in result.output
    assert "moodle/course:enrolreview" in result.output
    assert "Web-service user: Community Bot (communitybot, user id 15)" in result.output
    assert TOKEN not in result.output and TOKEN not in caplog.text
    connection = db_session.scalar(select(MoodleConnection))
    assert connection.url == MOODLE + "/webservice/rest/server.php"
    assert TOKEN not in connection.token_ciphertext
    assert decrypt_token(settings.encryption_key, connection.token_ciphertext) == TOKEN
    assert connection.service_user_id == 15
    assert "mod_forum_add_discussion_post" in connection.missing_functions
    assert connection.missing_capabilities == ["moodle/course:enrolreview"]


def test_connect_names_the_capability_that_shows_languages(runner, db_session, http_mock):
    platform(db_session)
    community = generate_community(seed=2, learners=10, discussions=8, posts=20)
    community.profiles_hidden = True  # no moodle/user:viewalldetails: profiles without lang
    mock_double(http_mock, MoodleDouble(community, token=TOKEN), MOODLE)
    result = connect(runner, "--course", "2")
    assert result.exit_code == 0, result.output
    assert "moodle/user:viewalldetails (participants' language and time zone cannot be read)" \
        in result.output


def test_connect_without_the_profile_function_says_what_it_is_for(runner, db_session,
                                                                  http_mock):
    platform(db_session)
    lacking = tuple(f for f in SERVICE_FUNCTIONS if f != "core_user_get_users_by_field")
    double = MoodleDouble(generate_community(seed=2, learners=10, discussions=8, posts=20),
                          token=TOKEN, functions=lacking)
    mock_double(http_mock, double, MOODLE)
    result = connect(runner, "--course", "2")
    assert "core_user_get_users_by_field: needed to read participants' language and time zone" \
        in result.output


def test_connect_with_a_complete_service_and_role(runner, db_session, http_mock):
    platform(db_session)
    double = MoodleDouble(generate_community(seed=2, learners=10, discussions=8, posts=20),
                          token=TOKEN)
    mock_double(http_mock, double, MOODLE)
    result = connect(runner, "--course", "2")
    assert result.exit_code == 0, result.output
    assert "Every function Circolo needs is in the token's service." in result.output
    assert "The role's capabilities work in course 2." in result.output


def test_connect_refuses_a_bad_token_in_plain_words(runner, db_session, http_mock, recorded):
    platform(db_session)
    http_mock.add(responses.POST, MOODLE + "/webservice/rest/server.php",
                  json=recorded("error.invalidtoken")["response"])
    result = connect(runner)
    assert result.exit_code == 1
    assert "Moodle does not know this token" in result.output
    assert TOKEN not in result.output
    assert db_session.scalar(select(MoodleConnection)) is None


def test_connect_explains_disabled_web_services(runner, db_session, http_mock):
    platform(db_session)
    http_mock.add(responses.POST, MOODLE + "/webservice/rest/server.php", body="", status=403)
    result = connect(runner)
    assert result.exit_code == 1 and "Enable web services" in result.output


def test_connect_unknown_platform(runner, db_session):
    result = connect(runner)
    assert result.exit_code == 1 and "No platform" in result.output


def test_status_and_sync_commands(runner, db_session, http_mock):
    from middleware.models import Course

    record = platform(db_session)
    community = generate_community(seed=3, learners=10, discussions=8, posts=20)
    mock_double(http_mock, MoodleDouble(community, token=TOKEN), MOODLE)
    assert connect(runner).exit_code == 0
    course = Course(platform_id=record.id, context_id="2", moodle_course_id=2, title="CDP101",
                    active=True)
    db_session.add(course)
    db_session.commit()
    assert "never synced" in runner.invoke(args=["circolo", "moodle", "status"]).output
    synced = runner.invoke(args=["circolo", "moodle", "sync", str(course.id)])
    assert synced.exit_code == 0 and synced.output.startswith("succeeded:")
    output = runner.invoke(args=["circolo", "moodle", "status"]).output
    assert "Community Test Moodle at http://moodle.test/webservice/rest/server.php" in output
    assert "course 1 'CDP101': succeeded" in output and "(full)" in output
    assert TOKEN not in output
