"""Syncing a course roster from NRPS into people and enrolments."""

from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from lti.services import Member, ServiceError
from middleware.lti.roster import apply_roster, sync_roster
from middleware.models import LEARNER, SERVICE, TEACHER, Course, Enrolment, Person, Platform

from .conftest import ISSUER, TOKEN_URL

MEMBERSHIPS = f"{ISSUER}/mod/lti/services.php/CourseSection/2/bindings/1/memberships"


@pytest.fixture
def course(db_session) -> Course:
    platform = Platform(issuer=ISSUER, client_id="f7Fe9GlCpiCXwVj",
                        auth_login_url=f"{ISSUER}/mod/lti/auth.php", auth_token_url=TOKEN_URL,
                        key_set_url=f"{ISSUER}/mod/lti/certs.php")
    course = Course(platform=platform, context_id="2", moodle_course_id=2, title="CDP101")
    db_session.add(course)
    db_session.flush()
    return course


def _enrolments(db_session, course) -> dict[str, Enrolment]:
    rows = db_session.scalars(select(Enrolment).where(Enrolment.course_id == course.id))
    return {e.person.subject: e for e in rows}


def _recorded_members(lti_fixture) -> list[Member]:
    from lti.services import MemberSchema

    body = lti_fixture("nrps_memberships.json")["memberships_response"]["body"]
    return MemberSchema(many=True).load(body["members"])


@pytest.mark.parametrize(("roles", "expected"), [
    (["Learner"], LEARNER),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], LEARNER),
    (["Instructor"], TEACHER),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], TEACHER),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], TEACHER),
    (["ContentDeveloper"], TEACHER),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"], TEACHER),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"], LEARNER),
    ([], LEARNER),
    (["Mentor"], LEARNER),
])
def test_nrps_roles_map_to_learner_or_teacher(db_session, course, roles, expected):
    apply_roster(db_session, course, [Member(user_id="5", roles=tuple(roles))])
    assert _enrolments(db_session, course)["5"].role == expected


def test_a_first_sync_creates_people_keyed_by_sub(db_session, course, lti_fixture):
    members = _recorded_members(lti_fixture) + [
        Member(user_id="3", roles=("Instructor",), name="Carla Verdi",
               email="carla.verdi@example.org")]

    change = apply_roster(db_session, course, members)

    assert change.added == 11 and change.members == 11 and change.deactivated == 0
    enrolments = _enrolments(db_session, course)
    assert enrolments["3"].role == TEACHER
    assert enrolments["22"].role == LEARNER and enrolments["22"].active
    riccardo = enrolments["22"].person
    assert (riccardo.platform_id, riccardo.moodle_user_id) == (course.platform_id, 22)
    assert (riccardo.fullname, riccardo.email) == ("Riccardo Barbieri", "learner18@example.org")


def test_a_later_sync_updates_keeps_the_service_user_and_deactivates_leavers(db_session, course,
                                                                              lti_fixture):
    bot = Person(platform_id=course.platform_id, subject="45", moodle_user_id=45,
                 fullname="Community Bot")
    gone = Person(platform_id=course.platform_id, subject="99", fullname="Left The Course")
    quiet = Person(platform_id=course.platform_id, subject="6", fullname="Marco Bianchi",
                   email="marco@example.org")
    db_session.add_all([bot, gone, quiet])
    db_session.flush()
    db_session.add_all([Enrolment(course_id=course.id, person_id=bot.id, role=SERVICE),
                        Enrolment(course_id=course.id, person_id=gone.id, role=LEARNER),
                        Enrolment(course_id=course.id, person_id=quiet.id, role=TEACHER)])
    db_session.flush()
    members = [m for m in _recorded_members(lti_fixture) if m.user_id != "6"]
    # Marco, now a learner, listed without PII (the platform withholds names and e-mails).
    members.append(Member(user_id="6", roles=("Learner",)))

    change = apply_roster(db_session, course, members)

    enrolments = _enrolments(db_session, course)
    assert enrolments["45"].role == SERVICE and enrolments["45"].active
    assert enrolments["99"].active is False
    assert enrolments["6"].role == LEARNER
    assert (quiet.fullname, quiet.email) == ("Marco Bianchi", "marco@example.org")
    assert change.deactivated == 1 and change.updated == 1 and change.added == 8
    assert db_session.scalar(select(Person).where(Person.subject == "45")) is bot


