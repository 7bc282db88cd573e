"""The teacher dashboard through the test client: sections, actions through mentoring, sync."""

from __future__ import annotations

from sqlalchemy import select

from middleware.models import Ambassador, MentoringPrompt, utcnow


def test_dashboard_renders_every_section_for_a_teacher(launch_as):
    response = launch_as("carla").get("/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for anchor in ("health", "network", "attention", "ambassadors", "prompts", "sync"):
        assert f'id="{anchor}"' in html
    assert 'name="window"' in html and 'name="group"' in html and 'name="pseudonymise"' in html
    assert "This course has not been synced from Moodle yet." in html
    assert "onclick" not in html and "<script>" not in html and "style=" not in html


def test_review_queue_send_and_drop(launch_as, small_course):
    session, course_id = small_course.session, small_course.course.id
    first = MentoringPrompt(course_id=course_id, rule="unanswered", kind="route_peer",
                            recipient_id=small_course.people["marco"].id, status="review",
                            body="Marco, puoi aiutare Luca?", created_at=utcnow())
    second = MentoringPrompt(course_id=course_id, rule="welcome", kind="welcome",
                             recipient_id=small_course.people["sara"].id, status="review",
                             body="Sara, dai il benvenuto", created_at=utcnow())
    session.add_all([first, second])
    session.commit()
    carla = launch_as("carla")
    html = carla.get("/dashboard").get_data(as_text=True)
    assert "Marco, puoi aiutare Luca?" in html and "Sara, dai il benvenuto" in html
    assert carla.post(f"/dashboard/prompts/{first.id}/approve").status_code == 303
    assert carla.post(f"/dashboard/prompts/{second.id}/drop").status_code == 303
    session.expire_all()
    assert session.get(MentoringPrompt, first.id).status == "queued"
    assert session.get(MentoringPrompt, first.id).reviewed_by_id == small_course.people["carla"].id
    assert session.get(MentoringPrompt, second.id).status == "dropped"


def test_approving_a_candidate_invites_them(launch_as, small_course):
    session = small_course.session
    marco_id = small_course.people["marco"].id
    session.add(Ambassador(course_id=small_course.course.id, person_id=marco_id,
                           status="suggested", score=0.9))
    session.commit()
    carla = launch_as("carla")
    response = carla.post(f"/dashboard/candidates/{marco_id}/approve")
    assert response.status_code == 303 and "done=approved" in response.headers["Location"]
    session.expire_all()
    assert session.scalar(select(Ambassador.status)) == "invited"


def test_sync_now_is_rate_limited(launch_as, small_course):
    from middleware.models.moodle import CourseSyncState

    carla = launch_as("carla")
    first = carla.post("/dashboard/sync")
    assert first.status_code == 303 and "done=sync_requested" in first.headers["Location"]
    small_course.session.expire_all()
    requested = small_course.session.get(CourseSyncState,
                                         small_course.course.id).last_requested_at
    again = carla.post("/dashboard/sync")
    assert again.status_code == 303 and "done=sync_too_soon" in again.headers["Location"]
    small_course.session.expire_all()
    assert small_course.session.get(CourseSyncState,
                                    small_course.course.id).last_requested_at == requested
    html = carla.get("/dashboard?done=sync_too_soon").get_data(as_text=True)
    assert "less than two minutes ago" in html


def test_teacher_actions_need_csrf(launch_as):
    carla = launch_as("carla")
    assert carla.post("/dashboard/sync", csrf=False).status_code == 400


def _analyse(small_course):
    from middleware.analytics.operations import refresh_course_analytics

    refresh_course_analytics(small_course.session, small_course.course.id)
    small_course.session.commit()


def test_dashboard_shows_the_analysed_community(launch_as, small_course):
    _analyse(small_course)
    html = launch_as("carla").get("/dashboard?window=all").get_data(as_text=True)
    assert "Circolo has not analysed this course yet" not in html
    assert "Learners who wrote" in html and 'class="figure-value"' in html
    # The network: an accessible image, its legend and its table.
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="network" role="img"' in html
    assert '<title id="network-title">Who replies to whom</title>' in html
    assert 'aria-labelledby="network-title network-desc"' in html
    assert "Teacher (square)" in html and "Isolated learner (hollow, dashed outline)" in html
    assert "<caption" in html and "People, their role and their replies" in html
    table = html.split("<caption", 1)[1].split("</table>", 1)[0]
    for name in ("Giulia Rossi", "Marco Bianchi", "Sara Esposito"):
        assert name in table
    # Unanswered questions with their links to Moodle.
    assert "Quale obiettivo per i ritratti?" in html


def test_pseudonymise_hides_learner_names_everywhere_on_the_dashboard(launch_as, small_course):
    _analyse(small_course)
    html = launch_as("carla").get("/dashboard?window=all&pseudonymise=1").get_data(as_text=True)
    for name in ("Giulia Rossi", "Marco Bianchi", "Sara Esposito", "Luca Romano"):
        assert name not in html
    assert "Learner 1" in html
    assert 'name="pseudonymise" value="1" checked' in html


def test_dashboard_filters_by_period_and_group(launch_as, small_course):
    _analyse(small_course)
    carla = launch_as("carla")
    html = carla.get("/dashboard?window=7d").get_data(as_text=True)
    assert '<option value="7d" selected>' in html
    assert carla.get("/dashboard?window=bogus").status_code == 200


def test_dashboard_in_italian_with_localised_numbers(launch_as, small_course):
    _analyse(small_course)
    html = launch_as("carla", locale="it").get("/dashboard?window=all").get_data(as_text=True)
    assert '<html lang="it">' in html
    assert "Salute della comunità" in html and "Chi risponde a chi" in html
    assert "Studenti che hanno scritto" in html


def test_times_are_told_in_the_past(launch_as, small_course):
    _analyse(small_course)
    html = launch_as("carla").get("/dashboard?window=all").get_data(as_text=True)
    assert "asked 2 days ago" in html
    assert "computed" in html and " ago (" in html
    assert "asked in " not in html


def test_every_dashboard_form_that_changes_something_carries_the_csrf_token(launch_as,
                                                                           small_course):
    _analyse(small_course)
    session = small_course.session
    session.add(MentoringPrompt(course_id=small_course.course.id, rule="welcome", kind="welcome",
                                recipient_id=small_course.people["sara"].id, status="review",
                                body="Benvenuto", created_at=utcnow()))
    session.commit()
    carla = launch_as("carla")
    html = carla.get("/dashboard?window=all").get_data(as_text=True)
    posts = html.count('method="post"')
    assert posts >= 4  # the language switch, send, drop, sync now
    assert html.count(f'name="csrf_token" value="{carla.csrf}"') == posts


def test_a_large_course_draws_the_most_active_and_says_so(launch_as, small_course):
    from middleware.models import Enrolment, Person
    from middleware.models.analytics import AnalyticsSnapshot, PersonMetrics

    session, course = small_course.session, small_course.course
    people = [Person(platform_id=small_course.platform.id, subject=f"s{i}", fullname=f"P {i}")
              for i in range(400)]
    session.add_all(people)
    session.flush()
    session.add_all([Enrolment(course_id=course.id, person_id=p.id) for p in people])
    snapshot = AnalyticsSnapshot(course_id=course.id, window="30d", audience="teacher",
                                 health={"active_learners": 400, "enrolled_learners": 404},
                                 edges=[[people[i].id, people[i + 1].id, 1]
                                        for i in range(399)])
    session.add(snapshot)
    session.flush()
    session.add_all([PersonMetrics(snapshot_id=snapshot.id, person_id=p.id, posts=i + 1,
                                   replies_given=1, replies_received=1)
                     for i, p in enumerate(people)])
    session.commit()
    html = launch_as("carla").get("/dashboard?window=30d").get_data(as_text=True)
    assert "the picture shows the 150 most active people of 400." in html
    assert "The table lists the 300 most active people of 400." in html
    svg = html.split('class="network"', 1)[1].split("</svg>", 1)[0]
    assert svg.count('class="node ') == 150
    assert "P 399" in svg and "P 0 " not in svg


def test_the_group_filter_shows_the_groups_view(launch_as, small_course):
    from middleware.models import CourseGroup, Enrolment

    session, course = small_course.session, small_course.course
    group = CourseGroup(course_id=course.id, moodle_group_id=7, name="Gruppo A")
    session.add(group)
    session.flush()
    for key in ("giulia", "marco"):
        enrolment = session.query(Enrolment).filter_by(
            course_id=course.id, person_id=small_course.people[key].id).one()
        enrolment.groups.append(group)
    session.commit()
    _analyse(small_course)
    html = launch_as("carla").get(f"/dashboard?window=all&group={group.id}").get_data(
        as_text=True)
    assert f'<option value="{group.id}" selected>Gruppo A</option>' in html
    table = html.split("<caption", 1)[1].split("</table>", 1)[0]
    assert "Giulia Rossi" in table and "Marco Bianchi" in table
    assert "Luca Romano" not in table
