"""Load what rule evaluation reads from the database, and ask analytics to rank peers.

This is the one place mentoring calls analytics (`rank_peers_for_discussion`,
`ambassador_candidates`); without them, peers are ranked by how often they answer in the
discussion's forum, then in the course.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models.community import Course, Enrolment, Person
from ..models.forum import Discussion, Forum, Post
from ..models.mentoring import Ambassador, MentoringPreference, MentoringPrompt, MentoringSettings
from .facts import (
    DEFAULT_RULES,
    CourseFacts,
    DiscussionFact,
    History,
    Member,
    PastPrompt,
    PostFact,
    Preference,
    RuleSettings,
)

log = logging.getLogger(__name__)

ANNOUNCEMENT_FORUMS = frozenset({"news"})
#: How many ranked peers to keep per discussion: enough to skip past capped or opted-out ones.
RANKED_PEERS = 12
AMBASSADOR_CANDIDATES = 10
#: Discussions older than this are never routed, so they are not ranked either.
RANKING_HORIZON = timedelta(days=max(DEFAULT_RULES["unanswered"]["max_age_days"], 30))


def rule_settings(session: Session, course_id: int) -> RuleSettings:
    row = session.get(MentoringSettings, course_id)
    if row is None:
        return RuleSettings()
    return RuleSettings(
        mode=row.mode, learner_weekly_cap=row.learner_weekly_cap,
        ambassador_weekly_cap=row.ambassador_weekly_cap, course_daily_cap=row.course_daily_cap,
        quiet_start_hour=row.quiet_start_hour, quiet_end_hour=row.quiet_end_hour,
        timezone=row.timezone, default_lang=row.default_lang, rules=dict(row.rules or {}),
    )


def load_history(session: Session, course_id: int) -> History:
    prompts = [
        PastPrompt(p.id, p.rule, p.kind, p.recipient_id, p.created_at, p.status,
                   p.about_person_id, p.discussion_id, p.sent_at)
        for p in session.scalars(select(MentoringPrompt)
                                 .where(MentoringPrompt.course_id == course_id))
    ]
    preferences = {
        p.person_id: Preference(p.opted_out, frozenset(p.stopped_rules or ()), p.snoozed_until)
        for p in session.scalars(select(MentoringPreference)
                                 .where(MentoringPreference.course_id == course_id))
    }
    ambassadors = {a.person_id: a.status for a in session.scalars(
        select(Ambassador).where(Ambassador.course_id == course_id))}
    return History(tuple(prompts), preferences, ambassadors)


def load_facts(session: Session, course_id: int, now: datetime, *,
               rank: bool = True) -> CourseFacts:
    """Read a course's members, discussions and posts, and rank peers for recent discussions."""
    members: dict[int, Member] = {}
    rows = session.execute(select(Enrolment, Person).join(Person)
                           .where(Enrolment.course_id == course_id))
    for enrolment, person in rows:
        members[person.id] = Member(person.id, enrolment.role, person.fullname, person.lang,
                                    person.timezone, enrolment.first_seen_at,
                                    enrolment.active and not person.deleted)
    discussions: dict[int, DiscussionFact] = {}
    forum_of: dict[int, int] = {}
    first_posts: dict[int, int | None] = {}
    rows = session.execute(select(Discussion, Forum.type).join(Forum)
                           .where(Discussion.course_id == course_id,
                                  Discussion.deleted.is_(False), Forum.deleted.is_(False)))
    for discussion, forum_type in rows:
        if discussion.created_at is None:
            continue
        discussions[discussion.id] = DiscussionFact(
            discussion.id, discussion.name, discussion.author_id, discussion.created_at,
            discussion.first_post_moodle_id, forum_type not in ANNOUNCEMENT_FORUMS,
            discussion.locked)
        forum_of[discussion.id] = discussion.forum_id
        first_posts[discussion.id] = discussion.first_post_moodle_id
    posts = [
        PostFact(moodle_id, discussion_id, author_id, parent, created)
        for moodle_id, discussion_id, author_id, parent, created in session.execute(
            select(Post.moodle_post_id, Post.discussion_id, Post.author_id, Post.parent_moodle_id,
                   Post.created_at)
            .where(Post.course_id == course_id, Post.deleted.is_(False),
                   Post.private_reply.is_(False), Post.created_at.is_not(None)))
        if discussion_id in discussions
    ]
    facts = CourseFacts(course_id, members, discussions, posts)
    if not rank:
        return facts
    recent = [d for d in discussions.values() if d.created_at >= now - RANKING_HORIZON]
    analysed = _analytics_activity(session, course_id, now)
    ranked = _rank_peers(facts, recent, forum_of, analysed, _recent_load(session, course_id, now))
    return CourseFacts(course_id, members, discussions, posts, ranked,
                       _ambassador_candidates(analysed, course_id))


