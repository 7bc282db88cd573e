"""Fixtures for the pane and dashboard browser tests: a seeded course in the served Circolo,
pages of a given width, opening Circolo top-level, and axe-core checks.

Import them in a test module with ``from tests.browser.pages_fixtures import *  # noqa``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from middleware.analytics.operations import refresh_course_analytics
from middleware.config import PROJECT_ROOT
from middleware.models import (
    LEARNER,
    TEACHER,
    Ambassador,
    Course,
    Discussion,
    Enrolment,
    Forum,
    MentoringPrompt,
    Person,
    Platform,
    Post,
    utcnow,
)

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The WCAG 2.1 A and AA rules of axe-core.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: The double's course (context id) and people: Moodle user id → (name, role).
COURSE_CONTEXT = "2"
PEOPLE = {
    "3": ("Carla Verdi", TEACHER), "6": ("Marco Bianchi", LEARNER),
    "8": ("Luca Colombo", LEARNER), "11": ("Chiara Greco", LEARNER),
    "12": ("Matteo Bruno", LEARNER), "14": ("Davide Conti", LEARNER),
    "17": ("Martina Costa", LEARNER), "27": ("Anna Caruso", LEARNER),
}


SEEDED_FORUM = 9
#: The seeded discussions: key → (author's Moodle id, title, days ago).
DISCUSSIONS = {
    "exposure": ("11", "Come si sceglie l'esposizione?", 9),
    "rubric": ("8", "Come viene valutato il progetto?", 6),
    "lenses": ("14", "Quale obiettivo per i ritratti?", 2),
    "intro": ("17", "Ciao a tutti, sono Martina", 4),
}


def _engine_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class SeededCourse:
    """The double's course inside the served Circolo, with people, posts and prompts."""

    sessions: sessionmaker
    course_id: int
    people: dict[str, int] = field(default_factory=dict)  # Moodle user id → person id
    discussions: dict[str, int] = field(default_factory=dict)

    def session(self) -> Session:
        return self.sessions()

    def add_prompt(self, recipient: str, *, status: str, body: str, rule: str = "unanswered",
                   kind: str = "route_peer", discussion: str | None = "lenses") -> int:
        with self.sessions.begin() as db:
            prompt = MentoringPrompt(
                course_id=self.course_id, rule=rule, kind=kind,
                recipient_id=self.people[recipient], status=status, body=body,
                discussion_id=self.discussions.get(discussion) if discussion else None,
                reason_code="unanswered_24h", lang="it",
                sent_at=utcnow() if status == "sent" else None)
            db.add(prompt)
            db.flush()
            return prompt.id


