"""Turn analytics' health figures and weekly trend into what the dashboard prints, localised."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import format_percent, format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from middleware.i18n import format_decimal

from .sparkline import sparkline_svg


@dataclass(frozen=True)
class Figure:
    """One figure: its value and label in words, a trend in words and as a sparkline."""

    key: str
    label: str
    value: str
    trend: str = ""
    sparkline: Markup = Markup("")


def _percent(value: float | None) -> str:
    return "–" if value is None else format_percent(value, "#,##0%")


def _decimal(value: float | None) -> str:
    return "–" if value is None else format_decimal(round(value, 1))


def _count(value: float | None) -> str:
    return "–" if value is None else format_decimal(int(value))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, add_direction=False)


@dataclass(frozen=True)
class FigureSpec:
    key: str
    label: Any
    trend_key: str
    show: Callable[[float | None], str]


#: The course-health figures the dashboard shows, in order (keys of analytics' health dict).
HEALTH_FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("active_share", _l("Learners who wrote"), "active_share", _percent),
    FigureSpec("isolated_learners", _l("Isolated learners"), "isolated_learners", _count),
    FigureSpec("unanswered_72h", _l("Questions without a reply after 72 h"), "unanswered_72h",
               _count),
    FigureSpec("median_first_reply_seconds", _l("Median time to a first reply"),
               "median_first_reply_seconds", _duration),
    FigureSpec("reciprocity", _l("Replies that are returned"), "reciprocity", _percent),
    FigureSpec("teacher_share", _l("Exchanges that involve a teacher"), "teacher_share", _percent),
    FigureSpec("conversation_ratio", _l("Replies per discussion"), "conversation_ratio", _decimal),
    FigureSpec("density", _l("Network density"), "density", _percent),
)


def health_figures(health: Mapping[str, Any] | None,
                   trend: Sequence[Mapping[str, Any]] = ()) -> list[Figure]:
    """Return the health figures with their week-by-week trend told in words and drawn."""
    health = health or {}
    figures = []
    for spec in HEALTH_FIGURES:
        value = health.get(spec.key)
        shown = spec.show(value)
        if spec.key == "active_share" and health.get("enrolled_learners") is not None:
            shown = _("%(share)s (%(active)s of %(enrolled)s)", share=shown,
                      active=_count(health.get("active_learners")),
                      enrolled=_count(health.get("enrolled_learners")))
        series = [week.get(spec.trend_key) for week in trend]
        known = [v for v in series if v is not None]
        trend_text = ""
        if len(known) >= 2:
            trend_text = _("Over %(weeks)s weeks: from %(first)s to %(last)s",
                           weeks=format_decimal(len(series)), first=spec.show(known[0]),
                           last=spec.show(known[-1]))
        figures.append(Figure(spec.key, str(spec.label), shown, trend_text,
                              sparkline_svg(series)))
    return figures
