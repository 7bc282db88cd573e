"""The client against the double served over real HTTP on 127.0.0.1 (messaging included)."""

from __future__ import annotations

import pytest

from middleware.moodle.schemas import OutgoingMessage
from middleware.moodle.service import (
    MoodleClient,
    MoodleError,
    MoodleUnavailable,
    WebServicesDisabled,
)
from tests.doubles.community import generate_community
from tests.doubles.moodle_ws import MoodleDouble, serve_double

pytestmark = pytest.mark.live_http
TOKEN = "live-double-token-0123456789abcdef"


@pytest.fixture
def double():
    community = generate_community(seed=21, learners=25, discussions=20, posts=90)
    return MoodleDouble(community, token=TOKEN)


@pytest.fixture
def server(double):
    with serve_double(double) as running:
        double.community.siteurl = running.url
        yield running


@pytest.fixture
def client(server):
    return MoodleClient(server.url, TOKEN, sleep=lambda _s: None)


def test_reads_the_community_over_http(client, double):
    community = double.community
    info = client.get_site_info()
    assert info.userid == community.service_user.id and info.siteurl == community.siteurl
    first = client.get_enrolled_users(community.course_id, limitfrom=0, limitnumber=10)
    rest = client.get_enrolled_users(community.course_id, limitfrom=10, limitnumber=100)
    assert len(first) == 10 and len(first) + len(rest) == len(community.enrolled_users_json())
    forums = client.get_forums_by_courses([community.course_id])
    discussions = client.get_forum_discussions(forums[2].id, perpage=100)
    posts = client.get_discussion_posts(discussions[0].id)
    assert len(posts.posts) == discussions[0].numreplies + 1
    assert double.calls["mod_forum_get_discussion_posts"] == 1


def test_messages_are_delivered_not_deduplicated_and_read_back(client, double):
    community = double.community
    bot = community.service_user.id
    learner = community.learners[0]
    text = "<p>Una domanda aspetta una risposta: puoi aiutare?</p>"
    results = client.send_instant_messages([
        OutgoingMessage(learner.id, text, 1, "prompt1"),
        OutgoingMessage(learner.id, text, 1, "prompt1"),  # Moodle delivers both
    ])
    assert [r.delivered for r in results] == [True, True]
    assert [r.clientmsgid for r in results] == ["prompt1", "prompt1"]
    assert results[0].msgid != results[1].msgid
    conversation = client.get_conversation_between_users(bot, learner.id, messagelimit=5)
    assert conversation.id == results[0].conversationid
    assert [m.id for m in conversation.messages] == [results[1].msgid, results[0].msgid]
    messages = client.get_conversation_messages(bot, conversation.id, newest=True, limitnum=1)
    assert [m.id for m in messages.messages] == [results[1].msgid]
    assert client.get_conversation_between_users(bot, community.learners[1].id) is None


def test_per_message_failures_are_results(client, double):
    community = double.community
    community.unenrol(community.learners[2].id)
    results = client.send_instant_messages([
        OutgoingMessage(community.learners[2].id, "Ciao", 2, "a1"),
        OutgoingMessage(community.learners[3].id, "x" * 4097, 2, "a2"),
        OutgoingMessage(community.learners[3].id, "è" * 2048, 2, "a3"),  # 4096 bytes: fits
    ])
    assert [r.msgid for r in results][:2] == [-1, -1]
    assert "message preferences" in results[0].errormessage
    assert "too long" in results[1].errormessage
    assert results[2].delivered


def test_add_discussion_post_appears_in_the_discussion(client, double):
    discussion = double.community.discussions[0]
    added = client.add_discussion_post(discussion.first_post_id, "Re: aiuto",
                                       "<p>Chi può rispondere?</p>")
    posts = client.get_discussion_posts(discussion.id).posts
    assert posts[-1].id == added.postid and posts[-1].parentid == discussion.first_post_id
    with pytest.raises(MoodleError) as caught:
        client.add_discussion_post(discussion.first_post_id, "<b>no</b>", "x")
    assert caught.value.errorcode == "invalidparameter"


def test_strict_booleans(client, double):
    with pytest.raises(MoodleError) as caught:
        client.call("core_message_get_conversation_messages",
                    {"currentuserid": 1, "convid": 1, "newest": "true"})
    assert caught.value.errorcode == "invalidparameter"


def test_error_switches_over_http(server, double):
    sleeps = []
    client = MoodleClient(server.url, TOKEN, sleep=sleeps.append, retries=2)
    double.fail_next("html")
    double.fail_next("503")
    assert client.get_site_info().userid  # two failures retried, third call answers
    assert client.calls == 3 and len(sleeps) == 2
    double.fail_next("disabled")
    with pytest.raises(WebServicesDisabled):
        client.get_site_info()
    wrong = MoodleClient(server.url, "not-the-token", sleep=lambda _s: None)
    with pytest.raises(MoodleError) as caught:
        wrong.get_site_info()
    assert caught.value.errorcode == "invalidtoken"


def test_slowness_hits_the_timeout_and_is_retried_a_bounded_number_of_times(server, double):
    double.latency = 0.5
    client = MoodleClient(server.url, TOKEN, timeout=(1.0, 0.1), retries=2,
                          sleep=lambda _s: None)
    with pytest.raises(MoodleUnavailable) as caught:
        client.get_site_info()
    assert client.calls == 3 and "timed out" in str(caught.value)


def test_a_double_in_its_own_process_is_driven_through_its_control_endpoint():
    from tests.doubles.moodle_ws import spawn_double

    with spawn_double(token=TOKEN, seed=3, learners=10, discussions=6, posts=20) as remote:
        client = MoodleClient(remote.url, TOKEN, sleep=lambda _s: None)
        forum = client.get_forums_by_courses([2])[2]
        discussion = client.get_forum_discussions(forum.id, perpage=10)[0]
        added = remote.control("add_posts", count=1)["post_ids"]
        remote.control("edit_post", post_id=discussion.first_post_id, message="<p>nuovo</p>")
        posts = {p.id: p for p in client.get_discussion_posts(discussion.id).posts}
        assert posts[discussion.first_post_id].message == "<p>nuovo</p>"
        remote.control("delete_discussion", discussion_id=discussion.id)
        with pytest.raises(MoodleError) as caught:
            client.get_discussion_posts(discussion.id)
        assert caught.value.errorcode is None and caught.value.exception == "Error"
        stats = remote.stats()
        assert stats["total_calls"] == client.calls and added
