"""`flask circolo moodle ...`: connect a Moodle site's web services, see the sync state."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..db import database
from ..models import Course, MoodleConnection, Platform
from .operations import (
    CAPABILITIES,
    ConnectionRefused,
    check_connection,
    find_platform,
    probe_course_for,
    save_connection,
)
from .service import MoodleClient

moodle_group = AppGroup("moodle", help="Moodle web-service connections and forum sync.")

#: What IT should do about a token that does not work at all.
_REFUSALS = {
    "invalidtoken": "Moodle does not know this token. Check that it was copied whole, or create "
                    "one in Site administration > Server > Web services > Manage tokens.",
    "webservicesdisabled": "Web services are switched off on this Moodle, or REST is not "
                           "enabled: Site administration > Advanced features > Enable web "
                           "services, then Server > Web services > Manage protocols > REST.",
    "accessexception": "The token's service does not include core_webservice_get_site_info, "
                       "or the token user lacks webservice/rest:use, or the token has expired "
                       "or is restricted to other IP addresses.",
    "unavailable": "Moodle could not be reached at that address (timeouts, connection refused "
                   "or server errors).",
}


@moodle_group.command("connect")
@click.option("--platform", "platform_ref", required=True,
              help="The platform's id or issuer (see `flask circolo platform list`).")
@click.option("--url", required=True,
              help="Moodle's address (wwwroot), e.g. https://moodle.example.org")
@click.option("--token", envvar="CIRCOLO_MOODLE_TOKEN", prompt="Web-service token",
              hide_input=True, help="The web-service token (or CIRCOLO_MOODLE_TOKEN; asked "
              "for when missing, without echo).")
@click.option("--course", "course_id", type=int, default=None,
              help="A Moodle course id to probe the role's capabilities in (default: one "
                   "Circolo already knows on this platform).")
def connect(platform_ref: str, url: str, token: str, course_id: int | None) -> None:
    """Check a web-service token and store it (encrypted) for a platform."""
    settings = current_app.config["CIRCOLO"]
    with database().session() as session:
        platform = find_platform(session, platform_ref)
        if platform is None:
            raise click.ClickException(f"No platform {platform_ref!r}: give its id or issuer.")
        client = MoodleClient(url, token, retries=1)
        probe_course = course_id or probe_course_for(session, platform.id)
        try:
            check = check_connection(client, probe_course)
        except ConnectionRefused as refused:
            advice = _REFUSALS.get(refused.errorcode or "", "")
            raise click.ClickException(
                f"The token does not work: {refused}. {advice}".strip()) from None
        save_connection(session, platform, client, token, settings.encryption_key, check)
        session.commit()

    site = check.site
    click.echo(f"Connected {platform.issuer} to {site.sitename} ({site.release or 'Moodle'}) "
               f"at {client.url}")
    click.echo(f"Web-service user: {site.fullname} ({site.username}, user id {site.userid})")
    if check.missing_functions:
        click.echo("\nThe token's service lacks these functions; add them in Site administration"
                   " > Server > Web services > External services > Functions:")
        for name, purpose in check.missing_functions:
            click.echo(f"  - {name}: needed to {purpose}")
    else:
        click.echo("Every function Circolo needs is in the token's service.")
    if check.probed_course is not None:
        if check.missing_capabilities:
            click.echo(f"\nIn course {check.probed_course} the web-service user's role lacks:")
            for capability, why in check.missing_capabilities:
                click.echo(f"  - {capability} ({why})")
        else:
            click.echo(f"The role's capabilities work in course {check.probed_course}.")
    for note in check.notes:
        click.echo(f"Note: {note}")
    click.echo("\nCapabilities per feature (a system role for the web-service user):")
    for feature, capabilities in CAPABILITIES.items():
        click.echo(f"  {feature}: {', '.join(capabilities)}")


@moodle_group.command("status")
def status() -> None:
    """Show each platform's connection and each active course's last sync."""
    from ..sync.operations import last_sync

    with database().session() as session:
        connections = session.execute(
            select(MoodleConnection, Platform).join(Platform)
            .order_by(MoodleConnection.platform_id)).all()
        if not connections:
            click.echo("No Moodle connection yet: run `flask circolo moodle connect`.")
        for connection, platform in connections:
            checked = connection.checked_at.isoformat(timespec="seconds") if (
                connection.checked_at) else "never"
            click.echo(f"{platform.issuer}: {connection.site_name or '?'} at {connection.url} "
                       f"(web-service user {connection.service_user_id}, checked {checked})")
            if connection.missing_functions:
                click.echo("  missing functions: " + ", ".join(connection.missing_functions))
            if connection.missing_capabilities:
                click.echo("  missing capabilities: "
                           + ", ".join(connection.missing_capabilities))
        for course in session.scalars(select(Course).where(Course.active.is_(True))
                                      .order_by(Course.id)):
            run = last_sync(session, course.id)
            if run is None:
                click.echo(f"course {course.id} {course.title!r}: never synced")
                continue
            when = run.started_at.isoformat(timespec="seconds")
            line = (f"course {course.id} {course.title!r}: {run.status} at {when}, "
                    f"{run.calls} calls, {run.changed} changed"
                    + (" (full)" if run.full else ""))
            if run.error:
                line += f" - {run.error}"
            click.echo(line)


@moodle_group.command("sync")
@click.argument("course_id", type=int)
@click.option("--full", is_flag=True, help="Re-read everything (the nightly reconciliation).")
def sync_now(course_id: int, full: bool) -> None:
    """Sync one course now, in this process."""
    from ..sync.operations import run_sync

    settings = current_app.config["CIRCOLO"]
    with database().session() as session:
        run = run_sync(session, course_id, key=settings.encryption_key,
                       reconcile_hour=settings.reconcile_hour, trigger="manual",
                       full=True if full else None, checkpoint=session.commit)
        session.commit()
        if run is None:
            raise click.ClickException("Unknown course, or another worker is syncing it now.")
        click.echo(f"{run.status}: {run.calls} calls, {run.changed} changed"
                   + (f" - {run.error}" if run.error else ""))
