"""The generated community is deterministic, shaped like the recordings, and structured."""

import json
import time
from collections import Counter

import pytest

from tests.doubles.community import TOPICS, generate_community


def test_same_seed_same_community_and_different_seed_differs():
    now = int(time.time())
    first = generate_community(seed=3, learners=30, discussions=40, posts=200, now=now)
    again = generate_community(seed=3, learners=30, discussions=40, posts=200, now=now)
    other = generate_community(seed=4, learners=30, discussions=40, posts=200, now=now)
    assert json.dumps(first.discussions_json(3)) == json.dumps(again.discussions_json(3))
    assert [p.message for p in first.posts] == [p.message for p in again.posts]
    assert [p.message for p in first.posts] != [p.message for p in other.posts]


def test_sizes_and_ids_follow_moodle():
    community = generate_community(seed=1, learners=40, discussions=60, posts=300)
    assert len(community.learners) == 40
    assert len(community.discussions) == 60
    assert len(community.posts) == 300
    assert community.service_user.id == 45  # as in the recordings: learners 5..44, bot 45
    assert [t.id for t in community.teachers] == [3, 4]
    # Ids grow with creation time, as Moodle's auto-increment rows do.
    created = [p.created for p in sorted(community.posts, key=lambda p: p.id)]
    assert created == sorted(created)


def test_json_shapes_match_the_recordings(fixtures_dir):
    community = generate_community(seed=1)
    recorded = json.loads((fixtures_dir / "ws" / "mod_forum_get_forum_discussions.page0.json")
                          .read_text())["response"]["discussions"][0]
    generated = community.discussions_json(3, page=0, perpage=10)["discussions"][0]
    assert set(generated) == set(recorded)
    threaded = fixtures_dir / "ws" / "mod_forum_get_discussion_posts.threaded.json"
    recorded_post = json.loads(threaded.read_text())["response"]
    generated_posts = community.discussion_posts_json(community.discussions[0].id)
    assert set(generated_posts) == set(recorded_post)
    assert set(generated_posts["posts"][0]) == set(recorded_post["posts"][0])
    assert set(generated_posts["posts"][0]["author"]) == set(recorded_post["posts"][0]["author"])
    recorded_forum = json.loads((fixtures_dir / "ws" / "mod_forum_get_forums_by_courses.json")
                                .read_text())["response"][0]
    assert set(community.forums_json([2])[0]) == set(recorded_forum)


def test_pinned_first_then_newest_last_post():
    community = generate_community(seed=2, learners=30, discussions=80, posts=300)
    for forum in community.forums:
        listed = community.discussions_json(forum.id)["discussions"]
        pinned = [d["pinned"] for d in listed]
        assert pinned == sorted(pinned, reverse=True)
        unpinned = [d["timemodified"] for d in listed if not d["pinned"]]
        assert unpinned == sorted(unpinned, reverse=True)


def test_community_structure_ground_truth():
    community = generate_community(seed=5, learners=200, discussions=300, posts=2000)
    posts = {p.id: p for p in community.posts}
    authors = Counter(p.user_id for p in community.posts)
    assert not set(community.lurkers) & set(authors)
    replied_to = {posts[p.parent_id].user_id for p in community.posts
                  if p.parent_id and posts[p.parent_id].user_id != p.user_id}
    assert community.isolated and not set(community.isolated) & replied_to
    assert all(authors[uid] for uid in community.isolated)
    replies = Counter(p.user_id for p in community.posts if p.parent_id)
    learner_median = sorted(replies[u.id] for u in community.learners)[100]
    assert all(replies[uid] > 3 * max(1, learner_median) for uid in community.experts)
    assert all(community.discussion(d).num_replies == 0 for d in community.unanswered)
    for discussion_id in community.teacher_threads:
        first, *rest = community.posts_of(discussion_id)
        assert community.user(first.user_id).role == "teacher"
        assert all(p.parent_id == first.id for p in rest)
    assert any(p.private_reply_to for p in community.posts)
    assert any(p.modified > p.created for p in community.posts)
    assert any(community.user(p.user_id).deleted for p in community.posts)
    assert any(d.group_id > 0 for d in community.discussions)
    assert {p.topic for p in community.posts} <= set(TOPICS)


def test_runtime_changes_move_timemodified_like_moodle():
    community = generate_community(seed=6)
    discussion = next(d for d in community.discussions if d.num_replies >= 2)
    before = discussion.timemodified
    first = discussion.first_post_id
    reply = community.add_post(discussion.id, 5, "<p>nuova risposta</p>")
    assert discussion.timemodified == reply.created > before
    community.delete_post(reply.id)
    assert discussion.timemodified == before  # recomputed from what remains
    edited = community.edit_post(first, "<p>corretto</p>")
    assert discussion.timemodified == before  # edits do not move the sort key
    assert edited.modified > before
    removed = community.delete_post(first)
    assert discussion.id not in {d.id for d in community.discussions}
    assert all(pid not in {p.id for p in community.posts} for pid in removed)


@pytest.mark.slow
def test_large_community_is_quick():
    community = generate_community(seed=9, learners=20_000, discussions=5_000, posts=100_000)
    assert len(community.posts) == 100_000
    assert len(community.enrolled_users_json(limitfrom=0, limitnumber=1000)) == 1000
