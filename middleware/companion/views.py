"""`/api/companion/*`: what the Moodle plugin calls (the `companion` blueprint).

None of these is a browser form: the connect call is authorised by IT's one-time code, events by
the connection's signature, so CSRF tokens do not apply. Errors come back as JSON
(`{"error": {"status", "code", "message"}}`, see middleware/errors.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from ..db import get_session
from ..lti.session import csrf_exempt
from ..sync.tasks import sync_course_task
from . import errors, operations
from .schemas import CONNECT_REQUEST
from .tasks import forget_moodle_user

bp = Blueprint("companion", __name__, url_prefix="/api/companion")

#: Headers of a signed event call (the plugin's circolo_client names the same).
KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = (
    "X-Circolo-Key", "X-Circolo-Timestamp", "X-Circolo-Signature")


@bp.get("/tool")
def tool() -> Any:
    """Describe Circolo as an LTI tool, and where the plugin connects."""
    return jsonify(operations.tool_description(current_app.config["CIRCOLO"].public_base_url))


@bp.post("/connect")
@csrf_exempt
def connect() -> Any:
    """Accept a plugin's connect: the one-time code, the token to check, the LTI platform."""
    try:
        connect_request = CONNECT_REQUEST.load(request.get_json(silent=True) or {})
    except ValidationError as error:
        raise errors.BadPayload(detail=str(error.messages)) from None
    settings = current_app.config["CIRCOLO"]
    db = get_session()
    connection, secret = operations.connect_site(db, connect_request, key=settings.encryption_key)
    db.commit()
    response = jsonify(
        connection={"key_id": connection.key_id, "secret": secret,
                    "events_url": f"{settings.public_base_url}/api/companion/events"},
        circolo={"name": "Circolo"},
        platform={"id": connection.platform_id})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/events")
@csrf_exempt
def events() -> Any:
    """Accept a signed event from a plugin and queue what it asks for."""
    db = get_session()
    connection, payload, record = operations.accept_event(
        db, key_id=request.headers.get(KEY_HEADER, ""),
        timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
        signed=request.headers.get(SIGNATURE_HEADER, ""), body=request.get_data(cache=False),
        key=current_app.config["CIRCOLO"].encryption_key)
    action = operations.act_on_event(db, connection, payload, record,
                                     sync=sync_course_task, forget=forget_moodle_user)
    db.commit()
    return jsonify(accepted=True, action=action), 202

