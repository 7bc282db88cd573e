"""LTI endpoints: OIDC login, launch, deep-linking choice, the tool JWKS, a new-window resume."""

from __future__ import annotations

import dataclasses
import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_babel import refresh

from lti.errors import LAUNCH_AGAIN, LtiError
from lti.jwks import PlatformKeySets
from lti.keys import tool_jwks
from lti.launch import LaunchMessage, unverified_claims, unverified_locale, validate_launch

from ..config import Settings
from ..db import get_session
from ..errors import Forbidden
from ..i18n import normalise_locale
from ..models import TEACHER, Platform
from ..security import allow_framing_by
from ..signals import course_activated
from . import operations
from .session import (
    DeepLinkRequest,
    Launch,
    current_launch,
    home_url,
    issue_launch_token,
    new_sid,
    origin_of,
    store_launch,
)

log = logging.getLogger(__name__)

bp = Blueprint("lti", __name__, url_prefix="/lti", static_folder="static",
               static_url_path="/static")

KEY_SETS = "circolo.lti.key_sets"
#: One cookie per login in flight (two Circolo links on one course page log in together).
STATE_COOKIE_PREFIX = "circolo_lti_state_"
PLACEMENTS = ("pane", "dashboard")


def key_sets() -> PlatformKeySets:
    return current_app.extensions[KEY_SETS]


def _settings() -> Settings:
    return current_app.config["CIRCOLO"]


@bp.errorhandler(LtiError)
def launch_refused(error: LtiError) -> tuple[str, int]:
    """Show a failed login or launch as a page in the person's language; log the check."""
    log.warning("lti refused: %s", error.code,
                extra={"lti_check": error.code, "detail": error.detail,
                       "endpoint": request.endpoint, "status": error.status})
    # The page shows in the platform's iframe. It offers nothing to click, so the origin the
    # request claims (not yet verified) may frame it.
    claimed = g.get("lti_platform_origin") or _claimed_platform_origin()
    if claimed:
        allow_framing_by(claimed)
    return render_template("lti/error.html", message=_(error.message), hint=_(LAUNCH_AGAIN),
                           code=error.code, status=error.status), error.status


def _claimed_platform_origin() -> str | None:
    issuer = (request.values.get("iss")
              or unverified_claims(request.form.get("id_token", "")).get("iss"))
    if not isinstance(issuer, str) or urlsplit(issuer).scheme not in {"http", "https"}:
        return None
    return origin_of(issuer)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    """Start the OIDC login a platform initiates: remember state and nonce, go to its auth URL."""
    params = request.values
    missing = [name for name in ("iss", "login_hint", "target_link_uri") if not params.get(name)]
    if missing:
        raise LtiError("login_param_missing", "missing " + ", ".join(missing))
    issuer, login_hint = params["iss"], params["login_hint"]
    target_link_uri = params["target_link_uri"]
    # What is looked up or stored must fit its column, and PostgreSQL refuses NUL in text.
    unusable = [name for name in ("iss", "target_link_uri", "client_id", "lti_deployment_id")
                if "\x00" in params.get(name, "") or len(params.get(name, "")) > 1024]
    if unusable:
        raise LtiError("login_param_missing", "unusable " + ", ".join(unusable))
    base_url = _settings().public_base_url
    if origin_of(target_link_uri) != origin_of(base_url):
        raise LtiError("target_link_uri_foreign",
                       f"target_link_uri on {origin_of(target_link_uri)}")

    db = get_session()
    platform = operations.find_platform(db, issuer, params.get("client_id") or None)
    state = operations.start_login(
        db, platform, target_link_uri=target_link_uri,
        deployment_id=params.get("lti_deployment_id") or None,
        user_agent=request.headers.get("User-Agent", ""))
    db.commit()

    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": base_url + "/lti/launch",
        "login_hint": login_hint,
        "state": state.state,
        "nonce": state.nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    response = redirect(_with_query(platform.auth_login_url, query))
    response.set_cookie(STATE_COOKIE_PREFIX + state.state, "1",
                        max_age=operations.LOGIN_STATE_TTL_SECONDS, path="/lti/", secure=True,
                        httponly=True, samesite="None", partitioned=True)
    return response


