"""The launched session: who is using Circolo, from which course, in which role.

Other features use only this module:

- `current_launch()` → `Launch` (or raises `Unauthorised`); `current_launch(optional=True)` → None.
- `@learner_required` (any launched person: learners and teachers) and `@teacher_required`
  (teachers only; learners get 403).
- `launch_url_for(endpoint, **values)`: `url_for` that keeps the launch when cookies do not come
  back (it adds the short-lived signed `launch_token` then); a Jinja global.
- `{{ launch_form_fields() }}` in every form: the CSRF token, and the launch token when needed.
- `csrf_token()` (Jinja global) for JavaScript: send it as `X-CSRF-Token`, and `launch_token()`
  as `X-Circolo-Launch`.
- `new_window_url()`: the "open in a new window" link that carries the launch to a top-level tab.

A launch is kept in Flask's signed session cookie (`SameSite=None; Secure; Partitioned`) and,
for browsers that refuse third-party cookies, in a token signed with the app secret that the
pane's own links and forms carry (query `launch_token`, form field `launch_token`, or header
`X-Circolo-Launch`). A valid token wins over the cookie, so two Circolo frames of two courses in
one browser each keep their own launch.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import current_app, g, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.routing import BuildError

from ..errors import Forbidden, Unauthorised
from ..models.community import LEARNER, TEACHER
from ..security import allow_framing_by

P = ParamSpec("P")
R = TypeVar("R")

TOKEN_FIELD = "launch_token"  # noqa: S105 - a field name
TOKEN_HEADER = "X-Circolo-Launch"  # noqa: S105 - a header name
#: Seconds a launch token stays valid; every page re-issues fresh ones in its links.
LAUNCH_TOKEN_MAX_AGE = 3600
#: Seconds a launch lasts however often its token is renewed (cookie sessions too): then the
#: person opens Circolo again from the course, and the platform states their role afresh.
LAUNCH_MAX_LIFETIME = 12 * 3600
_TOKEN_SALT = "circolo.lti.launch-token"  # noqa: S105 - a namespace, not a secret
_SESSION_KEY = "launch"

#: Where a launch lands, until the pane and dashboard blueprints are registered.
HOME_PATHS = {"pane.home": "/pane", "dashboard.home": "/dashboard"}


@dataclass(frozen=True)
class DeepLinkRequest:
    """What a deep-linking launch asked for: where to post the teacher's choice back."""

    return_url: str
    data: str | None = None
    accept_multiple: bool = False


@dataclass(frozen=True)
class Launch:
    """One launched session (fresh `sid` per launch)."""

    sid: str
    platform_id: int
    platform_origin: str
    course_id: int
    person_id: int
    role: str
    resource_link_id: str | None
    deployment_id: str
    locale: str | None = None
    message_type: str = "LtiResourceLinkRequest"
    placement: str = "pane"
    return_url: str | None = None
    deep_link: DeepLinkRequest | None = None
    #: When the platform launched it (epoch seconds); renewed tokens and new windows keep it.
    launched_at: int = field(default_factory=lambda: int(time.time()))

    @property
    def is_teacher(self) -> bool:
        return self.role == TEACHER

    @property
    def is_learner(self) -> bool:
        return self.role == LEARNER

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Launch:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if isinstance(values.get("deep_link"), dict):
            values["deep_link"] = DeepLinkRequest(**values["deep_link"])
        return cls(**values)


def new_sid() -> str:
    return secrets.token_urlsafe(24)


def origin_of(url: str) -> str:
    """Return `scheme://host[:port]` of `url` (a platform's issuer may carry a path)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- tokens -----------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_TOKEN_SALT)


def issue_launch_token(launch: Launch) -> str:
    """Sign `launch` into a token that stands in for the session cookie for a short while."""
    return _serializer().dumps(launch.to_dict())


def read_launch_token(token: str, max_age: int | None = None) -> Launch:
    """Return the launch inside `token`, or raise `Unauthorised` when expired or forged."""
    if max_age is None:
        max_age = current_app.config.get("CIRCOLO_LAUNCH_TOKEN_MAX_AGE", LAUNCH_TOKEN_MAX_AGE)
    try:
        data = _serializer().loads(token, max_age=max_age)
        return _within_lifetime(Launch.from_dict(data))
    except SignatureExpired:
        expired = Unauthorised(detail="launch token expired")
        # Genuine but old: its platform may still frame the "session expired" page.
        with contextlib.suppress(BadSignature, TypeError, ValueError):
            expired.platform_origin = Launch.from_dict(_serializer().loads(token)).platform_origin
        raise expired from None
    except (BadSignature, TypeError, ValueError):
        raise Unauthorised(detail="launch token invalid") from None


def _within_lifetime(launch: Launch) -> Launch:
    """Return `launch`, or raise Unauthorised once it is older than its maximum lifetime."""
    lifetime = current_app.config.get("CIRCOLO_LAUNCH_MAX_LIFETIME", LAUNCH_MAX_LIFETIME)
    if time.time() - launch.launched_at > lifetime:
        ended = Unauthorised(detail="launch older than its maximum lifetime")
        ended.platform_origin = launch.platform_origin  # type: ignore[attr-defined]
        raise ended
    return launch


def store_launch(launch: Launch) -> None:
    """Start a fresh cookie session holding `launch` (nothing of a previous session survives)."""
    session.clear()
    session[_SESSION_KEY] = launch.to_dict()
    if launch.locale:
        session["locale"] = launch.locale
    session.permanent = False
    g.circolo_launch = (launch, "cookie")
    g.circolo_launch_token_needed = True  # until a request shows the cookie came back


def _request_token() -> str | None:
    return (request.headers.get(TOKEN_HEADER) or request.form.get(TOKEN_FIELD)
            or request.args.get(TOKEN_FIELD)) or None


def _resolve() -> tuple[Launch | None, str, Unauthorised | None]:
    """Find this request's launch: (launch, where from: token|cookie|"", the token's error)."""
    if "circolo_launch" in g:
        launch, source = g.circolo_launch
        return launch, source, g.get("circolo_launch_error")
    launch, source, error = None, "", None
    token = _request_token()
    if token:
        try:
            launch, source = read_launch_token(token), "token"
        except Unauthorised as refused:
            error = refused
    if launch is None and error is None and isinstance(session.get(_SESSION_KEY), dict):
        try:
            launch, source = _within_lifetime(Launch.from_dict(session[_SESSION_KEY])), "cookie"
        except TypeError:
            session.pop(_SESSION_KEY, None)
        except Unauthorised as ended:
            session.pop(_SESSION_KEY, None)
            error = ended
    g.circolo_launch = (launch, source)
    g.circolo_launch_error = error
    return launch, source, error


def current_launch(optional: bool = False) -> Launch | None:
    """Return this request's launch; without one raise Unauthorised (or return None if optional)."""
    launch, _source, error = _resolve()
    if launch is None and not optional:
        raise error or Unauthorised(detail="no launch in this request")
    return launch


