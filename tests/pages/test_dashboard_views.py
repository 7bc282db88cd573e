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
    carla = launch_as("carla")
    assert carla.post("/dashboard/sync").status_code == 303
    assert carla.post("/dashboard/sync").status_code == 429


def test_teacher_actions_need_csrf(launch_as):
    carla = launch_as("carla")
    assert carla.post("/dashboard/sync", csrf=False).status_code == 400
