"""The README tells IT exactly the functions and capabilities Circolo checks for.

The real-Moodle tier sets Moodle up from these very lists (tests/e2e/deployment.py), so there
they are proved sufficient; here they are kept equal to what `moodle connect` asks for.
"""

from __future__ import annotations

from middleware.moodle.operations import CAPABILITIES, REQUIRED_FUNCTIONS
from tests.e2e.deployment import readme_capabilities, readme_functions


def test_the_readme_lists_every_function_connect_requires_and_no_other():
    assert readme_functions() == sorted(REQUIRED_FUNCTIONS)


def test_the_readme_role_has_the_capabilities_connect_names():
    assert readme_capabilities() == sorted({c for caps in CAPABILITIES.values() for c in caps})
