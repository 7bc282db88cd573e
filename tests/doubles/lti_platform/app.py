"""The platform's HTTP side: Moodle's `mod/lti` pages and launch endpoints as a Flask app."""

from __future__ import annotations

import json
from typing import Any

import jwt
from flask import Flask, Response, abort, jsonify, render_template_string, request

from .platform import CLAIM, DEEP_LINKING, RESOURCE_LINK, MoodlePlatform, Tool
from .registration import add_registration_routes
from .services import add_service_routes

PAGE = """<!doctype html>
<html lang="it"><head><meta charset="utf-8"><title>{{ title }} · CTM</title></head>
<body>{{ body|safe }}</body></html>"""

AUTO_POST = """<!doctype html>
<html lang="it"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<form action="{{ action }}" name="{{ name }}" id="{{ name }}" method="post"
      enctype="application/x-www-form-urlencoded">
{% for key, value in fields.items() %}  <input type="hidden" name="{{ key }}" value="{{ value }}">
{% endfor %}<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById("{{ name }}").submit();</script>
</body></html>"""

COURSE_PAGE = """<!doctype html>
<html lang="it"><head><meta charset="utf-8"><title>{{ course }} · {{ link }}</title></head>
<body>
<header><h1>{{ course }}</h1><p id="user">{{ user.name }}</p></header>
<main role="main">
<h2>{{ link }}</h2>
<iframe id="contentframe" title="{{ link }}" src="{{ src }}" width="100%" height="600"
  allow="microphone *; camera *; geolocation *; midi *; encrypted-media *; autoplay *"
  allowfullscreen></iframe>
</main></body></html>"""


