"""LTI operations: platforms, login states, and what a launch writes (course, person, role)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti.errors import LtiError
from lti.launch import LaunchMessage, PlatformRegistration

from ..models import Course, Deployment, Enrolment, LoginState, Person, Platform, utcnow

T = TypeVar("T")

#: Seconds between the login redirect and the platform's launch POST (Moodle takes a second).
LOGIN_STATE_TTL_SECONDS = 300
#: Consumed or expired states are kept this long (to tell "used" from "unknown"), then purged.
LOGIN_STATE_RETENTION = timedelta(hours=1)


def browser_hash(user_agent: str) -> str:
    return hashlib.sha256(user_agent.encode("utf-8", "replace")).hexdigest()


# --- platforms ---------------------------------------------------------------------------------

def find_platform(session: Session, issuer: str, client_id: str | None) -> Platform:
    """Return the platform registered for `issuer` (and `client_id`), or raise platform_unknown."""
    query = select(Platform).where(Platform.issuer == issuer)
    if client_id:
        query = query.where(Platform.client_id == client_id)
    platforms = list(session.scalars(query.limit(2)))
    if len(platforms) != 1:
        # Without a client_id, an issuer with several registrations is ambiguous.
        raise LtiError("platform_unknown",
                       f"iss={issuer!r} client_id={client_id!r}: {len(platforms)} found")
    return platforms[0]


def registration_of(platform: Platform) -> PlatformRegistration:
    return PlatformRegistration(
        issuer=platform.issuer, client_id=platform.client_id, key_set_url=platform.key_set_url,
        deployment_ids=frozenset(d.deployment_id for d in platform.deployments),
    )


def add_platform(session: Session, *, issuer: str, client_id: str, auth_login_url: str,
                 auth_token_url: str, key_set_url: str, name: str = "",
                 deployment_ids: Iterable[str] = ()) -> tuple[Platform, bool]:
    """Register a platform, or update the one with this issuer and client_id; return (it, new)."""
    platform = session.scalar(select(Platform).where(Platform.issuer == issuer,
                                                     Platform.client_id == client_id))
    created = platform is None
    if platform is None:
        platform = Platform(issuer=issuer, client_id=client_id)
        session.add(platform)
    platform.auth_login_url = auth_login_url
    platform.auth_token_url = auth_token_url
    platform.key_set_url = key_set_url
    if name or created:
        platform.name = name
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in deployment_ids:
        if deployment_id not in known:
            platform.deployments.append(Deployment(deployment_id=deployment_id))
            known.add(deployment_id)
    session.flush()
    return platform, created


def list_platforms(session: Session) -> list[Platform]:
    return list(session.scalars(select(Platform).order_by(Platform.id)))


def remove_platform(session: Session, platform_id: int) -> Platform | None:
    """Delete a platform with its deployments, courses and everything synced from them."""
    platform = session.get(Platform, platform_id)
    if platform is not None:
        # The database cascades (ON DELETE CASCADE) through every table that hangs off a
        # platform; the ORM would try to orphan the courses instead.
        session.execute(delete(Platform).where(Platform.id == platform_id)
                        .execution_options(synchronize_session=False))
        session.expunge(platform)
    return platform


# --- login state ---------------------------------------------------------------------------------

def start_login(session: Session, platform: Platform, *, target_link_uri: str,
                deployment_id: str | None, user_agent: str,
                now: datetime | None = None) -> LoginState:
    """Create a single-use state and nonce for one login (and purge long-dead ones)."""
    now = now or utcnow()
    if deployment_id and deployment_id not in {d.deployment_id for d in platform.deployments}:
        raise LtiError("deployment_unknown", f"deployment {deployment_id!r} at login")
    session.execute(delete(LoginState).where(LoginState.expires_at < now - LOGIN_STATE_RETENTION))
    state = LoginState(
        state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32), platform=platform,
        deployment_id=deployment_id or None, target_link_uri=target_link_uri,
        browser_hash=browser_hash(user_agent), created_at=now,
        expires_at=now + timedelta(seconds=LOGIN_STATE_TTL_SECONDS),
    )
    session.add(state)
    session.flush()
    return state


def consume_login_state(session: Session, state: str, *, now: datetime | None = None
                        ) -> LoginState:
    """Mark `state` used, exactly once even under concurrent launches, and return it."""
    now = now or utcnow()
    if not state:
        raise LtiError("state_missing")
    result = session.execute(
        update(LoginState)
        .where(LoginState.state == state, LoginState.consumed_at.is_(None),
               LoginState.expires_at >= now)
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    found = session.scalar(select(LoginState).where(LoginState.state == state)
                           .execution_options(populate_existing=True))
    if found is None:
        raise LtiError("state_unknown")
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LtiError("state_used" if found.consumed_at is not None else "state_expired")
    return found


# --- what a launch writes ----------------------------------------------------------------------

@dataclass(frozen=True)
class LaunchRecord:
    course: Course
    person: Person
    enrolment: Enrolment
    activated: bool


def _moodle_id(value: str | None, launch: LaunchMessage) -> int | None:
    # Moodle's ids are ASCII digits that fit the integer column; anything else is not one.
    if (launch.product_family_code == "moodle" and value and value.isascii()
            and value.isdigit() and len(value) <= 10 and int(value) < 2**31):
        return int(value)
    return None


def _get_or_create(session: Session, model: type[T], lookup: dict[str, Any],
                   defaults: dict[str, Any]) -> T:
    """Return the row matching `lookup`, inserting it when missing (even against a race)."""
    query = select(model).filter_by(**lookup)
    row = session.scalar(query)
    if row is not None:
        return row
    try:
        # Learners often open a new course together: the loser of the race reads the winner's row.
        with session.begin_nested():
            row = model(**lookup, **defaults)
            session.add(row)
    except IntegrityError:
        row = session.scalar(query)
        if row is None:
            raise
    return row


def record_launch(session: Session, platform: Platform, launch: LaunchMessage, *,
                  now: datetime | None = None) -> LaunchRecord:
    """Create or update the course, person and enrolment a launch names; activate the course."""
    now = now or utcnow()
    # A launch without a context (allowed by LTI) gets a course of its own link.
    context_id = launch.context_id or (
        f"no-context:{launch.deployment_id}:{launch.resource_link_id or launch.subject}")
    course = _get_or_create(session, Course, {"platform_id": platform.id,
                                              "context_id": context_id},
                            {"moodle_course_id": _moodle_id(launch.context_id, launch)})
    # Display texts are cut to their columns; identifiers were checked by validate_launch.
    course.title = (launch.context_title or course.title or launch.resource_link_title)[:512]
    course.label = (launch.context_label or course.label)[:255]
    course.last_launch_at = now
    session.flush()
    # Exactly one launch activates a course, however many arrive together.
    activated = session.execute(
        update(Course).where(Course.id == course.id, Course.active.is_(False))
        .values(active=True, activated_at=now).execution_options(synchronize_session=False)
    ).rowcount == 1  # type: ignore[attr-defined]
    if activated:
        session.refresh(course, ["active", "activated_at"])

    person = _get_or_create(session, Person, {"platform_id": platform.id,
                                              "subject": launch.subject},
                            {"moodle_user_id": _moodle_id(launch.subject, launch)})
    # Without PII claims (privacy settings), keep what the web services told us.
    person.fullname = (launch.display_name or person.fullname)[:512]
    if launch.email and len(launch.email) <= 512:  # a cut address would be someone else's
        person.email = launch.email
    if launch.locale:
        person.lang = launch.locale[:16]
    person.deleted = False
    session.flush()

    enrolment = _get_or_create(session, Enrolment, {"course_id": course.id,
                                                    "person_id": person.id},
                               {"first_seen_at": now})
    enrolment.role = launch.role
    enrolment.moodle_roles = list(launch.roles)
    enrolment.active = True
    enrolment.last_course_access = now
    session.flush()
    return LaunchRecord(course=course, person=person, enrolment=enrolment, activated=activated)
