"""The container entrypoint, run outside Docker: what `make run` and the image both start."""

import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from middleware.config import PROJECT_ROOT
from middleware.migrate import head_revision

ENTRYPOINT = PROJECT_ROOT / "scripts" / "entrypoint.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(tmp_path, port, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCOLO_", "PROMETHEUS"))}
    venv_bin = PROJECT_ROOT / ".venv" / "bin"
    env["PATH"] = f"{venv_bin}:{env['PATH']}"
    env.update(CIRCOLO_INSTANCE_PATH=str(tmp_path / "instance"),
               CIRCOLO_BIND=f"127.0.0.1:{port}",
               CIRCOLO_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
               CIRCOLO_WEB_WORKERS="1", CIRCOLO_QUEUE_WORKERS="1")
    for name in ("CIRCOLO_DATABASE_URL", "CIRCOLO_QUEUE_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    env.update(extra)
    return env


def _wait_for(url: str, *, status: int, timeout: float) -> requests.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=10)
            if last.status_code == status:
                return last
        except (requests.ConnectionError, requests.Timeout):
            # gunicorn is still booting (or the machine is busy): ask again.
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer {status} in {timeout}s (last: "
                         f"{last.status_code if last else None} {last.text if last else ''})")


@pytest.mark.live_http
@pytest.mark.slow
def test_all_role_serves_migrates_runs_the_worker_and_stops_on_ctrl_c(tmp_path,
                                                                     fresh_database_url):
    port = _free_port()
    extra = {"CIRCOLO_DATABASE_URL": fresh_database_url}
    process = subprocess.Popen([str(ENTRYPOINT), "all"], env=_environment(tmp_path, port, **extra),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        # The bar is 60 s on an idle machine; the suite may run beside a busy one.
        health = _wait_for(f"http://127.0.0.1:{port}/healthz", status=200, timeout=120)
        assert health.json() == {"status": "ok"}
        ready = _wait_for(f"http://127.0.0.1:{port}/readyz", status=200, timeout=120).json()
        assert ready["checks"]["worker"]["ok"] is True
        assert ready["checks"]["migrations"]["ok"] is True
        # Ctrl-C in a terminal sends SIGINT to the whole process group.
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/lti/register" in output
    assert f"http://127.0.0.1:{port}/lti/jwks" in output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


@pytest.mark.live_http
def test_migrate_role_then_unknown_commands_run_as_given(tmp_path, fresh_database_url):
    env = _environment(tmp_path, _free_port(), CIRCOLO_DATABASE_URL=fresh_database_url)
    migrated = subprocess.run([str(ENTRYPOINT), "migrate"], env=env, capture_output=True,
                              text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    assert "database at" in migrated.stdout
    echoed = subprocess.run([str(ENTRYPOINT), "flask", "circolo", "db", "current"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert echoed.returncode == 0
    assert f"current: {head_revision()}" in echoed.stdout


def test_production_without_secrets_refuses_to_start(tmp_path):
    env = _environment(tmp_path, _free_port(), CIRCOLO_ENV="production",
                       CIRCOLO_PUBLIC_BASE_URL="https://circolo.example.org")
    result = subprocess.run([str(ENTRYPOINT), "migrate"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "CIRCOLO_SECRET_KEY" in result.stderr


def test_dockerfile_uses_the_entrypoint_a_non_root_user_and_a_healthcheck():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2
    assert "USER circolo" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert 'ENTRYPOINT ["/app/scripts/entrypoint.sh"]' in dockerfile
    for copied in ("migrations", "middleware", "lti", "wsgi.py", "deploy/gunicorn.conf.py"):
        assert copied in dockerfile
