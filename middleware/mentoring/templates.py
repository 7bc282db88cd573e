"""Prompt wording: defaults in Italian and English, teacher edits, placeholders, and rendering.

A message is Moodle HTML (textformat 1) made of the teacher's text, the link and a reference
line. It must stay under Moodle's 4 096 bytes (`strlen`): the text is shortened, in whole UTF-8
characters and preferably at a word, but the link and the reference are never cut.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from string import Formatter

from .facts import (
    AMBASSADOR_INVITE,
    BRIDGE_BUDDY,
    BRIDGE_LEARNER,
    ROUTE_PEER,
    ROUTE_TEACHER,
    THANK_YOU,
    WELCOME_AMBASSADOR,
)

MOODLE_MAX_BYTES = 4096
TEMPLATE_MAX_CHARS = 1500
LANGUAGES = ("it", "en")
#: Longest a substituted value may be (characters) before it is shortened with an ellipsis.
VALUE_MAX_CHARS = {"name": 80, "other": 80, "discussion": 150, "course": 120}
ELLIPSIS = "…"

#: Placeholders a teacher may use; every kind may use all of them (an empty value renders empty).
PLACEHOLDERS = ("name", "other", "discussion", "link", "course")
#: Placeholders each kind's wording needs to make sense (checked when a teacher saves one).
REQUIRED = {
    ROUTE_PEER: ("discussion",), ROUTE_TEACHER: ("discussion",), BRIDGE_BUDDY: ("other",),
    BRIDGE_LEARNER: ("other",), WELCOME_AMBASSADOR: ("other",), AMBASSADOR_INVITE: (),
    THANK_YOU: ("discussion",),
}

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    ROUTE_PEER: {
        "en": "Hi {name}, a question in {course} has been waiting for an answer: “{discussion}”."
              "\nYou know this topic: would you give it a look? {link}",
        "it": "Ciao {name}, in {course} una domanda aspetta ancora una risposta: “{discussion}”."
              "\nConosci l'argomento: ci daresti un'occhiata? {link}",
    },
    ROUTE_TEACHER: {
        "en": "Hello {name}, the question “{discussion}” by {other} is still unanswered, even "
              "after peers were asked. It may need you: {link}",
        "it": "Buongiorno {name}, la domanda “{discussion}” di {other} è ancora senza risposta, "
              "anche dopo averla segnalata ai compagni. Forse serve il suo aiuto: {link}",
    },
    BRIDGE_BUDDY: {
        "en": "Hi {name}, {other} is also following “{discussion}” and has not had many replies "
              "yet. Would you say hello and share what you think? {link}",
        "it": "Ciao {name}, anche {other} segue “{discussion}” e finora ha ricevuto poche "
              "risposte. Ti va di passare a salutare e dire la tua? {link}",
    },
    BRIDGE_LEARNER: {
        "en": "Hi {name}, {other} is interested in “{discussion}” too. "
              "You might enjoy talking it over together: {link}",
        "it": "Ciao {name}, anche {other} si interessa di “{discussion}”. "
              "Potrebbe valere la pena parlarne insieme: {link}",
    },
    WELCOME_AMBASSADOR: {
        "en": "Hi {name}, {other} has just written their first post in {course}: "
              "“{discussion}”. A welcoming reply from you would mean a lot. {link}",
        "it": "Ciao {name}, {other} ha appena scritto il suo primo messaggio in {course}: "
              "“{discussion}”. Una tua risposta di benvenuto farebbe la differenza. {link}",
    },
    AMBASSADOR_INVITE: {
        "en": "Hi {name}, your answers help many people in {course}. Your teacher would like to "
              "invite you to be a course ambassador: you would get a few questions a week, and "
              "you can stop at any time. Accept or decline in the Circolo pane: {link}",
        "it": "Ciao {name}, le tue risposte aiutano molte persone in {course}. Il tuo docente "
              "vorrebbe invitarti a fare da ambasciatore del corso: riceveresti qualche domanda "
              "a settimana e potrai smettere quando vuoi. Accetta o rifiuta dal pannello "
              "Circolo: {link}",
    },
    THANK_YOU: {
        "en": "Thank you, {name}! Your reply to “{discussion}” was the first one. "
              "This is how a course community works. {link}",
        "it": "Grazie, {name}! La tua risposta a “{discussion}” è stata la prima. "
              "È così che funziona una comunità. {link}",
    },
}

REFERENCE_LINE = {"en": "Circolo reference: {reference}", "it": "Riferimento Circolo: {reference}"}


class TemplateError(ValueError):
    """A teacher's wording cannot be used; `problems` are codes the page explains."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(", ".join(code for code, _ in problems))
        self.problems = problems  # (code, detail)


