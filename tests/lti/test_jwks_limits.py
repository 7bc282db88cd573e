"""The platform JWKS fetch reads a bounded answer and never follows a redirect."""

from __future__ import annotations

import json

import pytest

from lti.errors import LtiError
from lti.jwks import MAX_JWKS_BYTES, PlatformKeySets

from .conftest import FORGED_KID, JWKS_URL, jwks_fetches


def test_an_oversized_jwks_is_refused(http_mock, platform_jwks):
    padded = {**platform_jwks, "padding": "x" * (MAX_JWKS_BYTES + 1)}
    http_mock.get(JWKS_URL, body=json.dumps(padded), content_type="application/json")
    with pytest.raises(LtiError) as refused:
        PlatformKeySets().signing_key(JWKS_URL, FORGED_KID)
    assert refused.value.code == "jwks_unavailable"
    assert "too large" in refused.value.detail


def test_a_jwks_of_ordinary_size_is_read(http_mock, platform_jwks):
    http_mock.get(JWKS_URL, json=platform_jwks)
    assert PlatformKeySets().signing_key(JWKS_URL, FORGED_KID) is not None
    assert jwks_fetches(http_mock) == 1


def test_a_redirect_is_not_a_jwks(http_mock, platform_jwks):
    # Even with a key set in its body, a redirect is not where the platform said its keys are.
    http_mock.get(JWKS_URL, status=302, json=platform_jwks,
                  headers={"Location": "http://127.0.0.1:9/elsewhere"})
    with pytest.raises(LtiError) as refused:
        PlatformKeySets().signing_key(JWKS_URL, FORGED_KID)
    assert refused.value.code == "jwks_unavailable"
    assert jwks_fetches(http_mock) == 1


def test_a_key_that_is_not_rsa_is_never_used(http_mock, platform_jwks):
    """Launches are RS256 only: an EC key published under a token's kid is no key for it."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    elliptic = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(),
                                  as_dict=True)
    elliptic.update(kid="ec-key", use="sig", alg="ES256")
    http_mock.get(JWKS_URL, json={"keys": [*platform_jwks["keys"], elliptic]})
    key_sets = PlatformKeySets()
    assert key_sets.signing_key(JWKS_URL, FORGED_KID) is not None
    with pytest.raises(LtiError) as refused:
        key_sets.signing_key(JWKS_URL, "ec-key")
    assert refused.value.code == "token_unknown_kid"
