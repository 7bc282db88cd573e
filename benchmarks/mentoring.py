"""Benchmark mentoring: rule evaluation on a MOOC-sized course, and exactly-once delivery.

    .venv/bin/python benchmarks/mentoring.py                       # 20 000 learners, 100 000 posts
    .venv/bin/python benchmarks/mentoring.py --learners 2000 --posts 10000 --messages 200

1. Rules: `rules.evaluate` on facts from the shared generator (`tests/doubles/community.py`),
   with the default caps and with caps lifted (every rule decides everything it wants). The
   same-run baseline is building the facts' indexes alone (one pass over the posts), the floor
   any evaluation pays.
2. Delivery: `deliver_due` of N outbox messages on SQLite against the Moodle web-service double
   (in process, no sockets), and the baseline of the same N sends through the Moodle client with
   no outbox at all: the difference is what exactly-once bookkeeping costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import responses  # noqa: E402

from middleware.db import Database  # noqa: E402
from middleware.mentoring import delivery  # noqa: E402
from middleware.mentoring.facts import History, RuleSettings  # noqa: E402
from middleware.mentoring.moodle_port import MoodleMessaging  # noqa: E402
from middleware.mentoring.rules import evaluate  # noqa: E402
from middleware.models import (  # noqa: E402
    Base,
    Course,
    MentoringPrompt,
    OutboxMessage,
    Person,
    Platform,
)
from middleware.moodle.schemas import OutgoingMessage  # noqa: E402
from middleware.moodle.service import MoodleClient  # noqa: E402
from tests.doubles.community import generate_community  # noqa: E402
from tests.doubles.moodle_ws import DEFAULT_TOKEN, MoodleDouble, mock_double  # noqa: E402
from tests.mentoring.community_facts import at, facts_of  # noqa: E402

URL = "http://moodle.bench"


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def bench_rules(args) -> None:
    community = generate_community(seed=1, learners=args.learners,
                                   discussions=args.discussions, posts=args.posts, weeks=6)
    now = at(community.now) + timedelta(hours=1)
    print(f"course: {args.learners} learners, {args.discussions} discussions, "
          f"{args.posts} posts")

    def indexes_only():
        facts = facts_of(community, ranked=12)
        facts.posts_by_discussion, facts.posts_by_author  # noqa: B018
        return facts

    baseline, _ = timed(indexes_only, args.repeat)
    print(f"  baseline (facts and their indexes):  {baseline * 1000:8.1f} ms")
    for label, settings in (
            ("evaluate, default caps", RuleSettings()),
            ("evaluate, caps lifted", RuleSettings(learner_weekly_cap=10_000,
                                                   ambassador_weekly_cap=10_000,
                                                   course_daily_cap=1_000_000))):
        def run(settings=settings):
            return evaluate(indexes_only(), settings, History(), now)

        seconds, evaluation = timed(run, args.repeat)
        print(f"  {label:<36} {seconds * 1000:8.1f} ms  (+{(seconds - baseline) * 1000:.1f} ms "
              f"over the baseline; {len(evaluation.decisions)} decisions, "
              f"{len(evaluation.skipped)} refused by the policy)")


def bench_delivery(args) -> None:
    community = generate_community(seed=2, learners=max(args.messages, 20), discussions=20,
                                   posts=60)
    learners = [u for u in community.learners if u.enrolled][: args.messages]
    with tempfile.TemporaryDirectory() as scratch, responses.RequestsMock() as mock:
        double = MoodleDouble(community)
        mock_double(mock, double, URL)
        db = Database(f"sqlite:///{scratch}/bench.db")
        Base.metadata.create_all(db.engine)
        with db.session() as session:
            platform = Platform(issuer=URL, client_id="bench", auth_login_url=URL,
                                auth_token_url=URL, key_set_url=URL)
            session.add(platform)
            session.flush()
            course = Course(platform_id=platform.id, context_id="2", moodle_course_id=2)
            session.add(course)
            session.flush()
            for index in range(args.messages):
                user = learners[index % len(learners)]
                person = Person(platform_id=platform.id, subject=f"{user.id}-{index}",
                                moodle_user_id=user.id)
                session.add(person)
                session.flush()
                prompt = MentoringPrompt(course_id=course.id, rule="unanswered",
                                         kind="route_peer", recipient_id=person.id)
                session.add(prompt)
                session.flush()
                item = OutboxMessage(prompt_id=prompt.id, course_id=course.id,
                                     recipient_id=person.id, moodle_user_id=user.id)
                session.add(item)
                session.flush()
                item.text = f"<p>Benchmark prompt</p><p>ref {item.reference}</p>"
            session.commit()

        def client():
            return MoodleClient(URL, DEFAULT_TOKEN, retries=0)

        bot = community.service_user.id
        started = time.perf_counter()
        plain = client()
        for index in range(args.messages):
            user = learners[index % len(learners)]
            plain.send_instant_messages([OutgoingMessage(user.id, "<p>baseline</p>", 1,
                                                         f"base{index}")])
        baseline = time.perf_counter() - started

        port = MoodleMessaging(client(), bot)
        double.reset_stats()
        started = time.perf_counter()
        with db.session() as session:
            report = delivery.deliver_due(session, lambda course: port, limit=args.messages)
        outbox = time.perf_counter() - started
        db.dispose()
    per = args.messages
    print(f"delivery of {per} messages (SQLite, Moodle double in process):")
    print(f"  baseline: sends with no outbox         {baseline * 1000 / per:7.2f} ms/message")
    print(f"  outbox, exactly once                   {outbox * 1000 / per:7.2f} ms/message "
          f"({len(report.sent)} sent; Moodle calls per message: "
          f"{double.total_calls / per:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=20_000)
    parser.add_argument("--discussions", type=int, default=5_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_rules(args)
    bench_delivery(args)


if __name__ == "__main__":
    main()
