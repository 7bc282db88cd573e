"""The interaction graph of a view (course or group, time window, teacher or learner audience).

A directed, weighted edge goes from the author of a reply to the author of the post it
answers; self-replies are not edges; private replies count only in teacher views; posts of
deleted users are kept as anonymous nodes (one per discussion).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from .activity import NO_PARENT, CourseActivity, contains

#: The time windows analysed, by their stored names (None: the whole course).
WINDOWS: dict[str, timedelta | None] = {
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
TEACHER_AUDIENCE = "teacher"
LEARNER_AUDIENCE = "learner"
AUDIENCES = (TEACHER_AUDIENCE, LEARNER_AUDIENCE)


@dataclass(frozen=True, slots=True)
class View:
    """Which part of a course's activity a graph shows."""

    window: str = "all"
    group_id: int | None = None
    audience: str = TEACHER_AUDIENCE
    #: Explicit bounds (epoch seconds) override the window; used for week-by-week trends.
    since: float | None = None
    until: float | None = None

    @property
    def teacher_view(self) -> bool:
        return self.audience == TEACHER_AUDIENCE

    def bounds(self, activity: CourseActivity) -> tuple[float, float]:
        if self.since is not None or self.until is not None:
            return (self.since if self.since is not None else -np.inf,
                    self.until if self.until is not None else np.inf)
        span = WINDOWS[self.window]
        now = activity.now_ts
        return (-np.inf if span is None else now - span.total_seconds()), now


@dataclass(frozen=True, slots=True)
class InteractionGraph:
    """Nodes (people and anonymous nodes) and collapsed weighted edges of one view.

    `post_*` arrays describe the posts in the view, with authors as node indices; they feed
    the per-person counts. Edges are unique (source, target) pairs with a reply count weight.
    """

    view: View
    since: float  # start of the view (epoch seconds; -inf for the whole course)
    until: float
    node_ids: np.ndarray  # int64 node ids (person ids; negative for anonymous nodes)
    roles: np.ndarray  # int8 codes of ROLE_CODES
    in_scope: np.ndarray  # bool: enrolled in the view (active enrolment, group member)
    sources: np.ndarray  # int64 node indices
    targets: np.ndarray  # int64 node indices
    weights: np.ndarray  # float64 number of replies
    post_author: np.ndarray  # node index of each post in the view
    post_parent: np.ndarray  # node index of the parent's author, -1 for none/unknown
    post_is_start: np.ndarray
    post_created: np.ndarray
    post_discussion: np.ndarray  # discussion ids
    post_discussion_created: np.ndarray
    post_discussion_author: np.ndarray  # node index, -1 if not a node of the view

    @property
    def node_count(self) -> int:
        return len(self.node_ids)

    @property
    def edge_count(self) -> int:
        return len(self.sources)

    def index_of(self, node_id: int) -> int | None:
        slot = int(np.searchsorted(self.node_ids, node_id))
        if slot < len(self.node_ids) and self.node_ids[slot] == node_id:
            return slot
        return None

    def to_igraph(self):
        """Return the graph as a directed igraph Graph with a `weight` edge attribute."""
        import igraph

        # Plain lists: igraph converts them much faster than numpy arrays.
        edges = list(zip(self.sources.tolist(), self.targets.tolist(), strict=True))
        return igraph.Graph(n=self.node_count, edges=edges, directed=True,
                            edge_attrs={"weight": self.weights.tolist()})

    def to_networkx(self):
        """Return the graph as a networkx DiGraph (the yardstick for tests and benchmarks)."""
        import networkx

        graph = networkx.DiGraph()
        graph.add_nodes_from(range(self.node_count))
        graph.add_weighted_edges_from(
            zip(self.sources.tolist(), self.targets.tolist(), self.weights.tolist(), strict=True))
        return graph


def _view_posts(activity: CourseActivity, view: View) -> np.ndarray:
    """Return the indices (in time order) of the posts in `view`."""
    columns = activity.columns
    since, until = view.bounds(activity)
    if view.group_id is None:
        candidates = None
        created = columns.created
    else:
        candidates = activity.group_posts.get(view.group_id, np.zeros(0, np.int64))
        created = columns.created[candidates]
    # Posts are sorted by creation time: a window is a slice.
    lo, hi = np.searchsorted(created, since, "left"), np.searchsorted(created, until, "right")
    index = np.arange(lo, hi) if candidates is None else candidates[lo:hi]
    if not view.teacher_view:
        index = index[~columns.private[index]]
    return index


def build_graph(activity: CourseActivity, view: View) -> InteractionGraph:
    """Build the interaction graph of `view`."""
    columns = activity.columns
    mask = _view_posts(activity, view)
    scope = activity.enrolled_ids
    if view.group_id is not None:
        members = activity.group_members.get(view.group_id, np.zeros(0, np.int64))
        scope = members[contains(scope, members)]
    author = columns.author[mask]
    parent = columns.parent_author[mask]
    known_parent = parent != NO_PARENT
    node_ids = np.unique(np.concatenate((scope, author, parent[known_parent])))

    post_author = np.searchsorted(node_ids, author)
    post_parent = np.full(len(author), -1, np.int64)
    post_parent[known_parent] = np.searchsorted(node_ids, parent[known_parent])
    d_author = columns.discussion_author[mask]
    slot = np.minimum(np.searchsorted(node_ids, d_author), max(len(node_ids) - 1, 0))
    post_discussion_author = np.where(
        (node_ids[slot] == d_author) if len(node_ids) else np.zeros(len(d_author), bool), slot, -1)

    reply = (post_parent >= 0) & (post_parent != post_author)
    n = len(node_ids)
    pairs = post_author[reply] * max(n, 1) + post_parent[reply]
    unique_pairs, counts = np.unique(pairs, return_counts=True)
    sources, targets = np.divmod(unique_pairs, max(n, 1))

    roles = activity.roles_of(node_ids)
    since, until = view.bounds(activity)
    return InteractionGraph(
        view=view,
        since=since,
        until=until,
        node_ids=node_ids,
        roles=roles,
        in_scope=contains(scope, node_ids),
        sources=sources.astype(np.int64),
        targets=targets.astype(np.int64),
        weights=counts.astype(np.float64),
        post_author=post_author,
        post_parent=post_parent,
        post_is_start=columns.is_start[mask],
        post_created=columns.created[mask],
        post_discussion=columns.discussion[mask],
        post_discussion_created=columns.discussion_created[mask],
        post_discussion_author=post_discussion_author,
    )
