"""The pane and the dashboard ask the database the same number of questions for a big course as
for a small one: nothing on them is read one row (prompt, candidate, question) at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, select

from middleware.analytics.operations import refresh_course_analytics
from middleware.db import database
from middleware.models import Ambassador, AnalyticsSnapshot, MentoringPrompt, Post, utcnow

#: What each page needs at most, whatever the course's size (counted on the small course below).
PANE_MAX_QUERIES = 22
DASHBOARD_MAX_QUERIES = 15


@pytest.fixture
def statements(app) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the test runs."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


def grow(course, first: int, count: int) -> None:
    """Add `count` learners, each with a question nobody answered, a reply in Giulia's
    discussion, a prompt and a thank-you to Giulia about their question, an ambassador's role,
    a place among the analysed candidates; then analyse the course."""
    session = course.session
    marco_answer = session.scalar(select(Post).where(
        Post.discussion_id == course.discussions["exposure"].id,
        Post.author_id == course.people["marco"].id))
    giulia = course.people["giulia"].id
    newcomers = []
    for n in range(first, first + count):
        key = f"learner{n}"
        person = course.person(key, f"Learner Number{n}")
        course.post("exposure", key, "<p>Vero!</p>", parent=marco_answer)
        course.discussion(key, key, f"Domanda {n}?", days_ago=2)
        discussion_id = course.discussions[key].id
        for kind in ("route_peer", "recognition"):
            session.add(MentoringPrompt(
                course_id=course.course.id, rule="unanswered", kind=kind, recipient_id=giulia,
                discussion_id=discussion_id, status="sent", body=f"Puoi aiutare {n}? {{link}}",
                created_at=utcnow(), sent_at=utcnow()))
        session.add(Ambassador(course_id=course.course.id, person_id=person.id,
                               status="active" if n % 2 else "invited"))
        newcomers.append((person.id, discussion_id, f"Domanda {n}?"))
    session.commit()
    refresh_course_analytics(session, course.course.id)
    for snapshot in session.scalars(select(AnalyticsSnapshot).where(
            AnalyticsSnapshot.course_id == course.course.id)):
        candidates = dict(snapshot.candidates)
        candidates["unanswered"] = [
            {"discussion_id": discussion_id, "title": title, "created": utcnow().isoformat(),
             "author_id": person_id, "peers": [{"person_id": giulia}]}
            for person_id, discussion_id, title in newcomers]
        candidates["ambassadors"] = [{"person_id": person_id} for person_id, *_ in newcomers]
        snapshot.candidates = candidates
    session.commit()


def count(statements: list[str], client, path: str) -> int:
    """Count the statements of one request, on a session of its own (in tests, requests would
    otherwise share the test's application context, its session and what that already holds)."""
    with client.app.app_context():
        statements.clear()
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def test_the_pane_asks_as_much_of_a_big_course_as_of_a_small_one(small_course, launch_as,
                                                                  statements):
    grow(small_course, 1, 1)
    small = count(statements, launch_as("giulia"), "/pane")
    grow(small_course, 2, 40)
    html = launch_as("giulia").get("/pane").get_data(as_text=True)
    assert "Domanda 2?" in html and "Puoi aiutare" in html and "Learner Number" in html
    big = count(statements, launch_as("giulia"), "/pane")
    assert big == small
    assert big <= PANE_MAX_QUERIES


def test_the_dashboard_asks_as_much_of_a_big_course_as_of_a_small_one(small_course, launch_as,
                                                                       statements):
    grow(small_course, 1, 1)
    small = {window: count(statements, launch_as("carla"), f"/dashboard?window={window}")
             for window in ("7d", "30d", "all")}
    grow(small_course, 2, 40)
    html = launch_as("carla").get("/dashboard?window=all").get_data(as_text=True)
    assert "Learner Number" in html and "Domanda 2?" in html
    big = {window: count(statements, launch_as("carla"), f"/dashboard?window={window}")
           for window in ("7d", "30d", "all")}
    assert big == small
    assert max(big.values()) <= DASHBOARD_MAX_QUERIES
