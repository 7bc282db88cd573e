"""Every shell command in README's "Deployment" and "Privacy" sections runs, as written.

Convention: the ```sh blocks of those sections are the tested commands (one per line, `#`
comments allowed). This test walks through them in order on a temporary instance: Circolo's CLI
commands run for real (against a Moodle web-service double on 127.0.0.1 for `moodle connect`),
`scripts/entrypoint.sh` and `sqlite3`/`cp` run as processes, `curl` URLs are fetched from the
app, `docker compose` is checked against deploy/compose.yaml, and `pg_dump`/`pg_restore` run
against a throwaway PostgreSQL database when the suite runs on PostgreSQL (as in `.ci/run`).
A command none of these recognises fails the test: no documented command can rot.
"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from middleware import create_app
from middleware.config import PROJECT_ROOT, Settings
from middleware.db import database
from middleware.migrate import head_revision
from middleware.models import Person, Platform
from tests.doubles.community import generate_community
from tests.doubles.moodle_ws import MoodleDouble, serve_double

README = PROJECT_ROOT / "README.md"
SECTIONS = ("Deployment", "Privacy")  # run in this order: the walkthrough, then data rights
EXAMPLE_MOODLE = "https://moodle.example.org"
TOKEN = "readme-token"  # noqa: S105 (the double's test token)


def section(name: str, text: str | None = None) -> str:
    text = README.read_text() if text is None else text
    match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README has no '## {name}' section"
    return match.group(1)


def commands(name: str) -> list[str]:
    """The commands of a section's ```sh blocks (continuations joined, comments dropped)."""
    found = []
    for block in re.findall(r"^```sh\n(.*?)^```", section(name), re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


#: What each kind of command is recognised by.
KINDS = {
    "flask": re.compile(r"^flask --app wsgi circolo "),
    "entrypoint": re.compile(r"^scripts/entrypoint\.sh \w+$"),
    "sqlite": re.compile(r"^sqlite3 instance/\S+\.db \"\.backup instance/\S+\"$"),
    "copy": re.compile(r"^cp instance/\S+ instance/\S+$"),
    "compose": re.compile(r"^docker compose -f deploy/compose\.yaml "),
    "postgres": re.compile(r"^pg_(dump|restore) "),
    "curl": re.compile(r"^curl -fsS http://127\.0\.0\.1:8000/\w+$"),
}


def kind_of(command: str) -> str | None:
    return next((kind for kind, pattern in KINDS.items() if pattern.match(command)), None)


def test_each_documented_command_is_one_this_test_runs():
    documented = [c for name in SECTIONS for c in commands(name)]
    assert len(documented) >= 12
    assert [c for c in documented if kind_of(c) is None] == []
    assert {kind_of(c) for c in documented} == set(KINDS)


def test_the_deployment_section_covers_what_it_needs():
    text = section("Deployment")
    for topic in ("dynamic registration", "manual registration", "web-service user",
                  "Non-editing teacher", "moodle connect", "compose.yaml", "Back up",
                  "Upgrade", "/metrics", "webservice/rest:use", "moodle/site:sendmessage",
                  "mod/forum:replypost"):
        assert topic in text, topic
    # The links point at sections that exist.
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^## (.+)$", README.read_text(), re.M)}
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert anchor in anchors, anchor


class Walkthrough:
    """Runs README commands on one temporary instance."""

    def __init__(self, root: Path, moodle_url: str, postgres_url: str | None) -> None:
        self.root = root
        self.moodle_url = moodle_url
        self.postgres_url = postgres_url
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CIRCOLO_", "PROMETHEUS"))}
        self.env.update(
            PATH=f"{PROJECT_ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
            CIRCOLO_INSTANCE_PATH=str(root / "instance"),
            CIRCOLO_DATABASE_URL=f"sqlite:///{root}/instance/circolo.db",
            CIRCOLO_QUEUE_URL=f"sqlite:///{root}/instance/queue.db",
            CIRCOLO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
            CIRCOLO_MOODLE_TOKEN=TOKEN)
        self._app = None

    @property
    def app(self):
        if self._app is None:
            settings = Settings.from_env(self.env).with_overrides(queue_url="memory://")
            self._app = create_app(settings)
        return self._app

    def run(self, command: str) -> str:
        command = command.replace(EXAMPLE_MOODLE, self.moodle_url)
        return getattr(self, "_" + kind_of(command))(command)

    def _flask(self, command: str) -> str:
        args = shlex.split(command)[3:]  # after `flask --app wsgi`
        result = self.app.test_cli_runner().invoke(args=args, env={
            "CIRCOLO_MOODLE_TOKEN": TOKEN}, catch_exceptions=False)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        return result.output

    def _process(self, args: list[str], env: dict[str, str] | None = None) -> str:
        done = subprocess.run(args, cwd=self.root, env=env or self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def _entrypoint(self, command: str) -> str:
        role = command.split()[1]
        return self._process([str(PROJECT_ROOT / "scripts" / "entrypoint.sh"), role])

    def _sqlite(self, command: str) -> str:
        output = self._process(shlex.split(command))
        target = self.root / shlex.split(command)[2].split()[1]
        with sqlite3.connect(target) as copy:  # a whole, readable database
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return output

    def _copy(self, command: str) -> str:
        return self._process(shlex.split(command))

    def _compose(self, command: str) -> str:
        compose = (PROJECT_ROOT / "deploy" / "compose.yaml").read_text()
        services = set(re.findall(r"^  (\w[\w-]*):\s*$", compose.split("\nservices:", 1)[1],
                                  re.M))
        assert {"web", "worker", "postgres", "redis"} <= services
        for scaled in re.findall(r"--scale (\w+)=\d+", command):
            assert scaled in services, scaled
        assert "up" in command.split()
        return ""

    def _postgres(self, command: str) -> str:
        program = command.split()[0]
        if self.postgres_url is None:  # .ci/run's PostgreSQL run executes it
            return self._process([program, "--version"])
        env = dict(self.env, CIRCOLO_DATABASE_URL=self.postgres_url)
        return self._process(["bash", "-c", command], env=env)

    def _curl(self, command: str) -> str:
        path = "/" + command.rsplit("/", 1)[1]
        response = self.app.test_client().get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        return response.get_data(as_text=True)


@pytest.fixture
def walkthrough(tmp_path, postgres_url, monkeypatch) -> Iterator[Walkthrough]:
    monkeypatch.chdir(tmp_path)  # relative paths in commands are the instance's neighbours
    community = generate_community(seed=3, learners=8, discussions=6, posts=20)
    double = MoodleDouble(community, token=TOKEN)
    with serve_double(double) as server:
        pg = None
        if postgres_url is not None:
            pg = "postgresql://" + postgres_url.split("://", 1)[1] + "_readme"
        yield Walkthrough(tmp_path, server.url, pg)


def _create_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    from middleware.migrate import upgrade

    base, name = url.rsplit("/", 1)
    admin = create_engine(Settings.from_env({"CIRCOLO_DATABASE_URL": base + "/postgres",
                                             "CIRCOLO_INSTANCE_PATH": "/tmp/circolo-docs"}
                                            ).database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    upgrade(Settings.from_env({"CIRCOLO_DATABASE_URL": url,
                               "CIRCOLO_INSTANCE_PATH": "/tmp/circolo-docs"}).database_url)


def _drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    base, name = url.rsplit("/", 1)
    admin = create_engine(Settings.from_env({"CIRCOLO_DATABASE_URL": base + "/postgres",
                                             "CIRCOLO_INSTANCE_PATH": "/tmp/circolo-docs"}
                                            ).database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name})
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.mark.live_http
def test_the_readme_commands_run_as_written(walkthrough):
    w = walkthrough
    deployment = commands("Deployment")
    # 1. Start: migrate, then the addresses for Moodle (everything before step 2).
    registered = next(i for i, c in enumerate(deployment) if " platform " in c)
    outputs = {command: w.run(command) for command in deployment[:registered]}
    assert (w.root / "instance" / "circolo.db").exists()
    assert f"current: {head_revision()}" in outputs["flask --app wsgi circolo db current"]
    # 2. Registration happens in Moodle; what it leaves in Circolo is a platform.
    w.app.test_cli_runner().invoke(args=[
        "circolo", "platform", "add", "--issuer", w.moodle_url, "--client-id", "c1",
        "--deployment-id", "1", "--name", "Moodle",
        "--auth-login-url", f"{w.moodle_url}/mod/lti/auth.php",
        "--auth-token-url", f"{w.moodle_url}/mod/lti/token.php",
        "--key-set-url", f"{w.moodle_url}/mod/lti/certs.php"], catch_exceptions=False)
    from middleware.heartbeat import record_heartbeat  # a worker would be running

    with w.app.app_context(), database(w.app).session() as session:
        record_heartbeat(session)
        platform = session.scalar(select(Platform))
        session.add(Person(platform_id=platform.id, subject="42", moodle_user_id=42,
                           fullname="Zelda Quattrocchi", email="zelda@example.test"))
        session.commit()
    if w.postgres_url:
        _create_postgres_database(w.postgres_url)
    try:
        for command in deployment[registered:]:
            outputs[command] = w.run(command)
        for command in commands("Privacy"):
            outputs[command] = w.run(command)
    finally:
        if w.postgres_url:
            _drop_postgres_database(w.postgres_url)
    said = "\n".join(outputs.values())
    assert '"fullname": "Zelda Quattrocchi"' in (w.root / "learner-42.json").read_text()
    with w.app.app_context(), database(w.app).session() as session:
        assert session.scalar(select(Person).where(Person.subject == "42")) is None
        from middleware.models import MoodleConnection

        connection = session.scalar(select(MoodleConnection))
        assert connection is not None and connection.service_user_id is not None
    assert "circolo_http_requests_total" in said
    if w.postgres_url:
        assert (w.root / "circolo.dump").stat().st_size > 0
    for backup in ("circolo-backup.db", "queue-backup.db", "secrets-backup.json"):
        assert (w.root / "instance" / backup).exists(), backup
