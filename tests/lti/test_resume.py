"""`/lti/resume` turns a launch token into a session: only from Circolo's own pages.

A GET that starts a session from a URL is a login-CSRF handle: a page elsewhere could link a
victim to `/lti/resume?launch_token=<the attacker's>` and sign them in as the attacker. The
browser says where a navigation started (`Sec-Fetch-Site`); Circolo's own "open in a new
window" link is same-origin.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import forged_launch


def _token(cookieless_browser, forging_key) -> str:
    location = forged_launch(cookieless_browser, forging_key).headers["Location"]
    return parse_qs(urlsplit(location).query)["launch_token"][0]


def _has_session(client) -> bool:
    with client.session_transaction() as session:
        return "launch" in session


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_resume_link_followed_from_another_site_is_refused(cookieless_browser, browser,
                                                             forging_key, site):
    token = _token(cookieless_browser, forging_key)
    response = browser.get("/lti/resume", query_string={"launch_token": token},
                           headers={"Sec-Fetch-Site": site})
    assert response.status_code == 403
    assert not _has_session(browser)


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "same-origin"},
                                     {"Sec-Fetch-Site": "none"}, {}])
def test_the_new_window_link_of_circolos_own_page_resumes(cookieless_browser, browser,
                                                          forging_key, headers):
    token = _token(cookieless_browser, forging_key)
    response = browser.get("/lti/resume", query_string={"launch_token": token}, headers=headers)
    assert response.status_code == 302
    assert _has_session(browser)
