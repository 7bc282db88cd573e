"""A real Moodle for tests: unpack a source, install it on its own database, serve it, seed it.

Reusable outside the e2e tests (the recorder uses it, later tiers add steps to it)::

    site = MoodleSite.prepare(Path(os.environ["MOODLE_SRC"]))   # a tarball or a folder
    site.add_plugin(Path("moodle/local_circolo"), "local/circolo")  # before install or upgrade
    site.install()                     # its own PostgreSQL database, a free loopback port
    site.add_language("it")            # a minimal Italian pack: users may then have lang=it
    site.configure()                   # loopback tools allowed, no mail, no CDN, no tours
    site.serve()                       # PHP's built-in server; site.wwwroot is the address
    ids = site.run_json(PHP / "seed_course.php", spec)    # any project CLI script, JSON in/out
    site.query("select count(*) as n from mdl_forum_posts")  # Moodle's own tables
    site.upgrade()                     # after adding a plugin to an installed site (its output)
    site.cron(), site.adhoc_tasks()    # Moodle's cron, or only its queued ad-hoc tasks
    site.destroy()                     # stop the server, drop the database, remove the folder

Nothing is written outside the scratch folder (under the system's temporary directory) and the
database, both named `circolo_e2e_<pid>_<random>`. The PHP server's output (errors included) is
in `site.log_path`; `site.log_tail()` shows its end.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests
from psycopg.rows import dict_row

PHP = Path(__file__).resolve().parent / "php"
#: PHP settings Moodle wants (its environment check) for the CLI and the server alike.
PHP_INI = ("max_input_vars=5000", "memory_limit=512M")
#: Workers of PHP's built-in server: Chromium keeps idle speculative connections that each hold
#: one for about 30 s.
SERVER_WORKERS = 12
PG_HOST, PG_PORT = "127.0.0.1", 5432
#: Lines of PHP's built-in server that say nothing went wrong (connections, 1xx-3xx answers).
QUIET_LINE = re.compile(r"\] 127\.0\.0\.1:\d+ (Accepted|Closing|\[[123]\d\d\]: )")
ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@example.org"
#: The minimal language packs `add_language` can write (Moodle ships only English).
LANGUAGES: dict[str, dict[str, str]] = {
    "it": {"thislanguage": "Italiano", "thislanguageint": "Italian", "locale": "it_IT.UTF-8",
           "localewin": "Italian_Italy.1252", "iso6391": "it", "decsep": ",",
           "thousandssep": ".", "parentlanguage": ""},
}


class MoodleFailed(AssertionError):
    """A Moodle command or page failed; the message carries what Moodle printed."""


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_user() -> str:
    """The PostgreSQL role that can create databases here (`postgres`, else `root`)."""
    problems = []
    for user in (os.environ.get("MOODLE_DB_USER"), "postgres", "root"):
        if not user:
            continue
        try:
            with psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres",
                                 connect_timeout=5):
                return user
        except psycopg.Error as error:
            problems.append(f"{user}: {str(error).strip()}")
    raise MoodleFailed(f"no PostgreSQL at {PG_HOST}:{PG_PORT} that trusts postgres or root "
                       f"(start it, or set MOODLE_DB_USER): {'; '.join(problems)}")


def moodle_code_in(folder: Path) -> Path | None:
    """The folder holding Moodle's code (version.php + config-dist.php) in `folder`, if any."""
    for candidate in (folder, *sorted(p for p in folder.iterdir() if p.is_dir())):
        if (candidate / "version.php").is_file() and (candidate / "config-dist.php").is_file():
            return candidate
    return None


