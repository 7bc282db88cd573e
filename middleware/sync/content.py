"""Pure conversions from Moodle's data to Circolo's: post HTML, plain text, roles, times."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import nh3

from ..models import LEARNER, SERVICE, TEACHER

#: Moodle role shortnames that make someone a teacher of the course in Circolo.
TEACHER_ROLES = frozenset({"editingteacher", "teacher", "manager", "coursecreator"})
#: Moodle's "server default" time zone; Circolo keeps it as "" (the course's).
MOODLE_DEFAULT_TIMEZONE = "99"

_BLOCK_END = re.compile(r"(?i)(<br\s*/?>|</(p|div|li|h[1-6]|blockquote|pre|tr|table|ul|ol)>)")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def sanitise_html(message: str) -> str:
    """Keep a post's formatting and drop anything that could run or track (nh3's defaults)."""
    return nh3.clean(message or "")


def html_to_text(message: str) -> str:
    """Return a post's readable text: tags dropped, entities decoded, one line per block."""
    marked = _BLOCK_END.sub(lambda m: m.group(0) + "\n", message or "")
    text = html.unescape(nh3.clean(marked, tags=set()))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def circolo_role(moodle_roles: Iterable[str], *, is_service_user: bool) -> str:
    """Map a user's Moodle roles in a course onto learner, teacher or service."""
    if is_service_user:
        return SERVICE
    return TEACHER if TEACHER_ROLES & set(moodle_roles) else LEARNER


def person_timezone(moodle_timezone: str) -> str:
    """Return an IANA zone, or "" for Moodle's server default."""
    return "" if moodle_timezone in ("", MOODLE_DEFAULT_TIMEZONE) else moodle_timezone
