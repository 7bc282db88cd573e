"""The teacher's mentoring pages at 320 px: nothing wider than the screen, all reachable by Tab."""

from __future__ import annotations

import re

import pytest

from middleware.config import PROJECT_ROOT
from middleware.mentoring import delivery, operations
from tests.conftest import CHROMIUM_ARGS

from .builders import NOW
from .conftest import routed_course
from .fake_moodle import FakeMoodle

PAGES = ["/dashboard/mentoring/", "/dashboard/mentoring/review", "/dashboard/mentoring/templates",
         "/dashboard/mentoring/templates/bridge_buddy/it", "/dashboard/mentoring/log",
         "/dashboard/mentoring/outcomes"]

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def browser(playwright_instance, chromium_executable):
    browser = playwright_instance.chromium.launch(executable_path=chromium_executable,
                                                  args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def inline_css(html: str) -> str:
    """Serve the page without a server: the stylesheet inlined, nothing else fetched."""
    sheets = (PROJECT_ROOT / "middleware" / "static" / "circolo.css",
              PROJECT_ROOT / "middleware" / "mentoring" / "static" / "mentoring.css")
    css = "\n".join(sheet.read_text() for sheet in sheets)
    assert html.count('<link rel="stylesheet"') == len(sheets)
    return re.sub(r'<link rel="stylesheet"[^>]*>', "", html).replace(
        "</head>", f"<style>{css}</style></head>")


def test_pages_fit_320_pixels_and_every_control_takes_keyboard_focus(world, launch_as, browser):
    routed_course(world, questions=2)
    world.settings(mode="review")
    operations.evaluate_course_rules(world.session, world.course.id, now=NOW)
    world.session.commit()
    first = operations.review_queue(world.session, world.course.id)[0]
    operations.approve_prompt(world.session, world.course.id, first.id,
                              world.people["teacher"].id, now=NOW)
    world.session.commit()
    moodle = FakeMoodle()
    moodle.blocked.add(first.recipient.moodle_user_id)
    delivery.deliver_due(world.session, lambda c: moodle, now=NOW)
    teacher = launch_as("teacher")
    context = browser.new_context(viewport={"width": 320, "height": 640},
                                  java_script_enabled=True)
    page = context.new_page()
    page.route("**/*", lambda route: route.abort())  # nothing leaves the page
    try:
        for path in PAGES:
            response = teacher.get(path)
            assert response.status_code == 200, path
            page.set_content(inline_css(response.get_data(as_text=True)))
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 320, f"{path} is {width}px wide at 320px"
            controls = page.locator("a[href], button, input:not([type=hidden]), select, "
                                    "textarea, [tabindex='0']")
            reached = set()
            for _ in range(controls.count() + 2):
                page.keyboard.press("Tab")
                reached.add(page.evaluate(
                    "document.activeElement && document.activeElement.outerHTML.slice(0, 120)"))
            assert len(reached) >= min(controls.count(), 5), path
    finally:
        context.close()
