"""The dashboard's analytics sections: health, network, unanswered, isolated, candidates.

Everything comes from analytics' stored snapshots: the page computes nothing heavy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import format_datetime, format_timedelta
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from middleware.analytics import operations as analytics
from middleware.analytics.reasons import render_stored_reason
from middleware.models import Ambassador, Course, CourseGroup, Discussion, Enrolment
from middleware.models.analytics import AnalyticsSnapshot, PersonMetrics
from middleware.pane.operations import moodle_discussion_url

from .figures import health_figures
from .network import build_network, legend

#: The most people the network table lists on the page.
TABLE_ROWS = 300


def status_names() -> dict[str, str]:
    return {"invited": _("invited"), "active": _("ambassador"), "declined": _("declined"),
            "dismissed": _("dismissed"), "stepped_down": _("stepped down")}


def _group_members(session: Session, group_id: int) -> set[int]:
    return set(session.scalars(select(Enrolment.person_id).join(Enrolment.groups).where(
        CourseGroup.id == group_id)))


def _metric_rows(session: Session, snapshot: AnalyticsSnapshot, *, limit: int | None = None,
                 also: set[int] | frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """Return per-person rows, the most active first (`limit` of them, plus those in `also`)."""
    # Plain columns, not ORM objects: a MOOC snapshot has tens of thousands of rows.
    columns = (PersonMetrics.person_id, PersonMetrics.role, PersonMetrics.posts,
               PersonMetrics.replies_given, PersonMetrics.replies_received)
    activity = PersonMetrics.posts + PersonMetrics.replies_received
    query = (select(*columns).where(PersonMetrics.snapshot_id == snapshot.id)
             .order_by(activity.desc(), PersonMetrics.person_id))
    rows = [dict(row._mapping) for row in session.execute(query.limit(limit))]
    missing = set(also) - {row["person_id"] for row in rows}
    if missing:
        rows += [dict(row._mapping) for row in session.execute(
            select(*columns).where(PersonMetrics.snapshot_id == snapshot.id,
                                   PersonMetrics.person_id.in_(missing)))]
    return rows


def _people_count(session: Session, snapshot: AnalyticsSnapshot) -> int:
    return session.scalar(select(func.count()).select_from(PersonMetrics).where(
        PersonMetrics.snapshot_id == snapshot.id)) or 0


def network_rows(session: Session, course_id: int, snapshot: AnalyticsSnapshot,
                 window: str, group_id: int | None, *, isolated: set[int]
                 ) -> tuple[list[dict[str, Any]], int]:
    """Per-person rows of the view, the most active first, and how many people it has (group
    views: course figures, replies inside the group)."""
    if group_id is None:
        rows = _metric_rows(session, snapshot, limit=TABLE_ROWS, also=isolated)
        return rows, _people_count(session, snapshot)
    course_view = analytics.latest_snapshot(session, course_id, window=window, with_edges=False)
    course_rows = ({row["person_id"]: row for row in _metric_rows(session, course_view)}
                   if course_view else {})
    given: dict[int, int] = defaultdict(int)
    received: dict[int, int] = defaultdict(int)
    for source, target, weight in snapshot.edges:
        given[source] += weight
        received[target] += weight
    members = _group_members(session, group_id) | set(given) | set(received)
    rows = []
    for person_id in sorted(members):
        known = course_rows.get(person_id)
        if known is None and person_id not in given and person_id not in received:
            continue
        rows.append({"person_id": person_id, "role": known["role"] if known else "learner",
                     "posts": known["posts"] if known else 0,
                     "replies_given": given[person_id], "replies_received": received[person_id]})
    return rows, len(rows)


def fill_analytics(session: Session, course: Course, board: Any, *, now: datetime,
                   label_of: Callable[[int], str]) -> None:
    """Fill the board's health, network and attention sections from the latest snapshots."""
    snapshot = analytics.latest_snapshot(session, course.id, window=board.window,
                                         group_id=board.group_id)
    if snapshot is None:
        return
    whole = snapshot if board.window == "all" else analytics.latest_snapshot(
        session, course.id, window="all", group_id=board.group_id, with_edges=False)
    board.analysed = True
    board.period_text = _("%(period)s · computed %(ago)s (%(when)s)",
                          period=board.period_text,
                          ago=format_timedelta(snapshot.computed_at - now, add_direction=True),
                          when=format_datetime(snapshot.computed_at, "short"))
    board.figures = health_figures(snapshot.health, whole.trend if whole else [])
    candidates = (whole.candidates if whole else {}) or {}
    isolated = candidates.get("isolated", [])
    isolated_ids = {item["person_id"] for item in isolated}
    rows, people = network_rows(session, course.id, snapshot, board.window, board.group_id,
                                isolated=isolated_ids)
    listed = {row["person_id"] for row in rows}
    # Learners who never wrote have no row: add them so the picture shows them, unconnected.
    rows += [{"person_id": person_id, "role": "learner", "posts": 0, "replies_given": 0,
              "replies_received": 0} for person_id in sorted(isolated_ids - listed)]
    rows = [row for row in rows if row["person_id"] > 0]
    board.network_people = people + len(isolated_ids - listed)
    # A MOOC has thousands of people: only the most active can be drawn (150) or listed (300),
    # so the rest is not even read; the counts say how many there are.
    rows.sort(key=lambda row: (-((row["posts"] or 0) + (row["replies_received"] or 0)),
                               row["person_id"]))
    rows = rows[:TABLE_ROWS] + [row for row in rows[TABLE_ROWS:]
                                if row["person_id"] in isolated_ids]
    names = {row["person_id"]: label_of(row["person_id"]) for row in rows}
    board.network, board.network_rows = build_network(
        rows, [edge for edge in snapshot.edges if edge[0] in names and edge[1] in names], names,
        isolated_ids, pseudonymise=False)
    board.legend = legend()
    board.network_rows = board.network_rows[:TABLE_ROWS]
    board.isolated = [{"name": label_of(item["person_id"]),
                       "reason": render_stored_reason(item["reason"])}
                      for item in isolated[:20]]
    board.unanswered = _unanswered(session, course, candidates.get("unanswered", []), now,
                                   label_of)
    board.candidates = _candidates(session, course.id, snapshot.candidates.get("ambassadors", []),
                                   label_of)


