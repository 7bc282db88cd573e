"""A launch ends after LAUNCH_MAX_LIFETIME however often its token is renewed.

Every page re-issues a fresh launch token, so without a cap a leaked token (or the cookie of a
teacher since demoted in Moodle) would stay good for as long as someone kept loading pages.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import time_machine

from middleware.lti.session import LAUNCH_MAX_LIFETIME, LAUNCH_TOKEN_MAX_AGE

from .conftest import ISSUER, forged_launch


def _token_in(url: str) -> str:
    return parse_qs(urlsplit(url).query)["launch_token"][0]


def test_a_renewed_token_still_ends_with_its_launch(cookieless_browser, forging_key):
    token = _token_in(forged_launch(cookieless_browser, forging_key).headers["Location"])
    started = time.time()
    step = LAUNCH_TOKEN_MAX_AGE - 60  # each token is used just before it expires
    elapsed = step
    while elapsed <= LAUNCH_MAX_LIFETIME:
        with time_machine.travel(started + elapsed, tick=False):
            page = cookieless_browser.get("/probe/whoami", query_string={"launch_token": token})
        assert page.status_code == 200, elapsed
        token = _token_in(page.get_json()["next"])
        elapsed += step
    with time_machine.travel(started + elapsed, tick=False):
        ended = cookieless_browser.get("/probe/whoami", query_string={"launch_token": token})
    assert ended.status_code == 401
    # The "open Circolo again" page still shows inside the platform's frame.
    assert ended.headers["Content-Security-Policy"].endswith(f"frame-ancestors 'self' {ISSUER}")


def test_the_cookie_session_ends_with_its_launch(browser, forging_key):
    forged_launch(browser, forging_key)
    assert browser.get("/probe/whoami").status_code == 200
    with time_machine.travel(time.time() + LAUNCH_MAX_LIFETIME - 60, tick=False):
        assert browser.get("/probe/whoami").status_code == 200
    with time_machine.travel(time.time() + LAUNCH_MAX_LIFETIME + 60, tick=False):
        assert browser.get("/probe/whoami").status_code == 401


def test_a_new_window_keeps_the_launch_time(cookieless_browser, browser, forging_key):
    token = _token_in(forged_launch(cookieless_browser, forging_key).headers["Location"])
    started = time.time()
    with time_machine.travel(started + LAUNCH_TOKEN_MAX_AGE - 60, tick=False):
        resumed = browser.get("/lti/resume", query_string={"launch_token": token})
        assert resumed.status_code == 302
    with time_machine.travel(started + LAUNCH_MAX_LIFETIME + 60, tick=False):
        assert browser.get("/probe/whoami").status_code == 401
