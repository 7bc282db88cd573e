"""What the learner's pane reads and changes, and the export of a learner's own data.

Learner views never include private replies (not even the learner's own: the pane is about the
public community), and never name a peer who chose to be hidden from suggestions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from middleware.analytics import operations as analytics
from middleware.analytics.metrics import METRIC_FIELDS
from middleware.analytics.reasons import render_stored_reason
from middleware.mentoring import operations as mentoring
from middleware.models import (
    LEARNER,
    Ambassador,
    Course,
    CourseGroup,
    Discussion,
    Enrolment,
    Forum,
    MentoringPreference,
    MentoringPrompt,
    Person,
    PrivacyChoice,
    utcnow,
)
from middleware.models.forum import Post

#: How far back "questions where you could help" look.
QUESTION_MAX_AGE = timedelta(days=14)


@dataclass(frozen=True)
class Peer:
    """Someone the learner exchanged replies with."""

    person_id: int
    name: str
    role: str
    replies_to: int  # replies the learner wrote to them
    replies_from: int  # replies they wrote to the learner


@dataclass(frozen=True)
class PeerSuggestion:
    """Someone the learner has not talked with yet, and the discussion they share."""

    person_id: int
    name: str
    shared_discussion: str
    discussion_url: str


@dataclass(frozen=True)
class OpenQuestion:
    """A discussion still waiting for its first reply."""

    discussion_id: int
    title: str
    url: str
    asked_at: datetime | None
    reason: str = ""
    question_html: str = ""  # the first post, as stored (sanitised again when shown)


def moodle_discussion_url(course: Course, moodle_discussion_id: int) -> str:
    """Return the address of a discussion on the course's Moodle site."""
    site = (course.platform.issuer if course.platform else "").rstrip("/")
    return f"{site}/mod/forum/discuss.php?d={moodle_discussion_id}"


def _public_posts(course_id: int):
    return and_(Post.course_id == course_id, Post.deleted.is_(False),
                Post.private_reply.is_(False))


def hidden_people(session: Session, course_id: int) -> set[int]:
    """Return the people of a course who asked never to be suggested to peers."""
    return set(session.scalars(select(PrivacyChoice.person_id).where(
        PrivacyChoice.course_id == course_id,
        PrivacyChoice.hidden_from_suggestions.is_(True))))


def is_hidden_from_suggestions(session: Session, course_id: int, person_id: int) -> bool:
    """Tell whether a learner asked never to be suggested to peers in this course."""
    return person_id in hidden_people(session, course_id)


def set_hidden_from_suggestions(session: Session, course_id: int, person_id: int,
                                hidden: bool) -> PrivacyChoice:
    """Record whether a learner may be suggested to peers."""
    choice = session.scalar(select(PrivacyChoice).where(
        PrivacyChoice.course_id == course_id, PrivacyChoice.person_id == person_id))
    if choice is None:
        choice = PrivacyChoice(course_id=course_id, person_id=person_id)
        session.add(choice)
    choice.hidden_from_suggestions = hidden
    choice.updated_at = utcnow()
    session.flush()
    return choice


def people_i_talk_with(session: Session, course_id: int, person_id: int,
                       limit: int = 6) -> list[Peer]:
    """Return the people a learner exchanged public replies with, most exchanges first."""
    return _peers(session, course_id, person_id)[:limit]


