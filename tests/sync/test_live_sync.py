"""A whole sync against the double served over HTTP, with changes made at run time."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from middleware.models import Post
from middleware.models.moodle import SUCCEEDED
from tests.doubles.community import generate_community
from tests.doubles.moodle_ws import MoodleDouble, add_replies, serve_double
from tests.sync.conftest import TOKEN, make_course

pytestmark = pytest.mark.live_http


def test_sync_over_http_first_then_nothing_then_new_posts(db_session, settings):
    from middleware.sync.operations import run_sync

    community = generate_community(seed=31, learners=60, discussions=70, posts=400)
    double = MoodleDouble(community, token=TOKEN)
    with serve_double(double) as server:
        course = make_course(db_session, settings.encryption_key, community.service_user.id,
                             url=server.url)

        def sync():
            return run_sync(db_session, course.id, key=settings.encryption_key,
                            checkpoint=db_session.commit)

        first = sync()
        assert first.status == SUCCEEDED, first.error
        assert first.calls == double.total_calls
        assert db_session.scalar(select(func.count(Post.id))) == 400
        double.reset_stats()
        quiet = sync()
        assert quiet.changed == 0 and quiet.calls <= 1 + len(community.forums)
        add_replies(community, 20)
        double.reset_stats()
        after = sync()
        assert after.status == SUCCEEDED and after.changed >= 20
        assert db_session.scalar(select(func.count(Post.id))) == 420
        assert double.calls["mod_forum_get_discussion_posts"] == 10
