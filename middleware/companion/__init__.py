"""The Moodle companion plugin's side of Circolo (moodle/local_circolo): invites, connect, events.

The plugin's two web-service calls live in the Moodle client (middleware/moodle/service.py);
this package owns the handshake that creates a connection and the signed events that follow.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register `/api/companion/*` and `flask circolo moodle invite`."""
    from ..moodle.cli import moodle_group
    from .cli import invite
    from .views import bp

    app.register_blueprint(bp)
    if invite.name not in moodle_group.commands:
        moodle_group.add_command(invite)
