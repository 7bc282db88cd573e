"""Write prompts and their outbox rows in the transaction that decides them; render their text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models.community import Course, Person
from ..models.forum import Discussion
from ..models.mentoring import MentoringPrompt, MessageTemplate, OutboxMessage
from .activity import course_link, course_wwwroot, discussion_link
from .facts import AMBASSADOR_INVITE, RuleSettings
from .policy import next_send_time, zone
from .templates import DEFAULT_TEMPLATES, PromptValues, normalise_lang, render_message

PENDING, SENDING, UNKNOWN, SENT, FAILED, CANCELLED = (
    "pending", "sending", "unknown", "sent", "failed", "cancelled")
#: Outbox states whose message may already be in Moodle: never cancel them.
IN_FLIGHT = frozenset({SENDING, UNKNOWN})


def wording(session: Session, course_id: int, kind: str, lang: str) -> str:
    """Return the teacher's wording of a kind in a language, or the default one."""
    custom = session.scalar(select(MessageTemplate.body).where(
        MessageTemplate.course_id == course_id, MessageTemplate.kind == kind,
        MessageTemplate.lang == lang))
    return custom or DEFAULT_TEMPLATES[kind][lang]


def prompt_values(session: Session, prompt: MentoringPrompt) -> PromptValues:
    course = session.get(Course, prompt.course_id)
    assert course is not None
    wwwroot = course_wwwroot(course)
    recipient = session.get(Person, prompt.recipient_id)
    other = session.get(Person, prompt.about_person_id) if prompt.about_person_id else None
    discussion = session.get(Discussion, prompt.discussion_id) if prompt.discussion_id else None
    if prompt.kind == AMBASSADOR_INVITE or discussion is None:
        link = course_link(wwwroot, course.moodle_course_id)
    else:
        link = discussion_link(wwwroot, discussion.moodle_discussion_id)
    return PromptValues(
        name=_first_name(recipient.fullname if recipient else ""),
        other=other.fullname if other else "",
        discussion=discussion.name if discussion else "",
        link=link,
        course=course.title or course.label,
    )


def _first_name(fullname: str) -> str:
    return fullname.split()[0] if fullname.strip() else ""


def recipient_lang(session: Session, person_id: int, settings: RuleSettings) -> str:
    person = session.get(Person, person_id)
    return normalise_lang(person.lang if person else "", settings.default_lang)


def draft_body(session: Session, prompt: MentoringPrompt) -> str:
    """Return the prompt's wording filled in (but `{link}`), as plain text the teacher reviews."""
    from string import Formatter

    values = prompt_values(session, prompt)
    body = wording(session, prompt.course_id, prompt.kind, prompt.lang)
    parts = []
    for literal, field, _, _ in Formatter().parse(body):
        parts.append(literal)
        if field == "link":
            parts.append("{link}")
        elif field is not None:
            parts.append(getattr(values, field, ""))
    return "".join(parts)


def enqueue(session: Session, prompt: MentoringPrompt, settings: RuleSettings,
            deliver_at: datetime) -> OutboxMessage:
    """Add the prompt's message to the outbox (same transaction), rendered in its language."""
    recipient = session.get(Person, prompt.recipient_id)
    assert recipient is not None
    message = OutboxMessage(prompt_id=prompt.id, course_id=prompt.course_id,
                            recipient_id=prompt.recipient_id,
                            moodle_user_id=recipient.moodle_user_id or _int(recipient.subject),
                            state=PENDING, not_before=deliver_at)
    session.add(message)
    session.flush()  # the id is the reference written into the text
    values = prompt_values(session, prompt)
    if prompt.edited and prompt.body:
        # The teacher's edited text is final: only the link and the reference are added.
        body = prompt.body.replace("{", "{{").replace("}", "}}").replace("{{link}}", "{link}")
    else:
        body = wording(session, prompt.course_id, prompt.kind, prompt.lang)
    message.text = render_message(body, values, message.reference, prompt.lang)
    prompt.status = "queued"
    return message


def _int(value: str) -> int | None:
    return int(value) if value and value.isdigit() else None


def deliver_time(session: Session, person_id: int, settings: RuleSettings,
                 now: datetime) -> datetime:
    person = session.get(Person, person_id)
    return next_send_time(now, zone(person.timezone if person else "", settings.timezone),
                          settings.quiet_start_hour, settings.quiet_end_hour)


def withdraw_pending(session: Session, course_id: int, person_id: int, *,
                     rule: str | None = None, kinds: Iterable[str] | None = None) -> int:
    """Withdraw prompts to a person not yet handed to Moodle (all, one rule's, some kinds)."""
    query = select(MentoringPrompt).where(
        MentoringPrompt.course_id == course_id, MentoringPrompt.recipient_id == person_id,
        MentoringPrompt.status.in_(("review", "queued")))
    if rule is not None:
        query = query.where(MentoringPrompt.rule == rule)
    if kinds is not None:
        query = query.where(MentoringPrompt.kind.in_(list(kinds)))
    withdrawn = 0
    for prompt in session.scalars(query):
        if prompt.outbox is not None:
            cancelled = session.execute(
                update(OutboxMessage).where(OutboxMessage.id == prompt.outbox.id,
                                            OutboxMessage.state == PENDING)
                .values(state=CANCELLED)).rowcount
            if not cancelled:
                continue  # already with Moodle, or being sent: it will be recorded as sent
            session.refresh(prompt.outbox)
        prompt.status = "withdrawn"
        withdrawn += 1
    session.flush()
    return withdrawn