@bp.post("/launch")
def launch() -> Response:
    """Validate a launch, record who came from where, start a fresh session, go to its page."""
    id_token = request.form.get("id_token", "")
    _speak_launch_language(id_token)
    if not id_token:
        raise LtiError("id_token_missing")
    db = get_session()
    state_value = request.form.get("state", "")
    if "\x00" in state_value or len(state_value) > 128:  # no such state was ever issued
        raise LtiError("state_unknown", "state with a NUL character or too long")
    state = operations.consume_login_state(db, state_value)
    # Committed before any other check: a state is spent even when the launch then fails.
    db.commit()
    _check_browser_binding(state.state, state.browser_hash)

    platform = db.get(Platform, state.platform_id)
    if platform is None:
        raise LtiError("platform_unknown", "platform removed during login")
    g.lti_platform_origin = origin_of(platform.issuer)
    message = validate_launch(
        id_token, platform=operations.registration_of(platform), key_sets=key_sets(),
        nonce=state.nonce, target_link_uri=state.target_link_uri,
        leeway=_settings().lti_leeway_seconds)
    if state.deployment_id and message.deployment_id != state.deployment_id:
        raise LtiError("deployment_unknown",
                       f"token deployment {message.deployment_id!r}, login {state.deployment_id!r}")
    if message.is_deep_linking and message.role != TEACHER:
        raise LtiError("deep_linking_not_allowed")

    record = operations.record_launch(db, platform, message)
    launch = _launch_of(message, platform, record)
    db.commit()
    if record.activated:
        _announce_activation(record.course.id)
    log.info("lti launch", extra={"platform_id": platform.id, "course_id": record.course.id,
                                  "person_id": record.person.id, "role": launch.role,
                                  "message_type": message.message_type})

    store_launch(launch)
    token = issue_launch_token(launch)
    response = redirect(home_url(_landing_endpoint(launch), launch_token=token))
    response.delete_cookie(STATE_COOKIE_PREFIX + state.state, path="/lti/", secure=True,
                           httponly=True, samesite="None", partitioned=True)
    return response


def _announce_activation(course_id: int) -> None:
    # Receivers only enqueue work (the first sync); a failing one must not fail the launch.
    try:
        course_activated.send(current_app._get_current_object(), course_id=course_id)
    except Exception:
        log.exception("course_activated receiver failed", extra={"course_id": course_id})


def _speak_launch_language(id_token: str) -> None:
    """Answer in the launch's language (read before any check, for the error page only)."""
    locale = normalise_locale(unverified_locale(id_token)) if id_token else None
    if locale:
        g.locale = locale
        refresh()


def _check_browser_binding(state: str, expected_browser: str) -> None:
    """Check the state was issued to this browser: by its cookie, else (no cookies) its UA."""
    if request.cookies.get(STATE_COOKIE_PREFIX + state):
        return
    if any(name.startswith(STATE_COOKIE_PREFIX) for name in request.cookies):
        # This browser keeps our cookies, yet not this state's: it did not start this login.
        raise LtiError("state_not_bound", "state cookie absent, other state cookies present")
    if operations.browser_hash(request.headers.get("User-Agent", "")) != expected_browser:
        raise LtiError("state_not_bound", "no state cookie and a different user agent")


def _launch_of(message: LaunchMessage, platform: Platform,
               record: operations.LaunchRecord) -> Launch:
    deep_link = None
    if message.deep_linking is not None:
        deep_link = DeepLinkRequest(return_url=message.deep_linking.return_url,
                                    data=message.deep_linking.data,
                                    accept_multiple=message.deep_linking.accept_multiple)
    requested = str(message.custom.get("community_mode", "")).strip().lower()
    placement = requested if requested in PLACEMENTS else (
        "dashboard" if message.role == TEACHER else "pane")
    return Launch(
        sid=new_sid(), platform_id=platform.id, platform_origin=origin_of(platform.issuer),
        course_id=record.course.id, person_id=record.person.id, role=message.role,
        resource_link_id=message.resource_link_id, deployment_id=message.deployment_id,
        locale=normalise_locale(message.locale), message_type=message.message_type,
        placement=placement, return_url=message.return_url, deep_link=deep_link,
    )


def _landing_endpoint(launch: Launch) -> str:
    """Pick the tool's own page for a launch: never a URL the request supplied."""
    if launch.deep_link is not None:
        return "lti.deep_link"
    if launch.role == TEACHER and launch.placement == "dashboard":
        return "dashboard.home"
    return "pane.home"


@bp.get("/resume")
def resume() -> Response:
    """Continue a launch in a new top-level window (when the frame cannot keep cookies)."""
    launch = current_launch()
    assert launch is not None
    # A GET that starts a session from a URL: followed from another site's page, it would sign
    # the browser in as whoever's token the link carries (login CSRF). Circolo's own link is
    # same-origin; browsers without Fetch Metadata send no header and are let through.
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in {"same-origin", "none"}:
        raise Forbidden(detail="resume link followed from another site")
    fresh = dataclasses.replace(launch, sid=new_sid())
    store_launch(fresh)
    return redirect(home_url(_landing_endpoint(fresh), launch_token=issue_launch_token(fresh)))


@bp.get("/jwks")
def jwks() -> Response:
    """Publish the tool's public keys (the signer and, during a rotation, its predecessor)."""
    db = get_session()
    document = tool_jwks(db, _settings())
    db.commit()  # the first call creates the tool's first key
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
