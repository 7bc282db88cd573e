"""Assemble the teacher dashboard: every section's content, in the teacher's language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import format_datetime, format_timedelta
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from middleware.i18n import format_decimal
from middleware.lti.session import launch_url_for
from middleware.mentoring import operations as mentoring
from middleware.models import LEARNER, Course, Enrolment, Person
from middleware.sync import operations as sync

from . import operations
from .figures import Figure, _duration, _percent
from .network import LegendItem, NetworkRow
from .network_svg import NetworkPicture


@dataclass
class Board:
    """Everything the dashboard template shows."""

    window: str
    group_id: int | None
    pseudonymise: bool
    windows: list[tuple[str, str]]
    groups: list[Any]
    analysed: bool = False
    period_text: str = ""
    figures: list[Figure] = field(default_factory=list)
    network: NetworkPicture | None = None
    legend: list[LegendItem] = field(default_factory=list)
    network_rows: list[NetworkRow] = field(default_factory=list)
    network_people: int = 0
    unanswered: list[dict[str, Any]] = field(default_factory=list)
    isolated: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    ambassadors: list[str] = field(default_factory=list)
    review_queue: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Figure] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, Any] = field(default_factory=dict)
    sync_text: str = ""


def rule_names() -> dict[str, str]:
    return {
        "unanswered": _("Unanswered question"),
        "bridging": _("Isolated learner"),
        "welcome": _("Welcome"),
        "ambassador": _("Ambassador invitation"),
        "recognition": _("Thank-you"),
    }


def outcome_names() -> dict[str, str]:
    return {"": _("not measured"), "pending": _("waiting"), "replied": _("replied"),
            "no_reply": _("no reply")}


def window_names() -> list[tuple[str, str]]:
    return [("7d", _("Last 7 days")), ("30d", _("Last 30 days")), ("all", _("Whole course"))]


def _mentoring_link(endpoint: str) -> str | None:
    try:
        url_for(endpoint)
    except BuildError:
        return None
    return launch_url_for(endpoint)


def build_board(session: Session, course: Course, *, window: str, group_id: int | None,
                pseudonymise: bool, now: datetime, teacher_id: int) -> Board:
    """Read every section of the dashboard for one course, period and group."""
    board = Board(window=window, group_id=group_id, pseudonymise=pseudonymise,
                  windows=window_names(), groups=operations.course_groups(session, course.id))
    board.period_text = dict(board.windows)[window]
    label_of = labeller(session, course.id, pseudonymise=pseudonymise)
    _fill_analytics(session, course, board, now=now, label_of=label_of)
    _fill_mentoring(session, course, board, label_of)
    run = sync.last_sync(session, course.id)
    board.sync_text = _sync_text(run, now)
    return board


def _fill_analytics(session: Session, course: Course, board: Board, *, now: datetime,
                    label_of: Callable[[int], str]) -> None:
    """Fill health, network and candidates from analytics' latest stored results."""
    from .analytics_sections import fill_analytics

    fill_analytics(session, course, board, now=now, label_of=label_of)


def labeller(session: Session, course_id: int, *, pseudonymise: bool) -> Callable[[int], str]:
    """Return the name to show for a person: learners numbered by id when pseudonymised."""
    enrolled = session.execute(
        select(Enrolment.person_id, Enrolment.role, Person.fullname)
        .join(Person, Person.id == Enrolment.person_id)
        .where(Enrolment.course_id == course_id).order_by(Enrolment.person_id)).all()
    names = {person_id: fullname for person_id, _role, fullname in enrolled}
    someone = _("Someone")
    if not pseudonymise:
        return lambda person_id: names.get(person_id) or someone
    learners = [person_id for person_id, role, _name in enrolled if role == LEARNER]
    number = {person_id: index + 1 for index, person_id in enumerate(learners)}
    # Translated once, numbered on demand: a course has thousands of learners, a page shows
    # a few hundred of them.
    pattern = _("Learner %(n)s", n="{n}")

    def label_of(person_id: int) -> str:
        if person_id in number:
            return pattern.format(n=number[person_id])
        return names.get(person_id) or someone

    return label_of


