"""Migrations build the same schema as the models, from empty, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

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
