"""The platform's services: OAuth2 client-credentials tokens, NRPS memberships, AGS."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Flask, Response, abort, jsonify, request

from .platform import AGS_SCOPES, NRPS_SCOPE, LineItem, MoodlePlatform, Tool, unverified_claims

MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
SCORE = "application/vnd.ims.lis.v1.score+json"


def add_service_routes(app: Flask, platform: MoodlePlatform) -> None:
    """Serve Moodle's token.php and services.php (NRPS, AGS) for `platform`."""

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

