"""Analyse every view of a course: the course and each group, three windows, two audiences.

Course views are analysed for teachers (private replies count) and learners (they do not);
group views for teachers only. Each view gets per-person metrics, health (with the
week-by-week trend for the whole-course window) and JSON-ready candidate lists. Betweenness
is computed for teacher views only: brokerage is a figure for teachers, never shown to learners.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from .activity import CourseActivity
from .candidates import (
    ambassador_candidates,
    isolated_learners,
    rank_peers_for_discussion,
    unanswered_discussions,
)
from .graph import AUDIENCES, TEACHER_AUDIENCE, WINDOWS, View, build_graph
from .health import course_health, discussion_table, weekly_trend
from .metrics import (
    StructureEngine,
    ViewMetrics,
    compute_metrics,
    igraph_structure,
    single_thread,
)

#: How many of each list a snapshot keeps (the health figures hold the full counts).
LIMITS = {"ambassadors": 20, "brokers": 20, "isolated": 200, "unanswered": 200}
UNANSWERED_AFTER = timedelta(hours=24)
SILENT_DAYS = 14
#: The oldest unanswered questions of the course get this many suggested peers each.
SUGGEST_FOR, SUGGESTED_PEERS = 10, 3


@dataclass(frozen=True)
class ViewAnalysis:
    """The results for one view."""

    view: View
    metrics: ViewMetrics
    health: dict[str, Any]
    trend: list[dict[str, Any]] = field(default_factory=list)
    candidates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def views_of(activity: CourseActivity, *, groups: bool = True) -> list[View]:
    """Return the views analysed for a course."""
    views = [View(window, None, audience) for audience in AUDIENCES for window in WINDOWS]
    if groups:
        views += [View(window, group, TEACHER_AUDIENCE)
                  for group in activity.group_ids for window in WINDOWS]
    return views


@contextmanager
def _timed(timings: dict[str, float] | None, phase: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    if timings is not None:
        timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - started


def analyse_activity(activity: CourseActivity, *, structure: StructureEngine = igraph_structure,
                     groups: bool = True, suggest_peers: bool = True, seed: int = 0,
                     timings: dict[str, float] | None = None) -> list[ViewAnalysis]:
    """Analyse every view of a course (`timings`, if given, gets seconds per phase)."""
    with single_thread():
        return _analyse(activity, structure, groups, suggest_peers, seed, timings)


def _analyse(activity: CourseActivity, structure: StructureEngine, groups: bool,
             suggest_peers: bool, seed: int, timings: dict[str, float] | None
             ) -> list[ViewAnalysis]:
    with _timed(timings, "candidates"):
        tables = {audience: discussion_table(activity, teacher_view=audience == TEACHER_AUDIENCE)
                  for audience in AUDIENCES}
        isolated = isolated_learners(activity, silent_days=SILENT_DAYS)
        unanswered = unanswered_discussions(activity, older_than=UNANSWERED_AFTER)
    suggestions: dict[int, list[dict[str, Any]]] = {}
    with _timed(timings, "peer suggestions"):
        for item in unanswered[:SUGGEST_FOR] if suggest_peers else ():
            suggestions[item.discussion_id] = [
                peer.to_json() for peer in
                rank_peers_for_discussion(activity, item.discussion_id, k=SUGGESTED_PEERS)]

    isolated_in: dict[int | None, list] = {None: isolated}
    for candidate in isolated:
        for group in activity.person_by_id[candidate.person_id].group_ids:
            isolated_in.setdefault(group, []).append(candidate)
    unanswered_in: dict[int | None, list] = {None: unanswered}
    for item in unanswered:
        if item.group_id is not None:
            unanswered_in.setdefault(item.group_id, []).append(item)
    results = []
    for view in views_of(activity, groups=groups):
        kind = "course views" if view.group_id is None else "group views"
        with _timed(timings, f"{kind}: graphs"):
            graph = build_graph(activity, view)
        with _timed(timings, f"{kind}: metrics"):
            metrics = compute_metrics(graph, structure=structure, seed=seed,
                                      betweenness=view.teacher_view)
        with _timed(timings, f"{kind}: health and trend"):
            table = tables[view.audience]
            health = course_health(graph, table, now=activity.now_ts)
            trend = (weekly_trend(activity, view, table, graph=graph)
                     if view.window == "all" else [])
        candidates: dict[str, list[dict[str, Any]]] = {
            "ambassadors": [c.to_json() for c in
                            ambassador_candidates(activity, metrics, limit=LIMITS["ambassadors"])],
            "brokers": [
                {"person_id": int(graph.node_ids[i]),
                 "betweenness": float(metrics.values["betweenness"][i])}
                for i in metrics.top_indices("betweenness", limit=LIMITS["brokers"]).tolist()],
        }
        if view.window == "all":
            chosen = isolated_in.get(view.group_id, [])
            candidates["isolated"] = [c.to_json() for c in chosen[:LIMITS["isolated"]]]
            waiting = unanswered_in.get(view.group_id, [])
            candidates["unanswered"] = [
                {**d.to_json(),
                 "peers": suggestions.get(d.discussion_id, []) if view.teacher_view else []}
                for d in waiting[:LIMITS["unanswered"]]]
        results.append(ViewAnalysis(view, metrics, health, trend, candidates))
    return results


def json_ready(value: Any) -> Any:
    """Turn numpy scalars (and containers of them) into plain JSON values."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
