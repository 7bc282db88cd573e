"""Load-test Circolo under gunicorn with its production settings: LTI launches and pages.

    .venv/bin/python benchmarks/load.py [--learners 2000] [--launches 400] [--concurrency 8]
                                        [--duration 60] [--page-requests 200]

Circolo runs through `scripts/entrypoint.sh web` (gunicorn, `deploy/gunicorn.conf.py`,
CIRCOLO_WEB_WORKERS × CIRCOLO_WEB_THREADS as in production) with CIRCOLO_ENV=production and its
secrets given by environment, on 127.0.0.1. Production demands an https public URL, so Circolo
is told it is https://circolo.bench.test behind a TLS proxy: the load generator sends
`X-Forwarded-Proto: https` (trusted from 127.0.0.1, as gunicorn is configured) and maps that
origin to the local port, keeping cookies itself (Secure cookies over the local hop).
Its database is PostgreSQL when CIRCOLO_DATABASE_URL says so or one answers on 127.0.0.1:5432
(a throwaway database, dropped afterwards), else SQLite.

Seeding: a generated 2 000-learner course (`tests/doubles/community.py`) served by the Moodle
web-service double in its own process is synced (full) and analysed, as the worker would.
The LTI platform double (`tests/doubles/lti_platform`) signs every launch with RS256.

Load: a thread pool performs the full login + launch as many users (learners of the course,
round robin): POST /lti/login (the platform's login initiation) → the platform's auth.php →
the id_token form_post to /lti/launch → the redirect to the learner pane, followed. Bounded by
--launches and --duration. Then GET /pane (learners' sessions) and GET /dashboard (a teacher's
session) under the same concurrency. Same run, same gunicorn settings, another port: the
baseline, pylti1p3's FlaskOIDCLogin + FlaskMessageLaunch validating the same platform's
launches (`benchmarks/pylti1p3_baseline.py`). The table gives launches per second, latency
percentiles and error counts (any non-expected status is an error; there must be none).
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urljoin

os.environ["CIRCOLO_QUEUE_URL"] = "memory://"  # this process only seeds: no queue touched
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from middleware import create_app  # noqa: E402
from middleware.config import Settings  # noqa: E402
from middleware.db import database  # noqa: E402
from tests.doubles.community import generate_community  # noqa: E402
from tests.doubles.lti_platform import RESOURCE_LINK, start_platform  # noqa: E402
from tests.doubles.moodle_ws import spawn_double  # noqa: E402

ENTRYPOINT = ROOT / "scripts" / "entrypoint.sh"
PUBLIC = "https://circolo.bench.test"
BASELINE_PUBLIC = "https://baseline.bench.test"
TOKEN = "load-benchmark-token"
HEADERS = {"X-Forwarded-Proto": "https",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 circolo-load"}
_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form action="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- database ---------------------------------------------------------------------------------

def pick_database(workdir: Path) -> tuple[str, str, Callable[[], None]]:
    """(url, description, cleanup): a throwaway PostgreSQL database if one answers, else SQLite."""
    candidates = [os.environ.get("CIRCOLO_DATABASE_URL", ""),
                  "postgresql://postgres@127.0.0.1:5432/test"]
    for admin in candidates:
        if not admin.startswith(("postgresql", "postgres://")):
            continue
        admin = Settings.from_env({"CIRCOLO_DATABASE_URL": admin,
                                   "CIRCOLO_INSTANCE_PATH": str(workdir / "admin")}).database_url
        try:
            engine = create_engine(admin, isolation_level="AUTOCOMMIT",
                                   connect_args={"connect_timeout": 3})
            name = f"circolo_load_{secrets.token_hex(4)}"
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception:  # noqa: BLE001, S112 - no PostgreSQL here: try the next, then SQLite
            continue
        url = f"{admin.rpartition('/')[0]}/{name}"

        def drop(engine=engine, name=name) -> None:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :n"), {"n": name})
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            engine.dispose()

        return url, "PostgreSQL", drop
    return f"sqlite:///{workdir}/circolo.db", "SQLite", lambda: None


# --- servers ----------------------------------------------------------------------------------

class Served:
    """A gunicorn process (Circolo's entrypoint or the baseline), logging to a file."""

    def __init__(self, command: list[str], env: dict[str, str], port: int, log: Path,
                 health: str) -> None:
        self.local = f"http://127.0.0.1:{port}"
        self.log = log
        with open(log, "wb") as handle:
            self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{command[0]} exited:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(self.local + health, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{command} did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def circolo_environment(workdir: Path, database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCOLO_", "PROMETHEUS"))}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env.update(CIRCOLO_ENV="production", CIRCOLO_INSTANCE_PATH=str(workdir / "instance"),
               CIRCOLO_DATABASE_URL=database_url,
               CIRCOLO_QUEUE_URL=f"sqlite:///{workdir}/queue.db",
               CIRCOLO_SECRET_KEY=secrets.token_urlsafe(48),
               CIRCOLO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
               CIRCOLO_PUBLIC_BASE_URL=PUBLIC, CIRCOLO_BIND=f"127.0.0.1:{port}",
               CIRCOLO_LOG_LEVEL="WARNING", CIRCOLO_MIGRATE="0")
    return env


def seed(env: dict[str, str], platform, tool, double_url: str, community) -> int:
    """Register the platform, connect the Moodle double, sync and analyse the course."""
    from middleware.analytics.operations import refresh_course_analytics
    from middleware.lti.operations import add_platform
    from middleware.models import Course, MoodleConnection
    from middleware.moodle.operations import encrypt_token
    from middleware.sync.operations import run_sync

    settings = Settings.from_env(env).with_overrides(queue_url="memory://")
    app = create_app(settings)
    # create_app set up JSON logging for this process: keep the platform double's access log out.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with app.app_context(), database(app).session() as session:
        registered, _ = add_platform(
            session, issuer=platform.issuer, client_id=tool.client_id,
            auth_login_url=platform.auth_url, auth_token_url=platform.token_url,
            key_set_url=platform.jwks_url, name="Moodle double", deployment_ids=[tool.type_id])
        session.add(MoodleConnection(
            platform_id=registered.id, url=double_url + "/webservice/rest/server.php",
            token_ciphertext=encrypt_token(settings.encryption_key, TOKEN),
            service_user_id=community.service_user.id))
        course = Course(platform_id=registered.id, context_id=platform.course_id,
                        moodle_course_id=int(platform.course_id), title=platform.course_title,
                        label=platform.course_label, active=True)
        session.add(course)
        session.commit()
        started = time.perf_counter()
        run = run_sync(session, course.id, key=settings.encryption_key, full=True,
                       checkpoint=session.commit)
        assert run is not None and run.status == "succeeded", run and run.error
        synced = time.perf_counter() - started
        started = time.perf_counter()
        refresh_course_analytics(session, course.id)
        session.commit()
        print(f"seeded: sync {synced:.1f}s ({run.calls} calls, {run.changed} rows), "
              f"analysis {time.perf_counter() - started:.1f}s")
        course_id = course.id
    database(app).dispose()
    return course_id


# --- one simulated browser --------------------------------------------------------------------

@dataclass
class Browser:
    """A browser's cookies for one site, kept by hand (Secure cookies over the local http hop)."""

    public: str
    local: str
    http: requests.Session
    cookies: dict[str, str] = field(default_factory=dict)

    def to_local(self, url: str) -> str:
        url = urljoin(self.public + "/", url)
        return self.local + url[len(self.public):] if url.startswith(self.public) else url

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        headers = dict(HEADERS)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, self.to_local(url), headers=headers,
                                     allow_redirects=False, timeout=30, **kwargs)
        for cookie in response.cookies:
            if cookie.value:
                self.cookies[cookie.name] = cookie.value
            else:
                self.cookies.pop(cookie.name, None)
        return response


def auto_post(page: str) -> tuple[str, dict[str, str]]:
    action = _ACTION.search(page)
    if action is None:
        raise ValueError("no auto-post form")
    return (html.unescape(action.group(1)),
            {html.unescape(k): html.unescape(v) for k, v in _INPUT.findall(page)})


def login_and_launch(platform, tool, user_id: str, link_id: str, browser: Browser,
                     expect: str, *, land: bool = True) -> tuple[float, float, str]:
    """Run one launch; return (seconds to the launch's redirect, seconds with the landing page,
    landing URL). Raises on anything unexpected."""
    _launch, initiation = platform.start_launch(platform.users[user_id], tool, RESOURCE_LINK,
                                                link_id, None)
    platform_http = browser.http
    started = time.perf_counter()
    login = browser.request("POST", tool.initiate_login_uri, data=initiation)
    if login.status_code != 302:
        raise RuntimeError(f"login {login.status_code}: {login.text[:200]}")
    auth = platform_http.get(login.headers["Location"], timeout=30)
    if auth.status_code != 200:
        raise RuntimeError(f"auth {auth.status_code}: {auth.text[:200]}")
    action, fields = auto_post(auth.text)
    if "id_token" not in fields:
        raise RuntimeError(f"platform refused: {fields}")
    launch = browser.request("POST", action, data=fields)
    if launch.status_code != 302:
        raise RuntimeError(f"launch {launch.status_code}: {launch.text[:300]}")
    launched = time.perf_counter() - started
    landing = browser.to_local(launch.headers["Location"])
    if expect and expect not in landing:
        raise RuntimeError(f"landed on {landing}")
    if not land:
        return launched, launched, landing
    page = browser.request("GET", landing)
    if page.status_code != 200:
        raise RuntimeError(f"landing {page.status_code}: {page.text[:200]}")
    return launched, time.perf_counter() - started, landing


# --- measuring --------------------------------------------------------------------------------

@dataclass
class Figures:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        if len(ordered) == 1:
            return ordered[0]
        return statistics.quantiles(ordered, n=100, method="inclusive")[int(p) - 1]

    def row(self) -> str:
        rate = len(self.latencies) / self.wall if self.wall else 0.0
        return (f"{self.name:<46} {len(self.latencies):>6} {rate:>8.1f} "
                f"{self.percentile(50) * 1000:>8.1f} {self.percentile(95) * 1000:>8.1f} "
                f"{self.percentile(99) * 1000:>8.1f} {len(self.errors):>6}")


def run_load(count: int, concurrency: int, duration: float,
             one: Callable[[int], float | tuple[float, ...]],
             figures: list[Figures]) -> None:
    """Call `one(i)` for i < count on `concurrency` threads, stopping at `duration` seconds."""
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    started = time.perf_counter()

    def task(i: int) -> None:
        if time.monotonic() > deadline:
            return
        try:
            result = one(i)
        except Exception as error:  # noqa: BLE001 - every failure is counted, then shown
            with lock:
                for f in figures:
                    f.errors.append(f"{type(error).__name__}: {error}")
            return
        values = result if isinstance(result, tuple) else (result,)
        with lock:
            for f, value in zip(figures, values, strict=True):
                f.latencies.append(value)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(task, range(count)))
    for f in figures:
        f.wall = time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--discussions", type=int, default=300)
    parser.add_argument("--posts", type=int, default=8000)
    parser.add_argument("--launches", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--page-requests", type=int, default=200)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="circolo-load-"))
    database_url, database_kind, drop_database = pick_database(workdir)
    servers: list[Served] = []
    platform = None
    try:
        community = generate_community(seed=4, learners=args.learners,
                                       discussions=args.discussions, posts=args.posts)
        with spawn_double(token=TOKEN, seed=4, learners=args.learners,
                          discussions=args.discussions, posts=args.posts) as moodle_ws:
            platform = start_platform(community=community)
            tool = platform.add_tool(base_url=PUBLIC, client_id="circolo-load")
            baseline_tool = platform.add_tool(
                base_url=BASELINE_PUBLIC, client_id="pylti1p3-load",
                initiate_login_uri=BASELINE_PUBLIC + "/login",
                target_link_uri=BASELINE_PUBLIC + "/launch")
            port, baseline_port = free_port(), free_port()
            env = circolo_environment(workdir, database_url, port)
            subprocess.run([str(ENTRYPOINT), "migrate"], env={**env, "CIRCOLO_MIGRATE": "1"},
                           check=True,
                           capture_output=True, timeout=300)
            course_id = seed(env, platform, tool, moodle_ws.url, community)

            servers.append(Served([str(ENTRYPOINT), "web"], env, port, workdir / "circolo.log",
                                  "/healthz"))
            baseline_env = {**env, "PYLTI1P3_BASELINE_CONFIG": json.dumps({
                "issuer": platform.issuer, "client_id": baseline_tool.client_id,
                "deployment_id": baseline_tool.type_id, "auth_login_url": platform.auth_url,
                "auth_token_url": platform.token_url,
                "key_set": requests.get(platform.jwks_url, timeout=10).json(),
                "private_key": rsa.generate_private_key(public_exponent=65537, key_size=2048)
                .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()})}
            workers = env.get("CIRCOLO_WEB_WORKERS", "2")
            servers.append(Served(
                [str(ROOT / ".venv" / "bin" / "gunicorn"), "--config", "deploy/gunicorn.conf.py",
                 "--bind", f"127.0.0.1:{baseline_port}", "--workers", workers,
                 "benchmarks.pylti1p3_baseline:app"],
                baseline_env, baseline_port, workdir / "baseline.log", "/done"))
            circolo_local, baseline_local = servers[0].local, servers[1].local

            learners = [str(u.id) for u in community.learners
                        if u.enrolled and not u.deleted and str(u.id) in platform.users]
            teacher = str(community.teachers[0].id)
            local = threading.local()

            def http() -> requests.Session:
                if not hasattr(local, "http"):
                    local.http = requests.Session()
                    # Cookies are kept per simulated browser (Browser), never by the pool.
                    local.http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
                return local.http

            sessions: list[tuple[Browser, str]] = []

            def circolo_launch(i: int) -> tuple[float, float]:
                browser = Browser(PUBLIC, circolo_local, http())
                launched, full, landing = login_and_launch(
                    platform, tool, learners[i % len(learners)], "1", browser, "/pane")
                if len(sessions) < 200:
                    sessions.append((browser, landing))
                return launched, full

            def circolo_launch_alone(i: int) -> float:
                browser = Browser(PUBLIC, circolo_local, http())
                launched, _full, _ = login_and_launch(
                    platform, tool, learners[i % len(learners)], "1", browser, "/pane",
                    land=False)
                return launched

            def baseline_launch(i: int) -> float:
                browser = Browser(BASELINE_PUBLIC, baseline_local, http())
                launched, _full, _ = login_and_launch(
                    platform, baseline_tool, learners[i % len(learners)], "1", browser, "/done")
                return launched

            # Warm up both (JWKS cache, connection pools, imports in every gunicorn worker).
            run_load(20, args.concurrency, 30, circolo_launch,
                     [Figures("warm-up"), Figures("warm-up")])
            run_load(20, args.concurrency, 30, baseline_launch, [Figures("warm-up")])
            sessions.clear()

            circolo_launch_only = Figures("Circolo login+launch (to the redirect)")
            run_load(args.launches, args.concurrency, args.duration, circolo_launch_alone,
                     [circolo_launch_only])
            circolo_in_full = Figures("  the same, timed inside the full run")
            circolo_full = Figures("Circolo login+launch+pane (full)")
            run_load(args.launches, args.concurrency, args.duration, circolo_launch,
                     [circolo_in_full, circolo_full])
            baseline = Figures("pylti1p3 login+launch (to the redirect)")
            run_load(args.launches, args.concurrency, args.duration, baseline_launch,
                     [baseline])

            def pane(i: int) -> float:
                browser, landing = sessions[i % len(sessions)]
                mine = Browser(browser.public, browser.local, http(), dict(browser.cookies))
                started = time.perf_counter()
                response = mine.request("GET", landing)
                if response.status_code != 200:
                    raise RuntimeError(f"pane {response.status_code}")
                return time.perf_counter() - started

            teacher_browser = Browser(PUBLIC, circolo_local, http())
            _, _, dashboard_url = login_and_launch(platform, tool, teacher, "2",
                                                   teacher_browser, "/dashboard")

            def dashboard(i: int) -> float:
                mine = Browser(PUBLIC, circolo_local, http(), dict(teacher_browser.cookies))
                started = time.perf_counter()
                response = mine.request("GET", dashboard_url)
                if response.status_code != 200:
                    raise RuntimeError(f"dashboard {response.status_code}")
                return time.perf_counter() - started

            alone = [Figures("GET /pane, one user at a time"),
                     Figures("GET /dashboard, one user at a time")]
            run_load(30, 1, args.duration, pane, [alone[0]])
            run_load(30, 1, args.duration, dashboard, [alone[1]])
            pane_figures = Figures(f"GET /pane ({args.learners}-learner course)")
            run_load(args.page_requests, args.concurrency, args.duration, pane, [pane_figures])
            dashboard_figures = Figures(f"GET /dashboard ({args.learners}-learner course)")
            run_load(args.page_requests, args.concurrency, args.duration, dashboard,
                     [dashboard_figures])

        print()
        print(f"Circolo: gunicorn via scripts/entrypoint.sh web, CIRCOLO_ENV=production, "
              f"{workers} workers x {env.get('CIRCOLO_WEB_THREADS', '4')} threads (gthread), "
              f"{database_kind}; baseline: pylti1p3 {_version('pylti1p3')} under the same "
              f"gunicorn settings; {args.concurrency} concurrent users, "
              f"{len(learners)} learners, course {course_id}; {os.cpu_count()} CPUs shared "
              "with the platform double and this load generator")
        print(f"{'':<46} {'count':>6} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'errors':>6}")
        every = [circolo_launch_only, baseline, circolo_full, circolo_in_full, pane_figures,
                 dashboard_figures, *alone]
        for figures in every:
            print(figures.row())
        ratio = circolo_launch_only.percentile(50) / baseline.percentile(50)
        print(f"Circolo / pylti1p3 login+launch, median latency: {ratio:.2f}x; "
              f"throughput {len(circolo_launch_only.latencies) / circolo_launch_only.wall:.1f} "
              f"vs {len(baseline.latencies) / baseline.wall:.1f} launches/s")
        errors = [e for f in every for e in f.errors]
        for error in sorted(set(errors))[:10]:
            print("error:", error)
        if errors:
            sys.exit(1)
    finally:
        for server in servers:
            server.stop()
        if platform is not None:
            platform.stop()
        drop_database()
        shutil.rmtree(workdir, ignore_errors=True)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
