"""The task queue: Huey on SQLite by default, on Redis when CIRCOLO_QUEUE_URL says redis://.

The Huey instance is created at import, from the environment, because task decorators bind
to it; everything else about Circolo is configured by `create_app`.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from flask import Flask
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper
from sqlalchemy.orm import Session

from .config import PROJECT_ROOT

P = ParamSpec("P")
R = TypeVar("R")

#: Modules whose tasks the consumer must know. A feature with tasks adds its module here.
TASK_MODULES: tuple[str, ...] = ("middleware.heartbeat", "middleware.sync.tasks",
                                 "middleware.mentoring.tasks", "middleware.analytics.tasks",
                                 "middleware.privacy.tasks", "middleware.companion.tasks")


def create_huey(queue_url: str, *, name: str = "circolo") -> Huey:
    """Create the Huey instance that `queue_url` describes."""
    if queue_url.startswith(("redis://", "rediss://")):
        return RedisHuey(name, url=queue_url, utc=True)
    if queue_url.startswith("sqlite:///"):
        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), utc=True)
    if queue_url == "memory://":
        return MemoryHuey(name, utc=True)
    raise ValueError(
        f"CIRCOLO_QUEUE_URL must be sqlite:///..., redis://... or memory://, not {queue_url!r}"
    )


def queue_url_from_env(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    instance = environ.get("CIRCOLO_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    return environ.get("CIRCOLO_QUEUE_URL") or f"sqlite:///{Path(instance).resolve()}/queue.db"


def queue_name_from_env(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    # Several Circolo installations (or test runs) can share one Redis under different names.
    return environ.get("CIRCOLO_QUEUE_NAME") or "circolo"


huey: Huey = create_huey(queue_url_from_env(), name=queue_name_from_env())

_task_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Make `app` the application that tasks run in (the newest app created wins)."""
    global _task_app
    _task_app = app


def task_app() -> Flask:
    """Return the application tasks run in, creating one from the environment if needed."""
    global _task_app
    if _task_app is None:
        from . import create_app

        _task_app = create_app()
    return _task_app


def import_task_modules() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)


def _in_app_transaction(fn: Callable[..., R]) -> Callable[..., R]:
    """Run `fn(session, ...)` in the task app's context; commit once at the end, as a view does."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> R:
        app = task_app()
        with app.app_context():
            from .db import database

            with database(app).session() as session:
                result = fn(session, *args, **kwargs)
                session.commit()
                return result

    return run


def app_task(**options: Any) -> Callable[[Callable[..., R]], TaskWrapper]:
    """Declare a Huey task whose first argument is a database session it may flush into."""

    def decorate(fn: Callable[..., R]) -> TaskWrapper:
        return huey.task(**options)(_in_app_transaction(fn))

    return decorate


def app_periodic_task(validate_datetime: Callable[..., bool], **options: Any
                      ) -> Callable[[Callable[[Session], R]], TaskWrapper]:
    """Declare a periodic Huey task whose only argument is a database session."""

    def decorate(fn: Callable[[Session], R]) -> TaskWrapper:
        return huey.periodic_task(validate_datetime, **options)(_in_app_transaction(fn))

    return decorate
