"""The full LTI flow in headless Chromium: Moodle's course page → login → launch → Circolo."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

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
