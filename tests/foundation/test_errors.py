import pytest
from flask import Flask

from middleware import create_app
from middleware.errors import Forbidden


@pytest.fixture
def app_with_failures(settings) -> Flask:
    app = create_app(settings.with_overrides(testing=False))

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/forbidden")
    def forbidden():
        raise Forbidden(detail="learner 7 asked for the dashboard")

    return app


def test_not_found_page_in_english(client):
    response = client.get("/nowhere", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Page not found" in page and "This page does not exist." in page


def test_not_found_page_in_italian(client):
    response = client.get("/nowhere", headers={"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"})
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<html lang="it">' in page
    assert "Pagina non trovata" in page and "Questa pagina non esiste." in page
    assert "Vai al contenuto" in page


def test_api_clients_get_json(client):
    response = client.get("/nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json == {"error": {"status": 404, "code": "not_found",
                                       "message": "This page does not exist."}}


def test_unexpected_errors_show_no_stack_trace(app_with_failures):
    response = app_with_failures.test_client().get("/boom", headers={"Accept-Language": "it"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Qualcosa non ha funzionato" in page
    assert "Traceback" not in page and "hunter2" not in page and "RuntimeError" not in page


def test_domain_errors_render_their_message_not_their_detail(app_with_failures):
    response = app_with_failures.test_client().get("/forbidden")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "You do not have access to this page." in page
    assert "learner 7" not in page


def test_method_not_allowed_keeps_allow_header(client):
    response = client.post("/healthz", headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_pages_carry_security_headers(client):
    response = client.get("/nowhere")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'self'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_nul_characters_are_refused_everywhere_with_a_readable_page(client):
    assert client.get("/healthz?x=a%00b").status_code == 400
    response = client.post("/nowhere", data={"note": "a\x00b"})
    assert response.status_code == 400
    assert "The request could not be understood." in response.get_data(as_text=True)
    assert client.get("/healthz?x=fine").status_code == 200
