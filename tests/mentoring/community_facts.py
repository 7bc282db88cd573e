"""Mentoring facts straight from a generated community (no database): for tests and benchmarks."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from middleware.mentoring.facts import CourseFacts, DiscussionFact, Member, PostFact
from tests.doubles.community import Community


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def facts_of(community: Community, *, ranked: int | None = None) -> CourseFacts:
    """Turn a generated community into course facts, ranking peers by how much they answer.

    Every discussion gets the same ranking: the learners who answer most (the first `ranked`
    answerers only, if given), as the analytics' peer ranking would favour them.
    """
    members = {u.id: Member(u.id, u.role, u.fullname, u.lang, "Europe/Rome",
                            at(community.now) - timedelta(weeks=12), u.enrolled and not u.deleted)
               for u in community.users}
    discussions = {d.id: DiscussionFact(d.id, d.name, d.user_id, at(d.created), d.first_post_id,
                                        d.kind != "announcement", d.locked)
                   for d in community.discussions}
    posts = [PostFact(p.id, p.discussion_id, p.user_id, p.parent_id, at(p.created))
             for p in community.posts if not p.deleted]
    answers = Counter(p.user_id for p in community.posts if p.parent_id is not None)
    order = tuple(u for u, _ in answers.most_common(ranked) if members[u].role == "learner")
    return CourseFacts(community.course_id, members, discussions, posts,
                       dict.fromkeys(discussions, order))
