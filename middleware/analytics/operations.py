"""Load a course's activity from the database, analyse it, store the results; read them back.

`load_course_activity` selects columns (a few queries, no ORM objects per post);
`refresh_course_analytics` replaces a course's snapshots with fresh ones (it flushes, the
caller commits); `latest_snapshot`, `person_metrics`, `top_people` are what pages and
mentoring read.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, defer

from ..models import (
    AnalyticsSnapshot,
    CourseGroup,
    Discussion,
    Enrolment,
    Forum,
    Person,
    PersonMetrics,
    Post,
    group_membership,
    utcnow,
)
from .activity import CourseActivity, DiscussionRecord, PersonRecord, PostRecord
from .analysis import ViewAnalysis, analyse_activity, json_ready
from .metrics import METRIC_FIELDS
from .reasons import Reason

#: Snapshots keep this many of a view's heaviest edges (for the network picture).
STORED_EDGES = 5000


def load_course_activity(session: Session, course_id: int, *, now: datetime | None = None
                         ) -> CourseActivity:
    """Build a course's `CourseActivity` from the synced forums and roster."""
    now = now or utcnow()
    groups = dict(session.execute(
        select(CourseGroup.moodle_group_id, CourseGroup.id)
        .where(CourseGroup.course_id == course_id)).all())
    group_of_enrolment: dict[int, set[int]] = defaultdict(set)
    for enrolment_id, group_id in session.execute(
            select(group_membership.c.enrolment_id, group_membership.c.group_id)
            .join(CourseGroup, CourseGroup.id == group_membership.c.group_id)
            .where(CourseGroup.course_id == course_id)):
        group_of_enrolment[enrolment_id].add(group_id)
    people = [
        PersonRecord(person_id, role, frozenset(group_of_enrolment.get(enrolment_id, ())),
                     active, last_access, deleted)
        for enrolment_id, person_id, role, active, last_access, deleted in session.execute(
            select(Enrolment.id, Enrolment.person_id, Enrolment.role, Enrolment.active,
                   Enrolment.last_course_access, Person.deleted)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.course_id == course_id))
    ]

    def group(moodle_group_id: int | None) -> int | None:
        return None if moodle_group_id is None or moodle_group_id < 0 else groups.get(
            moodle_group_id)

    discussion_rows = session.execute(
        select(Discussion.id, Discussion.author_id, Discussion.name, Discussion.created_at,
               Discussion.moodle_group_id, Forum.type)
        .join(Forum, Forum.id == Discussion.forum_id)
        .where(Discussion.course_id == course_id, Discussion.deleted.is_(False),
               Forum.deleted.is_(False))).all()
    known = {row[0] for row in discussion_rows}
    posts = []
    first_post: dict[int, datetime] = {}
    for (post_id, discussion_id, parent_id, author_id, created, private, moodle_group,
         text) in session.execute(
            select(Post.moodle_post_id, Post.discussion_id, Post.parent_moodle_id,
                   Post.author_id, Post.created_at, Post.private_reply, Post.moodle_group_id,
                   Post.message_text)
            .where(Post.course_id == course_id, Post.deleted.is_(False),
                   Post.created_at.is_not(None))):
        if discussion_id not in known:
            continue
        posts.append(PostRecord(post_id, discussion_id, parent_id, author_id, created, private,
                                group(moodle_group), text or ""))
        if discussion_id not in first_post or created < first_post[discussion_id]:
            first_post[discussion_id] = created
    discussions = [
        DiscussionRecord(d_id, author_id, name, created or first_post[d_id], group(g), forum)
        for d_id, author_id, name, created, g, forum in discussion_rows
        if created is not None or d_id in first_post
    ]
    return CourseActivity.build(course_id, now, people, discussions, posts,
                                group_ids=sorted(groups.values()))


def _edges_json(analysis: ViewAnalysis) -> list[list[int]]:
    graph = analysis.metrics.graph
    order = np.lexsort((graph.targets, graph.sources, -graph.weights))[:STORED_EDGES]
    ids = graph.node_ids
    return [[int(ids[graph.sources[i]]), int(ids[graph.targets[i]]), int(graph.weights[i])]
            for i in order.tolist()]


def _person_rows(snapshot_id: int, analysis: ViewAnalysis) -> Iterable[dict[str, Any]]:
    for row in analysis.metrics.rows():
        last = row["last_activity"]
        yield {**{name: row[name] for name in METRIC_FIELDS}, "snapshot_id": snapshot_id,
               "person_id": row["person_id"], "role": row["role"],
               "last_activity": None if last is None else datetime.fromtimestamp(last, UTC)}


