"""The platform's HTTP side: Moodle's `mod/lti` endpoints as a Flask app."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from flask import Flask, Response, abort, jsonify, redirect, render_template_string, request

from .platform import (
    AGS_SCOPES,
    CLAIM,
    DEEP_LINKING,
    NRPS_SCOPE,
    RESOURCE_LINK,
    LineItem,
    MoodlePlatform,
    Tool,
    unverified_claims,
)

MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
SCORE = "application/vnd.ims.lis.v1.score+json"
REG_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"

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

TOOL_CONFIGURE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Manage tools · CTM</title></head>
<body>
<h1>Manage tools</h1>
<p id="status">Registering {{ url }}</p>
<iframe id="registration" title="Tool registration" src="{{ src }}" width="100%"
  height="500"></iframe>
<script>
window.addEventListener("message", function (event) {
  if (event.data && event.data.subject === "org.imsglobal.lti.close") {
    document.getElementById("status").textContent = "Registration closed by the tool";
    document.getElementById("registration").remove();
  }
});
</script>
</body></html>"""


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
        platform.deep_link_responses.append(record)
        try:
            key = platform.tool_public_key(tool, jwt.get_unverified_header(token).get("kid"))
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=platform.issuer,
                                issuer=tool.client_id, options={"require": ["exp", "iat",
                                                                            "nonce"]})
        except (jwt.PyJWTError, OSError, ValueError) as failure:
            record["error"] = f"{type(failure).__name__}: {failure}"
            return Response(f"Invalid deep linking response: {record['error']}", 400)
        record["claims"] = claims
        if claims.get(f"{CLAIM}message_type") != "LtiDeepLinkingResponse" or claims.get(
                f"{CLAIM}deployment_id") != tool.type_id:
            record["error"] = "not a deep linking response for this deployment"
            return Response(record["error"], 400)
        items = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", [])
        listed = "".join(f"<li>{_esc(item.get('title', ''))}</li>" for item in items)
        return render_template_string(PAGE, title="Content added",
                                      body=f"<h1>Content added</h1><ul id='items'>{listed}</ul>")

    # --- services ----------------------------------------------------------------------------

    @app.post("/mod/lti/token.php")
    def token() -> Any:
        form = request.form
        record: dict[str, Any] = {"form": dict(form.items())}
        platform.token_requests.append(record)

        def refuse(error: str) -> Response:
            record["error"] = error
            return Response(json.dumps({"error": error}), 400, content_type="application/json")

        if request.mimetype != "application/x-www-form-urlencoded":
            return refuse("invalid_request")
        if not all(form.get(k) for k in ("client_assertion", "client_assertion_type",
                                         "grant_type", "scope")):
            return refuse("invalid_request")
        if (form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:"
                                             "jwt-bearer" or form["grant_type"] !=
                "client_credentials"):
            return refuse("unsupported_grant_type")
        claims = unverified_claims(form["client_assertion"])
        if not claims or not claims.get("sub"):
            return refuse("invalid_request")
        tool = platform.tool_by_client_id(claims["sub"])
        if tool is None:
            return refuse("invalid_client")
        try:
            header = jwt.get_unverified_header(form["client_assertion"])
            key = platform.tool_public_key(tool, header.get("kid"))
            if key is None:
                return refuse("invalid_client")
            verified = jwt.decode(form["client_assertion"], key, algorithms=["RS256"],
                                  audience=platform.token_url, issuer=tool.client_id,
                                  options={"require": ["exp", "iat", "jti", "sub"]})
        except (jwt.PyJWTError, OSError, ValueError) as failure:
            return refuse(f"invalid_client: {type(failure).__name__}")
        record["assertion"] = {"header": header, "claims": verified}
        if verified["sub"] != tool.client_id or not platform.new_jti(verified["jti"]):
            return refuse("invalid_client")
        scopes = set(form["scope"].split()) & tool.scopes
        if not scopes:
            return refuse("invalid_scope")
        access_token = platform.issue_access_token(tool.client_id, scopes)
        return jsonify(access_token=access_token, token_type="Bearer", expires_in=3600,
                       scope=" ".join(sorted(scopes)))

    def _authorised(wanted: set[str]) -> Tool:
        header = request.headers.get("Authorization", "")
        found = platform.token_scopes(header[7:]) if header.startswith("Bearer ") else None
        platform.service_requests.append({"method": request.method, "url": request.url,
                                          "headers": dict(request.headers),
                                          "body": request.get_data(as_text=True)})
        if found is None:
            abort(Response("Unauthorized", 401))
        tool, scopes = found
        if not scopes & wanted:
            abort(Response("Forbidden", 403))
        return tool

    @app.get("/mod/lti/services.php/CourseSection/<course_id>/bindings/<type_id>/memberships")
    def memberships(course_id: str, type_id: str) -> Any:
        tool = _authorised({NRPS_SCOPE})
        if course_id != platform.course_id or tool.type_id != type_id:
            abort(404)
        _accepts(MEMBERSHIP_CONTAINER)
        people = sorted(platform.users.values(), key=lambda u: (u.family_name, u.given_name))
        role = request.args.get("role")
        if role:
            people = [u for u in people if role.rsplit("#", 1)[-1] in u.nrps_roles]
        start = int(request.args.get("from", 0) or 0)
        size = int(request.args.get("limit", 0) or 0) or platform.nrps_page_size or len(people)
        page = people[start:start + size]
        members = []
        for user in page:
            member: dict[str, Any] = {"status": "Active", "roles": user.nrps_roles,
                                      "user_id": user.id, "lis_person_sourcedid": ""}
            if tool.send_name:
                member.update(name=user.name, given_name=user.given_name,
                              family_name=user.family_name)
            if tool.send_email:
                member["email"] = user.email
            member["ext_user_username"] = user.username
            members.append(member)
        url = platform.memberships_url(tool)
        body = {"id": url, "context": {"id": platform.course_id, "label": platform.course_label,
                                       "title": platform.course_title}, "members": members}
        response = Response(json.dumps(body),
                            content_type=f"{MEMBERSHIP_CONTAINER}; charset=utf-8")
        if start + size < len(people):
            query = urlencode({"limit": size, "from": start + size})
            response.headers["Link"] = f'<{url}?{query}>; rel="next"'
        return response

    @app.route("/mod/lti/services.php/<course_id>/lineitems", methods=["GET", "POST"])
    def lineitems(course_id: str) -> Any:
        if course_id != platform.course_id:
            abort(404)
        if request.method == "GET":
            tool = _authorised(set(AGS_SCOPES[:2]))
            _accepts(LINEITEM_CONTAINER)
            items = [_lineitem_json(platform, tool, item) for item in platform.line_items.values()]
            return Response(json.dumps(items), content_type=LINEITEM_CONTAINER)
        tool = _authorised({AGS_SCOPES[0]})
        body = _json_body(LINEITEM)
        if not body.get("label") or not isinstance(body.get("scoreMaximum"), int | float):
            abort(Response("Incorrect lineitem", 400))
        with platform.lock:
            item = LineItem(id=str(max(map(int, platform.line_items), default=0) + 1),
                            label=body["label"], score_maximum=body["scoreMaximum"],
                            resource_link_id=str(body.get("resourceLinkId", "")),
                            resource_id=str(body.get("resourceId", "")),
                            tag=str(body.get("tag", "")))
            platform.line_items[item.id] = item
        return Response(json.dumps(_lineitem_json(platform, tool, item)), 201,
                        content_type=LINEITEM)

    @app.get("/mod/lti/services.php/<course_id>/lineitems/<item_id>/lineitem")
    def lineitem(course_id: str, item_id: str) -> Any:
        tool = _authorised(set(AGS_SCOPES[:2]))
        item = platform.line_items.get(item_id)
        if course_id != platform.course_id or item is None:
            abort(404)
        return Response(json.dumps(_lineitem_json(platform, tool, item)), content_type=LINEITEM)

    @app.post("/mod/lti/services.php/<course_id>/lineitems/<item_id>/lineitem/scores")
    def scores(course_id: str, item_id: str) -> Any:
        _authorised({AGS_SCOPES[3]})
        if course_id != platform.course_id or item_id not in platform.line_items:
            abort(404)
        body = _json_body(SCORE)
        required = ("userId", "activityProgress", "gradingProgress", "timestamp")
        if any(key not in body for key in required) or body["userId"] not in platform.users:
            abort(Response("Incorrect score received", 400))
        if "scoreGiven" in body and "scoreMaximum" not in body:
            abort(Response("Incorrect score received", 400))
        platform.scores.append({"lineitem": item_id, **body})
        return Response("", 200)

    # --- dynamic registration ----------------------------------------------------------------

    @app.get("/mod/lti/openid-configuration.php")
    def openid_configuration() -> Response:
        return Response(json.dumps(openid_configuration_of(platform)),
                        content_type="application/json; charset=utf-8")

    @app.get("/mod/lti/startltiadvregistration.php")
    def start_registration() -> Any:
        url = request.args.get("url", "")
        if not url.startswith(("http://", "https://")):
            abort(400)
        separator = "&" if urlsplit(url).query else "?"
        query = urlencode({"openid_configuration": platform.openid_configuration_url,
                           "registration_token": platform.new_registration_token()})
        return redirect(f"{url}{separator}{query}")

    @app.get("/mod/lti/toolconfigure.php")
    def tool_configure() -> str:
        url = request.args.get("url", "")
        src = "/mod/lti/startltiadvregistration.php?" + urlencode({"url": url})
        return render_template_string(TOOL_CONFIGURE, url=url, src=src)

    @app.post("/mod/lti/openid-registration.php")
    def openid_registration() -> Any:
        header = request.headers.get("Authorization", "")
        record: dict[str, Any] = {"headers": dict(request.headers),
                                  "body": request.get_data(as_text=True)}
        platform.registrations.append(record)

        def refuse(message: str, status: int) -> Response:
            record["error"] = (status, message)
            return Response(message, status)

        if not header.startswith("Bearer "):
            return refuse("missing_registration_token", 401)
        try:
            token = jwt.decode(header[7:].strip(), platform.key.public_key(),
                               algorithms=["RS256"], options={"require": ["sub", "exp"]})
        except jwt.PyJWTError as failure:
            return refuse(str(failure), 401)
        if token.get("scope") != "reg":
            return refuse("invalid registration token scope", 401)
        if platform.tool_by_client_id(token["sub"]) is not None:
            return refuse("token_already_used", 401)
        try:
            payload = json.loads(request.get_data(as_text=True))
            tool = _register(platform, payload, token["sub"])
        except (ValueError, TypeError, AttributeError) as failure:
            return refuse(str(failure) or "invalid registration", 400)
        return jsonify(registration_answer(platform, tool))

    return app


