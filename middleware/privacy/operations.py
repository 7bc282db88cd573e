"""Export what Circolo keeps about a person, forget a person, and blank expired post text.

Forgetting removes the person's row and everything hanging from it (enrolments, group
memberships, prompts to or about them with their outbox rows, mentoring preferences, ambassador
records, privacy choices, per-person analytics rows), blanks the text and authorship of their
posts and discussions (the posts stay as anonymous nodes so the course's interaction structure
is kept), redacts their name and e-mail address wherever other rows quote them, and drops the
course's analytics snapshots so that they are computed again without them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from ..models import (
    Ambassador,
    AnalyticsSnapshot,
    Course,
    Discussion,
    Enrolment,
    MentoringPreference,
    MentoringPrompt,
    MessageTemplate,
    OutboxMessage,
    Person,
    PersonMetrics,
    Platform,
    Post,
    PrivacyChoice,
    SyncRun,
    utcnow,
)
from ..models.community import SERVICE
from ..moodle.operations import find_platform
from ..pane.operations import export_learner_data

log = logging.getLogger(__name__)

#: What replaces a forgotten person's name or address where another row quoted it.
REDACTED = "[…]"


class PersonNotFound(LookupError):
    """No person with that Moodle user id (LTI `sub`) on that platform."""


@dataclass
class ForgetReport:
    """What forgetting one person removed or blanked, in rows per table."""

    person_id: int
    rows: dict[str, int] = field(default_factory=dict)
    courses: list[int] = field(default_factory=list)


def find_person(session: Session, platform_ref: str, user: str) -> Person:
    """Find a person by platform (id or issuer) and Moodle user id / LTI `sub`."""
    platform = find_platform(session, platform_ref)
    if platform is None:
        raise PersonNotFound(f"no platform {platform_ref!r}")
    person = session.scalar(select(Person).where(Person.platform_id == platform.id,
                                                 Person.subject == str(user)))
    if person is None:
        raise PersonNotFound(f"no person {user!r} on platform {platform.id}")
    return person


def export_person_data(session: Session, person: Person) -> dict[str, Any]:
    """Return everything Circolo stores about a person, course by course, as JSON-ready data."""
    platform = session.get(Platform, person.platform_id)
    course_ids = session.scalars(select(Enrolment.course_id).where(
        Enrolment.person_id == person.id).order_by(Enrolment.course_id)).all()
    courses = [export_learner_data(session, course_id, person.id) for course_id in course_ids]
    # Posts in courses where they are not (or no longer) enrolled are theirs too.
    stray = session.execute(
        select(Post.course_id, Post.moodle_post_id, Post.subject, Post.message_text,
               Post.created_at)
        .where(Post.author_id == person.id, Post.course_id.not_in(course_ids or [-1]))
        .order_by(Post.course_id, Post.created_at, Post.id)).all()
    return {
        "exported_at": utcnow().isoformat(),
        "platform": {"id": platform.id, "issuer": platform.issuer} if platform else None,
        "person": {"id": person.id, "subject": person.subject,
                   "moodle_user_id": person.moodle_user_id, "fullname": person.fullname,
                   "email": person.email, "lang": person.lang, "timezone": person.timezone},
        "courses": courses,
        "posts_outside_enrolments": [
            {"course_id": course_id, "moodle_post_id": moodle_id, "subject": subject,
             "message_text": text, "created_at": created.isoformat() if created else None}
            for course_id, moodle_id, subject, text, created in stray],
    }


def forget_person(session: Session, person: Person) -> ForgetReport:
    """Remove a person's personal data from every table; flush, the caller commits."""
    pid = person.id
    report = ForgetReport(person_id=pid)
    rows = report.rows
    names = [v for v in (person.fullname, person.email) if v and len(v.strip()) >= 3]
    course_ids = set(session.scalars(select(Enrolment.course_id).where(Enrolment.person_id == pid)))
    course_ids |= set(session.scalars(select(Post.course_id).where(Post.author_id == pid)
                                      .distinct()))
    course_ids |= set(session.scalars(select(MentoringPrompt.course_id).where(
        or_(MentoringPrompt.recipient_id == pid, MentoringPrompt.about_person_id == pid))
        .distinct()))

    def run(name: str, statement: Any) -> None:
        rows[name] = rows.get(name, 0) + session.execute(
            statement.execution_options(synchronize_session=False)).rowcount

    prompts = select(MentoringPrompt.id).where(or_(MentoringPrompt.recipient_id == pid,
                                                  MentoringPrompt.about_person_id == pid))
    run("mentoring_outbox", delete(OutboxMessage).where(or_(
        OutboxMessage.recipient_id == pid, OutboxMessage.prompt_id.in_(prompts))))
    run("mentoring_prompt", delete(MentoringPrompt).where(MentoringPrompt.id.in_(prompts)))
    run("mentoring_preference", delete(MentoringPreference).where(
        MentoringPreference.person_id == pid))
    run("mentoring_ambassador", delete(Ambassador).where(Ambassador.person_id == pid))
    run("privacy_choice", delete(PrivacyChoice).where(PrivacyChoice.person_id == pid))
    run("analytics_person_metrics", delete(PersonMetrics).where(PersonMetrics.person_id == pid))
    # Snapshots name people by id in their edges and candidate lists: computed again without
    # them (queued by the caller), rather than patched.
    if course_ids:
        run("analytics_snapshot", delete(AnalyticsSnapshot).where(
            AnalyticsSnapshot.course_id.in_(course_ids)))
    # Their posts stay as anonymous nodes of the discussion (who replied to whom is kept).
    run("post", update(Post).where(Post.author_id == pid).values(
        author_id=None, author_deleted=True, subject="", message_html="", message_text=""))
    run("discussion", update(Discussion).where(Discussion.author_id == pid).values(
        author_id=None, name=""))
    for model, column in ((MentoringPrompt, "reviewed_by_id"), (Ambassador, "approved_by_id"),
                          (MessageTemplate, "updated_by_id"), (SyncRun, "requested_by_id")):
        attribute = getattr(model, column)
        run(model.__tablename__, update(model).where(attribute == pid).values({column: None}))
    platform_courses = select(Course.id).where(Course.platform_id == person.platform_id)
    for name in names:
        _redact(session, name, platform_courses, rows)
    run("enrolment", delete(Enrolment).where(Enrolment.person_id == pid))
    session.expunge(person)
    run("person", delete(Person).where(Person.id == pid))
    session.flush()
    report.courses = sorted(course_ids)
    log.info("person forgotten", extra={"person_id": pid, "rows": rows})
    return report