def store_analysis(session: Session, course_id: int, analyses: list[ViewAnalysis], *,
                   data_until: datetime, duration_ms: int = 0) -> list[AnalyticsSnapshot]:
    """Replace a course's snapshots with `analyses` and their per-person rows."""
    previous = select(AnalyticsSnapshot.id).where(AnalyticsSnapshot.course_id == course_id)
    session.execute(delete(PersonMetrics).where(PersonMetrics.snapshot_id.in_(previous)))
    session.execute(delete(AnalyticsSnapshot).where(AnalyticsSnapshot.course_id == course_id))
    computed_at = utcnow()
    snapshots = []
    for analysis in analyses:
        view, method = analysis.view, analysis.metrics.method
        snapshot = AnalyticsSnapshot(
            course_id=course_id, group_id=view.group_id, window=view.window,
            audience=view.audience, computed_at=computed_at, data_until=data_until,
            betweenness_method=method.name, betweenness_pivots=method.pivots,
            node_count=analysis.metrics.graph.node_count,
            edge_count=analysis.metrics.graph.edge_count,
            health=json_ready(analysis.health), trend=json_ready(analysis.trend),
            candidates=json_ready(analysis.candidates), edges=_edges_json(analysis),
            duration_ms=duration_ms)
        session.add(snapshot)
        snapshots.append(snapshot)
    session.flush()
    rows = [row for snapshot, analysis in zip(snapshots, analyses, strict=True)
            for row in _person_rows(snapshot.id, analysis)]
    if rows:
        session.execute(insert(PersonMetrics), rows)
    session.flush()
    return snapshots


def refresh_course_analytics(session: Session, course_id: int, *, now: datetime | None = None
                             ) -> list[AnalyticsSnapshot]:
    """Load, analyse and store a course's analytics (flushes; the caller commits)."""
    started = time.perf_counter()
    activity = load_course_activity(session, course_id, now=now)
    analyses = analyse_activity(activity)
    duration_ms = int((time.perf_counter() - started) * 1000)
    return store_analysis(session, course_id, analyses, data_until=activity.now,
                          duration_ms=duration_ms)


def latest_snapshot(session: Session, course_id: int, *, window: str = "all",
                    group_id: int | None = None, audience: str = "teacher",
                    with_edges: bool = True) -> AnalyticsSnapshot | None:
    """Return the newest snapshot of a course view, or None before the first analysis.

    `with_edges=False` leaves the edge list (up to 5 000 JSON triples) unread until asked for.
    """
    query = select(AnalyticsSnapshot).where(
        AnalyticsSnapshot.course_id == course_id, AnalyticsSnapshot.window == window,
        AnalyticsSnapshot.audience == audience)
    query = query.where(AnalyticsSnapshot.group_id.is_(None) if group_id is None
                        else AnalyticsSnapshot.group_id == group_id)
    if not with_edges:
        query = query.options(defer(AnalyticsSnapshot.edges))
    return session.scalars(query.order_by(AnalyticsSnapshot.computed_at.desc(),
                                          AnalyticsSnapshot.id.desc()).limit(1)).first()


def person_metrics(session: Session, snapshot: AnalyticsSnapshot, person_id: int
                   ) -> PersonMetrics | None:
    """Return one person's figures in a snapshot (None: no activity in that view)."""
    return session.get(PersonMetrics, (snapshot.id, person_id))


def snapshot_people(session: Session, snapshot: AnalyticsSnapshot) -> list[PersonMetrics]:
    """Return every per-person row of a snapshot (people with activity), by person id."""
    return list(session.scalars(select(PersonMetrics).where(
        PersonMetrics.snapshot_id == snapshot.id).order_by(PersonMetrics.person_id)))


def top_people(session: Session, snapshot: AnalyticsSnapshot, metric: str, *, limit: int = 10,
               roles: tuple[str, ...] | None = None) -> list[PersonMetrics]:
    """Return the people highest on `metric` (a `METRIC_FIELDS` name) in a snapshot."""
    if metric not in METRIC_FIELDS:
        raise ValueError(f"unknown metric {metric!r}")
    column = getattr(PersonMetrics, metric)
    query = select(PersonMetrics).where(PersonMetrics.snapshot_id == snapshot.id, column > 0)
    if roles is not None:
        query = query.where(PersonMetrics.role.in_(roles))
    return list(session.scalars(query.order_by(column.desc(), PersonMetrics.person_id)
                                .limit(limit)))


def betweenness_method(snapshot: AnalyticsSnapshot) -> Reason:
    """Say how the snapshot's betweenness was computed, to show next to the figure."""
    if snapshot.betweenness_method == "sampled":
        return Reason("betweenness.sampled", {"num": snapshot.betweenness_pivots or 0})
    if snapshot.betweenness_method == "none":
        return Reason("betweenness.none")
    return Reason("betweenness.exact")
