"""Deliver the outbox through Moodle exactly once, even if a worker dies mid-way.

States of an outbox row::

    pending ──claim──▶ sending ──Moodle said msgid>0──▶ sent
       ▲                  │ ╲──Moodle said msgid -1──▶ failed (reason kept for the teacher)
       │                  │  ╲─Moodle error before sending (bad token, …)──▶ pending (later)
       │                  ╰──timeout / connection lost / worker died──▶ unknown
       │                                                                  │
       ╰──────── read back: not in the conversation ◀──── verify ─────────╯──found──▶ sent

Each arrow is its own committed transaction, and the claim is committed *before* Moodle is
called: a row left in `sending` is exactly "we may have called Moodle". Moodle echoes
`clientmsgid` but does not deduplicate on it, so before sending such a row again the worker
reads the conversation back and looks for the reference written into the text. A `sending` row
is only taken over once its lease has expired, i.e. after any request of the dead worker ended.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ..models.base import utcnow
from ..models.mentoring import MentoringPrompt, OutboxMessage
from .outbox import FAILED, PENDING, SENDING, SENT, UNKNOWN

log = logging.getLogger(__name__)

#: Longer than any Moodle request can last (the client's timeouts are 5 + 30 s).
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
#: How long a course's messages wait when its Moodle connection is missing or broken.
UNREACHABLE_PAUSE = timedelta(minutes=10)
BATCH = 50


class DeliveryError(Exception):
    """Moodle could not be asked, or did not answer; `definite` if nothing was delivered."""

    def __init__(self, message: str, *, code: str = "", definite: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.definite = definite


@dataclass(frozen=True)
class Sent:
    """Moodle's answer for one message: `msgid` -1 means refused, with Moodle's reason."""

    msgid: int
    error: str = ""
    conversation_id: int | None = None


class Messaging(Protocol):
    """What delivery needs from Moodle (see moodle_port.MoodleMessaging)."""

    def send(self, touserid: int, text: str, clientmsgid: str) -> Sent: ...

    def find(self, touserid: int, reference: str, since: datetime) -> int | None:
        """Return the msgid of a message carrying `reference` sent since `since`, or None."""


# Test seam: a hook called at each step boundary, to kill the worker there.
STEPS = ("claimed", "verified", "sent", "recorded")
_step_hooks: list[Callable[[str, int], None]] = []


def on_step(hook: Callable[[str, int], None]) -> Callable[[], None]:
    """Call `hook(step, outbox_id)` at every step boundary; return a function that removes it."""
    _step_hooks.append(hook)
    return lambda: _step_hooks.remove(hook)


def _step(name: str, outbox_id: int) -> None:
    for hook in list(_step_hooks):
        hook(name, outbox_id)


def reference_pattern(reference: str) -> re.Pattern[str]:
    # circolo12 must not match circolo123.
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(reference)}(?![0-9])")


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes between tries, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)  # found already in Moodle on read-back
    failed: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # claimed by another worker


def due_ids(session: Session, now: datetime, *, course_id: int | None = None,
            limit: int = BATCH) -> list[int]:
    """Outbox rows ready now: pending or unknown and due, or `sending` with an expired lease."""
    query = select(OutboxMessage.id).where(or_(
        and_(OutboxMessage.state.in_((PENDING, UNKNOWN)), OutboxMessage.not_before <= now),
        and_(OutboxMessage.state == SENDING, OutboxMessage.claimed_at <= now - LEASE)))
    if course_id is not None:
        query = query.where(OutboxMessage.course_id == course_id)
    return list(session.scalars(query.order_by(OutboxMessage.not_before, OutboxMessage.id)
                                .limit(limit)))


def deliver_due(session: Session, messaging_for: Callable[[int], Messaging], *,
                now: datetime | None = None, course_id: int | None = None,
                limit: int = BATCH) -> DeliveryReport:
    """Deliver what is due; commits after every step (the exactly-once protocol needs it)."""
    now = now or utcnow()
    report = DeliveryReport()
    ports: dict[int, Messaging] = {}
    ids = due_ids(session, now, course_id=course_id, limit=limit)
    session.commit()
    unreachable: set[int] = set()
    for outbox_id in ids:
        course = session.scalar(select(OutboxMessage.course_id)
                                .where(OutboxMessage.id == outbox_id))
        if course is None or course in unreachable:
            continue
        if course not in ports:
            try:
                ports[course] = messaging_for(course)
            except DeliveryError as error:
                unreachable.add(course)
                _postpone_course(session, course, now, error)
                continue
        deliver_one(session, outbox_id, ports[course], now=now, report=report)
    return report


def _postpone_course(session: Session, course_id: int, now: datetime,
                     error: DeliveryError) -> None:
    """Set a course's due messages aside while its Moodle cannot be reached at all.

    Nothing is claimed or sent; the reason is kept for the teacher's log, and other courses'
    messages are not held up behind these.
    """
    log.warning("no way to reach Moodle for this course", extra={
        "course_id": course_id, "problem": str(error)})
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.course_id == course_id,
               OutboxMessage.state.in_((PENDING, UNKNOWN)), OutboxMessage.not_before <= now)
        .values(not_before=now + UNREACHABLE_PAUSE, error_code=error.code or "no_connection",
                error_message=str(error)[:2000])
        .execution_options(synchronize_session=False))
    session.commit()


def deliver_one(session: Session, outbox_id: int, port: Messaging, *,
                now: datetime | None = None, report: DeliveryReport | None = None) -> str | None:
    """Take one outbox row through the state machine; return its new state (None if not ours)."""
    now = now or utcnow()
    report = report if report is not None else DeliveryReport()
    # The session does not expire on commit: read the row as it is now, not as it was cached.
    item = session.get(OutboxMessage, outbox_id, populate_existing=True)
    if item is None:
        return None
    # Whatever was ever handed to Moodle is read back before it is sent again.
    must_verify = item.state in (SENDING, UNKNOWN) or item.attempts > 0
    token = uuid.uuid4().hex
    # Compare-and-set: exactly one worker wins the row, on SQLite and PostgreSQL alike.
    claimed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, or_(
            and_(OutboxMessage.state.in_((PENDING, UNKNOWN)), OutboxMessage.not_before <= now),
            and_(OutboxMessage.state == SENDING, OutboxMessage.claimed_at <= now - LEASE)))
        .values(state=SENDING, claimed_at=now, claim_token=token,
                attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if claimed != 1:
        report.skipped.append(outbox_id)
        return None
    session.refresh(item)
    _step("claimed", outbox_id)

    if item.moodle_user_id is None:
        return _finish(session, item, token, FAILED, now, report.failed,
                       code="no_moodle_user", message="The recipient has no Moodle user id.")

    if must_verify:
        try:
            found = port.find(item.moodle_user_id, item.reference, item.created_at - LEASE)
        except DeliveryError as error:
            return _retry(session, item, token, now, report, error, state=UNKNOWN)
        _step("verified", outbox_id)
        if found is not None:
            return _finish(session, item, token, SENT, now, report.recovered, msgid=found)

    try:
        result = port.send(item.moodle_user_id, item.text, item.reference)
    except DeliveryError as error:
        # A definite error (Moodle refused the whole call) delivered nothing: plain retry.
        # Anything else (timeout, lost connection) may have delivered: verify first.
        return _retry(session, item, token, now, report, error,
                      state=PENDING if error.definite else UNKNOWN)
    _step("sent", outbox_id)
    if result.msgid > 0:
        return _finish(session, item, token, SENT, now, report.sent, msgid=result.msgid,
                       conversation_id=result.conversation_id)
    return _finish(session, item, token, FAILED, now, report.failed,
                   code=refusal_code(result.error), message=result.error)


def _owned(item: OutboxMessage, token: str):
    return update(OutboxMessage).where(OutboxMessage.id == item.id,
                                       OutboxMessage.claim_token == token,
                                       OutboxMessage.state == SENDING)


def _finish(session: Session, item: OutboxMessage, token: str, state: str, now: datetime,
            bucket: list[int], *, msgid: int | None = None, conversation_id: int | None = None,
            code: str = "", message: str = "") -> str | None:
    values: dict = {"state": state, "error_code": code, "error_message": message[:2000]}
    if state == SENT:
        values.update(moodle_msgid=msgid, conversation_id=conversation_id, sent_at=now)
    done = session.execute(_owned(item, token).values(**values)
                           .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        session.rollback()  # another worker took over after our lease expired: theirs now
        return None
    prompt = session.get(MentoringPrompt, item.prompt_id)
    if prompt is not None:
        prompt.status = "sent" if state == SENT else "failed"
        if state == SENT:
            prompt.sent_at = now
    session.commit()
    session.expire(item)
    bucket.append(item.id)
    _step("recorded", item.id)
    log.info("outbox message %s", state, extra={"outbox_id": item.id, "error_code": code})
    return state


def _retry(session: Session, item: OutboxMessage, token: str, now: datetime,
           report: DeliveryReport, error: DeliveryError, *, state: str) -> str | None:
    attempts = item.attempts
    if attempts >= MAX_ATTEMPTS and state == PENDING:
        return _finish(session, item, token, FAILED, now, report.failed,
                       code=error.code or "gave_up", message=str(error))
    # An `unknown` row is never given up: it may be in Moodle, so it is read back first.
    done = session.execute(_owned(item, token).values(
        state=state, not_before=now + backoff(attempts), error_code=error.code or "unreachable",
        error_message=str(error)[:2000]).execution_options(synchronize_session=False)).rowcount
    session.commit()
    session.expire(item)
    if done == 1:
        report.retrying.append(item.id)
        log.warning("outbox message will be retried", extra={
            "outbox_id": item.id, "state": state, "attempts": attempts, "problem": str(error)})
        return state
    return None


def refusal_code(errormessage: str) -> str:
    """Classify Moodle's reason for `msgid: -1`, so the teacher reads what to do about it."""
    text = (errormessage or "").lower()
    if "preferences" in text or "can't message" in text or "cannot message" in text \
            or "usercantbemessaged" in text or "blocked" in text:
        return "message_preferences"
    if "too long" in text or "4096" in text or "maximum length" in text:
        return "too_long"
    if "deleted" in text or "not exist" in text or "invalid user" in text:
        return "recipient_missing"
    return "refused"


def retry_failed(session: Session, course_id: int, prompt_id: int,
                 now: datetime | None = None) -> OutboxMessage:
    """Send a failed message again (after the teacher fixed what Moodle complained about)."""
    item = session.scalar(select(OutboxMessage).where(OutboxMessage.prompt_id == prompt_id,
                                                      OutboxMessage.course_id == course_id))
    if item is None or item.state != FAILED:
        from .operations import PromptAlreadyDecided

        raise PromptAlreadyDecided(detail=f"outbox of prompt {prompt_id} is not failed")
    item.state, item.not_before, item.attempts = PENDING, now or utcnow(), 0
    item.prompt.status = "queued"
    session.flush()
    return item
