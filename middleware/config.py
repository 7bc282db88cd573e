"""Settings read once from CIRCOLO_* environment variables into a typed object."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The secrets that production must be given; elsewhere they are generated once.
SECRET_VARIABLES = ("CIRCOLO_SECRET_KEY", "CIRCOLO_ENCRYPTION_KEY")


class ConfigError(RuntimeError):
    """The environment does not describe a configuration Circolo can start with."""


@dataclass(frozen=True)
class Settings:
    """Everything Circolo reads from its environment, validated once at start-up."""

    env: str = "development"
    instance_path: Path = PROJECT_ROOT / "instance"
    database_url: str = ""
    queue_url: str = ""
    secret_key: str = field(default="", repr=False)
    encryption_key: str = field(default="", repr=False)
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    sync_interval_minutes: int = 10
    reconcile_hour: int = 3
    lti_leeway_seconds: int = 60
    tool_private_key_file: str = ""
    worker_heartbeat_max_age_seconds: int = 180
    # Days after a course's end before its posts' text is blanked (data rights, privacy/).
    post_retention_days: int = 180
    testing: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_redis_queue(self) -> bool:
        return self.queue_url.startswith(("redis://", "rediss://"))

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (tests and tools use this)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment; generate missing secrets outside production."""
        environ = os.environ if environ is None else environ
        env = environ.get("CIRCOLO_ENV", "development").strip().lower()
        if env not in {"development", "production", "test"}:
            raise ConfigError(
                f"CIRCOLO_ENV must be development, production or test, not {env!r}."
            )
        instance_path = Path(
            environ.get("CIRCOLO_INSTANCE_PATH") or PROJECT_ROOT / "instance"
        ).resolve()

        secrets_found = {name: environ.get(name, "").strip() for name in SECRET_VARIABLES}
        missing = [name for name, value in secrets_found.items() if not value]
        if missing and env == "production":
            raise ConfigError(
                "Circolo will not start in production without its secrets: set "
                + " and ".join(missing)
                + " (see README, 'Configuration'). Generate values with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` for the "
                "secret key and `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'` for the encryption key."
            )
        if missing:
            kept = _instance_secrets(instance_path)
            secrets_found.update({name: kept[name] for name in missing})

        database_url = environ.get("CIRCOLO_DATABASE_URL") or f"sqlite:///{instance_path}/circolo.db"
        queue_url = environ.get("CIRCOLO_QUEUE_URL") or f"sqlite:///{instance_path}/queue.db"
        public_base_url = environ.get("CIRCOLO_PUBLIC_BASE_URL", cls.public_base_url).rstrip("/")
        if not public_base_url.startswith(("http://", "https://")):
            raise ConfigError("CIRCOLO_PUBLIC_BASE_URL must be an http(s) URL.")
        if env == "production" and not public_base_url.startswith("https://"):
            raise ConfigError(
                "CIRCOLO_PUBLIC_BASE_URL must use https in production: Moodle embeds the "
                "tool in an iframe, where browsers only keep Secure cookies."
            )
        _check_encryption_key(secrets_found["CIRCOLO_ENCRYPTION_KEY"])

        return cls(
            env=env,
            instance_path=instance_path,
            database_url=_normalise_database_url(database_url),
            queue_url=queue_url,
            secret_key=secrets_found["CIRCOLO_SECRET_KEY"],
            encryption_key=secrets_found["CIRCOLO_ENCRYPTION_KEY"],
            public_base_url=public_base_url,
            log_level=environ.get("CIRCOLO_LOG_LEVEL", "INFO").upper(),
            sync_interval_minutes=_int(environ, "CIRCOLO_SYNC_INTERVAL", 10, minimum=1),
            reconcile_hour=_int(environ, "CIRCOLO_RECONCILE_HOUR", 3, minimum=0, maximum=23),
            lti_leeway_seconds=_int(environ, "CIRCOLO_LTI_LEEWAY", 60, minimum=0, maximum=300),
            tool_private_key_file=environ.get("CIRCOLO_TOOL_PRIVATE_KEY_FILE", ""),
            worker_heartbeat_max_age_seconds=_int(
                environ, "CIRCOLO_HEARTBEAT_MAX_AGE", 180, minimum=30
            ),
            post_retention_days=_int(environ, "CIRCOLO_POST_RETENTION_DAYS", 180, minimum=0),
        )

    def describe(self) -> dict[str, Any]:
        """Return the settings without their secrets, for logs and `flask circolo config`."""
        hidden = {"secret_key", "encryption_key", "extra"}
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hidden}
        shown["database_url"] = _without_password(self.database_url)
        shown["queue_url"] = _without_password(self.queue_url)
        shown["instance_path"] = str(self.instance_path)
        return shown


def _int(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 0,
         maximum: int | None = None) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" + (f" and at most {maximum}" if maximum is not None else "")
        raise ConfigError(f"{name} must be {bounds}, not {value}.")
    return value


def _check_encryption_key(key: str) -> None:
    try:
        decoded = base64.urlsafe_b64decode(key.encode())
    except (ValueError, TypeError):
        decoded = b""
    if len(decoded) != 32:
        raise ConfigError(
            "CIRCOLO_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded bytes)."
        )


def _normalise_database_url(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// would make SQLAlchemy look for psycopg2.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _without_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def _instance_secrets(instance_path: Path) -> dict[str, str]:
    """Load the generated secrets of the embedded default, creating them once (mode 0600)."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "secrets.json"
    if path.exists():
        kept = json.loads(path.read_text())
        if all(kept.get(name) for name in SECRET_VARIABLES):
            return kept
    from cryptography.fernet import Fernet

    kept = {
        "CIRCOLO_SECRET_KEY": secrets.token_urlsafe(48),
        "CIRCOLO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    # Written aside, then linked into place: when two processes start together, exactly one
    # file wins and both read the same secrets.
    scratch = path.with_name(f".secrets.{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(kept, handle)
    try:
        os.link(scratch, path)
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return json.loads(path.read_text())
