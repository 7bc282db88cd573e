"""See Circolo in a browser without a Moodle: `make demo`.

Starts the Moodle doubles (the LTI 1.3 platform and the web services) serving a generated Italian
course, registers them in a demo instance of Circolo (instance/demo), syncs the course, runs the
analytics and the mentoring rules, starts Circolo with its worker on 127.0.0.1:8000 and prints
two links: open the course as a learner, open it as the teacher. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from middleware import create_app  # noqa: E402
from middleware.config import Settings  # noqa: E402
from tests.doubles.community import generate_community  # noqa: E402
from tests.doubles.lti_platform import start_platform  # noqa: E402
from tests.doubles.moodle_ws import MoodleDouble, start_double  # noqa: E402

TOKEN = "demo-web-service-token"  # noqa: S105 - the local double's, never a real one
TEACHER = "3"  # Carla Verdi, the course's editing teacher in the generated community


def environment(instance: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCOLO_")}
    env.update(
        CIRCOLO_ENV="development", CIRCOLO_INSTANCE_PATH=str(instance),
        CIRCOLO_DATABASE_URL=f"sqlite:///{instance}/circolo.db",
        CIRCOLO_QUEUE_URL=f"sqlite:///{instance}/queue.db",
        CIRCOLO_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", CIRCOLO_BIND=f"127.0.0.1:{port}",
        CIRCOLO_WEB_WORKERS="1", CIRCOLO_QUEUE_WORKERS="1", CIRCOLO_LOG_LEVEL="WARNING",
        PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
    return env


def run_cli(runner, *args: str) -> str:
    result = runner.invoke(args=["circolo", *args])
    if result.exit_code != 0:
        raise SystemExit(f"flask circolo {' '.join(args[:2])} failed:\n{result.output}")
    return result.output


def prepare(app, platform, tool, ws_url: str, community) -> tuple[int, str]:
    """Register the doubles, sync the course, analyse it and run the rules; return the course
    id and the Moodle id of a learner worth opening the pane as."""
    from sqlalchemy import select

    from middleware.analytics.operations import refresh_course_analytics
    from middleware.db import database
    from middleware.mentoring.operations import evaluate_course_rules
    from middleware.models import Course, MentoringPrompt, Person, Platform, utcnow

    runner = app.test_cli_runner()
    with app.app_context():
        run_cli(runner, "db", "upgrade")
        run_cli(runner, "platform", "add", "--issuer", platform.issuer, "--client-id",
                tool.client_id, "--deployment-id", tool.type_id, "--auth-login-url",
                platform.auth_url, "--auth-token-url", platform.token_url, "--key-set-url",
                platform.jwks_url, "--name", "Moodle (demo)")
        with database().transaction() as session:
            stored = session.scalar(select(Platform).where(Platform.issuer == platform.issuer))
            # What the first launch would do: the course becomes active for the sync.
            course = Course(platform_id=stored.id, context_id=platform.course_id,
                            moodle_course_id=int(platform.course_id),
                            title=platform.course_title, label=platform.course_label,
                            active=True, activated_at=utcnow())
            session.add(course)
            session.flush()
            course_id = course.id
        run_cli(runner, "moodle", "connect", "--platform", platform.issuer, "--url", ws_url,
                "--token", TOKEN, "--course", platform.course_id)
        print(run_cli(runner, "moodle", "sync", str(course_id)).strip())
        with database().transaction() as session:
            views = refresh_course_analytics(session, course_id)
            print(f"analytics: {len(views)} views of the course analysed")
        with database().transaction() as session:
            summary = evaluate_course_rules(session, course_id)
            print(f"rules: {summary.queued} prompts queued, {summary.for_review} for review, "
                  f"{summary.suggested} ambassador candidates")
            asked = session.scalar(
                select(Person.subject).join(MentoringPrompt,
                                            MentoringPrompt.recipient_id == Person.id)
                .where(MentoringPrompt.course_id == course_id,
                       MentoringPrompt.kind == "route_peer").limit(1))
    learner = asked or str(sorted(community.experts)[0] if community.experts
                           else community.learners[0].id)
    return course_id, learner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="Circolo's port (8000)")
    parser.add_argument("--moodle-port", type=int, default=8081, help="the LTI platform double")
    parser.add_argument("--ws-port", type=int, default=8082, help="the web-service double")
    parser.add_argument("--learners", type=int, default=36)
    parser.add_argument("--instance", type=Path, default=ROOT / "instance" / "demo")
    parser.add_argument("--setup-only", action="store_true",
                        help="prepare and print the links, then stop (for checks)")
    args = parser.parse_args(argv)

    if args.instance.exists():
        for name in ("circolo.db", "circolo.db-wal", "circolo.db-shm", "queue.db"):
            (args.instance / name).unlink(missing_ok=True)
    args.instance.mkdir(parents=True, exist_ok=True)
    env = environment(args.instance.resolve(), args.port)

    community = generate_community(seed=7, learners=args.learners, discussions=70, posts=420,
                                   weeks=8, now=int(time.time()) - 3600)
    ws = start_double(MoodleDouble(community, token=TOKEN), args.ws_port)
    platform = start_platform(port=args.moodle_port, community=community)
    tool = platform.add_tool(base_url=f"http://127.0.0.1:{args.port}", client_id="circolo-demo")
    server = None
    try:
        app = create_app(Settings.from_env(env))
        # The doubles serve from this process: their request lines would bury the links.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        course_id, learner = prepare(app, platform, tool, ws.url, community)
        if not args.setup_only:
            server = subprocess.Popen([str(ROOT / "scripts" / "entrypoint.sh"), "all"], env=env,
                                      start_new_session=True)
            wait_until_up(f"http://127.0.0.1:{args.port}/healthz", server)
        name = platform.users[learner].name if learner in platform.users else learner
        print("\nCircolo demo: a generated Italian course "
              f"({len(community.learners)} learners, {len(community.posts)} posts).")
        print(f"  Open as a learner ({name}):  "
              f"{platform.course_page_url(learner, locale='it', link_id='1')}")
        print(f"  Open as the teacher:          "
              f"{platform.course_page_url(TEACHER, locale='it', link_id='2')}")
        print("Ctrl-C stops the demo.")
        sys.stdout.flush()
        if server is not None:
            wait_for_interrupt(server)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        platform.stop()
        ws.stop()
    print(f"(course {course_id} kept in {args.instance})")
    return 0


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 90) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("Circolo stopped while starting; see the lines above.")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"Circolo did not answer {url} within {timeout:.0f} s.")


def wait_for_interrupt(server: subprocess.Popen) -> None:
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
    try:
        while not stopping["now"] and server.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    raise SystemExit(main())
