"""Moodle web services: the REST client, connections per site, and their CLI."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add `flask circolo moodle`, the sync metrics, and the sync's signal receivers."""
    from ..cli import circolo
    from ..sync import metrics, tasks  # noqa: F401  (tasks: receivers of course_activated)
    from .cli import moodle_group

    if moodle_group.name not in circolo.commands:
        circolo.add_command(moodle_group)
    metrics.init_app(app)