#: Text columns where other people's rows may quote a person's name or address.
_QUOTING_COLUMNS = ((Post, ("subject", "message_html", "message_text")),
                    (Discussion, ("name",)),
                    (MentoringPrompt, ("body",)),
                    (OutboxMessage, ("text", "error_message")),
                    (SyncRun, ("error",)))


def _redact(session: Session, value: str, courses: Any, rows: dict[str, int]) -> None:
    """Replace `value` wherever another row of these courses quotes it (case as written)."""
    for model, columns in _QUOTING_COLUMNS:
        for column in columns:
            attribute = getattr(model, column)
            changed = session.execute(
                update(model).where(model.course_id.in_(courses),
                                    attribute.contains(value, autoescape=True))
                .values({column: func.replace(attribute, value, REDACTED)})
                .execution_options(synchronize_session=False)).rowcount
            if changed:
                key = f"{model.__tablename__}.{column} (quoted)"
                rows[key] = rows.get(key, 0) + changed


def people_moodle_dropped(session: Session, platform_id: int) -> list[Person]:
    """People of a platform who were enrolled somewhere and are now enrolled nowhere.

    A full reconciliation marks an enrolment inactive when the course's complete roster no
    longer lists the person; someone with no active enrolment left on the platform is no longer
    listed by Moodle in any course Circolo knows. The web-service user is never among them.
    """
    active = select(Enrolment.person_id).where(Enrolment.active.is_(True))
    service = select(Enrolment.person_id).where(Enrolment.role == SERVICE)
    return list(session.scalars(
        select(Person).where(Person.platform_id == platform_id,
                             Person.id.in_(select(Enrolment.person_id)),
                             Person.id.not_in(active), Person.id.not_in(service))
        .order_by(Person.id)))


def forget_people_moodle_dropped(session: Session, course_id: int) -> list[ForgetReport]:
    """Forget the people of the course's platform that Moodle no longer lists anywhere."""
    course = session.get(Course, course_id)
    if course is None:
        return []
    return [forget_person(session, person)
            for person in people_moodle_dropped(session, course.platform_id)]


def course_end(session: Session, course: Course) -> datetime | None:
    """The course's end date, or its newest post when Moodle did not tell the end."""
    if course.ends_at is not None:
        return course.ends_at
    return session.scalar(select(func.max(Post.created_at)).where(Post.course_id == course.id))


def courses_past_retention(session: Session, retention_days: int, *,
                           now: datetime | None = None) -> list[int]:
    """Ids of courses whose end is more than `retention_days` ago."""
    limit = (now or utcnow()) - timedelta(days=retention_days)
    return [course.id for course in session.scalars(select(Course).order_by(Course.id))
            if (end := course_end(session, course)) is not None and end < limit]


def blank_expired_post_text(session: Session, retention_days: int, *,
                            now: datetime | None = None) -> int:
    """Blank the text of posts in courses past retention, keeping who answered whom; return
    how many posts were blanked."""
    blanked = 0
    for course_id in courses_past_retention(session, retention_days, now=now):
        blanked += session.execute(
            update(Post).where(Post.course_id == course_id,
                               or_(Post.message_html != "", Post.message_text != ""))
            .values(message_html="", message_text="")
            .execution_options(synchronize_session=False)).rowcount
    session.flush()
    return blanked
