"""Short human reasons for candidates, kept as (message key, parameters) and rendered lazily.

A reason is stored as data (`to_json`) and rendered in the reader's language when shown: with
Flask-Babel's lazy gettext in the `analytics` domain inside the app, or from the compiled
catalogue directly outside it (scripts, pure tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from flask import has_app_context, has_request_context
from flask_babel import Domain, force_locale

DOMAIN = "analytics"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
_domain = Domain(domain=DOMAIN)


@dataclass(frozen=True, slots=True)
class Message:
    """An English message (with its plural and the parameter choosing the form)."""

    singular: str
    plural: str | None = None
    count: str | None = None


def _l(text: str) -> Message:
    return Message(text)


def lazy_ngettext(singular: str, plural: str, count: str) -> Message:
    return Message(singular, plural, count)


#: Every reason Circolo gives, by key. `num` is the count that picks the plural form.
MESSAGES: dict[str, Message] = {
    "ambassador.bridge": lazy_ngettext(
        "answered %(num)d question and links people who rarely talk to each other",
        "answered %(num)d questions and links people who rarely talk to each other", "num"),
    "ambassador.bridge_first": lazy_ngettext(
        "answered %(num)d question, the first to reply, and links people who rarely talk to "
        "each other",
        "answered %(num)d questions, %(first)d of them first, and links people who rarely "
        "talk to each other", "num"),
    "ambassador.reciprocal": lazy_ngettext(
        "answered %(num)d question; %(mutual)d of the people they talk with answer back",
        "answered %(num)d questions; %(mutual)d of the people they talk with answer back",
        "num"),
    "ambassador.reciprocal_first": lazy_ngettext(
        "answered %(num)d question, the first to reply; %(mutual)d of the people they talk "
        "with answer back",
        "answered %(num)d questions, %(first)d of them first; %(mutual)d of the people they "
        "talk with answer back", "num"),
    "ambassador.helpful": lazy_ngettext(
        "answered %(num)d question", "answered %(num)d questions", "num"),
    "ambassador.helpful_first": lazy_ngettext(
        "answered %(num)d question, the first to reply",
        "answered %(num)d questions, %(first)d of them first",
        "num"),
    "isolated.never_replied_to": lazy_ngettext(
        "wrote %(num)d post but nobody has replied yet",
        "wrote %(num)d posts but nobody has replied yet", "num"),
    "isolated.lurking": lazy_ngettext(
        "opened the course %(num)d day ago but has not written in the forums yet",
        "opened the course %(num)d days ago but has not written in the forums yet", "num"),
    "isolated.never_active": _l("has not written in the forums yet"),
    "isolated.silent": lazy_ngettext(
        "has not written for %(num)d day", "has not written for %(num)d days", "num"),
    "unanswered.hours": lazy_ngettext(
        "no reply for %(num)d hour", "no reply for %(num)d hours", "num"),
    "unanswered.days": lazy_ngettext(
        "no reply for %(num)d day", "no reply for %(num)d days", "num"),
    "peer.topic_answers": lazy_ngettext(
        "answered %(num)d question on %(topic)s", "answered %(num)d questions on %(topic)s",
        "num"),
    "peer.topic_answers_first": lazy_ngettext(
        "answered %(num)d question on %(topic)s, the first to reply",
        "answered %(num)d questions on %(topic)s, %(first)d of them first", "num"),
    "peer.topic_posts": _l("wrote about %(topic)s"),
    "peer.helpful": lazy_ngettext(
        "answered %(num)d question in this course", "answered %(num)d questions in this course",
        "num"),
    "peer.helpful_first": lazy_ngettext(
        "answered %(num)d question in this course, the first to reply",
        "answered %(num)d questions in this course, %(first)d of them first", "num"),
    "peer.recent": lazy_ngettext(
        "wrote in the forums %(num)d day ago", "wrote in the forums %(num)d days ago", "num"),
    "peer.today": _l("wrote in the forums today"),
    "betweenness.exact": _l("brokerage computed exactly"),
    "betweenness.sampled": lazy_ngettext(
        "brokerage estimated from %(num)d sampled starting point",
        "brokerage estimated from %(num)d sampled starting points", "num"),
    "betweenness.none": _l("brokerage not computed for this view"),
}


def with_first(key: str, params: Mapping[str, Any]) -> Reason:
    """Return the reason `key`, or its `_first` variant when `params["first"]` is positive."""
    return Reason(f"{key}_first" if params.get("first") else key, params)


@lru_cache(maxsize=8)
def _catalogue(locale: str) -> NullTranslations:
    translations = Translations.load(str(TRANSLATIONS), [locale], DOMAIN)
    return translations if isinstance(translations, Translations) else NullTranslations()


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a candidate was chosen: a message key and its parameters (JSON-ready values)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.key not in MESSAGES:
            raise KeyError(f"unknown reason {self.key!r}")

    def lazy(self) -> Any:
        """Return the message as a Flask-Babel lazy string of the `analytics` domain."""
        message = MESSAGES[self.key]
        if message.plural is None:
            return _domain.lazy_gettext(message.singular, **self.params)
        others = {k: v for k, v in self.params.items() if k != "num"}
        return _domain.lazy_ngettext(message.singular, message.plural,
                                     self.params[message.count], **others)

    def render(self, locale: str | None = None) -> str:
        """Return the reason in `locale` (default: the request's language, else English)."""
        if has_request_context() and locale is None:
            return str(self.lazy())
        if has_app_context():
            with force_locale(locale or "en"):
                return str(self.lazy())
        message = MESSAGES[self.key]
        translations = _catalogue(locale or "en")
        if message.plural is None:
            text = translations.ugettext(message.singular)
        else:
            text = translations.ungettext(message.singular, message.plural,
                                          self.params[message.count])
        return text % dict(self.params)

    def __str__(self) -> str:
        return self.render()

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reason:
        return cls(data["key"], dict(data.get("params") or {}))


def render_stored_reason(data: Mapping[str, Any] | None) -> str:
    """Render a reason stored in a snapshot, in the request's language ("" if none or unknown)."""
    if not data:
        return ""
    try:
        # A snapshot written by an older release may name a reason that no longer exists.
        return Reason.from_json(data).render()
    except KeyError:
        return ""
