"""Sync a course's roster from the platform's Names and Role Provisioning Service (NRPS).

The fallback when the Moodle web services cannot list enrolments: people are keyed per platform
by the LTI `sub` (NRPS `user_id`), which for Moodle is the web services' user id too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti.keys import KeySettings, current_signing_key
from lti.roles import map_roles
from lti.services import Member, PlatformEndpoints, PlatformServices

from ..models import SERVICE, Course, Enrolment, Person, Platform

log = logging.getLogger(__name__)

#: Rows looked up per query, well under SQLite's bound-parameter limit.
_CHUNK = 500


@dataclass(frozen=True)
class RosterChange:
    """What a roster sync did to a course's enrolments."""

    added: int = 0
    updated: int = 0
    deactivated: int = 0
    members: int = 0


def platform_services(session: Session, platform: Platform,
                      settings: KeySettings) -> PlatformServices:
    """Return a services client for `platform`, signing with the tool's current key."""
    endpoints = PlatformEndpoints(issuer=platform.issuer, client_id=platform.client_id,
                                  token_url=platform.auth_token_url)
    return PlatformServices(endpoints, lambda: current_signing_key(session, settings))


def sync_roster(session: Session, course: Course, services: PlatformServices,
                memberships_url: str) -> RosterChange:
    """Read the whole NRPS roster of `course`, then apply it (nothing changes if reading fails)."""
    members = list(services.memberships(memberships_url))
    return apply_roster(session, course, members)


def apply_roster(session: Session, course: Course, members: list[Member]) -> RosterChange:
    """Create or update people and enrolments of `course` from a complete NRPS roster."""
    by_subject: dict[str, Member] = {}
    for member in members:
        by_subject[member.user_id] = member  # a platform listing someone twice: the last wins
    people = _people(session, course.platform_id, list(by_subject))
    enrolments = {e.person_id: e for e in session.scalars(
        select(Enrolment).where(Enrolment.course_id == course.id))}

    added = updated = 0
    for subject, member in by_subject.items():
        person = people.get(subject)
        if person is None:
            person = Person(platform_id=course.platform_id, subject=subject)
            session.add(person)
            session.flush()
        _update_person(person, member)
        enrolment = enrolments.pop(person.id, None)
        if enrolment is None:
            session.add(Enrolment(course_id=course.id, person_id=person.id,
                                  role=map_roles(member.roles), active=member.active))
            added += 1
            continue
        # The web-service user keeps its role: it is in the forums, never anyone's peer.
        role = enrolment.role if enrolment.role == SERVICE else map_roles(member.roles)
        if (enrolment.role, enrolment.active) != (role, member.active):
            enrolment.role, enrolment.active = role, member.active
            updated += 1

    deactivated = 0
    if by_subject:
        for enrolment in enrolments.values():
            if enrolment.active and enrolment.role != SERVICE:
                enrolment.active = False
                deactivated += 1
    else:
        # An empty roster is a platform fault (a course has at least its teacher), not a purge.
        log.warning("NRPS listed nobody; enrolments left as they were",
                    extra={"course_id": course.id})
    session.flush()
    change = RosterChange(added=added, updated=updated, deactivated=deactivated,
                          members=len(by_subject))
    log.info("roster synced from NRPS", extra={"course_id": course.id, **change.__dict__})
    return change


def _people(session: Session, platform_id: int, subjects: list[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for start in range(0, len(subjects), _CHUNK):
        chunk = subjects[start:start + _CHUNK]
        for person in session.scalars(select(Person).where(
                Person.platform_id == platform_id, Person.subject.in_(chunk))):
            found[person.subject] = person
    return found


def _update_person(person: Person, member: Member) -> None:
    # The platform's privacy settings may withhold names and e-mails: keep what we knew.
    name = member.name or " ".join(p for p in (member.given_name, member.family_name) if p)
    if name and person.fullname != name:
        person.fullname = name
    if member.email and person.email != member.email:
        person.email = member.email
    if person.moodle_user_id is None and member.user_id.isdigit():
        person.moodle_user_id = int(member.user_id)
    if person.deleted:
        person.deleted = False
