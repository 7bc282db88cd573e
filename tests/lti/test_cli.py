"""`flask circolo platform ...` and `flask circolo keys ...`."""

from __future__ import annotations

from sqlalchemy import select

from middleware.db import database
from middleware.models import Course, Platform, ToolKey

from .conftest import AUTH_URL, CLIENT_ID, ISSUER, JWKS_URL, TOKEN_URL

ADD = ["circolo", "platform", "add", "--issuer", ISSUER, "--client-id", CLIENT_ID,
       "--auth-login-url", AUTH_URL, "--auth-token-url", TOKEN_URL, "--key-set-url", JWKS_URL,
       "--deployment-id", "1", "--name", "Community Test Moodle"]


def platforms(app):
    with app.app_context(), database(app).session() as db:
        return [(p.issuer, p.client_id, p.name, p.auth_login_url, p.auth_token_url,
                 p.key_set_url, sorted(d.deployment_id for d in p.deployments))
                for p in db.scalars(select(Platform))]


def test_platform_add_list_update_remove(app, runner):
    result = runner.invoke(args=ADD)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("added platform 1:")
    assert platforms(app) == [(ISSUER, CLIENT_ID, "Community Test Moodle", AUTH_URL, TOKEN_URL,
                               JWKS_URL, ["1"])]

    result = runner.invoke(args=[*ADD[:-2], "--deployment-id", "2"])
    assert result.exit_code == 0 and result.output.startswith("updated platform 1:")
    assert platforms(app)[0][6] == ["1", "2"]

    listed = runner.invoke(args=["circolo", "platform", "list"]).output
    assert ISSUER in listed and f"client_id={CLIENT_ID}" in listed and "deployments=1, 2" in listed
    assert JWKS_URL in listed

    refused = runner.invoke(args=["circolo", "platform", "remove", "1"], input="n\n")
    assert refused.exit_code != 0 and len(platforms(app)) == 1
    removed = runner.invoke(args=["circolo", "platform", "remove", "1", "--yes"])
    assert removed.exit_code == 0 and platforms(app) == []
    assert runner.invoke(args=["circolo", "platform", "remove", "1", "--yes"]).exit_code != 0


def test_platform_remove_takes_its_courses(app, runner, registered_platform):
    with app.app_context(), database(app).transaction() as db:
        db.add(Course(platform_id=registered_platform, context_id="2"))
    remove = ["circolo", "platform", "remove", str(registered_platform), "--yes"]
    result = runner.invoke(args=remove)
    assert result.exit_code == 0, result.output
    with app.app_context(), database(app).session() as db:
        assert db.scalar(select(Course)) is None


def test_platform_add_checks_urls(runner):
    args = [*ADD]
    args[args.index("--key-set-url") + 1] = "certs.php"
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "--key-set-url" in result.output


def test_platform_list_when_empty(runner):
    assert "no platforms registered" in runner.invoke(args=["circolo", "platform", "list"]).output


def test_keys_rotate_and_list(app, runner, client):
    first = runner.invoke(args=["circolo", "keys", "rotate"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["circolo", "keys", "rotate"])
    new_kid = second.output.split()[3]
    listed = runner.invoke(args=["circolo", "keys", "list"]).output
    assert f"{new_kid}\tsigning" in listed and "\tpublished\t" in listed

    published = [key["kid"] for key in client.get("/lti/jwks").get_json()["keys"]]
    assert published[0] == new_kid and len(published) == 2

    runner.invoke(args=["circolo", "keys", "rotate"])
    listed = runner.invoke(args=["circolo", "keys", "list"]).output
    assert "retired" in listed
    with app.app_context(), database(app).session() as db:
        assert db.query(ToolKey).count() == 3
    assert len(client.get("/lti/jwks").get_json()["keys"]) == 2
    assert "PRIVATE" not in listed


def test_jwks_endpoint_is_cacheable_json(client):
    response = client.get("/lti/jwks")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    (key,) = response.get_json()["keys"]
    assert "d" not in key and key["use"] == "sig"