def _peers(session: Session, course_id: int, person_id: int) -> list[Peer]:
    """Return everyone (not deleted) the learner exchanged public replies with, most first."""
    parent = aliased(Post)
    public_parent = and_(parent.course_id == course_id, parent.deleted.is_(False),
                         parent.private_reply.is_(False))
    my_public_posts = select(parent.moodle_post_id).where(public_parent,
                                                          parent.author_id == person_id)
    # Two halves, each led by an index, rather than one self-join filtered by "either author"
    # (a scan of the course's posts): the replies I wrote, through post(course_id, author_id);
    # the replies to my posts, through post(course_id, parent_moodle_id).
    pairs = session.execute(union_all(
        select(Post.author_id, parent.author_id)
        .join(parent, and_(parent.course_id == Post.course_id,
                           parent.moodle_post_id == Post.parent_moodle_id))
        .where(_public_posts(course_id), public_parent, Post.author_id == person_id),
        select(Post.author_id, literal(person_id))
        .where(_public_posts(course_id), Post.author_id != person_id,
               Post.parent_moodle_id.in_(my_public_posts)),
    )).all()
    given: dict[int, int] = defaultdict(int)
    received: dict[int, int] = defaultdict(int)
    for author, answered in pairs:
        if author == answered or author is None or answered is None:
            continue
        if author == person_id:
            given[answered] += 1
        else:
            received[author] += 1
    ids = set(given) | set(received)
    if not ids:
        return []
    people = session.execute(
        select(Person.id, Person.fullname, Enrolment.role)
        .outerjoin(Enrolment, and_(Enrolment.person_id == Person.id,
                                   Enrolment.course_id == course_id))
        .where(Person.id.in_(ids), Person.deleted.is_(False))).all()
    found = [Peer(pid, name, role or LEARNER, given[pid], received[pid])
             for pid, name, role in people]
    found.sort(key=lambda peer: (-(peer.replies_to + peer.replies_from), peer.name))
    return found


def people_i_could_meet(session: Session, course_id: int, person_id: int,
                        limit: int = 5, *, known: set[int] | None = None,
                        hidden: set[int] | None = None) -> list[PeerSuggestion]:
    """Suggest learners who wrote in the same discussions but never exchanged a reply with me.

    `known` (my peers) and `hidden` (people hidden from suggestions) are read when not given.
    """
    course = session.get(Course, course_id)
    if known is None:
        known = {peer.person_id for peer in _peers(session, course_id, person_id)}
    if hidden is None:
        hidden = hidden_people(session, course_id)
    mine = session.scalars(select(Post.discussion_id).distinct().where(
        _public_posts(course_id), Post.author_id == person_id)).all()
    if not mine:
        return []
    # Each author once, with the discussion of their latest post there, latest authors first.
    # The discussions are the course's already: no course filter on their posts (it tempted
    # the planners into the course-wide post indexes).
    latest = (
        select(Post.author_id, Discussion.name, Discussion.moodle_discussion_id,
               Post.created_at,
               func.row_number().over(partition_by=Post.author_id,
                                      order_by=Post.created_at.desc()).label("newest"))
        .join(Discussion, Discussion.id == Post.discussion_id)
        .join(Enrolment, and_(Enrolment.person_id == Post.author_id,
                              Enrolment.course_id == course_id))
        .where(Post.deleted.is_(False), Post.private_reply.is_(False),
               Post.discussion_id.in_(mine), Post.author_id != person_id,
               Enrolment.role == LEARNER, Enrolment.active.is_(True),
               Discussion.deleted.is_(False))
    ).subquery()
    rows = session.execute(
        select(latest.c.author_id, latest.c.name, latest.c.moodle_discussion_id)
        .where(latest.c.newest == 1).order_by(latest.c.created_at.desc())
    ).all()
    chosen: dict[int, tuple[str, int]] = {}
    for author, title, moodle_id in rows:
        if author in known or author in hidden:
            continue
        chosen[author] = (title, moodle_id)
        if len(chosen) >= limit:
            break
    if not chosen:
        return []
    names = dict(session.execute(select(Person.id, Person.fullname).where(
        Person.id.in_(chosen), Person.deleted.is_(False))).all())
    return [PeerSuggestion(pid, names[pid], title, moodle_discussion_url(course, moodle_id))
            for pid, (title, moodle_id) in chosen.items() if pid in names]


