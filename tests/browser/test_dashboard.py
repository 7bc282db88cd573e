"""The teacher dashboard in headless Chromium, launched from the Moodle double's course page."""

from __future__ import annotations

from sqlalchemy import select

from middleware.models import Ambassador, MentoringPrompt
from tests.browser.pages_fixtures import *  # noqa: F403
from tests.browser.pages_fixtures import no_horizontal_scroll, open_top_level


def _circolo(page, landed):
    base = landed.url.split("/dashboard")[0]
    return next(f for f in page.frames if f.url.startswith(base) and f is not page.main_frame)


def test_a_teacher_sees_the_community_dashboard(sized_page, launch, seeded_course, screenshot):
    page = sized_page(1280, 900)
    landed = launch(page, "3", locale="en", link_id="2")
    frame = landed.frame
    assert landed.path == "/dashboard" and landed.status == 200
    assert frame.get_by_role("heading", level=1).inner_text() == "Community dashboard"
    network = frame.get_by_role("img", name="Who replies to whom")
    assert network.is_visible()
    assert "Learners who wrote" in frame.locator("#health").inner_text()
    frame.get_by_text("The network as a table").click()
    table = frame.get_by_role("table", name="People, their role and their replies")
    assert "Chiara Greco" in table.inner_text()
    assert "Quale obiettivo per i ritratti?" in frame.locator("#attention").inner_text()
    frame.get_by_label("Hide learners' names").check()
    frame.get_by_role("button", name="Show").click()
    frame = _circolo(page, landed)
    frame.wait_for_url("**pseudonymise=1**")
    assert "Chiara Greco" not in frame.locator("main").inner_text()
    open_top_level(page, frame)
    page.get_by_text("The network as a table").click()
    screenshot(page, "dashboard-1280")


def test_approving_a_prompt_from_the_review_queue(page, launch, seeded_course):
    prompt_id = seeded_course.add_prompt(
        "6", status="review", body="Marco, Davide chiede quale obiettivo usare: puoi aiutarlo?")
    landed = launch(page, "3", locale="en", link_id="2")
    frame = landed.frame
    item = frame.locator("#prompts li", has_text="puoi aiutarlo?")
    item.get_by_role("button", name="Send").click()
    frame = _circolo(page, landed)
    frame.wait_for_url("**done=prompt_sent**")
    assert "Prompt approved" in frame.locator("[role=status]").inner_text()
    assert "puoi aiutarlo?" not in frame.locator("#prompts").inner_text()
    with seeded_course.session() as db:
        prompt = db.get(MentoringPrompt, prompt_id)
        assert prompt.status == "queued" and prompt.reviewed_by_id == seeded_course.people["3"]


def test_approving_an_ambassador_candidate(page, launch, seeded_course):
    landed = launch(page, "3", locale="en", link_id="2")
    frame = landed.frame
    candidates = frame.locator("#ambassadors")
    item = candidates.locator("li", has_text="Marco Bianchi")
    item.get_by_role("button", name="Approve").click()
    frame = _circolo(page, landed)
    frame.wait_for_url("**done=approved**")
    with seeded_course.session() as db:
        status = db.scalar(select(Ambassador.status).where(
            Ambassador.person_id == seeded_course.people["6"]))
    assert status == "invited"


def test_the_dashboard_at_320_px(sized_page, launch, seeded_course, screenshot):
    page = sized_page(320, 640)
    landed = launch(page, "3", locale="it", link_id="2")
    open_top_level(page, landed.frame)
    assert no_horizontal_scroll(page)
    assert page.get_by_role("img", name="Chi risponde a chi").is_visible()
    screenshot(page, "dashboard-320")