# --- helpers --------------------------------------------------------------------------------

def _esc(value: str) -> str:
    from markupsafe import escape

    return str(escape(value))


def _accepts(media_type: str) -> None:
    accept = request.headers.get("Accept", "*/*")
    if media_type not in accept and "*/*" not in accept:
        abort(Response("Not acceptable", 406))


def _json_body(media_type: str) -> dict[str, Any]:
    if request.mimetype != media_type:
        abort(Response(f"Content-Type must be {media_type}", 415))
    try:
        body = json.loads(request.get_data(as_text=True))
    except ValueError:
        abort(Response("Body is not JSON", 400))
    if not isinstance(body, dict):
        abort(Response("Body is not a JSON object", 400))
    return body


def _lineitem_json(platform: MoodlePlatform, tool: Tool, item: LineItem) -> dict[str, Any]:
    return {"id": platform.lineitem_url(tool, item.id), "label": item.label,
            "scoreMaximum": item.score_maximum, "resourceId": item.resource_id,
            "tag": item.tag, "resourceLinkId": item.resource_link_id,
            "ltiLinkId": item.resource_link_id}


def _required(payload: dict[str, Any], key: str) -> Any:
    value = payload.get(key)
    if not value:
        raise ValueError(f"missing required attribute {key}")
    return value