def open_questions(session: Session, course_id: int, person_id: int, *, now: datetime,
                   limit: int = 5, groups: set[int] | None = None) -> list[OpenQuestion]:
    """Return recent discussions of others that nobody has answered yet, oldest first."""
    course = session.get(Course, course_id)
    if groups is None:
        groups = my_moodle_groups(session, course_id, person_id)
    visible = [-1, 0, *groups]
    replied = select(Post.id).where(
        Post.discussion_id == Discussion.id, Post.parent_moodle_id.is_not(None),
        Post.deleted.is_(False))
    discussions = session.scalars(
        select(Discussion).join(Forum, Forum.id == Discussion.forum_id)
        .where(Discussion.course_id == course_id, Discussion.deleted.is_(False),
               Forum.type != "news", Forum.deleted.is_(False),
               Discussion.author_id != person_id, ~replied.exists(),
               Discussion.moodle_group_id.in_(visible),
               Discussion.created_at >= now - QUESTION_MAX_AGE)
        .order_by(Discussion.created_at).limit(limit)
    )
    discussions = list(discussions)
    firsts = first_posts(session, [d.id for d in discussions])
    return [OpenQuestion(d.id, d.name, moodle_discussion_url(course, d.moodle_discussion_id),
                         d.created_at, question_html=firsts.get(d.id, "")) for d in discussions]


def first_posts(session: Session, discussion_ids: list[int]) -> dict[int, str]:
    """Return the HTML of each discussion's first post (public, not deleted)."""
    if not discussion_ids:
        return {}
    return dict(session.execute(select(Post.discussion_id, Post.message_html).where(
        Post.discussion_id.in_(discussion_ids), Post.parent_moodle_id.is_(None),
        Post.deleted.is_(False), Post.private_reply.is_(False))).all())


def my_moodle_groups(session: Session, course_id: int, person_id: int) -> set[int]:
    """Return the Moodle ids of the groups a person belongs to in a course."""
    return set(session.scalars(select(CourseGroup.moodle_group_id).join(CourseGroup.members)
                               .where(Enrolment.course_id == course_id,
                                      Enrolment.person_id == person_id)))


