"""The load benchmark's baseline: the same LTI 1.3 login and launch validated by pylti1p3.

A minimal Flask app, served by gunicorn with Circolo's settings (`deploy/gunicorn.conf.py`) by
`benchmarks/load.py`: `/login` is pylti1p3's OIDC login initiation, `/launch` validates the
id_token with `FlaskMessageLaunch` (signature against the platform's key set given in the
in-memory tool configuration, iss, aud, exp, nonce, state cookie, deployment, message) and
redirects to `/done`. Its configuration comes as JSON in `PYLTI1P3_BASELINE_CONFIG` (issuer,
client_id, deployment_id, auth URLs, the platform JWKS, the tool's private key in PEM).

    gunicorn --config deploy/gunicorn.conf.py benchmarks.pylti1p3_baseline:app
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

from flask import Flask, redirect, session
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.tool_config import ToolConfDict


def tool_configuration(config: dict[str, Any]) -> ToolConfDict:
    """pylti1p3's in-memory tool configuration for one platform (no JWKS fetch per launch)."""
    tool_conf = ToolConfDict({config["issuer"]: [{
        "default": True,
        "client_id": config["client_id"],
        "auth_login_url": config["auth_login_url"],
        "auth_token_url": config["auth_token_url"],
        "key_set_url": None,
        "key_set": config["key_set"],
        "deployment_ids": [config["deployment_id"]],
    }]})
    tool_conf.set_private_key(config["issuer"], config["private_key"],
                              client_id=config["client_id"])
    return tool_conf


def create_baseline_app(config: dict[str, Any]) -> Flask:
    app = Flask("pylti1p3_baseline")
    app.secret_key = config.get("secret_key") or secrets.token_urlsafe(32)
    tool_conf = tool_configuration(config)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        request = FlaskRequest()
        login = FlaskOIDCLogin(request, tool_conf)
        return login.redirect(request.get_param("target_link_uri"))

    @app.post("/launch")
    def launch() -> Any:
        message_launch = FlaskMessageLaunch(FlaskRequest(), tool_conf)
        data = message_launch.get_launch_data()  # every check; raises LtiException on failure
        session["sub"] = data["sub"]
        return redirect("/done")

    @app.get("/done")
    def done() -> str:
        return "launched " + str(session.get("sub", ""))

    @app.errorhandler(Exception)
    def refused(error: Exception) -> tuple[str, int]:
        return f"refused: {type(error).__name__}: {error}", 400

    return app


app = create_baseline_app(json.loads(os.environ.get("PYLTI1P3_BASELINE_CONFIG", "{}"))) \
    if os.environ.get("PYLTI1P3_BASELINE_CONFIG") else None
