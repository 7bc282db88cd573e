"""Dynamic registration: every endpoint of a platform's configuration is on the issuer's site.

Anyone can open /lti/register, so the configuration is untrusted until its issuer matches the
URL it came from; its endpoints must then be on that same site, or the tool would POST the
registration (and later fetch keys, ask for tokens) wherever a forged configuration said.
"""

from __future__ import annotations

import pytest
import responses

from lti.registration import RegistrationError, fetch_configuration

URL = "https://moodle.example.org/mod/lti/openid-configuration.php"


@pytest.fixture
def configuration(lti_fixture) -> dict:
    recorded = lti_fixture("dynamic_registration.json")["openid_configuration"]
    site = recorded["issuer"]
    return {name: (value.replace(site, "https://moodle.example.org")
                   if isinstance(value, str) else value) for name, value in recorded.items()}


@pytest.mark.parametrize("endpoint", ["registration_endpoint", "jwks_uri", "token_endpoint",
                                      "authorization_endpoint"])
def test_an_endpoint_on_another_site_is_refused(configuration, endpoint):
    forged = dict(configuration, **{endpoint: "http://127.0.0.1:6379/internal"})
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, URL, json=forged)
        with pytest.raises(RegistrationError) as failure:
            fetch_configuration(URL)
    assert failure.value.code == "issuer_mismatch"
    assert endpoint in failure.value.detail


def test_endpoints_on_the_issuers_site_are_accepted(configuration):
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, URL, json=configuration)
        found = fetch_configuration(URL)
    assert found.registration_endpoint.startswith("https://moodle.example.org/")
