"""CSRF protection bound to the launch: every POST, PUT, PATCH and DELETE carries its token.

The token is an HMAC of the launch's `sid` with the app secret, so it works the same with the
session cookie and with the cookieless launch token, and a new launch invalidates old forms.
Only the cross-site LTI messages are exempt (state + nonce protect them).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from ..errors import BadRequest
from .session import _resolve, current_launch

P = ParamSpec("P")
R = TypeVar("R")

CSRF_FIELD = "csrf_token"  # noqa: S105 - a field name
CSRF_HEADER = "X-CSRF-Token"  # noqa: S105 - a header name


class CsrfRefused(BadRequest):
    code = "csrf_failed"
    message = _l("This form has expired or did not come from Circolo. Go back, reload the page "
                 "and try again.")


def csrf_token() -> str:
    """Return the CSRF token of this launch (bound to its `sid`; "" without a launch)."""
    launch = current_launch(optional=True)
    if launch is None:
        return ""
    return _csrf_for(launch.sid)


def _csrf_for(sid: str) -> str:
    secret = current_app.secret_key
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(key, b"circolo.csrf:" + sid.encode(), hashlib.sha256).hexdigest()


#: Endpoints that accept a POST without a CSRF token: the cross-site LTI messages, protected by
#: state + nonce (login, launch) or by a registration token.
_csrf_exempt: set[str] = {"lti.login", "lti.launch"}


def csrf_exempt(view: Callable[P, R]) -> Callable[P, R]:
    """Exempt a view from the CSRF check (only for cross-site protocol endpoints)."""
    view._circolo_csrf_exempt = True  # type: ignore[attr-defined]
    return view


def check_csrf() -> None:
    """Refuse a state-changing request whose CSRF token does not match its launch."""
    if request.method in {"GET", "HEAD", "OPTIONS", "TRACE"}:
        return
    if request.routing_exception is not None:
        return  # a 404 or 405 is answered as such, before anything could change
    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint in _csrf_exempt or getattr(view, "_circolo_csrf_exempt", False):
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    launch, _source, _error = _resolve()
    if launch is None:
        raise CsrfRefused(detail="no launch session")
    if not sent or not hmac.compare_digest(sent, _csrf_for(launch.sid)):
        raise CsrfRefused(detail="missing token" if not sent else "wrong token")
