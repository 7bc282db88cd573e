"""Circolo as IT runs it for the plugin path: `scripts/entrypoint.sh all` (web + worker) in its
own instance folder, on a free loopback port, with its own queue name."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from middleware.config import PROJECT_ROOT
from tests.e2e.moodle_site import free_port

ENTRYPOINT = PROJECT_ROOT / "scripts" / "entrypoint.sh"


@dataclass
class CircoloProcess:
    instance: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.instance / "circolo.log"

    @property
    def env(self) -> dict[str, str]:
        bin_dir = str(PROJECT_ROOT / ".venv" / "bin")
        return {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
                "CIRCOLO_ENV": "development", "CIRCOLO_INSTANCE_PATH": str(self.instance),
                "CIRCOLO_PUBLIC_BASE_URL": self.base_url, "CIRCOLO_BIND": f"127.0.0.1:{self.port}",
                "CIRCOLO_QUEUE_NAME": f"plugin-e2e-{os.getpid()}-{secrets.token_hex(2)}",
                "CIRCOLO_DATABASE_URL": f"sqlite:///{self.instance}/circolo.db",
                "CIRCOLO_QUEUE_URL": f"sqlite:///{self.instance}/queue.db",
                # Polling stays out of the way: what the tests see comes from events.
                "CIRCOLO_SYNC_INTERVAL": "600", "CIRCOLO_WEB_WORKERS": "2",
                "CIRCOLO_QUEUE_WORKERS": "2", "CIRCOLO_LOG_LEVEL": "INFO"}

    def start(self, *, timeout: float = 90) -> None:
        """Start web and worker; wait until /readyz answers (migrated, worker alive)."""
        self.instance.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([str(ENTRYPOINT), "all"], cwd=PROJECT_ROOT,
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(f"{self.base_url}/readyz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"Circolo did not start:\n{self.log_path.read_text()[-3000:]}")

    def flask(self, *args: str) -> str:
        """Run `flask circolo ...` against this instance; return its output."""
        result = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi",
                                 "circolo", *args], cwd=PROJECT_ROOT, env=self.env,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"flask circolo {' '.join(args)}: {result.stderr[-2000:]}")
        return result.stdout

    def invite(self) -> str:
        """`flask circolo moodle invite`: the one-time code it prints."""
        output = self.flask("moodle", "invite")
        match = re.search(r"One-time code:\s+([A-Z0-9-]+)", output)
        assert match, output
        return match.group(1)

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of a query on Circolo's database."""
        engine = create_engine(f"sqlite:///{self.instance}/circolo.db")
        try:
            with engine.connect() as connection:
                return [dict(row._mapping) for row in connection.execute(text(sql), params)]
        finally:
            engine.dispose()

    def wait_for(self, sql: str, *, timeout: float = 120, **params: Any) -> list[dict[str, Any]]:
        """Poll a query until it returns rows; return them."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query(sql, **params)
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
