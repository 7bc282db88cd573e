"""Dynamic registration in the browser, as an administrator does it from Moodle's admin page."""

from __future__ import annotations

import jwt


def test_pasting_the_url_registers_circolo_and_an_activated_tool_launches(page, moodle, circolo,
                                                                          launch):
    known = set(moodle.tools)
    page.goto(moodle.registration_page_url(f"{circolo.base_url}/lti/register"))

    # lti-close.js told Moodle's page the registration is over (the dialog is removed).
    page.get_by_text("Registration closed by the tool").wait_for()
    [client_id] = set(moodle.tools) - known
    tool = moodle.tools[client_id]
    assert tool.pending
    posted = moodle.registrations[-1]
    token = posted["headers"]["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == client_id
    assert tool.initiate_login_uri == f"{circolo.base_url}/lti/login"
    assert tool.jwks_uri == f"{circolo.base_url}/lti/jwks"
    listed = circolo.flask("platform", "list").stdout
    [row] = [line for line in listed.splitlines() if f"client_id={client_id}" in line]
    assert moodle.issuer in row and f"deployments={tool.type_id}" in row
    try:
        moodle.activate(client_id)
        landed = launch(page, "11", tool=tool, locale="it")
        assert landed.path == "/pane" and landed.status == 200
        assert moodle.id_tokens[-1]["aud"] == client_id
    finally:
        # The session's other tests use the platform the harness registered.
        circolo.flask("platform", "remove", row.split()[0], "--yes")


def test_opening_the_registration_again_says_it_was_already_used(page, moodle, circolo):
    token = moodle.new_registration_token()
    url = (f"{circolo.base_url}/lti/register?openid_configuration="
           f"{moodle.openid_configuration_url}&registration_token={token}")
    first = page.goto(url)
    assert first.status == 200
    row = next(line for line in circolo.flask("platform", "list").stdout.splitlines()
               if line[:1].isdigit() and line.split()[0] != str(circolo.platform_id))
    circolo.flask("platform", "remove", row.split()[0], "--yes")
    again = page.goto(url)
    assert again.status == 409
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Circolo could not be registered")
