"""The container entrypoint, run outside Docker: what `make run` and the image both start.

scripts/container-check.sh builds the image itself and runs it (CI); these tests run the same
entrypoint, gunicorn settings and HEALTHCHECK script on the host.
"""

import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from datetime import datetime

import pytest
import requests
import yaml
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from middleware.config import PROJECT_ROOT
from middleware.heartbeat import last_heartbeat
from middleware.migrate import head_revision

ENTRYPOINT = PROJECT_ROOT / "scripts" / "entrypoint.sh"
_spec = importlib.util.spec_from_file_location("healthcheck_script",
                                               PROJECT_ROOT / "scripts" / "healthcheck.py")
healthcheck = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(healthcheck)


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
    # On a shared Redis (the scale-out CI pass) this run's tasks stay its own.
    env["CIRCOLO_QUEUE_NAME"] = f"circolo-entrypoint-test-{secrets.token_hex(4)}"
    env.update(extra)
    return env


def _start(role: str, env: dict[str, str], log) -> subprocess.Popen:
    """Start the entrypoint in its own session, its output going to the file `log`."""
    with open(log, "w") as output:
        return subprocess.Popen([str(ENTRYPOINT), role], env=env, stdout=output,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _stop(process: subprocess.Popen, sig: int = signal.SIGINT, *, group: bool = True) -> int:
    """Signal the entrypoint (its whole session, as Ctrl-C does, unless `group` is false)."""
    try:
        if group:
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _eventually(check, *, timeout: float, what: str):
    """Return `check()` once it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout}s: {what}")


def _worker_pids(log) -> list[int]:
    return [int(pid) for pid in re.findall(r"circolo: worker started \(pid (\d+)\)",
                                           log.read_text())]


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line]


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
        # The image's HEALTHCHECK asks the port CIRCOLO_BIND names, not a fixed 8000.
        assert healthcheck.is_healthy(f"127.0.0.1:{port}")
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
    assert not healthcheck.is_healthy(f"127.0.0.1:{port}")


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


@pytest.mark.live_http
@pytest.mark.slow
def test_all_role_restarts_a_killed_worker_while_the_web_keeps_serving(tmp_path,
                                                                       fresh_database_url):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "all.log"
    process = _start("all", _environment(tmp_path, port, CIRCOLO_DATABASE_URL=fresh_database_url),
                     log)
    try:
        first = _wait_for(f"{base}/readyz", status=200, timeout=120).json()["checks"]["worker"]
        [worker] = _eventually(lambda: _worker_pids(log), timeout=30, what="the worker's pid")
        os.kill(worker, signal.SIGKILL)
        _eventually(lambda: "circolo: the worker stopped (exit 137); restarting it in 1 s"
                    in log.read_text(), timeout=30, what="the entrypoint says the worker died")
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        pids = _eventually(lambda: len(_worker_pids(log)) == 2 and _worker_pids(log),
                           timeout=60, what="a new worker")
        assert pids[1] != worker
        # The new worker's heartbeat: run after the restart, and newer than the first one's.
        _eventually(lambda: "heartbeat_now" in log.read_text().split("restarting it in")[1]
                    and " executed in " in log.read_text().split("restarting it in")[1],
                    timeout=120, what="the new worker runs its start-up heartbeat")
        now = requests.get(f"{base}/readyz", timeout=10).json()["checks"]["worker"]
        assert now["ok"] is True
        assert datetime.fromisoformat(now["last_seen"]) > datetime.fromisoformat(
            first["last_seen"])
        assert _stop(process) == 0
    finally:
        if process.poll() is None:
            _stop(process, signal.SIGKILL)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=2)


@pytest.mark.live_http
@pytest.mark.slow
def test_all_role_backs_off_a_worker_that_fails_at_start_and_stops_on_sigterm(
        tmp_path, fresh_database_url):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "all.log"
    # A worker that cannot start (its option is refused) while the web server is fine.
    env = _environment(tmp_path, port, CIRCOLO_DATABASE_URL=fresh_database_url,
                       CIRCOLO_QUEUE_WORKERS="none")
    process = _start("all", env, log)
    try:
        _eventually(lambda: "restarting it in 4 s" in log.read_text(), timeout=120,
                    what="three restarts")
        said = re.findall(r"the worker stopped \(exit (\d+)\); restarting it in (\d+) s",
                          log.read_text())
        # Each pause doubles: a worker failing at start does not spin.
        assert [int(delay) for _, delay in said[:3]] == [1, 2, 4]
        assert {code for code, _ in said} == {"2"}  # click's usage error
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        # SIGTERM to the entrypoint alone (as `docker stop` sends it), during a pause.
        assert _stop(process, signal.SIGTERM, group=False) == 0
    finally:
        if process.poll() is None:
            _stop(process, signal.SIGKILL)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=2)
    assert "web server stopped" not in log.read_text()


@pytest.mark.live_http
@pytest.mark.slow
def test_worker_role_waits_for_the_schema_then_starts(tmp_path, fresh_database_url):
    env = _environment(tmp_path, _free_port(), CIRCOLO_DATABASE_URL=fresh_database_url)
    log = tmp_path / "worker.log"
    process = _start("worker", env, log)
    engine = create_engine(fresh_database_url)
    try:
        _eventually(lambda: "worker waiting for the database: not migrated" in log.read_text(),
                    timeout=60, what="the worker says it waits")
        assert process.poll() is None
        assert "worker starting" not in log.read_text()
        migrated = subprocess.run([str(ENTRYPOINT), "migrate"], env=env, capture_output=True,
                                  text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr

        def beat():
            with Session(engine) as session:
                return last_heartbeat(session)

        _eventually(beat, timeout=60, what="the worker's heartbeat once migrated")
        assert "worker starting" in log.read_text()
        assert _stop(process, signal.SIGTERM) == 0
    finally:
        engine.dispose()
        if process.poll() is None:
            _stop(process, signal.SIGKILL)
    # Not one failed task while it waited.
    assert _error_lines(log.read_text()) == []
    assert "Traceback" not in log.read_text()


@pytest.mark.live_http
@pytest.mark.slow
def test_gunicorn_opens_no_shared_control_socket_and_own_ones_outlive_each_other(tmp_path):
    # gunicorn's default control socket is one path per user: in HOME or XDG_RUNTIME_DIR.
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir()
    instances = {}
    for name in ("default", "b", "c"):
        port = _free_port()
        extra = {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "CIRCOLO_MIGRATE": "0"}
        if name == "default":  # over a unix socket: the HEALTHCHECK follows that bind too
            extra["CIRCOLO_BIND"] = f"unix:{tmp_path}/default.sock"
        else:
            extra["CIRCOLO_CONTROL_SOCKET"] = str(tmp_path / f"{name}.ctl")
        env = _environment(tmp_path / name, port, **extra)
        instances[name] = (env["CIRCOLO_BIND"],
                           _start("web", env, tmp_path / f"{name}.log"))
    gunicornc = str(PROJECT_ROOT / ".venv" / "bin" / "gunicornc")

    def workers(name: str) -> int:
        done = subprocess.run([gunicornc, "-s", str(tmp_path / f"{name}.ctl"), "-c",
                               "show workers", "-j"], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)["count"]

    try:
        for name, (bind, _) in instances.items():
            _eventually(lambda bind=bind: healthcheck.is_healthy(bind), timeout=120,
                        what=f"gunicorn {name} answers at {bind}")
        assert not (runtime / "gunicorn.ctl").exists()
        assert not (home / ".gunicorn").exists()
        assert "Control socket listening" not in (tmp_path / "default.log").read_text()
        assert workers("b") == 1 and workers("c") == 1
        # One instance stopping leaves the others' sockets (and serving) alone.
        assert _stop(instances["c"][1], signal.SIGTERM) == 0
        assert not (tmp_path / "c.ctl").exists()
        assert workers("b") == 1
        assert healthcheck.is_healthy(instances["default"][0])
    finally:
        for _, process in instances.values():
            if process.poll() is None:
                _stop(process, signal.SIGTERM)


@pytest.mark.parametrize(("bind", "address"), [
    ("0.0.0.0:8000", ("127.0.0.1", 8000)),
    ("127.0.0.1:9123", ("127.0.0.1", 9123)),
    (":8080", ("127.0.0.1", 8080)),
    ("[::]:8000", ("::1", 8000)),
    ("[::1]:8443", ("::1", 8443)),
    ("[::1]", ("::1", 8000)),
    ("circolo.internal", ("circolo.internal", 8000)),
    ("unix:/run/circolo/web.sock", "/run/circolo/web.sock"),
])
def test_healthcheck_asks_where_circolo_bind_says(bind, address):
    assert healthcheck.health_address(bind) == address


def test_healthcheck_fails_when_nothing_answers():
    assert not healthcheck.is_healthy(f"127.0.0.1:{_free_port()}", timeout=2)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_names_its_base_once_and_installs_dependencies_before_the_source():
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm")
    froms = [arg for op, arg in instructions if op == "FROM"]
    assert froms == ["${BASE_IMAGE} AS build", "${BASE_IMAGE}"]
    copies = [arg for op, arg in instructions if op == "COPY"]
    install = next(i for i, (op, arg) in enumerate(instructions)
                   if op == "RUN" and "pip install" in arg)
    before = [arg for op, arg in instructions[:install] if op == "COPY"]
    # Only the dependency list reaches the install layer, and it is read from setup.cfg.
    assert before == ["setup.cfg ./"]
    assert "install_requires" in instructions[install][1]
    assert any("i18n.py compile" in arg for op, arg in instructions if op == "RUN")
    assert "--from=build /opt/venv /opt/venv" in copies


def test_dockerfile_copies_only_what_exists_and_the_build_context_lets_in():
    instructions = _dockerfile_instructions()
    allowed = [line[1:].rstrip("/") for line in
               (PROJECT_ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    sources = [source for op, arg in instructions if op == "COPY" and "--from=" not in arg
               for source in arg.split()[:-1] if not source.startswith("--")]
    assert sources
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), source  # what babel.cfg once broke
        assert any(source == a or source.startswith(a + "/") for a in allowed), source


def test_dockerfile_runs_unprivileged_with_the_entrypoint_and_a_bind_following_healthcheck():
    instructions = _dockerfile_instructions()
    runtime = instructions[[op for op, _ in instructions].index("FROM", 2):]
    assert ("USER", "circolo") in runtime
    assert ("VOLUME", '["/var/lib/circolo"]') in runtime
    assert ("ENTRYPOINT", '["/app/scripts/entrypoint.sh"]') in runtime
    [check] = [arg for op, arg in runtime if op == "HEALTHCHECK"]
    assert check.endswith('CMD ["python", "/app/scripts/healthcheck.py"]')
    assert "8000" not in check


def test_compose_runs_the_image_as_the_dockerfile_and_the_check_define_it():
    compose = yaml.safe_load((PROJECT_ROOT / "deploy" / "compose.yaml").read_text())
    build = compose["x-circolo"]["build"]
    assert (PROJECT_ROOT / "deploy" / build["context"] / "Dockerfile").exists()
    [default] = [arg.split("=", 1)[1] for op, arg in _dockerfile_instructions()
                 if op == "ARG" and arg.startswith("BASE_IMAGE=")]
    assert build["args"]["BASE_IMAGE"] == "${CIRCOLO_BASE_IMAGE:-" + default + "}"
    web, worker = compose["services"]["web"], compose["services"]["worker"]
    assert web["command"] == ["web"] and worker["command"] == ["worker"]
    # The published port is the one gunicorn binds (and the HEALTHCHECK asks).
    bind_port = healthcheck.health_address(web["environment"]["CIRCOLO_BIND"])[1]
    assert [int(mapping.rsplit(":", 1)[1]) for mapping in web["ports"]] == [bind_port]
    assert "healthcheck" not in web  # the image's own
    assert worker["healthcheck"] == {"disable": True}  # a worker serves no HTTP
