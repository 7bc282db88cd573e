"""`flask circolo moodle invite`: a one-time code for the Moodle plugin's Connect page."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import database
from .operations import INVITE_VALIDITY, create_invite


@click.command("invite")
@with_appcontext
@click.option("--valid-for", "minutes", type=click.IntRange(1, 7 * 24 * 60),
              default=int(INVITE_VALIDITY.total_seconds() // 60), show_default=True,
              help="Minutes the code works for.")
def invite(minutes: int) -> None:
    """Print a one-time code for the Moodle plugin's Connect page."""
    with database().session() as session:
        record, code = create_invite(session, valid_for=timedelta(minutes=minutes))
        session.commit()
        expires = record.expires_at.isoformat(timespec="minutes")
    base = current_app.config["CIRCOLO"].public_base_url
    click.echo("In Moodle: Site administration > Plugins > Local plugins > Circolo, paste")
    click.echo(f"  Circolo's address: {base}")
    click.echo(f"  One-time code:     {code}")
    click.echo(f"then press Connect. The code works once, until {expires} (UTC).")
