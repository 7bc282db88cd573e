"""Tool keys: generated, encrypted at rest, rotated with both keys published, or mounted."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from lti.keys import (
    ToolKeyError,
    current_signing_key,
    key_id,
    published_keys,
    rotate_keys,
    tool_jwks,
)
from middleware.models import ToolKey


def test_first_use_generates_an_encrypted_key(db_session, settings):
    signing = current_signing_key(db_session, settings)
    stored = db_session.query(ToolKey).one()
    assert stored.kid == signing.kid == key_id(signing.private_key.public_key())
    assert "PRIVATE KEY" not in stored.private_key_encrypted
    assert stored.private_key_encrypted.startswith("gAAAA")  # a Fernet token
    # The same key comes back on the next call.
    assert current_signing_key(db_session, settings).kid == signing.kid


def test_jwks_lists_public_halves_only(db_session, settings):
    jwks = tool_jwks(db_session, settings)
    (key,) = jwks["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert key["alg"] == "RS256" and key["use"] == "sig"


def test_rotation_publishes_old_and_new_and_newest_signs(db_session, settings):
    first = current_signing_key(db_session, settings)
    rotate_keys(db_session, settings)
    second = current_signing_key(db_session, settings)
    assert second.kid != first.kid
    kids = [key["kid"] for key in tool_jwks(db_session, settings)["keys"]]
    assert kids == [second.kid, first.kid]

    # A token signed by the newest key verifies against the published JWKS.
    token = jwt.encode({"iss": "tool"}, second.private_key, algorithm="RS256",
                       headers={"kid": second.kid})
    jwks = tool_jwks(db_session, settings)
    published = {k["kid"]: RSAAlgorithm.from_jwk(k) for k in jwks["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    assert jwt.decode(token, published[kid], algorithms=["RS256"]) == {"iss": "tool"}

    rotate_keys(db_session, settings)
    third = current_signing_key(db_session, settings)
    kids = [key["kid"] for key in tool_jwks(db_session, settings)["keys"]]
    assert kids == [third.kid, second.kid]
    retired = db_session.query(ToolKey).filter_by(kid=first.kid).one()
    assert retired.retired_at is not None and retired.private_key_encrypted == ""
    assert [k.kid for k in published_keys(db_session)] == [third.kid, second.kid]


def test_wrong_encryption_key_is_a_clear_error(db_session, settings):
    current_signing_key(db_session, settings)
    other = settings.with_overrides(
        encryption_key="x" * 43 + "=")  # a well-formed but different Fernet key
    with pytest.raises(ToolKeyError, match="CIRCOLO_ENCRYPTION_KEY"):
        current_signing_key(db_session, other)


def test_mounted_key_file_signs_and_is_published(db_session, settings, tmp_path):
    stored = current_signing_key(db_session, settings)
    mounted = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "tool.pem"
    path.write_bytes(mounted.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    with_file = settings.with_overrides(tool_private_key_file=str(path))
    signing = current_signing_key(db_session, with_file)
    assert signing.kid == key_id(mounted.public_key())
    kids = [key["kid"] for key in tool_jwks(db_session, with_file)["keys"]]
    assert kids == [signing.kid, stored.kid]


def test_unreadable_key_file_is_a_clear_error(db_session, settings, tmp_path):
    path = tmp_path / "not-a-key.pem"
    path.write_text("hello")
    with pytest.raises(ToolKeyError, match="CIRCOLO_TOOL_PRIVATE_KEY_FILE"):
        current_signing_key(db_session, settings.with_overrides(tool_private_key_file=str(path)))
