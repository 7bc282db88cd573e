"""Cross-check the igraph/numpy metrics against networkx on random courses."""

import random
from datetime import timedelta

import networkx as nx
import numpy as np
import pytest

from middleware.analytics.graph import View, build_graph
from middleware.analytics.health import course_health, discussion_table
from middleware.analytics.metrics import (
    choose_pivots,
    compute_metrics,
    igraph_structure,
    networkx_structure,
)
from tests.doubles.community import generate_community

from .builders import CourseBuilder, activity_from_community


def random_course(seed: int, people: int = 40, posts: int = 250):
    rng = random.Random(seed)
    b = CourseBuilder()
    b.person(1, "teacher")
    b.learners(*range(2, people + 1))
    all_posts = []
    for _ in range(posts):
        author = rng.randint(1, people) if rng.random() > 0.03 else None
        if not all_posts or rng.random() < 0.2:
            all_posts.append(b.discussion(author, at=timedelta(hours=rng.randint(1, 2000))))
        else:
            all_posts.append(b.reply(rng.choice(all_posts), author,
                                     at=timedelta(hours=rng.randint(0, 2000))))
    return b, b.build()


def networkx_graph(builder):
    """Build the reply graph straight from the posts, independently of build_graph."""
    author = {p.id: (p.author_id if p.author_id is not None else -p.discussion_id)
              for p in builder.posts}
    graph = nx.DiGraph()
    graph.add_nodes_from(builder.people)
    for post in builder.posts:
        graph.add_node(author[post.id])
        if post.parent_id is None:
            continue
        source, target = author[post.id], author[post.parent_id]
        graph.add_node(target)
        if source != target:
            weight = graph.get_edge_data(source, target, {"weight": 0})["weight"]
            graph.add_edge(source, target, weight=weight + 1)
    return graph


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_metrics_match_networkx_on_random_courses(seed):
    builder, activity = random_course(seed)
    reference = networkx_graph(builder)
    m = compute_metrics(build_graph(activity, View()))
    ids = m.graph.node_ids.tolist()
    assert sorted(reference.nodes) == ids
    assert m.values["in_degree"].tolist() == [reference.in_degree(i) for i in ids]
    assert m.values["out_degree"].tolist() == [reference.out_degree(i) for i in ids]
    assert m.values["replies_received"].tolist() == [
        reference.in_degree(i, weight="weight") for i in ids]
    reciprocity = nx.reciprocity(reference, [i for i in ids if reference.degree(i)])
    for i, value in reciprocity.items():
        assert m.person(i)["reciprocity"] == pytest.approx(value)
    pagerank = nx.pagerank(reference, weight="weight", tol=1e-10)
    assert m.values["pagerank"] == pytest.approx([pagerank[i] for i in ids], abs=1e-6)
    betweenness = nx.betweenness_centrality(reference, normalized=True)
    assert m.values["betweenness"] == pytest.approx([betweenness[i] for i in ids], abs=1e-9)
    core = nx.core_number(reference.to_undirected())
    assert m.values["coreness"].tolist() == [core[i] for i in ids]
    health = course_health(m.graph, discussion_table(activity, teacher_view=True),
                           now=activity.now_ts)
    assert health["reciprocity"] == pytest.approx(nx.reciprocity(reference))
    assert health["density"] == pytest.approx(nx.density(reference))


@pytest.mark.parametrize("seed", [1, 2])
def test_sampled_betweenness_uses_the_same_pivots_in_both_engines(seed):
    _, activity = random_course(seed, people=80, posts=600)
    graph = build_graph(activity, View())
    pivots, method = choose_pivots(graph, exact_limit=0, pivots=20, seed=seed)
    assert method.name == "sampled" and method.pivots == 20 and len(pivots) == 20
    ours, theirs = igraph_structure(graph, pivots), networkx_structure(graph, pivots)
    assert ours.betweenness == pytest.approx(theirs.betweenness, abs=1e-9)
    assert ours.pagerank == pytest.approx(theirs.pagerank, abs=1e-6)
    assert ours.coreness.tolist() == theirs.coreness.tolist()


def test_small_graphs_get_exact_betweenness_and_large_ones_sampled():
    _, activity = random_course(3)
    graph = build_graph(activity, View())
    assert compute_metrics(graph).method.name == "exact"
    sampled = compute_metrics(graph, exact_limit=0, pivots=10)
    assert sampled.method.to_json() == {"name": "sampled", "pivots": 10}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12])
def test_sampled_betweenness_finds_the_exact_top_20_brokers_on_2000_learner_courses(seed):
    community = generate_community(seed=seed, learners=2000, discussions=600, posts=12_000)
    graph = build_graph(activity_from_community(community), View())
    exact = compute_metrics(graph, exact_limit=10**9)
    sampled = compute_metrics(graph, exact_limit=0, seed=seed)
    assert exact.method.name == "exact" and sampled.method.name == "sampled"

    def top20(metrics):
        values = metrics.values["betweenness"]
        return set(np.argsort(-values, kind="stable")[:20].tolist())

    overlap = len(top20(exact) & top20(sampled)) / 20
    assert overlap >= 0.8, f"top-20 brokers overlap {overlap:.0%}"
