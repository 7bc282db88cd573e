"""The teacher's side: a course's mode, caps and rule thresholds, wordings, and the prompt log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..errors import BadRequest
from ..models.base import utcnow
from ..models.mentoring import (
    MODES,
    MentoringPrompt,
    MentoringSettings,
    MessageTemplate,
)
from .facts import DEFAULT_RULES, KINDS, RULES
from .templates import (
    DEFAULT_TEMPLATES,
    LANGUAGES,
    PromptValues,
    render_message,
    validate_template,
)

#: Bounds of what a teacher may set (inclusive), so a typo cannot make Circolo aggressive.
LIMITS: dict[str, tuple[int, int]] = {
    "learner_weekly_cap": (0, 7), "ambassador_weekly_cap": (0, 20),
    "course_daily_cap": (0, 200), "quiet_start_hour": (0, 23), "quiet_end_hour": (0, 23),
    "hours": (1, 24 * 14), "peers": (1, 5), "teacher_hours": (1, 24 * 30),
    "max_age_days": (1, 90), "silent_days": (1, 60), "grace_hours": (1, 24 * 14),
    "cooldown_days": (1, 90), "delay_hours": (0, 72), "window_hours": (1, 24 * 14),
    "candidates": (0, 20),
}


class InvalidSetting(BadRequest):
    code = "invalid_mentoring_setting"
    message = _l("One of the values is outside what Circolo allows.")


def mentoring_settings(session: Session, course_id: int) -> MentoringSettings:
    """Return the course's settings, created with the defaults the first time."""
    row = session.get(MentoringSettings, course_id)
    if row is None:
        row = MentoringSettings(course_id=course_id, rules={})
        session.add(row)
        session.flush()
    return row


def effective_rules(row: MentoringSettings) -> dict[str, dict[str, Any]]:
    """Every rule's thresholds: the course's values over the defaults."""
    return {name: {**DEFAULT_RULES[name], **dict((row.rules or {}).get(name, {}))}
            for name in RULES}


def _bounded(name: str, value: Any) -> int:
    low, high = LIMITS[name]
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidSetting(detail=f"{name} is not a number") from None
    if not low <= number <= high:
        raise InvalidSetting(_l("%(name)s must be between %(low)s and %(high)s.", name=name,
                                low=low, high=high), detail=f"{name}={number} out of bounds")
    return number


def update_mentoring_settings(session: Session, course_id: int, *, mode: str | None = None,
                              timezone: str | None = None, default_lang: str | None = None,
                              caps: dict[str, Any] | None = None,
                              rules: dict[str, dict[str, Any]] | None = None
                              ) -> MentoringSettings:
    """Change a course's mode, caps, quiet hours and rules (each value checked)."""
    row = mentoring_settings(session, course_id)
    if mode is not None:
        if mode not in MODES:
            raise InvalidSetting(detail=f"unknown mode {mode!r}")
        row.mode = mode
    if timezone is not None:
        from zoneinfo import available_timezones

        if timezone and timezone not in available_timezones():
            raise InvalidSetting(_l("Unknown time zone: %(zone)s.", zone=timezone),
                                 detail=f"unknown time zone {timezone!r}")
        row.timezone = timezone
    if default_lang is not None:
        if default_lang not in LANGUAGES:
            raise InvalidSetting(detail=f"unknown language {default_lang!r}")
        row.default_lang = default_lang
    for name, value in (caps or {}).items():
        if name not in LIMITS or name not in MentoringSettings.__table__.columns:
            raise InvalidSetting(detail=f"unknown setting {name!r}")
        setattr(row, name, _bounded(name, value))
    if rules:
        merged = {name: dict((row.rules or {}).get(name, {})) for name in RULES}
        for name, values in rules.items():
            if name not in RULES:
                raise InvalidSetting(detail=f"unknown rule {name!r}")
            for key, value in values.items():
                if key == "enabled":
                    merged[name]["enabled"] = bool(value)
                elif key in DEFAULT_RULES[name]:
                    merged[name][key] = _bounded(key, value)
                else:
                    raise InvalidSetting(detail=f"unknown threshold {name}.{key}")
        row.rules = merged  # a new dict: JSON columns only notice reassignment
    row.updated_at = utcnow()
    session.flush()
    return row


# --- wordings ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Wording:
    kind: str
    lang: str
    body: str
    custom: bool


def wordings_of_course(session: Session, course_id: int) -> list[Wording]:
    custom = {(t.kind, t.lang): t.body for t in session.scalars(
        select(MessageTemplate).where(MessageTemplate.course_id == course_id))}
    return [Wording(kind, lang, custom.get((kind, lang), DEFAULT_TEMPLATES[kind][lang]),
                    (kind, lang) in custom)
            for kind in KINDS for lang in LANGUAGES]


def wording_of(session: Session, course_id: int, kind: str, lang: str) -> Wording:
    _check_kind(kind, lang)
    return next(w for w in wordings_of_course(session, course_id)
                if w.kind == kind and w.lang == lang)


def _check_kind(kind: str, lang: str) -> None:
    if kind not in KINDS or lang not in LANGUAGES:
        raise BadRequest(detail=f"unknown wording {kind}/{lang}")


def save_wording(session: Session, course_id: int, kind: str, lang: str, body: str,
                 teacher_id: int | None) -> MessageTemplate:
    """Keep a teacher's wording once its placeholders check out (raises TemplateError)."""
    _check_kind(kind, lang)
    body = validate_template(kind, body)
    row = session.scalar(select(MessageTemplate).where(
        MessageTemplate.course_id == course_id, MessageTemplate.kind == kind,
        MessageTemplate.lang == lang))
    if row is None:
        row = MessageTemplate(course_id=course_id, kind=kind, lang=lang, body=body)
        session.add(row)
    row.body, row.updated_by_id, row.updated_at = body, teacher_id, utcnow()
    session.flush()
    return row


def reset_wording(session: Session, course_id: int, kind: str, lang: str) -> None:
    _check_kind(kind, lang)
    row = session.scalar(select(MessageTemplate).where(
        MessageTemplate.course_id == course_id, MessageTemplate.kind == kind,
        MessageTemplate.lang == lang))
    if row is not None:
        session.delete(row)
        session.flush()


SAMPLE = {
    "it": PromptValues("Giulia", "Marco Bianchi", "Come si imposta la bibliografia?",
                       "https://moodle.example/mod/forum/discuss.php?d=42", "Il tuo corso"),
    "en": PromptValues("Julia", "Mark White", "How do I set up the bibliography?",
                       "https://moodle.example/mod/forum/discuss.php?d=42", "Your course"),
}


def preview_wording(kind: str, lang: str, body: str) -> str:
    """Render a wording with sample values, exactly as Moodle would receive it (raises)."""
    _check_kind(kind, lang)
    return render_message(validate_template(kind, body), SAMPLE[lang], "circolo123", lang)


# --- the log ----------------------------------------------------------------------------------

def prompt_log(session: Session, course_id: int, *, limit: int = 200,
               before: datetime | None = None) -> list[MentoringPrompt]:
    """Every prompt decided in the course, newest first, with its delivery and people."""
    query = (select(MentoringPrompt).where(MentoringPrompt.course_id == course_id)
             .options(selectinload(MentoringPrompt.recipient),
                      selectinload(MentoringPrompt.about_person),
                      selectinload(MentoringPrompt.discussion),
                      selectinload(MentoringPrompt.outbox))
             .order_by(MentoringPrompt.created_at.desc(), MentoringPrompt.id.desc())
             .limit(limit))
    if before is not None:
        query = query.where(MentoringPrompt.created_at < before)
    return list(session.scalars(query))
