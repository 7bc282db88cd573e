"""The platform's side of LTI Dynamic Registration, as Moodle's registration_helper does it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from flask import Flask, Response, abort, jsonify, redirect, render_template_string, request

from .platform import AGS_SCOPES, DEEP_LINKING, NRPS_SCOPE, RESOURCE_LINK, MoodlePlatform, Tool

REG_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"

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


def add_registration_routes(app: Flask, platform: MoodlePlatform) -> None:
    """Serve the OpenID configuration, the registration endpoint and the admin pages."""

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