def _recent_load(session: Session, course_id: int, now: datetime) -> dict[int, int]:
    """Prompts each person was sent in the last week: analytics ranks busy peers lower."""
    rows = session.execute(
        select(MentoringPrompt.recipient_id, func.count())
        .where(MentoringPrompt.course_id == course_id,
               MentoringPrompt.created_at > now - timedelta(days=7),
               MentoringPrompt.status.in_(("queued", "sent", "review")))
        .group_by(MentoringPrompt.recipient_id))
    return dict(rows.all())


def _rank_peers(facts: CourseFacts, discussions: list[DiscussionFact], forum_of: dict[int, int],
                activity_: Any, load: dict[int, int]) -> dict[int, tuple[int, ...]]:
    if activity_ is not None:
        from ..analytics.candidates import rank_peers_for_discussion

        try:
            return {d.id: tuple(s.person_id for s in rank_peers_for_discussion(
                activity_, d.id, k=RANKED_PEERS, load=load,
                exclude=(d.author_id,) if d.author_id else ()))
                for d in discussions if d.id in activity_.discussion_by_id}
        except Exception:  # analytics is optional here: fall back rather than stop mentoring
            log.exception("peer ranking by analytics failed; ranking by answers instead",
                          extra={"course_id": facts.course_id})
    return rank_by_answers(facts, discussions, forum_of)


def rank_by_answers(facts: CourseFacts, discussions: list[DiscussionFact],
                    forum_of: dict[int, int]) -> dict[int, tuple[int, ...]]:
    """Rank learners for each discussion by answers in its forum, then in the whole course."""
    in_forum: dict[int, Counter[int]] = defaultdict(Counter)
    in_course: Counter[int] = Counter()
    for post in facts.posts:
        discussion = facts.discussions.get(post.discussion_id)
        if (discussion is None or post.author_id is None or post.parent_id is None
                or post.author_id == discussion.author_id or not facts.is_learner(post.author_id)):
            continue
        in_forum[forum_of.get(post.discussion_id, 0)][post.author_id] += 1
        in_course[post.author_id] += 1
    ranked = {}
    for discussion in discussions:
        local = in_forum[forum_of.get(discussion.id, 0)]
        order = sorted((p for p in in_course if p != discussion.author_id
                        and facts.members.get(p) and facts.members[p].active),
                       key=lambda p: (-local[p], -in_course[p], p))
        ranked[discussion.id] = tuple(order[:RANKED_PEERS])
    return ranked


def _ambassador_candidates(activity_: Any, course_id: int) -> tuple[tuple[int, float], ...]:
    if activity_ is None:
        return ()
    try:
        from ..analytics.candidates import ambassador_candidates
        from ..analytics.graph import View, build_graph
        from ..analytics.metrics import compute_metrics

        metrics = compute_metrics(build_graph(activity_, View()))
        found = ambassador_candidates(activity_, metrics, limit=AMBASSADOR_CANDIDATES)
    except Exception:
        log.exception("ambassador candidates from analytics failed",
                      extra={"course_id": course_id})
        return ()
    return tuple((c.person_id, float(c.score)) for c in found)


def _analytics_activity(session: Session, course_id: int, now: datetime) -> Any:
    """Return analytics' view of the course, or None while analytics cannot load one."""
    try:
        from ..analytics import candidates
    except ImportError:
        return None
    load = getattr(candidates, "load_course_activity", None)
    if load is None:
        return None
    try:
        return load(session, course_id, now=now)
    except Exception:
        log.exception("analytics could not load the course", extra={"course_id": course_id})
        return None


def course_wwwroot(course: Course) -> str:
    """Return the Moodle site address of a course (a Moodle platform's issuer is its wwwroot)."""
    return course.platform.issuer.rstrip("/")


def discussion_link(wwwroot: str, moodle_discussion_id: int) -> str:
    return f"{wwwroot}/mod/forum/discuss.php?d={moodle_discussion_id}"


def course_link(wwwroot: str, moodle_course_id: int | None) -> str:
    return f"{wwwroot}/course/view.php?id={moodle_course_id}" if moodle_course_id else wwwroot
