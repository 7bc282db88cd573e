"""Ambassadors: suggested by analytics, invited by the teacher, accepted (or not) by the learner."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound
from ..models.base import utcnow
from ..models.community import Enrolment, Person
from ..models.mentoring import Ambassador, MentoringPreference, MentoringPrompt
from . import activity, outbox
from .facts import AMBASSADOR, AMBASSADOR_INVITE, ASKING_KINDS


class NoInvitation(Conflict):
    code = "no_ambassador_invitation"
    message = _l("There is no ambassador invitation to answer.")


def _ambassador(session: Session, course_id: int, person_id: int) -> Ambassador | None:
    return session.scalar(select(Ambassador).where(
        Ambassador.course_id == course_id, Ambassador.person_id == person_id))


def ambassador_status(session: Session, course_id: int, person_id: int) -> str | None:
    found = _ambassador(session, course_id, person_id)
    return found.status if found else None


def ambassadors_of_course(session: Session, course_id: int, *,
                          statuses: tuple[str, ...] = ("active",)) -> list[Ambassador]:
    return list(session.scalars(select(Ambassador).join(Person, Ambassador.person_id == Person.id)
                                .where(Ambassador.course_id == course_id,
                                       Ambassador.status.in_(statuses))
                                .order_by(Person.fullname)))


def invite_ambassador(session: Session, course_id: int, person_id: int, teacher_id: int, *,
                      now: datetime | None = None) -> Ambassador:
    """The teacher approves a candidate: the learner gets an invitation they must accept."""
    now = now or utcnow()
    # The id comes from a URL: only someone enrolled in this very course can be invited.
    enrolled = session.scalar(select(Enrolment.id).where(
        Enrolment.course_id == course_id, Enrolment.person_id == person_id,
        Enrolment.active.is_(True)))
    if enrolled is None:
        raise NotFound(detail=f"person {person_id} is not enrolled in course {course_id}")
    ambassador = _ambassador(session, course_id, person_id)
    if ambassador is None:
        ambassador = Ambassador(course_id=course_id, person_id=person_id, suggested_at=now)
        session.add(ambassador)
    elif ambassador.status in ("invited", "active"):
        raise Conflict(_l("This learner is already invited or an ambassador."),
                       detail=f"person {person_id} is {ambassador.status}")
    ambassador.status, ambassador.invited_at = "invited", now
    ambassador.approved_by_id, ambassador.responded_at, ambassador.ended_at = teacher_id, None, None
    session.flush()
    settings = activity.rule_settings(session, course_id)
    prompt = MentoringPrompt(course_id=course_id, rule=AMBASSADOR, kind=AMBASSADOR_INVITE,
                             recipient_id=person_id, reason_code="teacher_approved",
                             reason={"teacher": teacher_id}, created_at=now,
                             lang=outbox.recipient_lang(session, person_id, settings),
                             reviewed_at=now, reviewed_by_id=teacher_id)
    session.add(prompt)
    session.flush()
    prompt.body = outbox.draft_body(session, prompt)
    opted_out = session.scalar(select(MentoringPreference.opted_out).where(
        MentoringPreference.course_id == course_id, MentoringPreference.person_id == person_id))
    if opted_out:
        prompt.status = "withdrawn"  # the invitation waits in the pane, without a message
    else:
        outbox.enqueue(session, prompt, settings,
                       outbox.deliver_time(session, person_id, settings, now))
    session.flush()
    return ambassador


def dismiss_ambassador_candidate(session: Session, course_id: int, person_id: int) -> None:
    ambassador = _ambassador(session, course_id, person_id)
    if ambassador is None or ambassador.status != "suggested":
        raise NotFound(detail=f"person {person_id} is not a suggested ambassador")
    ambassador.status = "dismissed"
    session.flush()


def _answer_invitation(session: Session, course_id: int, person_id: int, status: str,
                       now: datetime | None) -> Ambassador:
    ambassador = _ambassador(session, course_id, person_id)
    if ambassador is None or ambassador.status != "invited":
        raise NoInvitation(detail=f"person {person_id} has no open invitation")
    ambassador.status, ambassador.responded_at = status, now or utcnow()
    session.flush()
    return ambassador


def accept_ambassador_invitation(session: Session, course_id: int, person_id: int, *,
                                 now: datetime | None = None) -> Ambassador:
    return _answer_invitation(session, course_id, person_id, "active", now)


def decline_ambassador_invitation(session: Session, course_id: int, person_id: int, *,
                                  now: datetime | None = None) -> Ambassador:
    return _answer_invitation(session, course_id, person_id, "declined", now)


def step_down_as_ambassador(session: Session, course_id: int, person_id: int, *,
                            now: datetime | None = None) -> Ambassador:
    """An ambassador steps down: the questions still waiting in their queue are withdrawn."""
    ambassador = _ambassador(session, course_id, person_id)
    if ambassador is None or ambassador.status != "active":
        raise NoInvitation(_l("You are not an ambassador of this course."),
                           detail=f"person {person_id} is not an active ambassador")
    ambassador.status, ambassador.ended_at = "stepped_down", now or utcnow()
    session.flush()
    outbox.withdraw_pending(session, course_id, person_id, kinds=ASKING_KINDS)
    return ambassador

