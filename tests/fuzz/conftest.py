"""Fuzzing fixtures: the LTI test platform (recorded Moodle registered, its JWKS served)."""

from tests.lti.conftest import (  # noqa: F401 - fixtures re-exported for the fuzz tests
    forging_key,
    lti_app,
    moodle_jwks,
    platform_jwks,
    registered_platform,
    serve_platform_jwks,
)
