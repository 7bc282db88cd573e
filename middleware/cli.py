"""The `flask circolo ...` command group; features add their own sub-groups to `circolo`."""

from __future__ import annotations

import json
import logging

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import migrate

log = logging.getLogger(__name__)

circolo = AppGroup("circolo", help="Operate Circolo: database, worker, platforms, Moodle.")


@circolo.command("config")
def show_config() -> None:
    """Print the effective settings, without secrets."""
    click.echo(json.dumps(current_app.config["CIRCOLO"].describe(), indent=2, default=str))


@circolo.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database up to a revision."""
    url = current_app.config["CIRCOLO"].database_url
    migrate.upgrade(url, revision)
    click.echo(f"database at {migrate.current_revision(url)}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to a revision."""
    migrate.downgrade(current_app.config["CIRCOLO"].database_url, revision)


@db_group.command("current")
def db_current() -> None:
    """Print the revision the database is at, and the newest one."""
    url = current_app.config["CIRCOLO"].database_url
    click.echo(f"current: {migrate.current_revision(url)}\nhead:    {migrate.head_revision()}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
@click.option("--rev-id", default=None, help="The revision id, e.g. 0003_moodle_sync.")
def db_revision(message: str, autogenerate: bool, rev_id: str | None) -> None:
    """Write a new migration (for developers), compared against the models by default."""
    migrate.revision(current_app.config["CIRCOLO"].database_url, message,
                     autogenerate=autogenerate, rev_id=rev_id)


@circolo.command("worker")
@click.option("--workers", default=2, show_default=True, help="Consumer threads.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run periodic tasks (sync schedule, heartbeat).")
@click.option("--schema-timeout", default=300.0, show_default=True,
              help="Seconds to wait for the database to be reachable and migrated.")
def worker(workers: int, periodic: bool, schema_timeout: float) -> None:
    """Run the task queue consumer, once the database is migrated."""
    from .heartbeat import heartbeat_now
    from .queue import bind_app, huey, import_task_modules

    head = migrate.head_revision()

    def waiting(state: str) -> None:
        log.info(f"worker waiting for the database: {state}, it needs revision {head} "
                 "(the web role or `flask circolo db upgrade` migrates it)",
                 extra={"database": state, "head": head})

    try:
        migrate.wait_for_head(current_app.config["CIRCOLO"].database_url,
                              timeout=schema_timeout, report=waiting)
    except migrate.SchemaNotReady as error:
        raise click.ClickException(str(error)) from None
    bind_app(current_app._get_current_object())  # type: ignore[attr-defined]
    import_task_modules()
    # Report ready at once instead of at the next minute boundary.
    heartbeat_now()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic,
                                    check_worker_health=True)
    log.info("worker starting", extra={"workers": workers, "queue": type(huey).__name__})
    consumer.run()


def init_app(app: Flask) -> None:
    app.cli.add_command(circolo)


#: Where IT points Moodle. The LTI routes are registered by the `lti` blueprint.
IT_URLS = (
    ("Dynamic registration (paste into Moodle)", "/lti/register"),
    ("OIDC login initiation", "/lti/login"),
    ("Launch / redirect URI", "/lti/launch"),
    ("Tool JWKS (public keys)", "/lti/jwks"),
    ("Health", "/healthz"),
    ("Readiness", "/readyz"),
    ("Metrics", "/metrics"),
)


@circolo.command("urls")
def show_urls() -> None:
    """Print the URLs IT needs to register Circolo in Moodle."""
    base = current_app.config["CIRCOLO"].public_base_url
    width = max(len(label) for label, _ in IT_URLS)
    click.echo("Circolo is served at " + base)
    for label, path in IT_URLS:
        click.echo(f"  {label:<{width}}  {base}{path}")