def _register(platform: MoodlePlatform, payload: dict[str, Any], client_id: str) -> Tool:
    """Validate a registration as Moodle's registration_helper does, and add a pending tool."""
    if not isinstance(payload, dict):
        raise ValueError("invalid registration")
    response_types = _required(payload, "response_types")
    login = _required(payload, "initiate_login_uri")
    redirect_uris = _required(payload, "redirect_uris")
    name = _required(payload, "client_name")
    jwks_uri = _required(payload, "jwks_uri")
    auth_method = _required(payload, "token_endpoint_auth_method")
    config = _required(payload, REG_CONFIG)
    domain = _required(config, "domain")
    target = _required(config, "target_link_uri")
    if "id_token" not in response_types:
        raise ValueError("invalid_response_types")
    if not isinstance(redirect_uris, list):
        raise ValueError("invalid_redirect_uris")
    if auth_method != "private_key_jwt":
        raise ValueError("invalid_token_endpoint_auth_method")
    if payload.get("application_type") and payload["application_type"] != "web":
        raise ValueError("invalid_application_type")
    if urlsplit(target).netloc != domain:
        raise ValueError("invalid_target_link_uri")
    deep_linking = next((m for m in config.get("messages", [])
                         if m.get("type") == DEEP_LINKING), None)
    scopes = set((payload.get("scope") or "").split())
    granted = {s for s in scopes if s in {NRPS_SCOPE, *AGS_SCOPES}}
    if granted & set(AGS_SCOPES):  # Moodle grants the whole AGS family for any AGS scope
        granted |= set(AGS_SCOPES[1:])
    claims = set(config.get("claims") or [])
    tool = platform.add_tool(
        client_id=client_id, name=name, initiate_login_uri=login, redirect_uris=redirect_uris,
        target_link_uri=target, jwks_uri=jwks_uri,
        deep_linking_uri=(deep_linking or {}).get("target_link_uri") or target,
        custom_parameters=dict(config.get("custom_parameters") or {}), pending=True,
        scopes=granted, send_name=bool(claims & {"name", "given_name", "family_name"}),
        send_email="email" in claims)
    tool.registration = payload
    return tool


