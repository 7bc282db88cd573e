"""Analytics results, computed in the worker after each sync so that pages only read.

One `AnalyticsSnapshot` per course × time window × group (None: whole course) × audience
(teacher views count private replies, learner views do not), with health figures, the weekly
trend, candidate lists and the heaviest edges as JSON; `PersonMetrics` rows hold each
snapshot's per-person figures (people with any activity in the view), for queries by person
or by metric.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class AnalyticsSnapshot(Base):
    """The analysis of one view of a course at one moment."""

    __tablename__ = "analytics_snapshot"
    __table_args__ = (
        Index("ix_analytics_snapshot_view", "course_id", "time_window", "audience", "group_id",
              "computed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_group.id", ondelete="CASCADE"))
    # "7d", "30d" or "all" ("window" is a reserved word in SQL).
    window: Mapped[str] = mapped_column("time_window", String(8))
    audience: Mapped[str] = mapped_column(String(16), default="teacher")
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The moment the analysed data describes (the analysis' `now`).
    data_until: Mapped[datetime] = mapped_column(default=utcnow)
    # How betweenness was computed: "exact", "sampled" (with `betweenness_pivots`) or "none".
    betweenness_method: Mapped[str] = mapped_column(String(16), default="exact")
    betweenness_pivots: Mapped[int | None]
    node_count: Mapped[int] = mapped_column(default=0)
    edge_count: Mapped[int] = mapped_column(default=0)
    health: Mapped[dict[str, Any]] = mapped_column(default=dict)
    trend: Mapped[list[Any]] = mapped_column(default=list)
    candidates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [source person id, target person id, replies], heaviest first (anonymous nodes < 0).
    edges: Mapped[list[Any]] = mapped_column(default=list)
    duration_ms: Mapped[int] = mapped_column(default=0)

    people: Mapped[list[PersonMetrics]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan", passive_deletes=True)

    def __repr__(self) -> str:
        return (f"<AnalyticsSnapshot {self.id} course={self.course_id} {self.window} "
                f"group={self.group_id} {self.audience}>")


class PersonMetrics(Base):
    """One person's figures in a snapshot (people with any activity in its view only)."""

    __tablename__ = "analytics_person_metrics"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("analytics_snapshot.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), default="learner")
    posts: Mapped[int] = mapped_column(default=0)
    discussions_started: Mapped[int] = mapped_column(default=0)
    replies_given: Mapped[int] = mapped_column(default=0)
    replies_received: Mapped[int] = mapped_column(default=0)
    out_degree: Mapped[int] = mapped_column(default=0)  # distinct people replied to
    in_degree: Mapped[int] = mapped_column(default=0)  # distinct people who replied
    reciprocity: Mapped[float] = mapped_column(default=0.0)
    betweenness: Mapped[float] = mapped_column(default=0.0)
    pagerank: Mapped[float] = mapped_column(default=0.0)
    coreness: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    first_replies: Mapped[int] = mapped_column(default=0)
    median_first_reply_seconds: Mapped[float | None]
    last_activity: Mapped[datetime | None]

    snapshot: Mapped[AnalyticsSnapshot] = relationship(back_populates="people")
