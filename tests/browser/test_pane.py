"""The learner's pane in headless Chromium, launched from the Moodle double's course page."""

from __future__ import annotations

from sqlalchemy import select

from middleware.models import MentoringPreference, PrivacyChoice
from tests.browser.pages_fixtures import *  # noqa: F403
from tests.browser.pages_fixtures import no_horizontal_scroll, open_top_level


def test_a_learner_sees_her_community(page, launch, seeded_course, screenshot):
    landed = launch(page, "11", locale="en")
    frame = landed.frame
    assert landed.path == "/pane" and landed.status == 200
    assert "this is your course community" in frame.get_by_role("heading", level=1).inner_text()
    community = frame.locator("#community")
    assert "Marco Bianchi" in community.inner_text()  # they exchanged replies
    assert "Matteo Bruno" in community.inner_text()
    help_section = frame.locator("#help")
    assert "Quale obiettivo per i ritratti?" in help_section.inner_text()
    assert "Risposta privata" not in frame.content()
    open_top_level(page, frame)
    screenshot(page, "pane-1100")


def test_a_learner_opts_out_of_prompts_and_suggestions(page, launch, seeded_course):
    seeded_course.add_prompt("12", status="sent",
                             body="Matteo, Davide chiede quale obiettivo usare: puoi aiutarlo?")
    landed = launch(page, "12", locale="en")
    frame = landed.frame
    assert "puoi aiutarlo?" in frame.locator("#prompts").inner_text()
    frame.get_by_label("Do not send me prompts").check()
    frame.get_by_label("Do not suggest me to other learners").check()
    frame.get_by_role("button", name="Save my choices").click()
    frame.wait_for_load_state()
    frame = _circolo(page, landed)
    assert "Your choices are saved." in frame.locator("[role=status]").inner_text()
    assert frame.get_by_label("Do not send me prompts").is_checked()
    with seeded_course.session() as db:
        person_id = seeded_course.people["12"]
        assert db.scalar(select(MentoringPreference.opted_out).where(
            MentoringPreference.person_id == person_id)) is True
        assert db.scalar(select(PrivacyChoice.hidden_from_suggestions).where(
            PrivacyChoice.person_id == person_id)) is True


def test_not_now_sets_a_prompt_aside(page, launch, seeded_course):
    seeded_course.add_prompt("14", status="sent", body="Davide, benvenuto: una domanda per te")
    landed = launch(page, "14", locale="en")
    frame = landed.frame
    prompts = frame.locator("#prompts")
    assert "una domanda per te" in prompts.inner_text()
    # Wait for the navigation the form starts, or the old document would be read.
    with frame.expect_navigation():
        prompts.get_by_role("button", name="Not now").first.click()
    frame = _circolo(page, landed)
    assert "una domanda per te" not in frame.locator("#prompts").inner_text()


def test_switching_language(page, launch, seeded_course, screenshot):
    landed = launch(page, "11", locale="en")
    frame = landed.frame
    assert frame.locator("html").get_attribute("lang") == "en"
    frame.get_by_role("button", name="Italiano").click()
    frame = _circolo(page, landed)
    frame.wait_for_selector("html[lang=it]")
    assert frame.get_by_role("heading", name="La mia comunità").is_visible()
    assert frame.get_by_role("button", name="Italiano").get_attribute("aria-pressed") == "true"
    frame.get_by_role("button", name="English").click()
    frame = _circolo(page, landed)
    frame.wait_for_selector("html[lang=en]")
    assert frame.get_by_role("heading", name="My community").is_visible()


def test_the_pane_at_320_px(sized_page, launch, seeded_course, screenshot):
    page = sized_page(320, 640)
    landed = launch(page, "11", locale="it")
    open_top_level(page, landed.frame)
    assert page.evaluate("() => window.innerWidth") == 320
    assert no_horizontal_scroll(page)
    # Every control is at least 44 px high: thumbs, not mouse pointers.
    heights = page.eval_on_selector_all(
        "main button, main .button, main select",
        "els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 44
    screenshot(page, "pane-320")


def _circolo(page, landed):
    """Return Circolo's frame again after a navigation inside it."""
    base = landed.url.split("/pane")[0]
    return next(f for f in page.frames if f.url.startswith(base) and f is not page.main_frame)
