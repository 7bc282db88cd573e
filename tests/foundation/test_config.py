import os
import stat
import subprocess
import sys

import pytest

from middleware import create_app
from middleware.config import PROJECT_ROOT, ConfigError, Settings


def test_factory_uses_given_settings(settings):
    app = create_app(settings)
    assert app.testing
    assert app.config["CIRCOLO"] is settings
    assert app.config["SESSION_COOKIE_SAMESITE"] == "None"


def test_factory_without_settings_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CIRCOLO_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CIRCOLO_PUBLIC_BASE_URL", "https://circolo.example.org/")
    app = create_app()
    assert not app.testing
    assert app.config["CIRCOLO"].public_base_url == "https://circolo.example.org"


def test_production_without_secrets_stops_with_a_clear_message(tmp_path):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"CIRCOLO_ENV": "production", "CIRCOLO_INSTANCE_PATH": str(tmp_path),
                           "CIRCOLO_PUBLIC_BASE_URL": "https://circolo.example.org"})
    message = str(raised.value)
    assert "CIRCOLO_SECRET_KEY" in message and "CIRCOLO_ENCRYPTION_KEY" in message
    assert not (tmp_path / "secrets.json").exists()


def test_production_start_up_exits_non_zero_naming_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCOLO_")}
    env.update(CIRCOLO_ENV="production", CIRCOLO_INSTANCE_PATH=str(tmp_path),
               CIRCOLO_PUBLIC_BASE_URL="https://circolo.example.org",
               CIRCOLO_ENCRYPTION_KEY="uZJ5B8Qm1sU2H0k3rXGk9gQ3Lr0aYV6v2dS3pA6mN4E=")
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "configuration error" in result.stderr
    assert "set CIRCOLO_SECRET_KEY (see README" in result.stderr
    assert "Traceback" not in result.stderr


def test_development_generates_secrets_once_with_private_mode(tmp_path):
    environ = {"CIRCOLO_INSTANCE_PATH": str(tmp_path)}
    first = Settings.from_env(environ)
    second = Settings.from_env(environ)
    assert first.secret_key and first.secret_key == second.secret_key
    assert first.encryption_key == second.encryption_key
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600


def test_given_secrets_are_not_written_to_disk(tmp_path):
    settings = Settings.from_env({
        "CIRCOLO_INSTANCE_PATH": str(tmp_path), "CIRCOLO_SECRET_KEY": "s" * 40,
        "CIRCOLO_ENCRYPTION_KEY": "uZJ5B8Qm1sU2H0k3rXGk9gQ3Lr0aYV6v2dS3pA6mN4E="})
    assert settings.secret_key == "s" * 40
    assert not (tmp_path / "secrets.json").exists()


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("CIRCOLO_SYNC_INTERVAL", "soon", "whole number"),
    ("CIRCOLO_SYNC_INTERVAL", "0", "at least 1"),
    ("CIRCOLO_LTI_LEEWAY", "3600", "at most 300"),
    ("CIRCOLO_ENV", "staging", "CIRCOLO_ENV"),
    ("CIRCOLO_ENCRYPTION_KEY", "not-a-key", "Fernet"),
    ("CIRCOLO_PUBLIC_BASE_URL", "circolo.example.org", "http(s)"),
])
def test_bad_values_are_named(tmp_path, name, value, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env({"CIRCOLO_INSTANCE_PATH": str(tmp_path), name: value})


def test_production_requires_https(tmp_path):
    with pytest.raises(ConfigError, match="https"):
        Settings.from_env({"CIRCOLO_ENV": "production", "CIRCOLO_SECRET_KEY": "x" * 40,
                           "CIRCOLO_ENCRYPTION_KEY": "uZJ5B8Qm1sU2H0k3rXGk9gQ3Lr0aYV6v2dS3pA6mN4E=",
                           "CIRCOLO_PUBLIC_BASE_URL": "http://circolo.example.org",
                           "CIRCOLO_INSTANCE_PATH": str(tmp_path)})


def test_defaults_are_the_embedded_shape(tmp_path):
    settings = Settings.from_env({"CIRCOLO_INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/circolo.db"
    assert settings.queue_url == f"sqlite:///{tmp_path}/queue.db"
    assert settings.sync_interval_minutes == 10
    assert settings.lti_leeway_seconds == 60


def test_postgres_urls_use_psycopg3_and_hide_passwords(tmp_path):
    settings = Settings.from_env({"CIRCOLO_INSTANCE_PATH": str(tmp_path),
                                  "CIRCOLO_DATABASE_URL": "postgresql://u:pw@db:5432/circolo"})
    assert settings.database_url == "postgresql+psycopg://u:pw@db:5432/circolo"
    described = settings.describe()
    assert "pw" not in described["database_url"]
    assert "secret_key" not in described and "encryption_key" not in described
    assert "pw" not in repr(settings) or "secret" not in repr(settings)


def test_config_command_prints_no_secret(runner, settings):
    result = runner.invoke(args=["circolo", "config"])
    assert result.exit_code == 0
    assert settings.secret_key not in result.output
    assert settings.encryption_key not in result.output
    assert '"env": "test"' in result.output