def _seed(db: Session) -> SeededCourse:
    platform = db.scalars(select(Platform).order_by(Platform.id.desc())).first()
    assert platform is not None, "the browser harness registers the Moodle double first"
    course = db.scalar(select(Course).where(Course.platform_id == platform.id,
                                            Course.context_id == COURSE_CONTEXT))
    if course is None:
        course = Course(platform_id=platform.id, context_id=COURSE_CONTEXT, moodle_course_id=2,
                        title="Comunicazione digitale", active=True, activated_at=utcnow())
        db.add(course)
        db.flush()
    people: dict[str, int] = {}
    for subject, (name, role) in PEOPLE.items():
        person = db.scalar(select(Person).where(Person.platform_id == platform.id,
                                                Person.subject == subject))
        if person is None:
            person = Person(platform_id=platform.id, subject=subject,
                            moodle_user_id=int(subject), fullname=name, lang="it")
            db.add(person)
            db.flush()
        if db.scalar(select(Enrolment).where(Enrolment.course_id == course.id,
                                             Enrolment.person_id == person.id)) is None:
            db.add(Enrolment(course_id=course.id, person_id=person.id, role=role))
        people[subject] = person.id
    titles = {key: title for key, (_author, title, _days) in DISCUSSIONS.items()}
    existing = db.scalar(select(Forum).where(Forum.course_id == course.id,
                                             Forum.moodle_forum_id == SEEDED_FORUM))
    if existing is not None:
        # Seeded already in this run (each test module gets its own copy of this fixture).
        by_title = dict(db.execute(select(Discussion.name, Discussion.id).where(
            Discussion.forum_id == existing.id)).all())
        return SeededCourse(sessionmaker(db.get_bind(), expire_on_commit=False), course.id,
                            people, {key: by_title[title] for key, title in titles.items()})
    forum = Forum(course_id=course.id, moodle_forum_id=SEEDED_FORUM, name="Domande e risposte")
    db.add(forum)
    db.flush()
    ids = count(5000)
    discussions: dict[str, int] = {}
    now = utcnow()

    def discussion(key: str, author: str, title: str, days_ago: float) -> Post:
        moodle_id = next(ids)
        item = Discussion(forum_id=forum.id, course_id=course.id, moodle_discussion_id=moodle_id,
                          first_post_moodle_id=moodle_id, name=title,
                          author_id=people[author], created_at=now - timedelta(days=days_ago))
        db.add(item)
        db.flush()
        discussions[key] = item.id
        return post(key, author, f"<p>{title}</p>", None, days_ago, moodle_id=moodle_id)

    def post(key: str, author: str, html: str, parent: Post | None, days_ago: float, *,
             private: bool = False, moodle_id: int | None = None) -> Post:
        item = Post(discussion_id=discussions[key], course_id=course.id,
                    moodle_post_id=moodle_id or next(ids),
                    parent_moodle_id=parent.moodle_post_id if parent else None,
                    author_id=people[author], subject="Re", message_html=html,
                    message_text=html, created_at=now - timedelta(days=days_ago),
                    private_reply=private)
        db.add(item)
        db.flush()
        return item

    exposure = discussion("exposure", *DISCUSSIONS["exposure"])
    answer = post("exposure", "6", "<p>Guarda l'istogramma</p>", exposure, 8.5)
    post("exposure", "11", "<p>Grazie Marco!</p>", answer, 8)
    post("exposure", "12", "<p>Anche io avevo lo stesso dubbio</p>", exposure, 7)
    post("exposure", "27", "<p>Risposta privata per Chiara</p>", exposure, 6, private=True)
    rubric = discussion("rubric", *DISCUSSIONS["rubric"])
    post("rubric", "3", "<p>Trovate la griglia nella sezione 2</p>", rubric, 5.5)
    post("rubric", "6", "<p>Grazie prof</p>", rubric, 5)
    discussion("lenses", *DISCUSSIONS["lenses"])
    discussion("intro", *DISCUSSIONS["intro"])
    db.add(Ambassador(course_id=course.id, person_id=people["6"], status="suggested", score=0.9))
    db.flush()
    # What the worker does after a sync: the dashboard only reads stored results.
    refresh_course_analytics(db, course.id)
    return SeededCourse(sessionmaker(db.get_bind(), expire_on_commit=False), course.id, people,
                        discussions)


@pytest.fixture(scope="session")
def seeded_course(circolo: Any) -> Iterator[SeededCourse]:
    """The double's course in the served Circolo, seeded once per test session."""
    engine = create_engine(_engine_url(circolo.env["CIRCOLO_DATABASE_URL"]))
    with sessionmaker(engine).begin() as db:
        seeded = _seed(db)
    seeded.sessions = sessionmaker(engine, expire_on_commit=False)
    yield seeded
    engine.dispose()


@pytest.fixture
def sized_page(browser: Any, request: pytest.FixtureRequest,
               screenshot: Callable[[Any, str], Path | None]) -> Iterator[Callable[..., Any]]:
    """Return a function opening a fresh page `width` px wide (`bypass_csp` for axe-core)."""
    contexts: list[Any] = []

    def open_page(width: int, height: int = 900, *, bypass_csp: bool = False) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height},
                                      bypass_csp=bypass_csp)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for index, context in enumerate(contexts):
        for page in context.pages:
            screenshot(page, f"end-{index}")
        context.close()


def open_top_level(page: Any, frame: Any) -> Any:
    """Follow the pane's "open in a new window" link in `page` itself: Circolo top-level."""
    href = frame.locator("a[target=_blank][href*='/lti/']").first.get_attribute("href")
    base = frame.url.split("/", 3)[:3]
    page.goto("/".join(base) + href if href.startswith("/") else href)
    page.wait_for_load_state()
    return page


def run_axe(target: Any) -> list[dict[str, Any]]:
    """Run axe-core's WCAG 2.1 AA rules in a page or frame; return serious/critical violations."""
    assert AXE.exists(), f"{AXE} is missing: run `npm ci` (make test does)"
    target.add_script_tag(path=str(AXE))
    result = target.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def no_horizontal_scroll(target: Any) -> bool:
    """Tell whether the document fits its viewport's width (nothing to scroll sideways)."""
    return target.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


__all__ = ["AXE", "PEOPLE", "SeededCourse", "no_horizontal_scroll", "open_top_level", "run_axe",
           "seeded_course", "sized_page"]
