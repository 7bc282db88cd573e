"""Data rights: a person's data export, forgetting a person, and retention of post text."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add `flask circolo learner` and `flask circolo privacy`, and the automatic forget."""
    from ..cli import circolo
    from . import tasks  # noqa: F401  (receiver of course_synced: forget people Moodle dropped)
    from .cli import learner_group, privacy_group

    for group in (learner_group, privacy_group):
        if group.name not in circolo.commands:
            circolo.add_command(group)
