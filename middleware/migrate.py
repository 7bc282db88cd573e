"""Alembic, driven from Circolo's settings (`flask circolo db ...`)."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from .config import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"


class SchemaNotReady(Exception):
    """The database is not at the revision this code needs, and waiting did not change that."""


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not an ini option: URLs may hold '%' that configparser would eat.
    config.attributes["database_url"] = database_url
    return config


@functools.cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str, *, autogenerate: bool, rev_id: str | None) -> None:
    command.revision(alembic_config(database_url), message=message,
                     autogenerate=autogenerate, rev_id=rev_id)


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    logger = logging.getLogger("alembic.runtime.migration")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _is_known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def wait_for_head(database_url: str, *, timeout: float, poll: float = 1.0,
                  report: Callable[[str], None] = lambda state: None) -> None:
    """Wait until the database answers and is migrated to this code's head revision."""
    # A worker may start before the web role (or the migration job) has migrated: it waits
    # instead of running tasks on tables that are not there yet.
    head = head_revision()
    deadline = time.monotonic() + timeout
    reported = None
    while True:
        try:
            with _quiet_alembic():  # it says "Context impl ..." at every look
                current = current_revision(database_url)
        except SQLAlchemyError as error:
            state = f"not reachable ({type(error).__name__})"
        else:
            if current == head:
                return
            if current is not None and not _is_known(current):
                # Waiting cannot help: a newer Circolo migrated it (an image older than the web's).
                raise SchemaNotReady(f"the database is at revision {current}, which this code "
                                     f"does not know (its newest is {head}): deploy the same "
                                     "version for web and worker")
            state = f"at revision {current}" if current else "not migrated"
        if state != reported:
            report(state)
            reported = state
        if time.monotonic() >= deadline:
            raise SchemaNotReady(f"the database is still {state} after {timeout:g} s "
                                 f"(this code needs revision {head})")
        time.sleep(poll)
