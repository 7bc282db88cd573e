"""`/lti/register`: the page Moodle opens for LTI Dynamic Registration (the `lti_registration`
blueprint). IT pastes this one URL into Moodle; Circolo registers itself and stores the platform.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lti.registration import (
    Registration,
    RegistrationError,
    ToolDescription,
    origin_of,
    perform_registration,
)

from ..db import get_session
from ..models import Platform
from ..security import allow_framing_by
from . import operations

log = logging.getLogger(__name__)

bp = Blueprint("lti_registration", __name__)

#: Each way a registration fails → (HTTP status, what the administrator reads).
FAILURE_PAGES: dict[str, tuple[int, Any]] = {
    "parameters_missing": (400, _l(
        "This address is meant for Moodle: paste it into Moodle’s “Manage tools” page as the "
        "tool URL, and Moodle will open it with what the registration needs.")),
    "configuration_url_invalid": (400, _l(
        "The platform sent a configuration address Circolo cannot use.")),
    "platform_unreachable": (400, _l(
        "Circolo could not reach your Moodle site to read its configuration. Check that "
        "Circolo’s server can reach Moodle, then start the registration again.")),
    "configuration_invalid": (400, _l(
        "Your Moodle site’s LTI configuration could not be read. Dynamic registration needs "
        "Moodle 3.10 or later.")),
    "issuer_mismatch": (400, _l(
        "The platform’s configuration names a different site than the one it came from, so "
        "Circolo did not trust it.")),
    "token_already_used": (409, _l(
        "This registration link was already used. Start a new registration from Moodle’s "
        "“Manage tools” page.")),
    "registration_refused": (400, _l(
        "Moodle refused Circolo’s registration. Start a new registration from Moodle’s "
        "“Manage tools” page; if it fails again, look at Moodle’s logs.")),
    "registration_invalid": (400, _l(
        "Moodle’s answer to the registration could not be understood, so nothing was "
        "stored. Start a new registration from Moodle’s “Manage tools” page.")),
}


def record_registration(session: Session, registration: Registration) -> Platform:
    """Store the platform and deployment a registration created (or update them)."""
    configuration = registration.configuration
    platform, _created = operations.add_platform(
        session, issuer=configuration.issuer, client_id=registration.client_id,
        auth_login_url=configuration.authorization_endpoint,
        auth_token_url=configuration.token_endpoint, key_set_url=configuration.jwks_uri,
        name=urlsplit(configuration.issuer).netloc,
        deployment_ids=[registration.deployment_id] if registration.deployment_id else [])
    return platform


@bp.get("/lti/register")
def register() -> Any:
    """Register Circolo with the platform that opened this page, then tell it we are done."""
    configuration_url = request.args.get("openid_configuration", "")
    if urlsplit(configuration_url).scheme in {"http", "https"}:
        # Moodle shows this page in a dialog on its own pages.
        allow_framing_by(origin_of(configuration_url))
    tool = ToolDescription(base_url=current_app.config["CIRCOLO"].public_base_url)
    try:
        registration = perform_registration(
            configuration_url, request.args.get("registration_token", ""), tool)
    except RegistrationError as error:
        status, message = FAILURE_PAGES[error.code]
        log.warning("dynamic registration failed: %s", error.code,
                    extra={"registration_failure": error.code, "detail": error.detail,
                           "status": status})
        page = render_template("lti/registration_failed.html", message=message,
                               code=error.code, status=status)
        return page, status, {"Cache-Control": "no-store"}

    db = get_session()
    platform = record_registration(db, registration)
    db.commit()
    log.info("platform registered dynamically",
             extra={"platform_id": platform.id, "issuer": platform.issuer})
    page = render_template("lti/registration.html", issuer=platform.issuer,
                           client_id=registration.client_id,
                           deployment_id=registration.deployment_id,
                           target_origin=origin_of(registration.configuration.issuer))
    return page, 200, {"Cache-Control": "no-store"}
