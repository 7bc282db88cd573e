"""The full LTI flow in headless Chromium: Moodle's course page → login → launch → Circolo."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urljoin, urlsplit

from middleware.lti.session import TOKEN_FIELD
from tests.doubles.lti_platform import DEEP_LINKING


def _circolo_cookies(page, circolo):
    return page.context.cookies(circolo.base_url)


def test_a_learner_lands_on_the_community_pane(page, launch, circolo, moodle):
    landed = launch(page, "11", locale="it")

    assert landed.path == "/pane"
    assert landed.status == 200
    # The tool ran as a third-party iframe of the Moodle page.
    assert urlsplit(page.url).hostname == "127.0.0.1"
    assert urlsplit(landed.url).hostname == "localhost"
    assert landed.frame.parent_frame is page.main_frame
    claims = moodle.id_tokens[-1]
    assert claims["sub"] == "11" and claims["aud"] == circolo.client_id
    # Chromium kept Circolo's cookies, partitioned under Moodle's site.
    cookies = _circolo_cookies(page, circolo)
    assert cookies and all(c["sameSite"] == "None" and c["secure"] for c in cookies)


def test_a_teacher_opening_the_dashboard_activity_lands_on_the_dashboard(page, launch, moodle):
    landed = launch(page, "3", locale="en", link_id="2")

    assert landed.path == "/dashboard"
    assert landed.status == 200
    assert moodle.id_tokens[-1]["https://purl.imsglobal.org/spec/lti/claim/roles"] == [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]


def test_the_launch_works_when_third_party_cookies_are_refused(page_without_third_party_cookies,
                                                               launch, circolo):
    page = page_without_third_party_cookies
    landed = launch(page, "6", locale="it")

    assert landed.path == "/pane"
    assert landed.status == 200
    # No cookie came back: the launch is carried by the signed token in Circolo's own links.
    assert _circolo_cookies(page, circolo) == []
    assert parse_qs(urlsplit(landed.url).query).get("launch_token")


def test_a_teacher_opening_the_pane_activity_sees_the_pane(page, launch):
    landed = launch(page, "3", link_id="1")

    assert landed.path == "/pane"
    assert landed.status == 200


def test_a_teacher_adding_circolo_gets_the_deep_linking_choice(page, launch):
    landed = launch(page, "3", message_type=DEEP_LINKING)

    assert landed.path == "/lti/deep-link"
    assert landed.status == 200


def test_the_pane_speaks_the_launch_language(page, launch):
    italian = launch(page, "11", locale="it")
    assert italian.frame.locator("html").get_attribute("lang") == "it"
    english = launch(page, "11", locale="en")
    assert english.frame.locator("html").get_attribute("lang") == "en"


def test_without_cookies_the_panes_own_links_keep_the_launch(page_without_third_party_cookies,
                                                             launch, circolo):
    page = page_without_third_party_cookies
    landed = launch(page, "8", locale="it")
    links = landed.frame.locator(f"a[href*='{TOKEN_FIELD}=']")
    targets = [urljoin(landed.url, links.nth(i).get_attribute("href"))
               for i in range(links.count())]
    targets = [url for url in targets if url.startswith(circolo.base_url)
               and urlsplit(url).path not in {landed.path, "/lti/resume"}]
    assert targets, "the pane has no links of its own that carry the launch"
    target = targets[0]
    without_token = target.split("?", 1)[0]
    fetch_status = "url => fetch(url, {credentials: 'include'}).then(r => r.status)"

    # From inside the frame, as a click would: the token carries the launch, no cookie does.
    assert landed.frame.evaluate(fetch_status, target) == 200
    assert landed.frame.evaluate(fetch_status, without_token) == 401
    assert _circolo_cookies(page, circolo) == []


def test_deep_linking_sends_the_chosen_activities_back_to_moodle(page, launch, moodle, circolo):
    landed = launch(page, "3", message_type=DEEP_LINKING, locale="en")
    frame = landed.frame
    frame.locator("#placement-pane").check()
    if frame.locator("#placement-dashboard").get_attribute("type") == "checkbox":
        frame.locator("#placement-dashboard").check()
    before = len(moodle.deep_link_responses)
    frame.locator("button[type=submit]").click()

    # Generous: the response is signed and posted through two pages on a possibly busy machine.
    deadline = time.monotonic() + 60
    while len(moodle.deep_link_responses) == before and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(moodle.deep_link_responses) > before, "Moodle never received the response"
    returned = moodle.deep_link_responses[-1]
    assert "error" not in returned, returned.get("error")
    items = returned["claims"]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    modes = [item["custom"]["community_mode"] for item in items]
    assert modes == ["pane", "dashboard"]
    assert all(item["type"] == "ltiResourceLink" for item in items)
    assert all(item["url"] == f"{circolo.base_url}/lti/launch" for item in items)
    page.frame_locator("#contentframe").locator("#items li").first.wait_for()
