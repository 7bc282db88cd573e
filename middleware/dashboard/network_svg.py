"""Draw a course's interaction network as an accessible SVG: data in, markup out.

Nodes are sized by activity and told apart by role with both a colour and a shape (circle for
learners, square for teachers, diamond for the web-service user), so colour is never the only cue.
Isolated learners are drawn hollow with a dashed outline; everyone without a reply link in the
picture sits in a band at the bottom, so nobody hides in the crowd. Large networks keep only the
most active people (and say so).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import igraph
from markupsafe import Markup, escape

LEARNER, TEACHER, SERVICE = "learner", "teacher", "service"

#: Fill colours with at least 3:1 contrast on white (WCAG 1.4.11), distinct for colour-blind eyes.
ROLE_COLOURS: Mapping[str, str] = {LEARNER: "#0b5cad", TEACHER: "#a14a00", SERVICE: "#4a5568"}
ROLE_SHAPES: Mapping[str, str] = {LEARNER: "circle", TEACHER: "square", SERVICE: "diamond"}
EDGE_COLOUR = "#6b7785"
DEFAULT_MAX_NODES = 150

WIDTH = 960
NETWORK_HEIGHT = 560
MARGIN = 64
BAND_ROW = 44
LABELLED_NODES = 12


@dataclass(frozen=True)
class NetworkNode:
    """A person in the network: an id, what to call them, their role and how active they are."""

    id: int
    label: str
    role: str = LEARNER
    activity: float = 0.0
    isolated: bool = False


@dataclass(frozen=True)
class NetworkEdge:
    """Replies from `source` to `target` (`weight` of them)."""

    source: int
    target: int
    weight: float = 1.0


@dataclass(frozen=True)
class NetworkTexts:
    """The words the picture uses, translated by the caller."""

    title: str = "Interaction network"
    description: str = "{people} people and {links} reply links."
    isolated_band: str = "No reply links in this period"
    role_names: Mapping[str, str] = field(
        default_factory=lambda: {LEARNER: "learner", TEACHER: "teacher", SERVICE: "service"}
    )
    node_summary: str = "{label} ({role}): activity {activity}"
    isolated_suffix: str = ", isolated"


@dataclass(frozen=True)
class NetworkPicture:
    """The drawn SVG and what it left out."""

    svg: Markup
    drawn: int
    total: int

    @property
    def truncated(self) -> bool:
        return self.drawn < self.total


def select_nodes(nodes: Sequence[NetworkNode], max_nodes: int) -> list[NetworkNode]:
    """Keep the `max_nodes` most active people, reserving up to a third for isolated learners."""
    if len(nodes) <= max_nodes:
        return list(nodes)
    ranked = sorted(nodes, key=lambda n: (-n.activity, n.id))
    # Isolated learners are the least active by definition: without a reservation a large
    # course would draw none of the people the teacher most needs to see.
    isolated = [n for n in ranked if n.isolated][: max_nodes // 3]
    kept = {n.id for n in isolated}
    others = [n for n in ranked if n.id not in kept][: max_nodes - len(isolated)]
    kept |= {n.id for n in others}
    return [n for n in nodes if n.id in kept]


def node_radius(activity: float, most: float) -> float:
    """Return a radius whose area grows with activity (4 px for none, 18 px for the most active)."""
    if most <= 0 or activity <= 0:
        return 4.0
    return round(4.0 + 14.0 * math.sqrt(activity / most), 1)


def render_network(
    nodes: Sequence[NetworkNode], edges: Iterable[NetworkEdge], *,
    texts: NetworkTexts | None = None, max_nodes: int = DEFAULT_MAX_NODES,
    id_prefix: str = "network", number: Callable[[float], str] = str,
) -> NetworkPicture:
    """Draw `nodes` and `edges` as an SVG with `role="img"`, a title and a description."""
    texts = texts or NetworkTexts()
    if not id_prefix.replace("-", "").isalnum():
        raise ValueError("id_prefix must be letters, digits and dashes")
    drawn = select_nodes(nodes, max_nodes)
    index = {node.id: i for i, node in enumerate(drawn)}
    links: dict[tuple[int, int], float] = {}
    for edge in edges:
        if edge.source == edge.target or edge.source not in index or edge.target not in index:
            continue
        key = (index[edge.source], index[edge.target])
        links[key] = links.get(key, 0.0) + edge.weight

    connected = {i for pair in links for i in pair}
    band = [i for i, node in enumerate(drawn) if i not in connected]
    positions = _layout(links)
    band_rows = _band_rows(len(band))
    height = NETWORK_HEIGHT + (band_rows * BAND_ROW + 36 if band else 0)
    positions.update(_band_positions(band, top=NETWORK_HEIGHT + 36))

    most = max((node.activity for node in drawn), default=0.0)
    heaviest = max(links.values(), default=1.0)
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    description = texts.description.format(people=number(len(drawn)), links=number(len(links)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="network" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{title_id} {desc_id}" '
        f'preserveAspectRatio="xMidYMin meet">',
        f'<title id="{title_id}">{escape(texts.title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        '<defs><marker id="' + id_prefix + '-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{EDGE_COLOUR}"/></marker></defs>',
        '<g class="network-edges">',
    ]
    radii = [node_radius(node.activity, most) for node in drawn]
    for (a, b), weight in sorted(links.items()):
        parts.append(_edge(positions[a], positions[b], radii[b], weight / heaviest, id_prefix))
    parts.append("</g>")
    if band:
        parts.append(
            f'<line x1="{MARGIN}" y1="{NETWORK_HEIGHT + 8}" x2="{WIDTH - MARGIN}" '
            f'y2="{NETWORK_HEIGHT + 8}" stroke="#d5dbe3" stroke-width="1"/>'
            f'<text x="{MARGIN}" y="{NETWORK_HEIGHT + 28}" class="network-band-label" '
            f'font-size="15" fill="#1d2430">{escape(texts.isolated_band)}</text>'
        )
    parts.append('<g class="network-nodes">')
    labelled = {i for i, _ in sorted(enumerate(drawn), key=lambda p: (-p[1].activity, p[1].id))
                [:LABELLED_NODES] if drawn[i].activity > 0}
    in_band = set(band)
    for i, node in enumerate(drawn):
        parts.append(_node(node, positions[i], radii[i], texts, number,
                           show_label=i in labelled and i not in in_band))
    parts.append("</g></svg>")
    # Every piece of text above went through `escape`; the rest is numbers and fixed markup.
    return NetworkPicture(svg=Markup("".join(parts)),  # noqa: S704
                          drawn=len(drawn), total=len(nodes))


def legend_swatch(role: str, *, isolated: bool = False) -> Markup:
    """Return a small decorative SVG of the shape and colour used for `role`."""
    shape = _shape(ROLE_SHAPES.get(role, "circle"), 12.0, 12.0, 8.0,
                   _fill(role, isolated), ROLE_COLOURS.get(role, EDGE_COLOUR), isolated)
    return Markup(  # noqa: S704 - fixed markup and numbers only
        '<svg class="swatch" width="24" height="24" viewBox="0 0 24 24" aria-hidden="true" '
        f'focusable="false">{shape}</svg>'
    )


def _layout(links: Mapping[tuple[int, int], float]) -> dict[int, tuple[float, float]]:
    """Place the linked nodes (Kamada-Kawai), keyed by their index in the drawn list."""
    # The layout depends only on which pairs are linked, in which order: the same stored
    # snapshot is laid out once per process, not on every dashboard request (it was the
    # dashboard's costliest step).
    return dict(_cached_layout(tuple(links)))


@functools.lru_cache(maxsize=64)
def _cached_layout(pairs: tuple[tuple[int, int], ...]) -> tuple[tuple[int, tuple[float, float]],
                                                               ...]:
    ordered = sorted({i for pair in pairs for i in pair})
    if not ordered:
        return ()
    local = {node: i for i, node in enumerate(ordered)}
    graph = igraph.Graph(n=len(ordered), edges=[(local[a], local[b]) for a, b in pairs],
                         directed=False)
    graph.simplify()
    side = max(1, math.ceil(math.sqrt(len(ordered))))
    # A fixed seed makes Kamada-Kawai deterministic: the same data always draws the same picture.
    seed = [[float(i % side), float(i // side)] for i in range(len(ordered))]
    coords = graph.layout_kamada_kawai(seed=seed).coords if len(ordered) > 1 else [[0.0, 0.0]]
    xs = [c[0] for c in coords]
    ys = [c[1] for c in coords]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0
    inner_w, inner_h = WIDTH - 2 * MARGIN, NETWORK_HEIGHT - 2 * MARGIN
    positions = {}
    for node, (x, y) in zip(ordered, coords, strict=True):
        px = MARGIN + (x - min(xs)) / span_x * inner_w if len(ordered) > 1 else WIDTH / 2
        py = MARGIN + (y - min(ys)) / span_y * inner_h if len(ordered) > 1 else NETWORK_HEIGHT / 2
        positions[node] = (round(px, 1), round(py, 1))
    return tuple(positions.items())


def _band_rows(count: int) -> int:
    per_row = (WIDTH - 2 * MARGIN) // BAND_ROW
    return math.ceil(count / per_row) if count else 0


def _band_positions(band: Sequence[int], top: float) -> dict[int, tuple[float, float]]:
    per_row = (WIDTH - 2 * MARGIN) // BAND_ROW
    return {
        node: (MARGIN + BAND_ROW / 2 + (i % per_row) * BAND_ROW, top + BAND_ROW / 2 + (i // per_row)
               * BAND_ROW)
        for i, node in enumerate(band)
    }


def _edge(start: tuple[float, float], end: tuple[float, float], end_radius: float,
          strength: float, id_prefix: str) -> str:
    (x1, y1), (x2, y2) = start, end
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    # Stop the line at the target's edge so the arrowhead stays visible.
    x2 -= (x2 - x1) / length * (end_radius + 2)
    y2 -= (y2 - y1) / length * (end_radius + 2)
    width = round(1.0 + 3.0 * strength, 1)
    return (f'<line x1="{x1}" y1="{y1}" x2="{round(x2, 1)}" y2="{round(y2, 1)}" '
            f'stroke="{EDGE_COLOUR}" stroke-width="{width}" '
            f'marker-end="url(#{id_prefix}-arrow)"/>')


def _fill(role: str, isolated: bool) -> str:
    return "#ffffff" if isolated else ROLE_COLOURS.get(role, EDGE_COLOUR)


def _node(node: NetworkNode, position: tuple[float, float], radius: float, texts: NetworkTexts,
          number: Callable[[float], str], *, show_label: bool) -> str:
    x, y = position
    colour = ROLE_COLOURS.get(node.role, EDGE_COLOUR)
    role_name = texts.role_names.get(node.role, node.role)
    summary = texts.node_summary.format(label=node.label, role=role_name,
                                        activity=number(node.activity))
    if node.isolated:
        summary += texts.isolated_suffix
    shape = _shape(ROLE_SHAPES.get(node.role, "circle"), x, y, radius,
                   _fill(node.role, node.isolated), colour, node.isolated)
    classes = f"node node-{escape(node.role)}" + (" node-isolated" if node.isolated else "")
    label = ""
    if show_label:
        label = (f'<text x="{x}" y="{round(y + radius + 15, 1)}" text-anchor="middle" '
                 f'font-size="14" fill="#1d2430" stroke="#ffffff" stroke-width="3" '
                 f'paint-order="stroke" class="node-label">{escape(node.label)}</text>')
    return f'<g class="{classes}"><title>{escape(summary)}</title>{shape}{label}</g>'


def _shape(kind: str, x: float, y: float, r: float, fill: str, stroke: str,
           dashed: bool) -> str:
    dash = ' stroke-dasharray="3 2"' if dashed else ""
    common = f'fill="{fill}" stroke="{stroke}" stroke-width="2"{dash}'
    if kind == "square":
        side = round(r * 1.8, 1)
        return (f'<rect x="{round(x - side / 2, 1)}" y="{round(y - side / 2, 1)}" '
                f'width="{side}" height="{side}" {common}/>')
    if kind == "diamond":
        d = round(r * 1.3, 1)
        points = f"{x},{round(y - d, 1)} {round(x + d, 1)},{y} {x},{round(y + d, 1)} " \
                 f"{round(x - d, 1)},{y}"
        return f'<polygon points="{points}" {common}/>'
    return f'<circle cx="{x}" cy="{y}" r="{r}" {common}/>'


def pseudonyms(nodes: Sequence[NetworkNode], pattern: str = "Learner {n}") -> dict[int, str]:
    """Give every learner a stable stand-in name (by id order); others keep theirs."""
    learners = sorted(node.id for node in nodes if node.role == LEARNER)
    names = {person_id: pattern.format(n=i + 1) for i, person_id in enumerate(learners)}
    return {node.id: names.get(node.id, node.label) for node in nodes}