def questions_where_i_could_help(session: Session, course_id: int, person_id: int, *,
                                 now: datetime, limit: int = 5) -> list[OpenQuestion]:
    """Return unanswered questions, first those analytics ranked me as a good peer for."""
    course = session.get(Course, course_id)
    snapshot = analytics.latest_snapshot(session, course_id, window="all", with_edges=False)
    my_groups = my_moodle_groups(session, course_id, person_id)
    ranked_for_me = []
    for item in (snapshot.candidates.get("unanswered", []) if snapshot else []):
        peer = next((p for p in item.get("peers", []) if p["person_id"] == person_id), None)
        if peer is not None:
            ranked_for_me.append((item["discussion_id"], peer))
    # The discussions and their first posts in one query each, not one per question.
    wanted = [discussion_id for discussion_id, _peer in ranked_for_me]
    discussions = {d.id: d for d in session.scalars(
        select(Discussion).where(Discussion.id.in_(wanted)))} if wanted else {}
    shown = [discussion_id for discussion_id in wanted
             if (d := discussions.get(discussion_id)) is not None and not d.deleted and (
                 d.moodle_group_id in (-1, 0) or d.moodle_group_id in my_groups)]
    firsts = first_posts(session, sorted(set(shown)))
    mine: list[OpenQuestion] = []
    for discussion_id, peer in ranked_for_me:
        if discussion_id not in shown:
            continue
        discussion = discussions[discussion_id]
        mine.append(OpenQuestion(discussion.id, discussion.name,
                                 moodle_discussion_url(course, discussion.moodle_discussion_id),
                                 discussion.created_at, render_stored_reason(peer.get("reason")),
                                 firsts.get(discussion.id, "")))
    ranked = {question.discussion_id for question in mine}
    others = [q for q in open_questions(session, course_id, person_id, now=now, limit=limit,
                                        groups=my_groups)
              if q.discussion_id not in ranked]
    return (mine + others)[:limit]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_learner_data(session: Session, course_id: int, person_id: int) -> dict[str, Any]:
    """Return everything Circolo stores about one person in one course, as JSON-ready data."""
    person = session.get(Person, person_id)
    enrolment = session.scalar(select(Enrolment).where(
        Enrolment.course_id == course_id, Enrolment.person_id == person_id))
    if person is None or enrolment is None:
        raise LookupError("this person is not enrolled in this course")
    course = session.get(Course, course_id)
    groups = session.scalars(select(CourseGroup.name).join(CourseGroup.members).where(
        Enrolment.id == enrolment.id)).all()
    posts = session.execute(
        select(Post, Discussion.name).join(Discussion, Discussion.id == Post.discussion_id)
        .where(Post.course_id == course_id, Post.author_id == person_id)
        .order_by(Post.created_at, Post.id)
    ).all()
    privacy = session.scalar(select(PrivacyChoice).where(
        PrivacyChoice.course_id == course_id, PrivacyChoice.person_id == person_id))
    data: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "course": {"id": course.id, "title": course.title, "context_id": course.context_id},
        "person": {
            "id": person.id, "subject": person.subject, "moodle_user_id": person.moodle_user_id,
            "fullname": person.fullname, "email": person.email, "lang": person.lang,
            "timezone": person.timezone, "created_at": _iso(person.created_at),
            "updated_at": _iso(person.updated_at),
        },
        "enrolment": {
            "role": enrolment.role, "moodle_roles": list(enrolment.moodle_roles or []),
            "active": enrolment.active, "groups": sorted(groups),
            "last_course_access": _iso(enrolment.last_course_access),
            "first_seen_at": _iso(enrolment.first_seen_at),
        },
        "posts": [
            {"moodle_post_id": post.moodle_post_id, "discussion": title,
             "parent_moodle_id": post.parent_moodle_id, "subject": post.subject,
             "message_html": post.message_html, "message_text": post.message_text,
             "created_at": _iso(post.created_at), "modified_at": _iso(post.modified_at),
             "private_reply": post.private_reply, "deleted": post.deleted}
            for post, title in posts
        ],
        "privacy": {"hidden_from_suggestions": bool(privacy and privacy.hidden_from_suggestions)},
    }
    data.update(_mentoring_export(session, course_id, person_id))
    data["metrics"] = _metrics_export(session, course_id, person_id)
    return data


def _metrics_export(session: Session, course_id: int, person_id: int) -> list[dict[str, Any]]:
    """Return the figures analytics stored about the person, one entry per course view."""
    found = []
    for audience in ("teacher", "learner"):
        for window in ("7d", "30d", "all"):
            snapshot = analytics.latest_snapshot(session, course_id, window=window,
                                                 audience=audience)
            row = analytics.person_metrics(session, snapshot, person_id) if snapshot else None
            if row is None:
                continue
            figures = {name: getattr(row, name) for name in METRIC_FIELDS}
            figures["last_activity"] = _iso(row.last_activity)
            found.append({"window": window, "audience": audience,
                          "computed_at": _iso(snapshot.computed_at), **figures})
    return found


def _mentoring_export(session: Session, course_id: int, person_id: int) -> dict[str, Any]:
    prompts = session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.course_id == course_id, MentoringPrompt.recipient_id == person_id)
        .order_by(MentoringPrompt.created_at, MentoringPrompt.id))
    preference = session.scalar(select(MentoringPreference).where(
        MentoringPreference.course_id == course_id, MentoringPreference.person_id == person_id))
    ambassador = session.scalar(select(Ambassador).where(
        Ambassador.course_id == course_id, Ambassador.person_id == person_id))
    return {
        # Prompts still waiting for the teacher's review were never sent: they are the
        # teacher's draft, but they are about this learner, so they are listed too.
        "prompts_received": [
            {"id": prompt.id, "rule": prompt.rule, "kind": prompt.kind, "status": prompt.status,
             "reason": prompt.reason_code, "lang": prompt.lang, "text": prompt.body,
             "created_at": _iso(prompt.created_at), "sent_at": _iso(prompt.sent_at),
             "outcome": prompt.outcome, "replied_at": _iso(prompt.replied_at)}
            for prompt in prompts
        ],
        "mentoring_preferences": {
            "opted_out": bool(preference and preference.opted_out),
            "stopped_rules": list(preference.stopped_rules or []) if preference else [],
            "snoozed_until": _iso(preference.snoozed_until) if preference else None,
        },
        "ambassador": None if ambassador is None else {
            "status": ambassador.status, "suggested_at": _iso(ambassador.suggested_at),
            "invited_at": _iso(ambassador.invited_at),
            "responded_at": _iso(ambassador.responded_at), "ended_at": _iso(ambassador.ended_at),
        },
    }


