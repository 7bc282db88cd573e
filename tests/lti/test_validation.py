"""`validate_launch` on the real Moodle tokens (clock frozen at iat) and on broken ones."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
import time_machine

from lti.errors import LtiError
from lti.jwks import PlatformKeySets
from lti.launch import PlatformRegistration, validate_launch
from middleware.models import LEARNER, TEACHER

from .conftest import CLAIM, CLIENT_ID, ISSUER, JWKS_URL, TARGET, base_claims, forge, jwks_fetches

REGISTRATION = PlatformRegistration(issuer=ISSUER, client_id=CLIENT_ID, key_set_url=JWKS_URL,
                                    deployment_ids={"1"})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def key_sets(serve_platform_jwks, clock):
    return PlatformKeySets(clock=clock, cooldown_seconds=60)


def validate(token, key_sets, *, nonce, leeway=5, platform=REGISTRATION, target=TARGET):
    return validate_launch(token, platform=platform, key_sets=key_sets, nonce=nonce,
                           target_link_uri=target, leeway=leeway)


def replayed(moodle_launch, name):
    """A recorded launch, and the registration and target it was made for."""
    recorded = moodle_launch(name)
    claims = recorded["claims"]
    registration = PlatformRegistration(
        issuer=claims["iss"], client_id=claims["aud"],
        key_set_url=claims["iss"] + "/mod/lti/certs.php",
        deployment_ids={claims[CLAIM + "deployment_id"]})
    return recorded, registration, claims[CLAIM + "target_link_uri"]


@pytest.mark.parametrize("name, role, message_type", [
    ("learner", LEARNER, "LtiResourceLinkRequest"),
    ("instructor", TEACHER, "LtiResourceLinkRequest"),
    ("deep_linking", TEACHER, "LtiDeepLinkingRequest"),
])
def test_recorded_moodle_launches_validate(moodle_launch, key_sets, name, role, message_type):
    recorded, registration, target = replayed(moodle_launch, name)
    claims = recorded["claims"]
    with time_machine.travel(claims["iat"], tick=False):
        launch = validate(recorded["launch_post"]["id_token"], key_sets, nonce=claims["nonce"],
                          leeway=0, platform=registration, target=target)
    assert launch.role == role and launch.message_type == message_type
    assert launch.subject == claims["sub"] and launch.context_id == "2"
    assert launch.locale == claims[CLAIM + "launch_presentation"]["locale"] in ("it", "en")
    assert launch.custom == claims[CLAIM + "custom"]
    if name == "deep_linking":
        assert launch.deep_linking.return_url.startswith(
            claims["iss"] + "/mod/lti/contentitem_return")
        assert launch.resource_link_id is None
    else:
        assert launch.resource_link_id == claims[CLAIM + "resource_link"]["id"]
        assert launch.custom["community_mode"] in ("pane", "dashboard")
        assert launch.names_roles_service["service_versions"] == ["1.0", "2.0"]


def test_recorded_launch_expires_after_its_lifetime_plus_leeway(moodle_launch, key_sets):
    recorded, registration, target = replayed(moodle_launch, "learner")
    claims = recorded["claims"]
    with time_machine.travel(claims["exp"] + 30, tick=False):
        validate(recorded["launch_post"]["id_token"], key_sets, nonce=claims["nonce"], leeway=60,
                 platform=registration, target=target)
        with pytest.raises(LtiError) as refused:
            validate(recorded["launch_post"]["id_token"], key_sets, nonce=claims["nonce"],
                     leeway=10, platform=registration, target=target)
    assert refused.value.code == "token_expired"


def test_a_modified_recorded_token_fails_its_signature(moodle_launch, key_sets):
    recorded, registration, target = replayed(moodle_launch, "learner")
    header, payload, signature = recorded["launch_post"]["id_token"].split(".")
    tampered = ".".join([header, payload[:-4] + "AAAA", signature])
    with time_machine.travel(recorded["claims"]["iat"], tick=False), \
            pytest.raises(LtiError) as refused:
        validate(tampered, key_sets, nonce=recorded["claims"]["nonce"], platform=registration,
                 target=target)
    assert refused.value.code in {"token_bad_signature", "token_malformed"}


def test_unknown_kid_refetches_once_then_rejects(forging_key, key_sets, serve_platform_jwks,
                                                 clock):
    claims = base_claims("n")
    validate(forge(claims, forging_key), key_sets, nonce="n")
    assert jwks_fetches(serve_platform_jwks) == 1

    clock.now += 61  # past the cool-down: one re-fetch is allowed
    with pytest.raises(LtiError) as refused:
        validate(forge(claims, forging_key, kid="rotated-away"), key_sets, nonce="n")
    assert refused.value.code == "token_unknown_kid"
    assert jwks_fetches(serve_platform_jwks) == 2

    # Within the cool-down, made-up kids do not make the tool fetch again.
    with pytest.raises(LtiError):
        validate(forge(claims, forging_key, kid="another-one"), key_sets, nonce="n")
    assert jwks_fetches(serve_platform_jwks) == 2


def test_a_rotated_platform_key_is_found_by_the_refetch(forging_key, http_mock, platform_jwks,
                                                        clock):
    only_moodle = {"keys": platform_jwks["keys"][:1]}
    http_mock.get(JWKS_URL, json=only_moodle)
    http_mock.get(JWKS_URL, json=platform_jwks)  # responses plays these in order
    key_sets = PlatformKeySets(clock=clock, cooldown_seconds=60)
    with pytest.raises(LtiError):
        validate(forge(base_claims("n"), forging_key), key_sets, nonce="n")
    clock.now += 120
    assert validate(forge(base_claims("n"), forging_key), key_sets, nonce="n").subject == "11"


def test_jwks_fetch_has_a_timeout_and_failure_is_a_502(http_mock, forging_key, clock):
    http_mock.get(JWKS_URL, body=requests.ConnectTimeout("slow"))
    with pytest.raises(LtiError) as refused:
        validate(forge(base_claims("n"), forging_key), PlatformKeySets(clock=clock), nonce="n")
    assert refused.value.code == "jwks_unavailable" and refused.value.status == 502
    assert http_mock.calls[0].request.req_kwargs["timeout"] == (3.05, 5.0)


@pytest.mark.parametrize("change, code", [
    ({"aud": ["someone-else"]}, "aud_mismatch"),
    ({"aud": [CLIENT_ID, "other-tool"]}, "azp_missing"),
    ({"aud": [CLIENT_ID, "other-tool"], "azp": "other-tool"}, "azp_mismatch"),
    ({"azp": "other-tool"}, "azp_mismatch"),
    ({"iss": "http://evil.example"}, "iss_mismatch"),
    ({"nonce": "another"}, "nonce_mismatch"),
    ({CLAIM + "message_type": "LtiSubmissionReviewRequest"}, "message_type_unsupported"),
    ({CLAIM + "target_link_uri": "http://127.0.0.1:8090/elsewhere"}, "target_link_uri_mismatch"),
])
def test_wrong_claims_are_refused(forging_key, key_sets, change, code):
    claims = {**base_claims("n"), **change}
    with pytest.raises(LtiError) as refused:
        validate(forge(claims, forging_key), key_sets, nonce="n")
    assert refused.value.code == code


def test_several_audiences_with_the_right_azp_pass(forging_key, key_sets):
    claims = {**base_claims("n"), "aud": [CLIENT_ID, "other-tool"], "azp": CLIENT_ID}
    assert validate(forge(claims, forging_key), key_sets, nonce="n").subject == "11"


def test_iat_within_leeway_passes_beyond_it_fails(forging_key, key_sets):
    claims = base_claims("n", now=time.time() + 20)
    assert validate(forge(claims, forging_key), key_sets, nonce="n", leeway=30)
    with pytest.raises(LtiError) as refused:
        validate(forge(claims, forging_key), key_sets, nonce="n", leeway=5)
    assert refused.value.code == "token_not_yet_valid"


def test_hs256_tokens_are_refused(key_sets):
    secret = "a-shared-secret-long-enough-for-hs256!"
    token = jwt.encode(base_claims("n"), secret, algorithm="HS256",
                       headers={"kid": "test-platform-key"})
    with pytest.raises(LtiError) as refused:
        validate(token, key_sets, nonce="n")
    assert refused.value.code == "token_bad_algorithm"


def test_known_keys_outlive_a_failing_refresh(http_mock, platform_jwks, forging_key, clock):
    http_mock.get(JWKS_URL, json=platform_jwks)
    http_mock.get(JWKS_URL, status=503)
    key_sets = PlatformKeySets(clock=clock, max_age_seconds=3600)
    assert validate(forge(base_claims("n"), forging_key), key_sets, nonce="n")
    clock.now += 4000  # the cached set is stale; the refresh fails
    assert validate(forge(base_claims("n"), forging_key), key_sets, nonce="n")
    assert jwks_fetches(http_mock) == 2
    with pytest.raises(LtiError) as refused:  # an unknown key is not trusted from a stale set
        validate(forge(base_claims("n"), forging_key, kid="new"), key_sets, nonce="n")
    assert refused.value.code == "jwks_unavailable"


def test_deep_linking_that_accepts_no_resource_links_is_refused(forging_key, key_sets):
    claims = base_claims("n", message_type="LtiDeepLinkingRequest")
    settings = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
    claims[settings] = {**claims[settings], "accept_types": ["file", "html"]}
    with pytest.raises(LtiError) as refused:
        validate(forge(claims, forging_key), key_sets, nonce="n")
    assert refused.value.code == "message_type_unsupported"