def _cookie_carries(launch: Launch) -> bool:
    stored = session.get(_SESSION_KEY)
    return isinstance(stored, dict) and stored.get("sid") == launch.sid


def launch_token_needed() -> bool:
    """Tell whether links must carry the launch token (the cookie did not come back with it)."""
    if g.get("circolo_launch_token_needed"):
        return True
    launch, source, _ = _resolve()
    return launch is not None and source == "token" and not _cookie_carries(launch)


def launch_token() -> str:
    """Return a fresh token for this request's launch ("" without one)."""
    launch = current_launch(optional=True)
    if launch is None:
        return ""
    # One token per page is enough; a launch stored during the request gets its own.
    cached = g.get("circolo_launch_token")
    if cached is None or cached[0] != launch:
        cached = (launch, issue_launch_token(launch))
        g.circolo_launch_token = cached
    return cached[1]


def launch_url_for(endpoint: str, **values: Any) -> str:
    """Build a URL to `endpoint` that keeps this launch, carrying its token when needed."""
    if launch_token_needed():
        values.setdefault(TOKEN_FIELD, launch_token())
    return url_for(endpoint, **values)


def home_url(endpoint: str, **values: Any) -> str:
    """Return `endpoint`'s URL; fall back to its known path until that blueprint exists."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        if endpoint not in HOME_PATHS:
            raise
        query = urlencode(values)
        return HOME_PATHS[endpoint] + (f"?{query}" if query else "")


def new_window_url() -> str:
    """Return a link that opens this launch in a top-level window (always carrying the token)."""
    return url_for("lti.resume", **{TOKEN_FIELD: launch_token()})


# --- forms -------------------------------------------------------------------------------------

def launch_form_fields() -> Markup:
    """Return the hidden fields every Circolo form carries: CSRF, and the launch token if needed."""
    field = Markup('<input type="hidden" name="{}" value="{}">')
    fields_html = field.format(CSRF_FIELD, csrf_token())
    if launch_token_needed():
        fields_html += field.format(TOKEN_FIELD, launch_token())
    return fields_html


# --- decorators ----------------------------------------------------------------------------------

def learner_required(view: Callable[P, R]) -> Callable[P, R]:
    """Require a launched session (learners and teachers alike); 401 without one."""
    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        current_launch()
        return view(*args, **kwargs)
    return wrapper


def teacher_required(view: Callable[P, R]) -> Callable[P, R]:
    """Require a launched session with the teacher role; learners get 403."""
    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        launch = current_launch()
        if launch is None or not launch.is_teacher:
            raise Forbidden(detail="teacher page refused to a learner")
        return view(*args, **kwargs)
    return wrapper


# --- per-request wiring ------------------------------------------------------------------------

def before_request() -> None:
    """Let the launching platform frame this page, speak the launch's language, check CSRF."""
    launch, _source, error = _resolve()
    if launch is not None:
        allow_framing_by(launch.platform_origin)
        if launch.locale:
            g.locale = launch.locale
    elif getattr(error, "platform_origin", None):
        allow_framing_by(error.platform_origin)  # type: ignore[union-attr]
    check_csrf()


def template_globals() -> dict[str, Any]:
    return {
        "current_launch": lambda: current_launch(optional=True),
        "launch_url_for": launch_url_for,
        "launch_form_fields": launch_form_fields,
        "launch_token": launch_token,
        "csrf_token": csrf_token,
        "new_window_url": new_window_url,
    }


# CSRF lives in its own module; its names are part of this contract too.
from .csrf import (  # noqa: E402 - it reads the launch through this module
    CSRF_FIELD,
    CSRF_HEADER,
    CsrfRefused,
    check_csrf,
    csrf_exempt,
    csrf_token,
)

__all__ = [
    "CSRF_FIELD", "CSRF_HEADER", "LAUNCH_MAX_LIFETIME", "LAUNCH_TOKEN_MAX_AGE", "TOKEN_FIELD",
    "TOKEN_HEADER",
    "CsrfRefused", "DeepLinkRequest", "Launch", "check_csrf", "csrf_exempt", "csrf_token",
    "current_launch", "home_url", "issue_launch_token", "launch_form_fields", "launch_token",
    "launch_token_needed", "launch_url_for", "learner_required", "new_sid", "new_window_url",
    "origin_of", "read_launch_token", "store_launch", "teacher_required",
]
