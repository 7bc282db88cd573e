import json
import logging
from datetime import timedelta

from middleware import migrate
from middleware.heartbeat import heartbeat_now, record_heartbeat
from middleware.logging import JsonFormatter, RequestIdFilter, redact
from middleware.models import WorkerHeartbeat, utcnow


def _stamp_head(app):
    from sqlalchemy import text

    from middleware.db import database

    with database(app).engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(64))")
        )
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version VALUES (:v)"),
                           {"v": migrate.head_revision()})


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_readyz_is_not_ready_without_migrations_or_heartbeat(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"]["ok"] is True
    assert checks["migrations"]["ok"] is False


def test_readyz_reports_worker_heartbeat(app, client, db_session):
    _stamp_head(app)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["worker"] == {"ok": False, "error": "no heartbeat yet"}

    heartbeat_now()  # the queue runs it at once in tests
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready"
    assert response.json["checks"]["worker"]["ok"] is True
    assert response.json["checks"]["migrations"]["revision"] == migrate.head_revision()


def test_readyz_fails_on_a_stale_heartbeat(app, client, db_session):
    _stamp_head(app)
    record_heartbeat(db_session)
    db_session.get(WorkerHeartbeat, "worker").last_seen_at = utcnow() - timedelta(minutes=10)
    db_session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["worker"]["ok"] is False
    assert response.json["checks"]["worker"]["age_seconds"] >= 600


def test_metrics_count_requests_by_endpoint(client):
    client.get("/healthz")
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'circolo_http_requests_total{endpoint="ops.healthz",method="GET",status="200"}' in body
    assert "circolo_http_request_duration_seconds_bucket" in body


def test_request_id_is_echoed_when_safe_and_replaced_when_not(client):
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id;<x>"})
    replaced = replaced.headers["X-Request-ID"]
    assert replaced != "bad id;<x>" and len(replaced) == 32


def test_logs_are_json_lines_with_request_id_and_no_tokens(app):
    formatter = JsonFormatter()
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "req-1"
        record = logging.makeLogRecord({
            "name": "middleware.sync", "levelno": logging.INFO, "levelname": "INFO",
            "msg": "POST wstoken=abcdef123456&wsfunction=core_webservice_get_site_info",
            "args": (), "course_id": 4,
        })
        RequestIdFilter().filter(record)
        line = formatter.format(record)
    entry = json.loads(line)
    assert entry["request_id"] == "req-1"
    assert entry["course_id"] == 4
    assert "abcdef123456" not in line and "wstoken=***" in entry["message"]


def test_redaction_covers_bearer_tokens_and_jwts():
    text = ('Authorization: Bearer abc.def-ghi id_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMSJ9.sig '
            '{"access_token": "s3cr3t"}')
    cleaned = redact(text)
    assert "abc.def-ghi" not in cleaned and "s3cr3t" not in cleaned and "eyJzdWIi" not in cleaned