@dataclass(frozen=True)
class PromptCard:
    """A prompt the learner received, as the pane shows it."""

    id: int
    rule: str
    text: str
    url: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class AmbassadorEntry:
    person_id: int
    name: str
    is_me: bool


@dataclass(frozen=True)
class PaneOverview:
    """Everything the learner's pane shows, read in one go."""

    peers: list[Peer]
    suggestions: list[PeerSuggestion]
    questions: list[OpenQuestion]
    prompts: list[PromptCard]
    recognitions: list[PromptCard]
    ambassadors: list[AmbassadorEntry]
    invited_as_ambassador: bool
    opted_out: bool
    hidden: bool

    @property
    def i_am_ambassador(self) -> bool:
        return any(entry.is_me for entry in self.ambassadors)


def pane_overview(session: Session, course_id: int, person_id: int, *,
                  now: datetime) -> PaneOverview:
    """Read what the learner's pane shows."""
    course = session.get(Course, course_id)
    thanks = mentoring.recognitions_for_learner(session, course_id, person_id)
    thank_ids = {prompt.id for prompt in thanks}
    sent = [prompt for prompt in mentoring.prompts_for_learner(
        session, course_id, person_id, limit=10)
        if prompt.id not in thank_ids and not prompt.snoozed][:5]
    # Only the discussions the shown prompts point at, not every discussion of the course.
    pointed = {p.discussion_id for p in (*sent, *thanks[:10]) if p.discussion_id is not None}
    urls = dict(session.execute(select(Discussion.id, Discussion.moodle_discussion_id).where(
        Discussion.course_id == course_id, Discussion.id.in_(pointed))).all()) if pointed else {}

    def card(prompt: MentoringPrompt) -> PromptCard:
        url = (moodle_discussion_url(course, urls[prompt.discussion_id])
               if prompt.discussion_id in urls else None)
        # The stored wording keeps `{link}` for the message; the pane shows its own link.
        text = " ".join(prompt.body.replace("{link}", "").split())
        return PromptCard(prompt.id, prompt.rule, text, url, prompt.sent_at or prompt.created_at)

    ambassadors = mentoring.ambassadors_of_course(session, course_id)
    names = dict(session.execute(select(Person.id, Person.fullname).where(
        Person.id.in_([a.person_id for a in ambassadors]))).all()) if ambassadors else {}
    peers = _peers(session, course_id, person_id)
    hidden = hidden_people(session, course_id)
    return PaneOverview(
        peers=peers[:6],
        suggestions=people_i_could_meet(session, course_id, person_id,
                                        known={peer.person_id for peer in peers}, hidden=hidden),
        questions=questions_where_i_could_help(session, course_id, person_id, now=now),
        prompts=[card(prompt) for prompt in sent],
        recognitions=[card(prompt) for prompt in thanks[:10]],
        ambassadors=[AmbassadorEntry(a.person_id, names.get(a.person_id, ""),
                                     a.person_id == person_id) for a in ambassadors],
        invited_as_ambassador=mentoring.ambassador_status(
            session, course_id, person_id) == "invited",
        opted_out=mentoring.mentoring_choices(session, course_id, person_id).opted_out,
        hidden=person_id in hidden,
    )