def test_an_inactive_member_is_kept_but_inactive(db_session, course):
    apply_roster(db_session, course, [Member(user_id="7", roles=("Learner",), status="Inactive"),
                                      Member(user_id="3", roles=("Instructor",))])
    assert _enrolments(db_session, course)["7"].active is False


def test_an_empty_roster_deactivates_nobody(db_session, course):
    apply_roster(db_session, course, [Member(user_id="7", roles=("Learner",))])
    change = apply_roster(db_session, course, [])
    assert change.deactivated == 0
    assert _enrolments(db_session, course)["7"].active


def test_people_of_another_platform_are_not_touched(db_session, course):
    other = Platform(issuer="http://other.example", client_id="x", auth_login_url="a",
                     auth_token_url="t", key_set_url="k")
    db_session.add(other)
    db_session.flush()
    stranger = Person(platform_id=other.id, subject="7", fullname="Someone Else")
    db_session.add(stranger)
    db_session.flush()
    apply_roster(db_session, course, [Member(user_id="7", roles=("Learner",), name="Local")])
    assert stranger.fullname == "Someone Else"
    assert _enrolments(db_session, course)["7"].person is not stranger


def test_sync_reads_the_whole_roster_before_changing_anything(db_session, course, services,
                                                              http_mock):
    apply_roster(db_session, course, [Member(user_id="7", roles=("Learner",))])
    http_mock.add(responses.POST, TOKEN_URL, json={"access_token": "t", "token_type": "Bearer",
                                                   "expires_in": 3600})
    http_mock.add(responses.GET, MEMBERSHIPS,
                  json={"members": [{"user_id": "8", "roles": ["Learner"]}]},
                  headers={"Link": f'<{MEMBERSHIPS}?from=1>; rel="next"'})
    http_mock.add(responses.GET, f"{MEMBERSHIPS}?from=1", status=500)

    with pytest.raises(ServiceError):
        sync_roster(db_session, course, services, MEMBERSHIPS)

    assert set(_enrolments(db_session, course)) == {"7"}
    assert _enrolments(db_session, course)["7"].active


def test_sync_applies_what_nrps_lists(db_session, course, services, http_mock):
    http_mock.add(responses.POST, TOKEN_URL, json={"access_token": "t", "token_type": "Bearer",
                                                   "expires_in": 3600})
    http_mock.add(responses.GET, MEMBERSHIPS, json={"members": [
        {"user_id": "8", "roles": ["Learner"], "name": "Luca Colombo"},
        {"user_id": "3", "roles": ["Instructor"]}]})
    change = sync_roster(db_session, course, services, MEMBERSHIPS)
    assert change.added == 2
    assert _enrolments(db_session, course)["3"].role == TEACHER


def test_platform_services_sign_with_the_tools_current_key(db_session, course, settings,
                                                           http_mock):
    from urllib.parse import parse_qs

    import jwt

    from lti.keys import current_signing_key
    from middleware.lti.roster import platform_services

    http_mock.add(responses.POST, TOKEN_URL, json={"access_token": "t", "token_type": "Bearer",
                                                   "expires_in": 3600})
    client = platform_services(db_session, course.platform, settings)
    client.token_cache.clear()
    client.access_token(["scope-a"])
    assertion = parse_qs(http_mock.calls[-1].request.body)["client_assertion"][0]
    key = current_signing_key(db_session, settings)
    assert jwt.get_unverified_header(assertion)["kid"] == key.kid
    claims = jwt.decode(assertion, key.private_key.public_key(), algorithms=["RS256"],
                        audience=TOKEN_URL)
    assert claims["iss"] == claims["sub"] == "f7Fe9GlCpiCXwVj"
