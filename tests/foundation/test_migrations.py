"""Migrations build the same schema as the models, from empty, on SQLite and PostgreSQL."""

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from middleware import create_app, migrate
from middleware.models import Base


def test_upgrade_from_empty_reaches_head_and_matches_models(fresh_database_url):
    migrate.upgrade(fresh_database_url)
    assert migrate.current_revision(fresh_database_url) == migrate.head_revision()
    engine = create_engine(fresh_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], "models and migrations disagree: add a migration"


def test_downgrade_to_base_removes_every_table(fresh_database_url):
    migrate.upgrade(fresh_database_url)
    migrate.downgrade(fresh_database_url, "base")
    engine = create_engine(fresh_database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_db_upgrade_command(settings, fresh_database_url):
    runner = create_app(settings.with_overrides(database_url=fresh_database_url)).test_cli_runner()
    result = runner.invoke(args=["circolo", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"database at {migrate.head_revision()}" in result.output
    result = runner.invoke(args=["circolo", "db", "current"])
    assert result.output.count(migrate.head_revision()) == 2


def test_wait_for_head_gives_up_with_a_clear_message_on_an_unmigrated_database(
        fresh_database_url):
    said = []
    with pytest.raises(migrate.SchemaNotReady, match="still not migrated after 0.3 s"):
        migrate.wait_for_head(fresh_database_url, timeout=0.3, poll=0.1, report=said.append)
    assert said == ["not migrated"]  # once, not at every look


def test_wait_for_head_returns_once_someone_else_migrates(fresh_database_url):
    said = []
    migrating = threading.Timer(0.5, migrate.upgrade, args=(fresh_database_url,))
    migrating.start()
    try:
        migrate.wait_for_head(fresh_database_url, timeout=120, poll=0.1, report=said.append)
    finally:
        migrating.join()
    # It may also have looked mid-way (SQLite commits each migration on its own).
    assert said[0] == "not migrated"
    assert all(state.startswith("at revision ") for state in said[1:])
    assert migrate.current_revision(fresh_database_url) == migrate.head_revision()


def test_wait_for_head_fails_at_once_on_a_revision_from_a_newer_circolo(fresh_database_url):
    migrate.upgrade(fresh_database_url)
    engine = create_engine(fresh_database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(migrate.SchemaNotReady, match="9999_future, which this code does not"):
        migrate.wait_for_head(fresh_database_url, timeout=60, report=pytest.fail)


def test_wait_for_head_waits_for_a_database_that_does_not_answer(tmp_path):
    url = f"sqlite:///{tmp_path}/missing/folder/circolo.db"
    said = []
    with pytest.raises(migrate.SchemaNotReady, match="not reachable"):
        migrate.wait_for_head(url, timeout=0.2, poll=0.1, report=said.append)
    assert said == ["not reachable (OperationalError)"]


def test_worker_command_gives_up_when_the_schema_never_comes(settings, fresh_database_url):
    runner = create_app(settings.with_overrides(database_url=fresh_database_url)).test_cli_runner()
    result = runner.invoke(args=["circolo", "worker", "--schema-timeout", "0.2"])
    assert result.exit_code == 1
    assert "the database is still not migrated" in result.output
