"""People's language and time zone come from their Moodle profiles, the course's from the course.

Moodle's roster (core_enrol_get_enrolled_users) never carries `lang` nor `timezone`, whatever it
is asked: the sync reads them with core_user_get_users_by_field, in batches, with the roster.
"""

from __future__ import annotations

import math

from sqlalchemy import select

from middleware.models import Course, Person
from middleware.moodle.service import USERS_PER_CALL
from tests.doubles.community import generate_community
from tests.doubles.moodle_ws import MoodleDouble, mock_double
from tests.moodle.conftest import sent_form
from tests.sync.conftest import MOODLE, TOKEN, make_course


def stored_people(db_session, course):
    db_session.expire_all()
    return {p.subject: p for p in db_session.scalars(
        select(Person).where(Person.platform_id == course.platform_id))}


def test_languages_and_time_zones_come_from_the_profiles(db_session, course, moodle, community,
                                                         sync, http_mock):
    assert sync(course).status == "succeeded"
    people = stored_people(db_session, course)
    enrolled = [u for u in community.users if u.enrolled and not u.deleted]
    for user in enrolled:
        person = people[str(user.id)]
        assert person.lang == (user.lang or "en")  # Moodle always has one ("en" by default)
        # Moodle's "99" is the server's default zone: Circolo keeps "" (the course's).
        assert person.timezone == ("" if user.timezone == "99" else user.timezone)
    assert {p.lang for p in people.values()} >= {"it", "en"}
    forms = [sent_form(call) for call in http_mock.calls]
    roster = next(f for f in forms if f["wsfunction"] == "core_enrol_get_enrolled_users")
    assert "lang" not in roster["options[1][value]"]
    profiles = [f for f in forms if f["wsfunction"] == "core_user_get_users_by_field"]
    assert len(profiles) == math.ceil(len(enrolled) / USERS_PER_CALL) == moodle.calls[
        "core_user_get_users_by_field"]
    assert all(f["field"] == "id" for f in profiles)


def test_a_big_roster_reads_profiles_in_batches(db_session, settings, http_mock, sync):
    community = generate_community(seed=3, learners=USERS_PER_CALL + 50, discussions=5,
                                   posts=10)
    double = MoodleDouble(community, token=TOKEN)
    mock_double(http_mock, double, MOODLE)
    course = make_course(db_session, settings.encryption_key, community.service_user.id)
    assert sync(course).status == "succeeded"
    assert double.calls["core_user_get_users_by_field"] == 2
    people = stored_people(db_session, course)
    last = community.learners[-1]
    assert people[str(last.id)].lang == (last.lang or "en")


def test_changes_in_moodle_profiles_reach_circolo(db_session, course, moodle, community, sync):
    sync(course)
    learner = next(u for u in community.learners if u.timezone != "99")
    learner.lang, learner.timezone = "it", "99"
    assert sync(course, full=True).status == "succeeded"
    person = stored_people(db_session, course)[str(learner.id)]
    assert (person.lang, person.timezone) == ("it", "")


def test_profiles_moodle_does_not_show_keep_what_circolo_knew(db_session, course, moodle,
                                                              community, sync):
    sync(course)
    learner = next(u for u in community.learners if u.lang == "it" and u.timezone != "99")
    learner.lang, learner.timezone = "en", "99"
    community.profiles_hidden = True  # the role lost moodle/user:viewalldetails
    assert sync(course, full=True).status == "succeeded"
    person = stored_people(db_session, course)[str(learner.id)]
    assert (person.lang, person.timezone) == ("it", "Europe/Rome")


def test_the_course_forced_language_is_kept_with_its_dates(db_session, course, moodle,
                                                           community, sync):
    community.course_lang = "it"
    assert sync(course).status == "succeeded"
    db_session.expire_all()
    stored = db_session.get(Course, course.id)
    assert stored.lang == "it" and stored.starts_at is not None
    community.course_lang = ""
    sync(course, full=True)
    db_session.expire_all()
    assert db_session.get(Course, course.id).lang == ""
