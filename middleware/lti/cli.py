"""`flask circolo platform add|list|remove` and `flask circolo keys rotate|list`."""

from __future__ import annotations

import click
from flask import current_app

from lti.keys import PUBLISHED_KEYS, current_signing_key, rotate_keys
from lti.keys import published_keys as stored_published_keys

from ..cli import circolo
from ..db import database
from ..models import Platform, ToolKey
from . import operations


@circolo.group("platform")
def platform_group() -> None:
    """Moodle sites (LTI 1.3 platforms) that may launch Circolo."""


@platform_group.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (Moodle: its wwwroot).")
@click.option("--client-id", required=True, help="The client ID Moodle gave the tool.")
@click.option("--auth-login-url", required=True,
              help="Authentication request URL (Moodle: …/mod/lti/auth.php).")
@click.option("--auth-token-url", required=True,
              help="Access token URL (Moodle: …/mod/lti/token.php).")
@click.option("--key-set-url", required=True,
              help="Public keyset URL (Moodle: …/mod/lti/certs.php).")
@click.option("--deployment-id", "deployment_ids", multiple=True,
              help="A deployment ID (repeatable; Moodle: the tool's id).")
@click.option("--name", default="", help="A name for people (e.g. the site's name).")
def platform_add(issuer: str, client_id: str, auth_login_url: str, auth_token_url: str,
                 key_set_url: str, deployment_ids: tuple[str, ...], name: str) -> None:
    """Register a platform (or update it and add deployments)."""
    for label, url in (("--issuer", issuer), ("--auth-login-url", auth_login_url),
                       ("--auth-token-url", auth_token_url), ("--key-set-url", key_set_url)):
        if not url.startswith(("https://", "http://")):
            raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint=label)
    with database().transaction() as session:
        platform, created = operations.add_platform(
            session, issuer=issuer.rstrip("/"), client_id=client_id,
            auth_login_url=auth_login_url, auth_token_url=auth_token_url,
            key_set_url=key_set_url, name=name, deployment_ids=deployment_ids)
        deployments = ", ".join(d.deployment_id for d in platform.deployments) or "none"
        click.echo(f"{'added' if created else 'updated'} platform {platform.id}: "
                   f"{platform.issuer} client_id={platform.client_id} deployments={deployments}")


@platform_group.command("list")
def platform_list() -> None:
    """List the registered platforms with their deployments and URLs."""
    with database().transaction() as session:
        platforms = operations.list_platforms(session)
        if not platforms:
            click.echo("no platforms registered")
        for platform in platforms:
            deployments = ", ".join(d.deployment_id for d in platform.deployments) or "none"
            click.echo(f"{platform.id}\t{platform.name or '-'}\t{platform.issuer}\t"
                       f"client_id={platform.client_id}\tdeployments={deployments}")
            click.echo(f"\tauth={platform.auth_login_url}\ttoken={platform.auth_token_url}\t"
                       f"jwks={platform.key_set_url}")


@platform_group.command("remove")
@click.argument("platform_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def platform_remove(platform_id: int, yes: bool) -> None:
    """Remove a platform with its deployments, courses and everything synced from them."""
    with database().transaction() as session:
        platform = session.get(Platform, platform_id)
        if platform is None:
            raise click.ClickException(f"no platform {platform_id}")
        if not yes:
            click.confirm(f"Remove {platform.issuer} (client_id {platform.client_id}) and all "
                          f"its courses' data?", abort=True)
        operations.remove_platform(session, platform_id)
        click.echo(f"removed platform {platform_id}")


@circolo.group("keys")
def keys_group() -> None:
    """The tool's signing keys (published at /lti/jwks)."""


@keys_group.command("rotate")
@click.option("--keep", default=PUBLISHED_KEYS, show_default=True,
              help="Keys kept published, the new one included.")
def keys_rotate(keep: int) -> None:
    """Create a new signing key; the previous one stays published until the next rotation."""
    settings = current_app.config["CIRCOLO"]
    with database().transaction() as session:
        key = rotate_keys(session, settings, keep=keep)
        click.echo(f"new signing key {key.kid}")
        published = [k.kid for k in stored_published_keys(session)]
        click.echo("published: " + ", ".join(published))
    if settings.tool_private_key_file:
        click.echo("note: CIRCOLO_TOOL_PRIVATE_KEY_FILE is set, so the mounted key still signs")


@keys_group.command("list")
def keys_list() -> None:
    """List the tool's keys: which signs, which are published, which are retired."""
    settings = current_app.config["CIRCOLO"]
    with database().transaction() as session:
        signing = current_signing_key(session, settings).kid
        keys = session.query(ToolKey).order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
        if settings.tool_private_key_file:
            click.echo(f"{signing}\tsigning (mounted file)")
        for key in keys:
            status = ("retired " + key.retired_at.isoformat(timespec="seconds")
                      if key.retired_at else ("signing" if key.kid == signing else "published"))
            created = key.created_at.isoformat(timespec="seconds")
            click.echo(f"{key.kid}\t{status}\tcreated {created}")