@dataclass
class MoodleSite:
    """One Moodle installation in a scratch folder, on its own database and port."""

    scratch: Path
    root: Path
    name: str = field(default_factory=lambda: f"circolo_e2e_{os.getpid()}_{secrets.token_hex(3)}")
    port: int = field(default_factory=free_port)
    admin_password: str = field(default_factory=lambda: "Adm1n-" + secrets.token_urlsafe(12))
    db_user: str = ""
    php: str = "php"
    installed: bool = False
    process: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    # --- the code ------------------------------------------------------------------------------

    @classmethod
    def prepare(cls, source: Path, scratch: Path | None = None) -> MoodleSite:
        """Copy (a folder) or unpack (a tarball) Moodle's source into a new scratch folder."""
        started = time.monotonic()
        source = source.expanduser().resolve()
        if not source.exists():
            raise MoodleFailed(f"MOODLE_SRC {source} does not exist")
        scratch = scratch or Path(tempfile.mkdtemp(prefix="circolo-e2e-"))
        code = scratch / "code"
        code.mkdir(parents=True)
        if source.is_dir():
            found = moodle_code_in(source)
            if found is None:
                raise MoodleFailed(f"{source} holds no Moodle (no version.php, config-dist.php)")
            # Copied, never installed in place: installing writes config.php into the code.
            shutil.copytree(found, code / "moodle", symlinks=True,
                            ignore=shutil.ignore_patterns(".git", "config.php", "node_modules"))
        elif tarfile.is_tarfile(source):
            # The tar command is several times faster than tarfile on a 300 MB tree.
            subprocess.run(["tar", "-xf", str(source), "-C", str(code)], check=True)
        else:
            raise MoodleFailed(f"MOODLE_SRC {source} is neither a folder nor a tarball")
        root = moodle_code_in(code)
        if root is None:
            raise MoodleFailed(f"{source} holds no Moodle (no version.php, config-dist.php)")
        site = cls(scratch=scratch, root=root)
        site.timings["unpack"] = time.monotonic() - started
        return site

    @property
    def dataroot(self) -> Path:
        return self.scratch / "moodledata"

    @property
    def wwwroot(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.scratch / "php-server.log"

    @property
    def release(self) -> str:
        """Moodle's `$release` as its version.php says (e.g. "4.5dev+ (Build: 20240903)")."""
        for line in (self.root / "version.php").read_text().splitlines():
            if line.strip().startswith("$release"):
                return line.split("=", 1)[1].split(";")[0].strip().strip("'\"")
        return ""

    def add_plugin(self, folder: Path, destination: str) -> Path:
        """Copy a plugin's folder into the code (e.g. "local/circolo"); then install or upgrade."""
        target = self.root / destination
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
        return target

    # --- install ---------------------------------------------------------------------------------

    def php_command(self, *args: str) -> list[str]:
        return [self.php, *(f"-d{setting}" for setting in PHP_INI), *args]

    def run_php(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run PHP in Moodle's folder; a non-zero exit raises MoodleFailed with its output."""
        result = subprocess.run(self.php_command(*args), cwd=self.root, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise MoodleFailed(f"php {' '.join(args)} exited with {result.returncode}:\n"
                               f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result

    def install(self) -> float:
        """Create the database and install Moodle into it; return the seconds it took."""
        started = time.monotonic()
        self.db_user = self.db_user or postgres_user()
        with self._admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{self.name}" ENCODING \'UTF8\' '
                               "TEMPLATE template0")
            # A scratch site: losing the last commits in a crash costs nothing, waiting for
            # each one to reach the disk costs most of the install.
            connection.execute(f'ALTER DATABASE "{self.name}" SET synchronous_commit = off')
        self.dataroot.mkdir(parents=True, exist_ok=True)
        self.run_php(
            "admin/cli/install.php", "--non-interactive", "--agree-license", "--allow-unstable",
            "--lang=en", f"--wwwroot={self.wwwroot}", f"--dataroot={self.dataroot}",
            "--dbtype=pgsql", f"--dbhost={PG_HOST}", f"--dbname={self.name}",
            f"--dbuser={self.db_user}", "--dbpass=", "--prefix=mdl_",
            "--fullname=Circolo end-to-end Moodle", "--shortname=circolo-e2e",
            f"--adminuser={ADMIN_USER}", f"--adminpass={self.admin_password}",
            f"--adminemail={ADMIN_EMAIL}", f"--supportemail={ADMIN_EMAIL}")
        self._extend_config()
        self.installed = True
        self.timings["install"] = time.monotonic() - started
        return self.timings["install"]

    def _extend_config(self) -> None:
        config = self.root / "config.php"
        text = config.read_text()
        extra = ("// Added by Circolo's end-to-end harness: a test site sends no mail and logs\n"
                 "// its PHP errors (to the built-in server's output) without showing them.\n"
                 "$CFG->noemailever = true;\n"
                 "$CFG->debug = 15;  // DEBUG_NORMAL: errors logged, web services' debuginfo\n"
                 "$CFG->debugdisplay = 0;\n")
        marker = "require_once(__DIR__ . '/lib/setup.php');"
        config.write_text(text.replace(marker, extra + marker, 1))

    def set_port(self, port: int) -> None:
        """Move the site to another port (its wwwroot lives in config.php only)."""
        config = self.root / "config.php"
        config.write_text(config.read_text().replace(self.wwwroot, f"http://127.0.0.1:{port}"))
        self.port = port

    def upgrade(self) -> str:
        """Install or upgrade the plugins copied in since the install; return what it said."""
        started = time.monotonic()
        output = self.run_php("admin/cli/upgrade.php", "--non-interactive",
                              "--allow-unstable").stdout
        self.timings["upgrade"] = time.monotonic() - started
        return output

    def add_language(self, lang: str = "it", strings: dict[str, str] | None = None) -> None:
        """Write a minimal language pack: without one Moodle turns a user's `lang` into "en"."""
        strings = strings or LANGUAGES[lang]
        folder = self.dataroot / "lang" / lang
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"$string[{json.dumps(k)}] = {json.dumps(v)};\n"
                       for k, v in strings.items())
        (folder / "langconfig.php").write_text("<?php\ndefined('MOODLE_INTERNAL') || die();\n"
                                               + body)

    def configure(self) -> dict[str, Any]:
        """What a test site needs that is not under test (see php/configure_site.php)."""
        return self.run_json(PHP / "configure_site.php")

    def purge_caches(self) -> None:
        self.run_php("admin/cli/purge_caches.php")

    def cron(self) -> str:
        return self.run_php("admin/cli/cron.php").stdout

    def adhoc_tasks(self) -> str:
        """Run the queued ad-hoc tasks once (what cron does with them)."""
        return self.run_php("admin/cli/adhoc_task.php", "--execute").stdout

    def set_config(self, name: str, value: str, component: str | None = None) -> None:
        args = ["admin/cli/cfg.php", f"--name={name}", f"--set={value}"]
        if component:
            args.append(f"--component={component}")
        self.run_php(*args)

    # --- project scripts ---------------------------------------------------------------------

    def run_script(self, script: Path, *args: str, timeout: float = 600) -> str:
        """Run a CLI script of the project (it gets Moodle's folder first); return its stdout."""
        return self.run_php(str(script), str(self.root), *args, timeout=timeout).stdout

    def run_json(self, script: Path, payload: Any = None, *, timeout: float = 600) -> Any:
        """Run a script that takes a JSON file and prints JSON on its last line."""
        args: list[str] = []
        if payload is not None:
            spec = self.scratch / f"{script.stem}-{secrets.token_hex(3)}.json"
            spec.write_text(json.dumps(payload, ensure_ascii=False))
            args.append(str(spec))
        try:
            output = self.run_script(script, *args, timeout=timeout)
        finally:
            for path in args:
                Path(path).unlink(missing_ok=True)
        lines = [line for line in output.splitlines() if line.strip()]
        try:
            return json.loads(lines[-1])
        except (IndexError, ValueError):
            raise MoodleFailed(f"{script.name} printed no JSON:\n{output[-4000:]}") from None

    # --- serving ------------------------------------------------------------------------------

    def serve(self, *, timeout: float = 60) -> None:
        """Serve the site with PHP's built-in server; wait until its login page answers."""
        for attempt in range(3):
            env = {**os.environ, "PHP_CLI_SERVER_WORKERS": str(SERVER_WORKERS)}
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    self.php_command("-S", f"127.0.0.1:{self.port}", "-t", str(self.root)),
                    cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    answer = requests.get(f"{self.wwwroot}/login/index.php", timeout=10)
                    if answer.status_code == 200:
                        return
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            self.stop()
            if attempt < 2 and "Address already in use" in self.log_tail(5):
                self.set_port(free_port())  # someone took the port since the install
                continue
            break
        raise MoodleFailed(f"Moodle's server did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 80) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int, limit: int = 12_000) -> str:
        """What the server logged after byte `offset`, without its lines about connections
        and successful requests (the last `limit` characters of it)."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").splitlines()
        return "\n".join(line for line in lines if not QUIET_LINE.search(line))[-limit:]

    # --- the database ---------------------------------------------------------------------------

    @contextmanager
    def _admin_connection(self) -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=self.db_user, dbname="postgres",
                             autocommit=True, connect_timeout=10) as connection:
            yield connection

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query on Moodle's database (tables are prefixed `mdl_`)."""
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=self.db_user, dbname=self.name,
                             autocommit=True, row_factory=dict_row,
                             connect_timeout=10) as connection:
            return list(connection.execute(sql, params))  # type: ignore[arg-type]

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    # --- the end ------------------------------------------------------------------------------

    def destroy(self) -> None:
        """Stop the server, drop the database, remove the scratch folder."""
        self.stop()
        if self.db_user:
            with self._admin_connection() as connection:
                connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE datname = %s", (self.name,))
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
        shutil.rmtree(self.scratch, ignore_errors=True)