def _fill_mentoring(session: Session, course: Course, board: Board,
                    label_of: Callable[[int], str]) -> None:
    rules = rule_names()
    outcomes = outcome_names()
    board.review_queue = [
        {"id": line.id, "recipient": label_of(line.recipient_id),
         "rule": rules.get(line.rule, line.rule), "text": line.text}
        for line in operations.review_lines(session, course.id)
    ]
    board.log = [
        {"when": format_datetime(line.sent_at, "short") if line.sent_at else "",
         "recipient": label_of(line.recipient_id), "rule": rules.get(line.rule, line.rule),
         "outcome": outcomes.get(line.outcome, line.outcome)}
        for line in operations.prompt_log(session, course.id)
    ]
    board.outcomes = outcome_lines(operations.rule_outcomes(session, course.id), rules)
    ambassadors = mentoring.ambassadors_of_course(session, course.id)
    board.ambassadors = [label_of(a.person_id) for a in ambassadors]
    board.links = {
        "review": _mentoring_link("mentoring.review"),
        "outcomes": _mentoring_link("mentoring.outcomes"),
        "pages": [
            {"url": url, "label": label} for url, label in (
                (_mentoring_link("mentoring.rules"), _("Rules and their thresholds")),
                (_mentoring_link("mentoring.templates"), _("Message templates")),
                (_mentoring_link("mentoring.review"), _("Review queue")),
                (_mentoring_link("mentoring.log"), _("Full prompt log")),
                (_mentoring_link("mentoring.outcomes"), _("Outcomes in detail")),
            ) if url
        ],
    }


def outcome_lines(outcomes: list[operations.RuleOutcome], rules: dict[str, str]) -> list[Figure]:
    """Say whether prompts work: per rule, how many prompted people replied and how fast."""
    figures = []
    for outcome in outcomes:
        name = rules.get(outcome.rule, outcome.rule)
        figures.append(Figure(
            f"rule-{outcome.rule}",
            _("%(rule)s: prompted people who replied (%(count)s of %(sent)s measured)",
              rule=name, count=format_decimal(outcome.measured),
              sent=format_decimal(outcome.sent)),
            _percent(outcome.reply_rate)))
        if outcome.median_reply_seconds is not None:
            figures.append(Figure(f"rule-{outcome.rule}-time",
                                  _("%(rule)s: median time to their reply", rule=name),
                                  _duration(outcome.median_reply_seconds)))
    return figures


def _sync_text(run: Any, now: datetime) -> str:
    if run is None:
        return _("This course has not been synced from Moodle yet.")
    when = format_datetime(run.started_at, "medium")
    ago = format_timedelta(run.started_at - now, add_direction=True)
    if run.status == "running":
        return _("A sync started %(ago)s (%(when)s) and is still running.", ago=ago, when=when)
    if run.status == "failed":
        return " ".join((_("The last sync, %(ago)s (%(when)s), failed. Circolo will try again.",
                           ago=ago, when=when), sync_failure_text(run.error)))
    return _("Last synced %(ago)s (%(when)s): %(changed)s changes.", ago=ago, when=when,
             changed=format_decimal(run.changed))


def sync_failure_text(error: str) -> str:
    """Say in plain words why a sync failed, from the error its run recorded."""
    error = error or ""
    if error.startswith("unexpected") and any(
            name in error for name in ("OperationalError", "InterfaceError", "DatabaseError")):
        return _("Circolo's database was unavailable during the sync; what was read before is "
                 "kept.")
    checks = (
        ("interrupted", _("It was interrupted before it finished (the worker stopped or lost "
                          "its database); what was read before is kept.")),
        ("timed out", _("Moodle did not answer in time (it may be overloaded).")),
        ("connection failed", _("Moodle could not be reached (the site or its network is down).")),
        ("HTML instead of JSON", _("Moodle answered with an error page instead of data.")),
        ("truncated or invalid JSON", _("Moodle's answer was cut off before its end.")),
        ("HTTP 5", _("Moodle reported a server error.")),
        ("[invalidtoken]", _("Moodle did not accept Circolo's web-service token: ask IT to "
                             "check it.")),
        ("[webservicesdisabled]", _("Web services are switched off on this Moodle site: ask "
                                    "IT to enable them.")),
        ("[notconnected]", _("Circolo is not connected to this Moodle site yet: ask IT.")),
    )
    for marker, text in checks:
        if marker in error:
            return text
    if "[nopermissions]" in error or "[accessexception]" in error:
        return _("Moodle refused a request: the web-service user lacks a permission (ask IT).")
    return _("Moodle did not answer as expected.")

