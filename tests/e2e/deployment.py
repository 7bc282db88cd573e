"""IT's part, read from the README: the web-service functions and capabilities it tells IT to set.

The tier sets up the real Moodle with exactly these lists (`php/webservice_setup.php`), so
`flask circolo moodle connect` finding nothing missing proves the README is complete.
"""

from __future__ import annotations

import re
from typing import Any

from tests.docs.test_readme_commands import section

FUNCTION = re.compile(r"`((?:core|mod|local|tool)_[a-z0-9_]+)`")
CAPABILITY = re.compile(r"`([a-z]+/[a-z0-9_]+:[a-z0-9_]+)`")
SERVICE_USER = {"username": "communitybot", "firstname": "Circolo", "lastname": "Bot",
                "email": "communitybot@example.org"}


def _between(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin:text.index(end, begin)]


def readme_functions() -> list[str]:
    """The functions of the external service, as "Moodle web services", step 2 lists them."""
    step = _between(section("Moodle web services"), "2. Create an external service", "\n3. ")
    return sorted(set(FUNCTION.findall(step)))


def readme_capabilities() -> list[str]:
    """The system role's capabilities, as the table of "Deployment", step 3 lists them."""
    step = _between(section("Deployment"), "**3. Create the web-service user", "**4. ")
    return sorted(set(CAPABILITY.findall(step)))


def webservice_setup(course_ids: list[int]) -> dict[str, Any]:
    """The input of php/webservice_setup.php for these courses."""
    return {**SERVICE_USER, "service": "Circolo", "functions": readme_functions(),
            "capabilities": readme_capabilities(), "courses": course_ids}