def normalise_lang(lang: str | None, fallback: str = "en") -> str:
    language = (lang or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in LANGUAGES else (fallback if fallback in LANGUAGES else "en")


def placeholders_in(body: str) -> list[str]:
    """Return the placeholder names a wording uses, raising ValueError on broken braces."""
    return [field for _, field, _, _ in Formatter().parse(body) if field is not None]


def validate_template(kind: str, body: str) -> str:
    """Return the wording cleaned of stray whitespace, or raise TemplateError saying why."""
    body = body.replace("\r\n", "\n").strip()
    problems: list[tuple[str, str]] = []
    if not body:
        problems.append(("empty", ""))
    if len(body) > TEMPLATE_MAX_CHARS:
        problems.append(("too_long", str(TEMPLATE_MAX_CHARS)))
    try:
        # Only bare names: "{name.__class__}" or "{name!r:>99}" would reach into Python objects.
        for _, field, spec, conversion in Formatter().parse(body):
            if field is None:
                continue
            if field not in PLACEHOLDERS or spec or conversion:
                problems.append(("unknown_placeholder", "{" + field + "}"))
    except ValueError:
        problems.append(("broken_braces", ""))
    else:
        used = set(placeholders_in(body))
        problems += [("missing_placeholder", "{" + f + "}")
                     for f in REQUIRED.get(kind, ()) if f not in used]
    if problems:
        raise TemplateError(problems)
    return body


@dataclass(frozen=True)
class PromptValues:
    """What a prompt's placeholders stand for."""

    name: str = ""
    other: str = ""
    discussion: str = ""
    link: str = ""
    course: str = ""


def _shorten(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + ELLIPSIS


def render_message(body: str, values: PromptValues, reference: str, lang: str,
                   *, limit: int = MOODLE_MAX_BYTES) -> str:
    """Render a wording to Moodle HTML under `limit` bytes, keeping the link and reference."""
    segments = _segments(body, values)
    footer = "<p><small>" + html.escape(
        REFERENCE_LINE[normalise_lang(lang)].format(reference=reference)) + "</small></p>"
    message = _html(segments) + footer
    overflow = len(message.encode()) - limit
    if overflow > 0:
        segments = _truncate(segments, overflow)
        message = _html(segments) + footer
    return message


# A segment is ("text", str), ("link", url) or ("para", "") — a paragraph break.
Segment = tuple[str, str]


def _segments(body: str, values: PromptValues) -> list[Segment]:
    segments: list[Segment] = []
    has_link = False
    for line_number, line in enumerate(body.split("\n")):
        if line_number:
            segments.append(("para", ""))
        for literal, field, _, _ in Formatter().parse(line):
            if literal:
                segments.append(("text", literal))
            if field is None:
                continue
            if field == "link":
                if values.link:
                    segments.append(("link", values.link))
                    has_link = True
            else:
                value = getattr(values, field, "")
                segments.append(("text", _shorten(value, VALUE_MAX_CHARS.get(field, 150))))
    if values.link and not has_link:
        segments += [("para", ""), ("link", values.link)]
    return segments


def _html(segments: list[Segment]) -> str:
    parts = ["<p>"]
    for kind, value in segments:
        if kind == "para":
            parts.append("</p><p>")
        elif kind == "link":
            url = html.escape(value)
            parts.append(f'<a href="{url}">{url}</a>')
        else:
            parts.append(html.escape(value, quote=False))
    parts.append("</p>")
    return re.sub(r"<p>\s*</p>", "", "".join(parts))


def _escaped_bytes(text: str) -> int:
    return len(html.escape(text, quote=False).encode())


def _truncate(segments: list[Segment], overflow: int) -> list[Segment]:
    """Shorten text segments, longest first, until `overflow` bytes are gone."""
    segments = list(segments)
    while overflow > 0:
        texts = [i for i, (kind, value) in enumerate(segments) if kind == "text" and value]
        if not texts:
            raise ValueError("the link and reference alone exceed Moodle's message limit")
        index = max(texts, key=lambda i: _escaped_bytes(segments[i][1]))
        text = segments[index][1]
        budget = _escaped_bytes(text) - overflow - len(ELLIPSIS.encode())
        shortened = _cut(text, budget)
        overflow -= _escaped_bytes(text) - _escaped_bytes(shortened)
        segments[index] = ("text", shortened)
    return segments


def _cut(text: str, budget: int) -> str:
    """Return the longest prefix (at a word if possible) whose escaped bytes fit, plus '…'."""
    if budget <= 0:
        return ""
    low, high = 0, len(text)
    while low < high:  # the longest prefix of whole characters that fits
        middle = (low + high + 1) // 2
        if _escaped_bytes(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    prefix = text[:low]
    at_word = prefix.rsplit(" ", 1)[0] if " " in prefix[len(prefix) // 2:] else prefix
    return at_word.rstrip() + ELLIPSIS
