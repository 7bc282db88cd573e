"""The companion plugin's two calls in the Moodle client, against the real plugin's recordings."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
import responses

from middleware.moodle.plugin_schemas import OutgoingPrompt
from middleware.moodle.service import MoodleError
from tests.companion.conftest import RECORDINGS, recording

from .conftest import ENDPOINT, sent_form


def answer(http_mock, *names):
    for name in names:
        http_mock.add(responses.POST, ENDPOINT, json=recording(name)["response"])


FIRST_READ = sorted(p.stem for p in RECORDINGS.glob(
    "local_circolo_get_course_changes.first_read.page*.json"))


def test_a_first_read_pages_until_the_last_page_and_loads_core_shapes(moodle, http_mock):
    answer(http_mock, *FIRST_READ)
    pages = [recording(name)["response"] for name in FIRST_READ]
    first = pages[0]
    changes = moodle.read_course_changes(2, limit=6)

    assert moodle.calls == len(pages) >= 3
    asked = [sent_form(call) for call in http_mock.calls]
    assert asked[0]["courseid"] == "2" and asked[0]["limit"] == "6"
    assert asked[0].get("cursor", "") == ""  # the first page
    for page, request in zip(pages, asked[1:], strict=False):
        assert request["until"] == str(first["until"])
        assert request["cursor"] == page["nextcursor"]
    assert changes.until == first["until"] and changes.nextcursor == ""
    assert changes.course.fullname == "Comunità di prova"
    (forum,) = changes.forums
    assert forum.forum.type == "general" and forum.visible and forum.forum.cmid
    assert [d.discussion.id for d in changes.discussions] == [1, 2, 3]
    assert {d.forumid for d in changes.discussions} == {forum.forum.id}
    assert len(changes.posts) == 9
    first_post = changes.posts[0].post
    assert first_post.parentid is None and first_post.author.fullname
    reply = changes.posts[1].post
    assert reply.parentid == first_post.id and reply.message.startswith("<p>")
    people = {u.user.id: u for u in changes.users}
    assert people[5].lang == "it" and people[5].timezone == "Europe/Rome"
    assert people[5].enrolled and "student" in people[5].user.roles
    assert any("editingteacher" in u.user.roles for u in changes.users)


def test_changes_since_carry_private_replies_tombstones_and_unenrolments(moodle, http_mock):
    answer(http_mock, "local_circolo_get_course_changes.since")
    changes = moodle.read_course_changes(2, since=1796165228)
    (post,) = changes.posts
    assert post.post.isprivatereply and post.privatereplyto > 0
    assert {(t.itemtype, t.itemid) for t in changes.deleted} >= {("post", 12)}
    assert {t.itemtype for t in changes.deleted} == {"post", "role", "enrolment"}
    (unenrolled,) = changes.users
    assert not unenrolled.enrolled and not unenrolled.deleted
    assert not changes.needs_full_read


def test_nothing_new_is_one_call(moodle, http_mock):
    answer(http_mock, "local_circolo_get_course_changes.nothing_new")
    changes = moodle.read_course_changes(2, since=1796165232)
    assert moodle.calls == 1
    assert not (changes.posts or changes.discussions or changes.deleted or changes.users)


def test_a_since_older_than_the_kept_tombstones_asks_for_a_full_read(moodle, http_mock):
    body = dict(recording("local_circolo_get_course_changes.nothing_new")["response"])
    body["since"] = body["deletionsknownsince"] - 1
    http_mock.add(responses.POST, ENDPOINT, json=body)
    assert moodle.get_course_changes(2, since=body["since"]).needs_full_read


def test_a_cursor_that_never_ends_is_stopped(moodle, http_mock):
    page = dict(recording(FIRST_READ[1])["response"])
    page["nextcursor"] = "posts-1"
    http_mock.add(responses.POST, ENDPOINT, json=page)
    with pytest.raises(MoodleError) as raised:
        moodle.read_course_changes(2, max_pages=3)
    assert raised.value.errorcode == "toomanypages" and moodle.calls == 3


def test_a_plugin_error_body_is_a_moodle_error(moodle, http_mock):
    answer(http_mock, "error.local_circolo_get_course_changes.no_course")
    with pytest.raises(MoodleError) as raised:
        moodle.get_course_changes(999999)
    assert raised.value.errorcode == "invalidrecord"
    assert raised.value.wsfunction == "local_circolo_get_course_changes"


def test_prompts_are_sent_in_php_brackets_and_results_come_back_per_prompt(moodle, http_mock):
    answer(http_mock, "local_circolo_deliver_prompts.first",
           "local_circolo_deliver_prompts.repeated")
    prompts = [OutgoingPrompt(reference="circoloe2e1", userid=5, courseid=2,
                              text="<p>Ciao!</p>", contexturl="http://moodle.test/d?d=1"),
               OutgoingPrompt(reference="circoloe2e2", userid=9, courseid=2, text="<p>x</p>"),
               OutgoingPrompt(reference="circoloe2e3", userid=987654, courseid=2, text="x")]
    first = moodle.deliver_prompts(prompts)
    sent = dict(parse_qsl(http_mock.calls[0].request.body))
    assert sent["wsfunction"] == "local_circolo_deliver_prompts"
    assert sent["prompts[0][reference]"] == "circoloe2e1"
    assert sent["prompts[0][contexturl]"] == "http://moodle.test/d?d=1"
    assert sent["prompts[2][userid]"] == "987654" and sent["prompts[1][textformat]"] == "1"
    assert [(r.status, r.reason) for r in first] == [
        ("delivered", ""), ("refused", "notenrolled"), ("refused", "usernotfound")]
    assert first[0].delivered and first[0].notificationid > 0 and not first[1].delivered

    again = moodle.deliver_prompts(prompts)
    assert again[0].repeated and again[0].notificationid == first[0].notificationid
    assert not again[1].repeated
