"""The dashboard's network section: analytics' per-person rows and edges → picture and table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from middleware.i18n import decimal_formatter

from .network_svg import (
    LEARNER,
    SERVICE,
    TEACHER,
    NetworkEdge,
    NetworkNode,
    NetworkPicture,
    NetworkTexts,
    legend_swatch,
    pseudonyms,
    render_network,
)


@dataclass(frozen=True)
class NetworkRow:
    """One line of the table that says in words what the picture shows."""

    label: str
    role: str
    isolated: bool
    posts: int
    replies_given: int
    replies_received: int
    replies_to: list[str]


@dataclass(frozen=True)
class LegendItem:
    swatch: Markup
    label: str


def role_names() -> dict[str, str]:
    return {LEARNER: _("learner"), TEACHER: _("teacher"), SERVICE: _("Circolo's Moodle user")}


def legend() -> list[LegendItem]:
    """Return the legend: each role's shape and colour, and the isolated learners' outline."""
    return [
        LegendItem(legend_swatch(LEARNER), _("Learner (circle)")),
        LegendItem(legend_swatch(TEACHER), _("Teacher (square)")),
        LegendItem(legend_swatch(SERVICE), _("Web-service user (diamond)")),
        LegendItem(legend_swatch(LEARNER, isolated=True),
                   _("Isolated learner (hollow, dashed outline)")),
    ]


def build_network(rows: Iterable[Mapping[str, Any]], edges: Iterable[Sequence[Any]],
                  names: Mapping[int, str], isolated: Iterable[int], *,
                  pseudonymise: bool, max_nodes: int = 150,
                  ) -> tuple[NetworkPicture | None, list[NetworkRow]]:
    """Draw the network and list it as table rows (names replaced by pseudonyms on request)."""
    isolated_ids = set(isolated)
    rows = [row for row in rows if int(row["person_id"]) > 0]
    if not rows:
        return None, []
    someone = _("Someone")
    nodes = [
        NetworkNode(int(row["person_id"]), names.get(int(row["person_id"]), someone),
                    row.get("role") or LEARNER,
                    float(row.get("posts") or 0) + float(row.get("replies_received") or 0),
                    int(row["person_id"]) in isolated_ids)
        for row in rows
    ]
    if pseudonymise:
        label_of = pseudonyms(nodes, _("Learner %(n)s", n="{n}"))
        nodes = [NetworkNode(n.id, label_of[n.id], n.role, n.activity, n.isolated) for n in nodes]
    labels = {node.id: node.label for node in nodes}
    network_edges = [NetworkEdge(int(s), int(t), float(w)) for s, t, w in edges]
    roles = role_names()
    texts = NetworkTexts(
        title=_("Who replies to whom"),
        description=_("%(people)s people and %(links)s reply links. The table after the picture "
                      "lists the same information.", people="{people}", links="{links}"),
        isolated_band=_("No reply links in this period"),
        role_names=roles,
        node_summary=_("%(label)s (%(role)s): activity %(activity)s", label="{label}",
                       role="{role}", activity="{activity}"),
        isolated_suffix=_(", isolated"),
    )
    picture = render_network(nodes, network_edges, texts=texts, max_nodes=max_nodes,
                             number=decimal_formatter())
    replies_to: dict[int, list[str]] = defaultdict(list)
    for edge in sorted(network_edges, key=lambda e: (-e.weight, e.target)):
        if edge.source != edge.target and edge.target in labels:
            replies_to[edge.source].append(labels[edge.target])
    table = [
        NetworkRow(labels[int(row["person_id"])], roles.get(row.get("role") or LEARNER, ""),
                   int(row["person_id"]) in isolated_ids, int(row.get("posts") or 0),
                   int(row.get("replies_given") or 0), int(row.get("replies_received") or 0),
                   replies_to.get(int(row["person_id"]), []))
        for row in sorted(rows, key=lambda r: (-(r.get("posts") or 0), labels[int(r["person_id"])]))
    ]
    return picture, table
