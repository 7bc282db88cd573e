"""Per-person metrics of an interaction graph: counts in numpy, structure with igraph.

Structural measures (betweenness, PageRank, k-core) come from a `StructureEngine`; igraph's
is the one Circolo runs; the benchmark and the tests plug networkx's in to compare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .activity import ROLE_CODES, ROLE_NAMES
from .graph import InteractionGraph

#: Up to this many connected nodes betweenness is exact; above it, pivot-sampled.
EXACT_BETWEENNESS_LIMIT = 2500
#: Pivots (BFS sources) of the sampled betweenness; the estimate is scaled by n / pivots.
BETWEENNESS_PIVOTS = 512
PAGERANK_DAMPING = 0.85

#: From this many nodes, one view's metrics run single-threaded on their own (see `single_thread`).
SINGLE_THREAD_FROM = 2000

#: Per-person figures, in the order they are stored.
METRIC_FIELDS = (
    "posts", "discussions_started", "replies_given", "replies_received",
    "out_degree", "in_degree", "reciprocity", "betweenness", "pagerank", "coreness",
    "answered", "first_replies", "median_first_reply_seconds", "last_activity",
)


@dataclass(frozen=True, slots=True)
class BetweennessMethod:
    """How betweenness was computed: exactly, or estimated from `pivots` BFS sources."""

    name: str  # "exact" | "sampled" | "none" (not computed: learner views show no brokers)
    pivots: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "pivots": self.pivots}


@dataclass(frozen=True, slots=True)
class Structure:
    """Structural measures of every node, in node-index order."""

    betweenness: np.ndarray  # normalised by (n-1)(n-2), as networkx's normalized=True
    pagerank: np.ndarray
    coreness: np.ndarray  # k-core index of the undirected, collapsed graph


#: `engine(graph, pivots, betweenness=True)`: pivots None means exact betweenness.
StructureEngine = Callable[..., Structure]


def choose_pivots(graph: InteractionGraph, *, exact_limit: int = EXACT_BETWEENNESS_LIMIT,
                  pivots: int = BETWEENNESS_PIVOTS, seed: int = 0
                  ) -> tuple[np.ndarray | None, BetweennessMethod]:
    """Return the BFS sources of a sampled betweenness (None for exact) and the method.

    Pivots are drawn among the nodes that replied to someone: a source without out-edges
    adds nothing to any betweenness, so leaving those out keeps the estimate unbiased (it is
    scaled by the size of that population) with less variance for the same work.
    """
    population = np.flatnonzero(source_mask(graph))
    if len(population) <= max(exact_limit, pivots):
        return None, BetweennessMethod("exact")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(population, size=pivots, replace=False))
    return chosen, BetweennessMethod("sampled", pivots)


def single_thread() -> threadpool_limits:
    """Keep native libraries (igraph's OpenMP PageRank, BLAS) on one thread.

    The worker shares two cores with the web processes: OpenMP threads that spin waiting for
    a busy core made PageRank 10 to 100 times slower, and erratic, on a loaded machine.
    """
    return threadpool_limits(limits=1)


def source_mask(graph: InteractionGraph) -> np.ndarray:
    """Tell which nodes have out-edges (replied to someone): the only useful BFS sources."""
    return np.bincount(graph.sources, minlength=graph.node_count) > 0


def normalise_betweenness(raw: np.ndarray, graph: InteractionGraph,
                          pivots: np.ndarray | None) -> np.ndarray:
    """Scale pivot sums up to all sources, then normalise as networkx (by (n-1)(n-2))."""
    n = graph.node_count
    if pivots is not None and len(pivots):
        raw = raw * (int(source_mask(graph).sum()) / len(pivots))
    scale = (n - 1) * (n - 2)
    return raw / scale if scale > 0 else np.zeros(n)


def igraph_structure(graph: InteractionGraph, pivots: np.ndarray | None, *,
                     betweenness: bool = True) -> Structure:
    """Compute betweenness, PageRank and coreness with igraph."""
    n = graph.node_count
    if n == 0:
        empty = np.zeros(0)
        return Structure(empty, empty, np.zeros(0, np.int64))
    g = graph.to_igraph()
    if graph.edge_count == 0 or not betweenness:
        raw = np.zeros(n)
    elif pivots is None:
        raw = np.asarray(g.betweenness(directed=True))
    else:
        raw = np.asarray(g.betweenness(directed=True, sources=pivots.tolist()))
    weights = "weight" if graph.edge_count else None
    pagerank = np.asarray(g.pagerank(directed=True, damping=PAGERANK_DAMPING, weights=weights))
    undirected = g.as_undirected(mode="collapse")
    coreness = np.asarray(undirected.coreness(mode="all"), np.int64)
    return Structure(normalise_betweenness(raw, graph, pivots), pagerank, coreness)


def networkx_structure(graph: InteractionGraph, pivots: np.ndarray | None, *,
                       betweenness: bool = True) -> Structure:
    """Compute the same measures with networkx (the yardstick; networkx is a test dependency)."""
    import networkx as nx

    n = graph.node_count
    g = graph.to_networkx()
    if not betweenness:
        raw = dict.fromkeys(range(n), 0.0)
    elif pivots is None:
        raw = nx.betweenness_centrality(g, normalized=False)
    else:
        raw = networkx_pivot_betweenness(g, pivots.tolist())
    pagerank = nx.pagerank(g, alpha=PAGERANK_DAMPING, weight="weight") if n else {}
    core = nx.core_number(g.to_undirected(as_view=True)) if n else {}
    order = range(n)
    return Structure(
        normalise_betweenness(np.array([raw[i] for i in order], float), graph, pivots),
        np.array([pagerank[i] for i in order], float),
        np.array([core[i] for i in order], np.int64),
    )


def networkx_pivot_betweenness(g: Any, pivots: list[int]) -> dict[int, float]:
    """Sum networkx's Brandes dependencies from `pivots`: what `betweenness_centrality(k=...)`
    does inside, with the pivots chosen by the caller (the same as igraph's `sources`)."""
    from networkx.algorithms.centrality.betweenness import (
        _accumulate_basic,
        _single_source_shortest_path_basic,
    )

    betweenness = dict.fromkeys(g, 0.0)
    for source in pivots:
        stack, predecessors, sigma, _ = _single_source_shortest_path_basic(g, source)
        betweenness, _ = _accumulate_basic(betweenness, stack, predecessors, sigma, source)
    return betweenness


@dataclass(frozen=True)
class ViewMetrics:
    """Every node's metrics in one view, as numpy columns (`METRIC_FIELDS`)."""

    graph: InteractionGraph
    values: dict[str, np.ndarray]
    method: BetweennessMethod

    @property
    def node_ids(self) -> np.ndarray:
        return self.graph.node_ids

    def role(self, index: int) -> str:
        return ROLE_NAMES[int(self.graph.roles[index])]

    def person(self, person_id: int) -> dict[str, Any] | None:
        """Return one person's metrics as a dict, or None if they are not in the view."""
        index = self.graph.index_of(person_id)
        return None if index is None else self._row(index)

    def _row(self, index: int) -> dict[str, Any]:
        row: dict[str, Any] = {"person_id": int(self.graph.node_ids[index]),
                               "role": self.role(index)}
        for name in METRIC_FIELDS:
            value = self.values[name][index]
            if isinstance(value, np.floating):
                value = None if np.isnan(value) else float(value)
            else:
                value = int(value)
            row[name] = value
        return row

    def rows(self, *, people_only: bool = True, active_only: bool = True
             ) -> Iterator[dict[str, Any]]:
        """Yield per-person rows (anonymous nodes and people without any activity skipped)."""
        keep = np.ones(self.graph.node_count, bool)
        if people_only:
            keep &= self.graph.node_ids > 0
        if active_only:
            keep &= (self.values["posts"] > 0) | (self.values["replies_received"] > 0)
        for index in np.flatnonzero(keep).tolist():
            yield self._row(index)

    def top_indices(self, metric: str, *, limit: int, roles: tuple[str, ...] | None = None
                    ) -> np.ndarray:
        """Return the node indices of the `limit` people highest on `metric` (ties by id)."""
        values = np.nan_to_num(self.values[metric])
        keep = (self.graph.node_ids > 0) & (values > 0)
        if roles is not None:
            keep &= np.isin(self.graph.roles, [ROLE_CODES[r] for r in roles])
        candidates = np.flatnonzero(keep)
        order = np.lexsort((self.graph.node_ids[candidates], -values[candidates]))
        return candidates[order[:limit]]

    def top(self, metric: str, *, limit: int, roles: tuple[str, ...] | None = None
            ) -> list[dict[str, Any]]:
        """Return the rows of the `limit` people highest on `metric` (ties by person id)."""
        return [self._row(i) for i in
                self.top_indices(metric, limit=limit, roles=roles).tolist()]


def _group_median(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Return the median of `values` per group index (NaN for empty groups)."""
    result = np.full(n, np.nan)
    if not len(values):
        return result
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    counts = np.bincount(groups, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    result[has] = (values[lo] + values[hi]) / 2
    return result


def compute_metrics(graph: InteractionGraph, *, structure: StructureEngine = igraph_structure,
                    exact_limit: int = EXACT_BETWEENNESS_LIMIT,
                    pivots: int = BETWEENNESS_PIVOTS, seed: int = 0,
                    betweenness: bool = True) -> ViewMetrics:
    """Compute every person's metrics in `graph` (`betweenness=False` leaves it at zero)."""
    n = graph.node_count
    author, parent = graph.post_author, graph.post_parent
    reply = (parent >= 0) & (parent != author)
    values: dict[str, np.ndarray] = {
        "posts": np.bincount(author, minlength=n),
        "discussions_started": np.bincount(author[graph.post_is_start], minlength=n),
        "replies_given": np.bincount(author[reply], minlength=n),
        "replies_received": np.bincount(parent[reply], minlength=n),
        "out_degree": np.bincount(graph.sources, minlength=n),
        "in_degree": np.bincount(graph.targets, minlength=n),
    }
    # Reciprocity as networkx defines it per node: 2·|in ∩ out| / (in + out).
    keys = graph.sources * max(n, 1) + graph.targets
    mutual_edges = np.isin(graph.targets * max(n, 1) + graph.sources, keys)
    mutual = np.bincount(graph.sources[mutual_edges], minlength=n)
    degree = values["out_degree"] + values["in_degree"]
    values["reciprocity"] = np.divide(2.0 * mutual, degree, out=np.zeros(n),
                                      where=degree > 0)

    if betweenness:
        chosen, method = choose_pivots(graph, exact_limit=exact_limit, pivots=pivots, seed=seed)
    else:
        chosen, method = None, BetweennessMethod("none")
    if graph.edge_count == 0:
        # Nobody replied to anybody (a quiet week, a quiet group): the answer is known.
        measures = Structure(np.zeros(n), np.full(n, 1.0 / n) if n else np.zeros(0),
                             np.zeros(n, np.int64))
    elif n >= SINGLE_THREAD_FROM:
        with single_thread():
            measures = structure(graph, chosen, betweenness=betweenness)
    else:  # small graphs: the limit costs more than it saves (callers may set it once)
        measures = structure(graph, chosen, betweenness=betweenness)
    values["betweenness"] = measures.betweenness
    values["pagerank"] = measures.pagerank
    values["coreness"] = measures.coreness

    # Answers: a person's first post in someone else's discussion started inside the view.
    answer = (~graph.post_is_start & (author != graph.post_discussion_author)
              & (graph.post_discussion_created >= graph.since))
    _, discussion_index = np.unique(graph.post_discussion, return_inverse=True)
    discussions = int(discussion_index.max()) + 1 if len(discussion_index) else 1
    answer_posts = np.flatnonzero(answer)
    pair_keys = author[answer_posts] * discussions + discussion_index[answer_posts]
    _, first_of_pair = np.unique(pair_keys, return_index=True)  # posts are in time order
    firsts = answer_posts[first_of_pair]
    delays = graph.post_created[firsts] - graph.post_discussion_created[firsts]
    values["answered"] = np.bincount(author[firsts], minlength=n)
    values["median_first_reply_seconds"] = _group_median(author[firsts], delays, n)
    _, first_answer = np.unique(discussion_index[answer_posts], return_index=True)
    values["first_replies"] = np.bincount(author[answer_posts[first_answer]], minlength=n)

    last = np.full(n, -np.inf)
    np.maximum.at(last, author, graph.post_created)
    values["last_activity"] = np.where(np.isfinite(last), last, np.nan)
    return ViewMetrics(graph, values, method)
