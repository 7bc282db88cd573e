"""`flask circolo learner export|forget` and `flask circolo privacy retention`."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from ..db import database
from . import operations
from .tasks import reanalyse

learner_group = AppGroup("learner", help="A person's data: export it, or forget the person.")
privacy_group = AppGroup("privacy", help="Retention of forum post text.")

_platform = click.option("--platform", "platform_ref", required=True,
                         help="The platform's id or issuer (see `flask circolo platform list`).")
_user = click.option("--user", required=True,
                     help="The person's Moodle user id (the LTI `sub`).")


@learner_group.command("export")
@_platform
@_user
@click.option("--output", type=click.File("w"), default="-", show_default=True,
              help="Where to write the JSON.")
def export_command(platform_ref: str, user: str, output: click.utils.LazyFile) -> None:
    """Write everything Circolo stores about a person as JSON."""
    with database(current_app).session() as session:
        try:
            person = operations.find_person(session, platform_ref, user)
        except operations.PersonNotFound as missing:
            raise click.ClickException(str(missing)) from None
        data = operations.export_person_data(session, person)
    json.dump(data, output, indent=2, ensure_ascii=False)
    output.write("\n")


@learner_group.command("forget")
@_platform
@_user
@click.confirmation_option(prompt="Remove this person's data from Circolo for good?")
def forget_command(platform_ref: str, user: str) -> None:
    """Remove a person's personal data from every table (posts stay, anonymous and blank)."""
    with database(current_app).session() as session:
        try:
            person = operations.find_person(session, platform_ref, user)
        except operations.PersonNotFound as missing:
            raise click.ClickException(str(missing)) from None
        report = operations.forget_person(session, person)
        session.commit()
    reanalyse(report.courses)
    click.echo(f"person {report.person_id} forgotten:")
    for table, count in sorted(report.rows.items()):
        if count:
            click.echo(f"  {table}: {count}")


@privacy_group.command("retention")
@click.option("--days", type=int, default=None,
              help="Days after a course's end (default: CIRCOLO_POST_RETENTION_DAYS).")
def retention_command(days: int | None) -> None:
    """Blank now the text of posts in courses past retention (the worker does it daily)."""
    days = current_app.config["CIRCOLO"].post_retention_days if days is None else days
    with database(current_app).session() as session:
        blanked = operations.blank_expired_post_text(session, days)
        session.commit()
    click.echo(f"{blanked} posts blanked (courses ended more than {days} days ago)")
