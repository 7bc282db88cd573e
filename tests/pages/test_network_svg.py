"""The network picture: accessible markup, roles not told by colour alone, caps, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from middleware.dashboard.network_svg import (
    LEARNER,
    SERVICE,
    TEACHER,
    NetworkEdge,
    NetworkNode,
    NetworkTexts,
    legend_swatch,
    node_radius,
    pseudonyms,
    render_network,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(picture):
    return ET.fromstring(str(picture.svg))  # noqa: S314 - our own output


def _star():
    nodes = [NetworkNode(1, "Teacher Tina", TEACHER, activity=10),
             NetworkNode(2, "Anna", LEARNER, activity=5),
             NetworkNode(3, "Bruno", LEARNER, activity=2),
             NetworkNode(4, "Carla", LEARNER, activity=0, isolated=True),
             NetworkNode(5, "Bot", SERVICE, activity=1)]
    edges = [NetworkEdge(2, 1, 3), NetworkEdge(1, 2, 1), NetworkEdge(3, 1, 1)]
    return nodes, edges


def test_svg_is_an_image_with_title_and_description():
    nodes, edges = _star()
    picture = render_network(nodes, edges, texts=NetworkTexts(title="Rete", description=(
        "{people} persone, {links} collegamenti")))
    root = _parse(picture)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "network-title network-desc"
    assert root.find(f"{SVG}title").text == "Rete"
    assert root.find(f"{SVG}title").get("id") == "network-title"
    assert root.find(f"{SVG}desc").text == "5 persone, 3 collegamenti"


def test_each_role_has_its_own_shape_and_isolated_learners_are_dashed():
    nodes, edges = _star()
    root = _parse(render_network(nodes, edges))
    groups = {g.find(f"{SVG}title").text.split(" (")[0]: g
              for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}
    assert set(groups) == {"Teacher Tina", "Anna", "Bruno", "Carla", "Bot"}
    assert groups["Teacher Tina"].find(f"{SVG}rect") is not None
    assert groups["Anna"].find(f"{SVG}circle") is not None
    assert groups["Bot"].find(f"{SVG}polygon") is not None
    carla = groups["Carla"].find(f"{SVG}circle")
    assert carla.get("stroke-dasharray") and carla.get("fill") == "#ffffff"
    assert "isolated" in groups["Carla"].find(f"{SVG}title").text
    assert "node-isolated" in groups["Carla"].get("class")


def test_people_without_links_sit_in_the_band_below_the_network():
    nodes, edges = _star()
    root = _parse(render_network(nodes, edges))
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "No reply links in this period" in labels
    band_y = next(float(t.get("y")) for t in root.iter(f"{SVG}text")
                  if t.text == "No reply links in this period")
    circles = {g.find(f"{SVG}title").text.split(" (")[0]: g.find(f"{SVG}circle")
               for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}
    assert float(circles["Carla"].get("cy")) > band_y
    assert float(circles["Anna"].get("cy")) < band_y


def test_edges_are_merged_per_direction_and_self_replies_dropped():
    nodes, edges = _star()
    edges = [*edges, NetworkEdge(2, 1, 1), NetworkEdge(3, 3, 5), NetworkEdge(2, 99, 1)]
    root = _parse(render_network(nodes, edges))
    lines = [line for line in root.iter(f"{SVG}line") if line.get("marker-end")]
    assert len(lines) == 3  # 2→1 (merged), 1→2, 3→1
    widths = sorted(float(line.get("stroke-width")) for line in lines)
    assert widths[-1] == 4.0  # the heaviest link is the widest


def test_node_size_grows_with_activity():
    assert node_radius(0, 10) == 4.0
    assert node_radius(10, 10) == 18.0
    assert node_radius(2.5, 10) < node_radius(5, 10) < node_radius(10, 10)


def test_large_networks_are_capped_and_keep_isolated_learners():
    nodes = [NetworkNode(i, f"P{i}", LEARNER, activity=i) for i in range(1, 301)]
    nodes += [NetworkNode(1000 + i, f"I{i}", LEARNER, activity=0, isolated=True)
              for i in range(10)]
    edges = [NetworkEdge(i, i + 1) for i in range(1, 300)]
    picture = render_network(nodes, edges, max_nodes=150)
    assert picture.drawn == 150 and picture.total == 310 and picture.truncated
    root = _parse(picture)
    titles = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")
              if "node" in (g.get("class") or "").split()]
    assert len(titles) == 150
    assert sum(t.startswith("I") for t in titles) == 10
    assert any(t.startswith("P300 ") for t in titles)
    assert not any(t.startswith("P1 ") for t in titles)


def test_names_are_escaped():
    nodes = [NetworkNode(1, '<script>alert("x")</script>', LEARNER, activity=3),
             NetworkNode(2, "Ann & Bo", LEARNER, activity=3)]
    picture = render_network(nodes, [NetworkEdge(1, 2)])
    assert "<script>" not in str(picture.svg)
    assert "Ann &amp; Bo" in str(picture.svg)
    _parse(picture)  # still well-formed XML


def test_the_same_data_draws_the_same_picture():
    nodes, edges = _star()
    assert render_network(nodes, edges).svg == render_network(list(nodes), list(edges)).svg


def test_the_layout_is_computed_once_per_set_of_links():
    from middleware.dashboard import network_svg

    network_svg._cached_layout.cache_clear()
    nodes, edges = _star()
    first = render_network(nodes, edges)
    # Other names and roles, same links: the positions are reused, the labels are the new ones.
    renamed = [NetworkNode(n.id, n.label.upper(), n.role, n.activity, n.isolated) for n in nodes]
    second = render_network(renamed, edges)
    assert network_svg._cached_layout.cache_info().misses == 1
    assert network_svg._cached_layout.cache_info().hits == 1
    assert str(second.svg) != str(first.svg) and "TEACHER TINA" in str(second.svg)
    assert _positions(first) == _positions(second)


def _positions(picture):
    return [(c.get("cx"), c.get("cy")) for c in _parse(picture).iter(f"{SVG}circle")]


def test_empty_network_still_has_its_accessible_name():
    root = _parse(render_network([], []))
    assert root.find(f"{SVG}title").text and root.get("role") == "img"


def test_pseudonyms_hide_learners_only_and_are_stable():
    nodes, _ = _star()
    names = pseudonyms(nodes, "Learner {n}")
    assert names == {1: "Teacher Tina", 2: "Learner 1", 3: "Learner 2", 4: "Learner 3", 5: "Bot"}
    assert pseudonyms(list(reversed(nodes)), "Learner {n}") == names


def test_legend_swatches_are_decorative():
    swatch = str(legend_swatch(TEACHER))
    assert 'aria-hidden="true"' in swatch and "<rect" in swatch
    assert "stroke-dasharray" in str(legend_swatch(LEARNER, isolated=True))


def test_sparkline_is_decorative_and_scales_to_its_box():
    from middleware.dashboard.sparkline import sparkline_svg

    svg = str(sparkline_svg([1, 3, None, 2]))
    assert 'aria-hidden="true"' in svg
    points = svg.split('points="')[1].split('"')[0].split()
    assert len(points) == 3
    ys = [float(p.split(",")[1]) for p in points]
    assert max(ys) == 25.0 and min(ys) == 3.0  # the lowest value at the bottom, highest on top
    assert str(sparkline_svg([5])) == ""


def test_dashboard_network_pseudonymises_learners_in_picture_and_table(app):
    from middleware.dashboard.network import build_network

    rows = [{"person_id": 1, "role": "teacher", "posts": 4, "replies_given": 3,
             "replies_received": 2},
            {"person_id": 2, "role": "learner", "posts": 2, "replies_given": 1,
             "replies_received": 3},
            {"person_id": 3, "role": "learner", "posts": 1, "replies_given": 0,
             "replies_received": 0},
            {"person_id": -5, "role": "anonymous", "posts": 1}]
    names = {1: "Carla Verdi", 2: "Giulia Rossi", 3: "Marco Bianchi"}
    edges = [(2, 1, 2), (1, 2, 1)]
    with app.test_request_context():
        picture, table = build_network(rows, edges, names, [3], pseudonymise=True)
    svg = str(picture.svg)
    assert "Giulia" not in svg and "Marco" not in svg and "Carla Verdi" in svg
    assert [row.label for row in table] == ["Carla Verdi", "Learner 1", "Learner 2"]
    assert table[1].replies_to == ["Carla Verdi"] and table[2].isolated
    with app.test_request_context():
        _picture, named = build_network(rows, edges, names, [3], pseudonymise=False)
    assert named[1].label == "Giulia Rossi"
