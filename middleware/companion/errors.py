"""The companion feature's refusals: each an HTTP status and a stable code the plugin reads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..errors import CircoloError


class CompanionRefused(CircoloError):
    """A plugin's call that Circolo will not act on; `code` says why."""

    status_code = 400
    code = "companion_refused"
    message = _l("Circolo refused this request from the Moodle plugin.")


class InviteInvalid(CompanionRefused):
    status_code = 403
    code = "invite_invalid"
    message = _l("Circolo does not know this one-time code.")


class InviteExpired(CompanionRefused):
    status_code = 403
    code = "invite_expired"
    message = _l("This one-time code has expired: ask for a new one.")


class InviteUsed(CompanionRefused):
    status_code = 403
    code = "invite_used"
    message = _l("This one-time code was already used: ask for a new one.")


class TokenRefused(CompanionRefused):
    status_code = 422
    code = "token_refused"
    message = _l("Circolo could not use the web-service token it was given.")


class SiteMismatch(CompanionRefused):
    status_code = 422
    code = "site_mismatch"
    message = _l("The token belongs to a different Moodle site than the one connecting.")


class BadPayload(CompanionRefused):
    status_code = 400
    code = "bad_payload"
    message = _l("The request from the Moodle plugin could not be understood.")


class Unsigned(CompanionRefused):
    status_code = 401
    code = "unsigned"
    message = _l("This call is not signed.")


class BadSignature(CompanionRefused):
    status_code = 401
    code = "bad_signature"
    message = _l("This call's signature is wrong.")


class Stale(CompanionRefused):
    status_code = 401
    code = "stale"
    message = _l("This call is too old, or its clock is wrong.")


class Replayed(CompanionRefused):
    status_code = 409
    code = "replayed"
    message = _l("This call was already received.")


class ConnectionUnknown(CompanionRefused):
    status_code = 410
    code = "connection_unknown"
    message = _l("Circolo no longer knows this Moodle site: connect it again.")
