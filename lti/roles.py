"""LTI roles → Circolo's two roles: teacher (Instructor and friends) or learner (everyone else)."""

from __future__ import annotations

from collections.abc import Iterable

from middleware.models.community import LEARNER, TEACHER

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"

#: Context (membership) roles that make someone a teacher of the course; LTI 1.3 still allows
#: them as short names ("Instructor").
TEACHING_MEMBERSHIP_ROLES = frozenset(
    {"Instructor", "ContentDeveloper", "TeachingAssistant", "Administrator"}
)
#: Institution and system roles that make someone a teacher wherever they launch.
TEACHING_WIDE_ROLES = frozenset({"Administrator", "SysAdmin"})


def _parts(role: str) -> tuple[str, str, str]:
    """Split a role into (vocabulary, principal role, sub-role)."""
    role = role.strip()
    if role.startswith(LIS):
        path, _, fragment = role[len(LIS):].partition("#")
        if path in {"membership", "institution/person", "system/person"}:
            return path, fragment, ""
        vocabulary, _, principal = path.rpartition("/")
        # `membership/Instructor#TeachingAssistant` is a sub-role of Instructor.
        return vocabulary, principal, fragment
    if role.startswith("urn:lti:role:ims/lis/"):  # LTI 1.1 names some platforms still send
        principal, _, sub = role.removeprefix("urn:lti:role:ims/lis/").partition("/")
        return "membership", principal, sub
    if ":" in role or "/" in role or "#" in role:
        return "unknown", role, ""
    return "membership", role, ""  # a short name is a context role


def is_teaching_role(role: str) -> bool:
    """Tell whether one LTI role gives teacher rights in the launching course."""
    vocabulary, principal, _sub = _parts(role)
    if vocabulary == "membership":
        # Every sub-role of a teaching role (Instructor#TeachingAssistant, #Grader) teaches.
        return principal in TEACHING_MEMBERSHIP_ROLES
    if vocabulary in {"institution/person", "system/person"}:
        return principal in TEACHING_WIDE_ROLES
    return False


def map_roles(roles: Iterable[str]) -> str:
    """Return TEACHER when any role teaches, else LEARNER (unknown or no roles: learner)."""
    return TEACHER if any(is_teaching_role(role) for role in roles if isinstance(role, str)) \
        else LEARNER
