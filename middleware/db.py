"""The database engine of an app, and the one session per request (or task) that it commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

EXTENSION_KEY = "circolo.db"


class Database:
    """An engine and its session factory, configured for SQLite or PostgreSQL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        options: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            # Worker threads and gunicorn threads share the file: wait on locks instead of failing.
            options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            options.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.url = url
        self.engine: Engine = create_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _configure_sqlite)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session that commits at the end, or rolls back if the block raises."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web workers read while the queue worker writes a sync.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app: Flask) -> None:
    settings = app.config["CIRCOLO"]
    app.extensions[EXTENSION_KEY] = Database(settings.database_url)
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    """Return the app's Database (the current app's when none is given)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def get_session() -> Session:
    """Return the session of this request or task; the boundary that opened it commits once."""
    if "db_session" not in g:
        g.db_session = database().session()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        # Anything not committed by the view is rolled back here.
        session.close()
