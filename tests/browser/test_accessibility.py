"""axe-core (WCAG 2.1 A and AA rules) finds no serious or critical problem on the pane and the
dashboard, at phone and desktop widths, inside Moodle's frame and top-level."""

from __future__ import annotations

import json

import pytest

from tests.browser.pages_fixtures import *  # noqa: F403
from tests.browser.pages_fixtures import open_top_level, run_axe


def _report(violations):
    return json.dumps(violations, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("width", [320, 1280])
def test_the_pane_has_no_serious_accessibility_problem(sized_page, launch, seeded_course,
                                                       screenshot, width):
    page = sized_page(width, 800, bypass_csp=True)
    landed = launch(page, "11", locale="it")
    assert run_axe(landed.frame) == [], _report(run_axe(landed.frame))
    open_top_level(page, landed.frame)
    violations = run_axe(page)
    screenshot(page, f"pane-{width}")
    assert violations == [], _report(violations)


@pytest.mark.parametrize("width", [320, 1280])
def test_the_dashboard_has_no_serious_accessibility_problem(sized_page, launch, seeded_course,
                                                            screenshot, width):
    page = sized_page(width, 800, bypass_csp=True)
    landed = launch(page, "3", locale="en", link_id="2")
    open_top_level(page, landed.frame)
    page.get_by_text("The network as a table").click()  # the table is checked too
    violations = run_axe(page)
    screenshot(page, f"dashboard-{width}")
    assert violations == [], _report(violations)


def test_every_control_of_the_pane_is_reachable_by_keyboard(sized_page, launch, seeded_course):
    page = sized_page(1280, 800)
    landed = launch(page, "11", locale="en")
    open_top_level(page, landed.frame)
    controls = page.eval_on_selector_all(
        "a[href], button, input:not([type=hidden]), select, summary",
        "els => els.filter(e => e.offsetParent !== null).length")
    reached = set()
    page.keyboard.press("Tab")
    first = page.evaluate("() => document.activeElement.textContent.trim()")
    assert first in ("Skip to content", "Vai al contenuto")  # the skip link comes first
    for _ in range(controls + 5):
        reached.add(page.evaluate(
            "() => { const e = document.activeElement; return e.outerHTML.slice(0, 120); }"))
        page.keyboard.press("Tab")
    assert len(reached) >= controls


def test_the_axe_check_does_find_problems(sized_page):
    page = sized_page(400, 300)
    page.set_content('<html><body><img src="x.png"><button></button></body></html>')
    found = {violation["id"] for violation in run_axe(page)}
    assert {"image-alt", "button-name"} <= found
