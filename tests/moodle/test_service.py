"""The Moodle REST client: what it sends, what it parses, how it fails and retries."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from middleware.moodle.schemas import OutgoingMessage
from middleware.moodle.service import (
    ENROLLED_USER_FIELDS,
    USERS_PER_CALL,
    MoodleClient,
    MoodleError,
    MoodleUnavailable,
    WebServicesDisabled,
    encode_params,
    server_url,
)
from tests.moodle.conftest import ENDPOINT, MOODLE, TOKEN, sent_form


def reply_with(http_mock, body, status=200, **kwargs):
    http_mock.add(responses.POST, ENDPOINT, json=body, status=status, **kwargs)


def expected_form(exchange, **extra):
    form = {key: str(value) for key, value in exchange["request"]["encoded_form"].items()}
    form.update(wstoken=TOKEN, wsfunction=exchange["request"]["wsfunction"],
                moodlewsrestformat="json", **extra)
    return form


# --- encoding ------------------------------------------------------------------------------------

def test_encode_params_uses_php_brackets_and_numeric_booleans():
    pairs = encode_params({
        "courseid": 2, "flag": True, "off": False, "skipped": None,
        "options": [{"name": "onlyactive", "value": 1}, {"name": "userfields", "value": "id"}],
        "nested": {"a": [{"b": "c"}]},
    })
    assert pairs == [
        ("courseid", "2"), ("flag", "1"), ("off", "0"),
        ("options[0][name]", "onlyactive"), ("options[0][value]", "1"),
        ("options[1][name]", "userfields"), ("options[1][value]", "id"),
        ("nested[a][0][b]", "c"),
    ]


def test_server_url_accepts_wwwroot_or_endpoint():
    assert server_url("https://m.example.org/moodle/") == (
        "https://m.example.org/moodle/webservice/rest/server.php")
    assert server_url(ENDPOINT) == ENDPOINT


# --- recorded shapes (each Moodle version's recordings) -------------------------------------------
# The client is called as the recording's request says; what it sends must be what was recorded,
# and what it reads must be what Moodle answered.

def test_site_info(http_mock, moodle, recorded):
    exchange = recorded("core_webservice_get_site_info")
    reply_with(http_mock, exchange["response"])
    info = moodle.get_site_info()
    assert sent_form(http_mock.calls[0]) == expected_form(exchange)
    assert http_mock.calls[0].request.headers["Content-Type"] == (
        "application/x-www-form-urlencoded")
    answer = exchange["response"]
    assert (info.userid, info.username) == (answer["userid"], "communitybot")
    assert info.functions == tuple(f["name"] for f in answer["functions"])
    assert "mod_forum_get_discussion_posts" in info.functions
    assert info.messaging is True and info.release == answer["release"]
    assert moodle.calls == 1


def test_course_by_field_reads_the_dates_and_language(http_mock, moodle, recorded):
    exchange = recorded("core_course_get_courses_by_field")
    reply_with(http_mock, exchange["response"])
    [course] = moodle.get_courses_by_field(**exchange["request"]["params"])
    assert sent_form(http_mock.calls[0]) == expected_form(exchange)
    [answer] = exchange["response"]["courses"]
    assert (course.id, course.shortname) == (answer["id"], "CDP101")
    assert (course.startdate, course.enddate) == (answer["startdate"], answer["enddate"])
    assert course.lang == answer["lang"] == ""  # the recorded courses force no language


def test_enrolled_users_sends_circolos_options_and_parses_roles(http_mock, moodle, recorded):
    exchange = recorded("core_enrol_get_enrolled_users")
    reply_with(http_mock, exchange["response"])
    asked = exchange["request"]["params"]
    paging = {o["name"]: int(o["value"]) for o in asked["options"]
              if o["name"] in ("limitfrom", "limitnumber")}
    users = moodle.get_enrolled_users(asked["courseid"], **paging)
    sent = sent_form(http_mock.calls[0])
    # Moodle 4.4 was asked for lang and timezone too: it never answers them, so Circolo no
    # longer asks (core_user_get_users_by_field has them).
    assert sent.pop("options[1][value]") == ENROLLED_USER_FIELDS
    expected = expected_form(exchange)
    expected.pop("options[1][value]")
    assert sent == expected
    answer = exchange["response"]
    assert len(users) == len(answer)
    assert [(u.id, u.fullname, u.lastcourseaccess) for u in users] == [
        (a["id"], a["fullname"], a["lastcourseaccess"]) for a in answer]
    assert [u.roles for u in users] == [tuple(r["shortname"] for r in a["roles"]) for a in answer]
    assert [[g.name for g in u.groups] for u in users] == [
        [g["name"] for g in a.get("groups", [])] for a in answer]
    assert users[0].roles == ("editingteacher",) and users[-1].roles == ("teacher",)


def test_users_by_field_read_language_and_time_zone(http_mock, moodle, recorded):
    exchange = recorded("core_user_get_users_by_field")
    reply_with(http_mock, exchange["response"])
    params = exchange["request"]["params"]
    users = moodle.get_users_by_field(params["field"], params["values"])
    assert sent_form(http_mock.calls[0]) == expected_form(exchange)
    assert [(u.id, u.lang, u.timezone) for u in users] == [
        (a["id"], a["lang"], a["timezone"]) for a in exchange["response"]]
    assert all(u.lang for u in users)


def test_users_by_ids_are_asked_in_batches(http_mock, moodle):
    reply_with(http_mock, [])
    reply_with(http_mock, [])
    moodle.get_users_by_ids([*range(1, USERS_PER_CALL + 2), 5])
    first, second = (sent_form(call) for call in http_mock.calls)
    assert first["field"] == "id" and first[f"values[{USERS_PER_CALL - 1}]"] == str(USERS_PER_CALL)
    assert f"values[{USERS_PER_CALL}]" not in first
    assert second["values[0]"] == str(USERS_PER_CALL + 1) and "values[1]" not in second


def test_enrolled_users_paging_options(http_mock, moodle):
    reply_with(http_mock, [])
    moodle.get_enrolled_users(7, limitfrom=200, limitnumber=100)
    form = sent_form(http_mock.calls[0])
    assert form["options[2][name]"] == "limitfrom" and form["options[2][value]"] == "200"
    assert form["options[3][name]"] == "limitnumber" and form["options[3][value]"] == "100"


def test_forums_by_courses(http_mock, moodle, recorded):
    exchange = recorded("mod_forum_get_forums_by_courses")
    reply_with(http_mock, exchange["response"])
    forums = moodle.get_forums_by_courses(exchange["request"]["params"]["courseids"])
    assert sent_form(http_mock.calls[0]) == expected_form(exchange)
    assert [(f.id, f.type, f.name, f.cmid) for f in forums] == [
        (a["id"], a["type"], a["name"], a["cmid"]) for a in exchange["response"]]
    assert [(f.type, f.name) for f in forums][:2] == [("news", "Annunci"),
                                                      ("general", "Presentiamoci")]


def discussions_as_recorded(moodle, exchange):
    params = exchange["request"]["params"]
    return moodle.get_forum_discussions(params["forumid"], sortorder=params["sortorder"],
                                        page=params["page"], perpage=params["perpage"])


def test_forum_discussions_map_discussion_and_first_post_ids(http_mock, moodle, recorded):
    exchange = recorded("mod_forum_get_forum_discussions.page0")
    reply_with(http_mock, exchange["response"])
    discussions = discussions_as_recorded(moodle, exchange)
    assert sent_form(http_mock.calls[0]) == expected_form(exchange)
    answer = exchange["response"]["discussions"]
    assert 0 < len(discussions) == len(answer) <= exchange["request"]["params"]["perpage"]
    assert [(d.id, d.first_post_id, d.timemodified, d.numreplies, d.pinned) for d in
            discussions] == [(a["discussion"], a["id"], a["timemodified"], a["numreplies"],
                              a["pinned"]) for a in answer]


def test_empty_discussion_page(http_mock, moodle, recorded):
    exchange = recorded("mod_forum_get_forum_discussions.page9_empty")
    reply_with(http_mock, exchange["response"])
    assert discussions_as_recorded(moodle, exchange) == []


def test_discussion_posts_threaded(http_mock, moodle, recorded):
    exchange = recorded("mod_forum_get_discussion_posts.threaded")
    reply_with(http_mock, exchange["response"])
    params = exchange["request"]["params"]
    result = moodle.get_discussion_posts(params["discussionid"], sortby=params["sortby"],
                                         sortdirection=params["sortdirection"])
    assert sent_form(http_mock.calls[0]) == expected_form(exchange)
    answer = exchange["response"]
    assert [(p.id, p.parentid, p.author.id) for p in result.posts] == [
        (a["id"], a["parentid"], a["author"]["id"]) for a in answer["posts"]]
    assert result.posts[0].parentid is None and len(result.posts) >= 3
    assert all(p.parentid in {q.id for q in result.posts} for p in result.posts[1:])
    assert (result.forumid, result.courseid) == (answer["forumid"], answer["courseid"])
    assert not result.posts[0].isprivatereply and not result.posts[0].isdeleted


def sent_messages(exchange):
    """The messages of a recorded core_message_send_instant_messages request."""
    return [OutgoingMessage(m["touserid"], m["text"], m.get("textformat", 0), m.get("clientmsgid"))
            for m in exchange["request"]["params"]["messages"]]


def test_send_instant_messages_encodes_and_reports_each_result(http_mock, moodle, recorded):
    delivered = recorded("core_message_send_instant_messages.delivered")
    reply_with(http_mock, delivered["response"])
    [result] = moodle.send_instant_messages(sent_messages(delivered))
    assert sent_form(http_mock.calls[0]) == expected_form(delivered)
    [answer] = delivered["response"]
    assert result.delivered and result.msgid == answer["msgid"] > 0
    assert (result.conversationid, result.clientmsgid) == (answer["conversationid"],
                                                           answer["clientmsgid"])


def test_send_instant_messages_blocked_is_a_result_not_an_error(http_mock, moodle, recorded):
    exchange = recorded("core_message_send_instant_messages.blocked_by_preferences")
    reply_with(http_mock, exchange["response"])
    [result] = moodle.send_instant_messages(sent_messages(exchange))
    assert result.msgid == -1 and not result.delivered
    assert "message preferences" in result.errormessage
    assert result.conversationid is None


def test_send_to_self(http_mock, moodle, recorded):
    exchange = recorded("core_message_send_instant_messages.to_self")
    reply_with(http_mock, exchange["response"])
    [result] = moodle.send_instant_messages(sent_messages(exchange))
    assert sent_form(http_mock.calls[0]) == expected_form(exchange)
    [answer] = exchange["response"]
    assert result.clientmsgid == answer.get("clientmsgid")
    assert result.conversationid == answer["conversationid"]


def test_reading_back_a_conversation(http_mock, moodle, recorded):
    between = recorded("core_message_get_conversation_between_users")
    listed = recorded("core_message_get_conversation_messages")
    reply_with(http_mock, between["response"])
    reply_with(http_mock, listed["response"])
    asked = between["request"]["params"]
    conversation = moodle.get_conversation_between_users(asked["userid"], asked["otheruserid"],
                                                         messagelimit=5)
    messages = moodle.get_conversation_messages(asked["userid"], conversation.id, newest=True,
                                                limitnum=10)
    assert conversation.id == between["response"]["id"] == listed["response"]["id"]
    assert asked["otheruserid"] in conversation.member_ids
    assert messages.messages[0].useridfrom == asked["userid"]
    assert messages.messages[0].text == listed["response"]["messages"][0]["text"]
    form = sent_form(http_mock.calls[1])
    assert (form["currentuserid"], form["convid"], form["newest"], form["limitnum"]) == (
        str(asked["userid"]), str(conversation.id), "1", "10")
    assert sent_form(http_mock.calls[0])["includecontactrequests"] == "0"


def test_add_discussion_post_options(http_mock, moodle):
    reply_with(http_mock, {"postid": 321, "warnings": [], "post": {"id": 321}})
    added = moodle.add_discussion_post(180, "Re: aiuto", "<p>Chi può rispondere?</p>",
                                       private=True)
    form = sent_form(http_mock.calls[0])
    assert form["postid"] == "180" and form["subject"] == "Re: aiuto"
    assert (form["options[0][name]"], form["options[0][value]"]) == ("private", "1")
    assert added.postid == 321


def test_add_discussion_post(http_mock, moodle, recorded):
    exchange = recorded("mod_forum_add_discussion_post")
    reply_with(http_mock, exchange["response"])
    params = exchange["request"]["params"]
    added = moodle.add_discussion_post(params["postid"], params["subject"], params["message"])
    form = sent_form(http_mock.calls[0])
    assert form == expected_form(exchange)
    assert form["messageformat"] == "1" and "options[0][name]" not in form
    assert added.postid == exchange["response"]["postid"] > params["postid"]


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "errorcode", "exception"), [
    ("error.invalidtoken", "invalidtoken", "moodle_exception"),
    ("error.invalidparameter", "invalidparameter", "invalid_parameter_exception"),
    ("error.function_not_in_service", "accessexception", "webservice_access_exception"),
    ("error.missing_discussion", None, "Error"),
])
def test_recorded_errors_become_one_domain_error_and_are_not_retried(
        http_mock, moodle, recorded, sleeps, name, errorcode, exception):
    exchange = recorded(name)
    reply_with(http_mock, exchange["response"])
    with pytest.raises(MoodleError) as caught:
        moodle.call(exchange["request"]["wsfunction"], exchange["request"]["params"])
    assert caught.value.errorcode == errorcode
    # Moodle 4.5 names its exceptions with their namespace (core\exception\moodle_exception).
    assert caught.value.exception == exchange["response"]["exception"]
    assert caught.value.exception.rpartition("\\")[2] == exception
    assert caught.value.wsfunction == exchange["request"]["wsfunction"]
    assert exchange["response"]["message"] in str(caught.value)
    assert not isinstance(caught.value, MoodleUnavailable)
    assert moodle.calls == 1 and sleeps == []


def test_web_services_disabled_is_reported_clearly(http_mock, moodle, sleeps):
    http_mock.add(responses.POST, ENDPOINT, body="", status=403)
    with pytest.raises(WebServicesDisabled) as caught:
        moodle.get_site_info()
    assert "disabled" in str(caught.value)
    assert moodle.calls == 1 and sleeps == []


@pytest.mark.parametrize("failure", [
    {"status": 503, "body": "Service Unavailable"},
    {"status": 500, "body": ""},
    {"status": 200, "body": "<html><body>Fatal error: Allowed memory size</body></html>"},
    {"status": 200, "body": ""},
    {"status": 200, "body": '{"discussions": [{"id": 1, "name": "tron'},
    {"status": 200, "body": b'{"sitename": "\xff\xfe broken bytes"}'},
    {"body": requests.Timeout("read timed out")},
    {"body": requests.ConnectionError("refused")},
])
def test_transient_failures_are_retried_then_succeed(http_mock, moodle, recorded, sleeps,
                                                     failure):
    http_mock.add(responses.POST, ENDPOINT, **failure)
    http_mock.add(responses.POST, ENDPOINT, **failure)
    answer = recorded("core_webservice_get_site_info")["response"]
    reply_with(http_mock, answer)
    assert moodle.get_site_info().userid == answer["userid"]
    assert moodle.calls == 3
    assert sleeps == [0.5, 1.0]


def test_a_byte_order_mark_before_the_json_is_tolerated(http_mock, moodle, recorded):
    # A UTF-8 BOM left in a Moodle config or language file is printed before every answer.
    body = recorded("core_webservice_get_site_info")["response"]
    http_mock.add(responses.POST, ENDPOINT, body=b"\xef\xbb\xbf" + json.dumps(body).encode(),
                  content_type="application/json; charset=utf-8")
    assert moodle.get_site_info().userid == body["userid"]
    assert moodle.calls == 1


def test_retries_are_bounded_and_backoff_capped(http_mock, sleeps):
    moodle = MoodleClient(MOODLE, TOKEN, retries=5, backoff=1.0, max_backoff=4.0,
                          sleep=sleeps.append)
    for _ in range(6):
        http_mock.add(responses.POST, ENDPOINT, body="<html>502 Bad Gateway</html>", status=502)
    with pytest.raises(MoodleUnavailable) as caught:
        moodle.get_site_info()
    assert moodle.calls == 6 and len(sleeps) == 5
    caps = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(cap / 2 <= slept <= cap for slept, cap in zip(sleeps, caps, strict=True))
    assert caught.value.errorcode == "unavailable"
    assert "after 6 attempts" in str(caught.value)


def test_unexpected_shape_is_a_domain_error(http_mock, moodle):
    reply_with(http_mock, {"discussions": [{"name": "no ids"}]})
    with pytest.raises(MoodleError) as caught:
        moodle.get_forum_discussions(3)
    assert caught.value.errorcode == "invalidresponse"


def test_wrong_address_is_not_retried(http_mock, moodle, sleeps):
    http_mock.add(responses.POST, ENDPOINT, body="Not Found", status=404)
    with pytest.raises(MoodleError) as caught:
        moodle.get_site_info()
    assert caught.value.errorcode == "http404" and sleeps == []


def test_token_never_reaches_logs_or_errors(http_mock, moodle, recorded, caplog):
    caplog.set_level(logging.DEBUG)
    reply_with(http_mock, recorded("error.invalidtoken")["response"])
    http_mock.add(responses.POST, ENDPOINT, body=requests.ConnectionError(f"boom {ENDPOINT}"))
    for _ in range(4):
        http_mock.add(responses.POST, ENDPOINT, body="<html>oops</html>", status=503)
    errors = []
    for _ in range(2):
        with pytest.raises(MoodleError) as caught:
            moodle.get_site_info()
        errors.append(caught.value)
    assert [e.errorcode for e in errors] == ["invalidtoken", "unavailable"]
    assert caplog.records, "retries should have been logged"
    assert TOKEN not in caplog.text
    assert all(TOKEN not in str(vars(record)) for record in caplog.records)
    for error in errors:
        assert TOKEN not in str(error) and TOKEN not in repr(error)
        # No chained requests exception (whose request body holds the token) rides along.
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__
    assert TOKEN not in repr(moodle)