def create_platform_app(platform: MoodlePlatform) -> Flask:
    """Create the Flask app serving `platform`."""
    app = Flask("moodle_platform_double")

    @app.get("/")
    def index() -> str:
        rows = []
        for tool in platform.tools.values():
            state = " (pending)" if tool.pending else ""
            rows.append(f"<h2>{_esc(tool.name)}{state}: client_id {_esc(tool.client_id)}, "
                        f"deployment {_esc(tool.type_id)}</h2><ul>")
            for user in platform.users.values():
                url = platform.course_page_url(user.id, tool=tool)
                english = platform.course_page_url(user.id, tool=tool, locale="en")
                rows.append(f'<li><a href="{_esc(url)}">{_esc(user.name)}</a> ({user.role})'
                            f' — <a href="{_esc(english)}">en</a>')
                if user.role in {"teacher", "admin"}:
                    dl = platform.course_page_url(user.id, tool=tool, message_type=DEEP_LINKING)
                    rows.append(f' — <a href="{_esc(dl)}">add content (deep linking)</a>')
                rows.append("</li>")
            rows.append("</ul>")
        body = (f"<h1>Community Test Moodle</h1><p>issuer {_esc(platform.issuer)}</p>"
                + "".join(rows))
        return render_template_string(PAGE, title="Home", body=body)

    @app.get("/mod/lti/certs.php")
    def certs() -> Response:
        return jsonify(platform.jwks())

    # --- launch ------------------------------------------------------------------------------

    def _launch_arguments() -> tuple[Any, Tool, str, str | None, str]:
        user = platform.users.get(request.args.get("user", ""))
        tool = platform.tool_by_client_id(request.args.get("tool", ""))
        if user is None or tool is None:
            abort(404)
        if tool.pending:
            abort(Response("This tool is pending: an administrator must activate it.", 403))
        message_type = request.args.get("message", RESOURCE_LINK)
        if message_type not in {RESOURCE_LINK, DEEP_LINKING}:
            abort(400)
        return (user, tool, message_type, request.args.get("locale"),
                request.args.get("link", "1"))

    @app.get("/course/view.php")
    def course_view() -> str:
        user, tool, message_type, locale, link_id = _launch_arguments()
        title = (platform.links[link_id].title if message_type == RESOURCE_LINK
                 else f"Add {tool.name}")
        src = "/mod/lti/launch.php?" + request.query_string.decode()
        return render_template_string(COURSE_PAGE, course=platform.course_title, link=title,
                                      user=user, src=src)

    @app.get("/mod/lti/launch.php")
    def launch() -> str:
        user, tool, message_type, locale, link_id = _launch_arguments()
        _launch, fields = platform.start_launch(user, tool, message_type, link_id, locale)
        return render_template_string(AUTO_POST, title="Launching", name="ltiInitiateLoginForm",
                                      action=tool.initiate_login_uri, fields=fields)

    @app.route("/mod/lti/auth.php", methods=["GET", "POST"])
    def auth() -> Any:
        params = {key: request.values.get(key, "") for key in (
            "scope", "response_type", "client_id", "redirect_uri", "login_hint",
            "lti_message_hint", "state", "response_mode", "nonce", "prompt")}
        platform.auth_requests.append(dict(request.values.items()))
        ok = all(params[k] for k in ("scope", "response_type", "client_id", "redirect_uri",
                                     "login_hint", "nonce"))
        error, description = ("" if ok else "invalid_request"), ""
        try:
            hint = json.loads(params["lti_message_hint"])
        except ValueError:
            hint = {}
        launch = platform.take_launch(hint.get("launchid", "")) if isinstance(hint, dict) \
            else None
        if ok and launch is None:
            ok, error, description = False, "invalid_request", "No launch id in LTI hint"
        if ok and params["scope"] != "openid":
            ok, error = False, "invalid_scope"
        if ok and params["response_type"] != "id_token":
            ok, error = False, "unsupported_response_type"
        tool = platform.tool_by_type_id(launch.type_id) if launch else None
        if ok and (tool is None or params["client_id"] != tool.client_id):
            ok, error = False, "unauthorized_client"
        if ok and launch and params["login_hint"] != launch.user_id:
            ok, error = False, "access_denied"
        # Without a tool, or with a redirect URI it did not register, Moodle posts nowhere.
        if tool is None or params["redirect_uri"] not in tool.redirect_uris:
            return Response("Invalid request (invalidrequest)", 400)
        if ok and params["response_mode"] != "form_post":
            ok, error = False, "invalid_request"
            description = ("Invalid response_mode" if params["response_mode"]
                           else "Missing response_mode")
        if ok and params["prompt"] and params["prompt"] != "none":
            ok, error, description = False, "invalid_request", "Invalid prompt"
        fields: dict[str, str] = {}
        if ok and launch is not None:
            claims = platform.id_token_claims(launch, tool, params["nonce"])
            platform.id_tokens.append(claims)
            fields["id_token"] = platform.sign(claims)
        else:
            fields["error"] = error
            if description:
                fields["error_description"] = description
        fields["state"] = params["state"]
        return render_template_string(AUTO_POST, title="Launching", name="ltiAuthForm",
                                      action=params["redirect_uri"], fields=fields)

    @app.get("/mod/lti/return.php")
    def launch_return() -> str:
        return render_template_string(PAGE, title="Course", body="<p>Back in the course.</p>")

    @app.post("/mod/lti/contentitem_return.php")
    def contentitem_return() -> Any:
        tool = platform.tool_by_type_id(request.args.get("id", ""))
        token = request.form.get("JWT", "")
        if tool is None or not token:
            return Response("Invalid request (invalidrequest)", 400)
        record: dict[str, Any] = {"tool": tool.client_id, "jwt": token}
        try:
            key = platform.tool_public_key(tool, jwt.get_unverified_header(token).get("kid"))
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=platform.issuer,
                                issuer=tool.client_id, options={"require": ["exp", "iat",
                                                                            "nonce"]})
        except (jwt.PyJWTError, OSError, ValueError) as failure:
            record["error"] = f"{type(failure).__name__}: {failure}"
            platform.deep_link_responses.append(record)
            return Response(f"Invalid deep linking response: {record['error']}", 400)
        record["claims"] = claims
        # Published only once complete: tests poll this list from another thread.
        platform.deep_link_responses.append(record)
        if claims.get(f"{CLAIM}message_type") != "LtiDeepLinkingResponse" or claims.get(
                f"{CLAIM}deployment_id") != tool.type_id:
            record["error"] = "not a deep linking response for this deployment"
            return Response(record["error"], 400)
        items = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", [])
        listed = "".join(f"<li>{_esc(item.get('title', ''))}</li>" for item in items)
        return render_template_string(PAGE, title="Content added",
                                      body=f"<h1>Content added</h1><ul id='items'>{listed}</ul>")

    add_service_routes(app, platform)
    add_registration_routes(app, platform)
    return app


def _esc(value: str) -> str:
    from markupsafe import escape

    return str(escape(value))