def _unanswered(session: Session, course: Course, items: list[dict[str, Any]], now: datetime,
                label_of: Callable[[int], str]) -> list[dict[str, Any]]:
    ids = [item["discussion_id"] for item in items[:20]]
    moodle_ids = dict(session.execute(select(Discussion.id, Discussion.moodle_discussion_id)
                                      .where(Discussion.id.in_(ids))).all())
    shown = []
    for item in items[:20]:
        created = datetime.fromisoformat(item["created"])
        detail = [_("asked %(ago)s", ago=format_timedelta(created - now, add_direction=True))]
        if item.get("author_id"):
            detail.insert(0, label_of(item["author_id"]))
        peers = [label_of(peer["person_id"]) for peer in item.get("peers", [])]
        if peers:
            detail.append(_("could answer: %(names)s", names=", ".join(peers)))
        moodle_id = moodle_ids.get(item["discussion_id"])
        shown.append({"title": item["title"], "detail": " · ".join(detail),
                      "url": moodle_discussion_url(course, moodle_id) if moodle_id else "#"})
    return shown


def _candidates(session: Session, course_id: int, items: list[dict[str, Any]],
                label_of: Callable[[int], str]) -> list[dict[str, Any]]:
    names = status_names()
    shown_items = items[:10]
    # Every candidate's recorded status in one query (not one per candidate).
    statuses = dict(session.execute(select(Ambassador.person_id, Ambassador.status).where(
        Ambassador.course_id == course_id,
        Ambassador.person_id.in_([item["person_id"] for item in shown_items]))).all()
    ) if shown_items else {}
    shown = []
    for item in shown_items:
        # None: analytics proposes them but mentoring has not recorded a suggestion yet.
        status = statuses.get(item["person_id"])
        shown.append({"person_id": item["person_id"], "name": label_of(item["person_id"]),
                      "reason": render_stored_reason(item.get("reason")), "status": status,
                      "status_text": names.get(status, "")})
    return shown
