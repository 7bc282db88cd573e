"""A real Moodle for the plugin path: unpack MOODLE_SRC, install it, add the plugin, serve it.

Its methods are named as those of tests/e2e/moodle_site.MoodleSite (the real-Moodle tier's
harness, on its own branch): once that harness is in main, `moodle_site` in conftest.py builds
one of those instead and this module goes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests
from psycopg.rows import dict_row

PHP_INI = ("max_input_vars=5000", "memory_limit=512M")
PG = {"host": "127.0.0.1", "port": 5432}
ITALIAN = {"thislanguage": "Italiano", "thislanguageint": "Italian", "locale": "it_IT.UTF-8",
           "iso6391": "it", "decsep": ",", "thousandssep": ".", "parentlanguage": ""}


class MoodleFailed(AssertionError):
    """A Moodle command failed; the message carries what it printed."""


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MoodleSite:
    """One Moodle in a scratch folder, on its own PostgreSQL database and loopback port."""

    scratch: Path
    root: Path
    name: str = field(default_factory=lambda: f"circolo_plugin_e2e_{os.getpid()}_"
                                              f"{secrets.token_hex(3)}")
    port: int = field(default_factory=free_port)
    admin_password: str = field(default_factory=lambda: "Adm1n-" + secrets.token_urlsafe(10))
    db_user: str = os.environ.get("MOODLE_DB_USER", "postgres")
    process: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def prepare(cls, source: Path) -> MoodleSite:
        """Unpack (a tarball) or copy (a folder) Moodle's source into a new scratch folder."""
        started = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix="circolo-plugin-e2e-"))
        code = scratch / "code"
        code.mkdir()
        if source.is_dir():
            shutil.copytree(source, code / "moodle", symlinks=True,
                            ignore=shutil.ignore_patterns(".git", "config.php"))
        else:
            subprocess.run(["tar", "-xf", str(source), "-C", str(code)], check=True)
        root = next(p for p in (code, *code.iterdir()) if (p / "config-dist.php").is_file())
        site = cls(scratch=scratch, root=root)
        site.timings["unpack"] = time.monotonic() - started
        return site

    @property
    def wwwroot(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dataroot(self) -> Path:
        return self.scratch / "moodledata"

    @property
    def log_path(self) -> Path:
        return self.scratch / "php-server.log"

    def add_plugin(self, folder: Path, destination: str) -> Path:
        """Copy a plugin's folder into the code (e.g. "local/circolo")."""
        target = self.root / destination
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target)
        return target

    def run_php(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run PHP in Moodle's folder; a non-zero exit raises MoodleFailed with its output."""
        command = ["php", *(f"-d{s}" for s in PHP_INI), *args]
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise MoodleFailed(f"php {' '.join(args)} exited with {result.returncode}:\n"
                               f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result

    def install(self) -> float:
        """Create the database and install Moodle; return the seconds it took."""
        started = time.monotonic()
        with psycopg.connect(**PG, user=self.db_user, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}" ENCODING \'UTF8\' '
                               "TEMPLATE template0")
            connection.execute(f'ALTER DATABASE "{self.name}" SET synchronous_commit = off')
        self.dataroot.mkdir(parents=True, exist_ok=True)
        self.run_php(
            "admin/cli/install.php", "--non-interactive", "--agree-license", "--allow-unstable",
            "--lang=en", f"--wwwroot={self.wwwroot}", f"--dataroot={self.dataroot}",
            "--dbtype=pgsql", f"--dbhost={PG['host']}", f"--dbname={self.name}",
            f"--dbuser={self.db_user}", "--dbpass=", "--prefix=mdl_",
            "--fullname=Circolo plugin e2e", "--shortname=circolo-plugin-e2e",
            "--adminuser=admin", f"--adminpass={self.admin_password}",
            "--adminemail=admin@example.org", "--supportemail=admin@example.org")
        config = self.root / "config.php"
        marker = "require_once(__DIR__ . '/lib/setup.php');"
        config.write_text(config.read_text().replace(
            marker, "$CFG->noemailever = true;\n$CFG->debug = 15;\n$CFG->debugdisplay = 0;\n"
            + marker, 1))
        self.timings["install"] = time.monotonic() - started
        return self.timings["install"]

    def upgrade(self) -> str:
        """Install or upgrade the plugins copied in since the install; return the output."""
        started = time.monotonic()
        output = self.run_php("admin/cli/upgrade.php", "--non-interactive",
                              "--allow-unstable").stdout
        self.timings["upgrade"] = time.monotonic() - started
        return output

    def add_language(self, lang: str = "it") -> None:
        """A minimal language pack: without one Moodle turns a user's `lang` into "en"."""
        folder = self.dataroot / "lang" / lang
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"$string[{json.dumps(k)}] = {json.dumps(v)};\n" for k, v in ITALIAN.items())
        (folder / "langconfig.php").write_text("<?php\ndefined('MOODLE_INTERNAL') || die();\n"
                                               + body)

    def configure(self) -> None:
        """Let Moodle reach Circolo on the loopback; no mail."""
        for name, value in (("curlsecurityblockedhosts", ""), ("curlsecurityallowedport", ""),
                            ("noreplyaddress", "noreply@example.org")):
            self.run_php("admin/cli/cfg.php", f"--name={name}", f"--set={value}")
        self.run_php("admin/cli/purge_caches.php")

    def run_json(self, script: Path, payload: Any = None, *, timeout: float = 900) -> Any:
        """Run a project script with Moodle's folder and a JSON spec; return its last line."""
        spec = self.scratch / f"{script.stem}-{secrets.token_hex(3)}.json"
        spec.write_text(json.dumps(payload if payload is not None else {}))
        try:
            output = self.run_php(str(script), str(self.root), str(spec), timeout=timeout).stdout
        finally:
            spec.unlink(missing_ok=True)
        lines = [line for line in output.splitlines() if line.strip()]
        try:
            return json.loads(lines[-1])
        except (IndexError, ValueError):
            raise MoodleFailed(f"{script.name} printed no JSON:\n{output[-4000:]}") from None

    def cron(self) -> str:
        return self.run_php("admin/cli/cron.php").stdout

    def adhoc_tasks(self) -> str:
        """Run the queued ad-hoc tasks once (what cron does with them)."""
        return self.run_php("admin/cli/adhoc_task.php", "--execute").stdout

    def serve(self, *, timeout: float = 60) -> None:
        """Serve the site with PHP's built-in server; wait until its login page answers."""
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "12"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["php", *(f"-d{s}" for s in PHP_INI), "-S", f"127.0.0.1:{self.port}", "-t",
                 str(self.root)], cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.wwwroot}/login/index.php", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise MoodleFailed(f"Moodle's server did not start:\n{self.log_path.read_text()[-3000:]}")

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query on Moodle's database (tables are prefixed `mdl_`)."""
        with psycopg.connect(**PG, user=self.db_user, dbname=self.name, autocommit=True,
                             row_factory=dict_row) as connection:
            return list(connection.execute(sql, params))  # type: ignore[arg-type]

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)

    def destroy(self) -> None:
        """Stop the server, drop the database, remove the scratch folder."""
        self.stop()
        with psycopg.connect(**PG, user=self.db_user, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s", (self.name,))
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
        shutil.rmtree(self.scratch, ignore_errors=True)
