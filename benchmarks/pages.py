"""Time the teacher dashboard and the learner pane on a MOOC-sized course.

    .venv/bin/python benchmarks/pages.py [--people 20000] [--edges 5000] [--requests 5]

A fresh SQLite database gets one course with `--people` enrolled learners, their per-person
analytics rows and a stored snapshot with `--edges` reply links (analytics keeps at most 5 000),
as the worker leaves them after an analysis. The script then times, through the Flask test
client, GET /dashboard (the network drawn for the 150 most active people, the table capped at
300 rows) and GET /pane, and prints the median and the worst of `--requests` requests, the page
size, and the same-run baseline: GET /healthz, the cheapest page of the same app.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from middleware import create_app  # noqa: E402
from middleware.config import Settings  # noqa: E402
from middleware.db import database  # noqa: E402
from middleware.lti.session import TOKEN_HEADER, Launch, issue_launch_token, new_sid  # noqa: E402
from middleware.models import TEACHER, Base, Course, Enrolment, Person, Platform  # noqa: E402
from middleware.models.analytics import AnalyticsSnapshot, PersonMetrics  # noqa: E402


def build_course(app, people: int, edges: int, seed: int = 1) -> tuple[int, int, int, int]:
    """Store a course as the worker would leave it; return platform, course, teacher, learner."""
    rng = random.Random(seed)
    with app.app_context(), database(app).transaction() as session:
        platform = Platform(issuer="http://127.0.0.1:9", client_id="bench",
                            auth_login_url="x", auth_token_url="x", key_set_url="x")
        session.add(platform)
        session.flush()
        course = Course(platform_id=platform.id, context_id="2", title="MOOC", active=True)
        session.add(course)
        session.flush()
        session.bulk_insert_mappings(Person, [
            {"platform_id": platform.id, "subject": str(i), "fullname": f"Learner {i}"}
            for i in range(people + 1)])
        ids = [pid for (pid,) in session.query(Person.id).order_by(Person.id)]
        session.bulk_insert_mappings(Enrolment, [
            {"course_id": course.id, "person_id": pid,
             "role": TEACHER if index == 0 else "learner"} for index, pid in enumerate(ids)])
        snapshot = AnalyticsSnapshot(
            course_id=course.id, window="30d", audience="teacher",
            health={"active_learners": people // 2, "enrolled_learners": people,
                    "active_share": 0.5, "reciprocity": 0.3},
            edges=[[rng.choice(ids), rng.choice(ids), rng.randint(1, 9)] for _ in range(edges)])
        session.add(snapshot)
        session.flush()
        session.bulk_insert_mappings(PersonMetrics, [
            {"snapshot_id": snapshot.id, "person_id": pid, "role": "learner",
             "posts": rng.randint(1, 60), "replies_given": rng.randint(0, 30),
             "replies_received": rng.randint(0, 30)} for pid in ids[1:]])
        return platform.id, course.id, ids[0], ids[1]


def timed(client, path: str, headers: dict[str, str], count: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        size = len(response.data)
    return times, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--edges", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(env="test", testing=True, instance_path=Path(scratch),
                            database_url=f"sqlite:///{scratch}/bench.db", queue_url="memory://",
                            secret_key="bench", encryption_key=Fernet.generate_key().decode())
        app = create_app(settings)
        Base.metadata.create_all(database(app).engine)
        started = time.perf_counter()
        platform_id, course_id, teacher, learner = build_course(app, args.people, args.edges)
        print(f"course stored: {args.people} people, {args.edges} edges "
              f"({time.perf_counter() - started:.1f} s)")
        client = app.test_client()

        def headers(person_id: int, role: str) -> dict[str, str]:
            with app.test_request_context():
                token = issue_launch_token(Launch(
                    sid=new_sid(), platform_id=platform_id, platform_origin="http://127.0.0.1:9",
                    course_id=course_id, person_id=person_id, role=role, resource_link_id="1",
                    deployment_id="1", locale="it"))
            return {TOKEN_HEADER: token}

        rows = [
            ("GET /healthz (baseline)", *timed(client, "/healthz", {}, args.requests)),
            ("GET /dashboard", *timed(client, "/dashboard?window=30d", headers(teacher, TEACHER),
                                      args.requests)),
            ("GET /pane", *timed(client, "/pane", headers(learner, "learner"), args.requests)),
        ]
        print(f"{'page':26} {'median ms':>10} {'worst ms':>10} {'size kB':>9}")
        for name, times, size in rows:
            print(f"{name:26} {statistics.median(times) * 1000:10.1f} "
                  f"{max(times) * 1000:10.1f} {size / 1024:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