def registration_answer(platform: MoodlePlatform, tool: Tool) -> dict[str, Any]:
    """Answer a registration the way Moodle's config_to_registration does."""
    payload = tool.registration or {}
    config = payload.get(REG_CONFIG, {})
    tool_configuration: dict[str, Any] = {
        "version": "1.3.0", "deployment_id": tool.type_id,
        "target_link_uri": tool.target_link_uri, "domain": config.get("domain", ""),
        "description": config.get("description", ""),
        "messages": [{"type": DEEP_LINKING, "target_link_uri": tool.deep_linking_uri}],
        "claims": ["sub", "iss", "name", "family_name", "given_name", "email"],
    }
    if tool.custom_parameters:
        tool_configuration["custom_parameters"] = tool.custom_parameters
    return {
        "client_id": tool.client_id, "response_types": ["id_token"],
        "jwks_uri": tool.jwks_uri, "initiate_login_uri": tool.initiate_login_uri,
        "grant_types": ["client_credentials", "implicit"], "redirect_uris": tool.redirect_uris,
        "application_type": "web", "token_endpoint_auth_method": "private_key_jwt",
        "client_name": tool.name, "logo_uri": payload.get("logo_uri", ""),
        "scope": " ".join(s for s in (AGS_SCOPES[3], AGS_SCOPES[2], AGS_SCOPES[1],
                                      AGS_SCOPES[0], NRPS_SCOPE) if s in tool.scopes),
        REG_CONFIG: tool_configuration,
    }


def openid_configuration_of(platform: MoodlePlatform) -> dict[str, Any]:
    """The platform's OpenID configuration, in the recorded Moodle 4.4 shape."""
    return {
        "issuer": platform.issuer,
        "token_endpoint": platform.token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "jwks_uri": platform.jwks_url,
        "authorization_endpoint": platform.auth_url,
        "registration_endpoint": platform.registration_url,
        "scopes_supported": ["https://purl.imsglobal.org/spec/lti-bo/scope/basicoutcome",
                             AGS_SCOPES[1], AGS_SCOPES[2], AGS_SCOPES[3], AGS_SCOPES[0],
                             NRPS_SCOPE, "https://purl.imsglobal.org/spec/lti-ts/scope/toolsetting",
                             "openid"],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "moodle", "version": "4.4dev (Build: 20231124)",
            "messages_supported": [{"type": RESOURCE_LINK},
                                   {"type": DEEP_LINKING, "placements": ["ContentArea"]}],
            "variables": ["Context.id", "ResourceLink.id", "User.id", "Membership.role"],
        },
    }
