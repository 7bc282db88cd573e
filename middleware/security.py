"""Response headers every page gets; views widen frame-ancestors/form-action for the platform."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, g, request

from .errors import BadRequest


def allow_framing_by(origin: str) -> None:
    """Let `origin` (the launching platform) embed this response in an iframe."""
    g.setdefault("frame_ancestors", set()).add(origin)


def allow_form_action(origin: str) -> None:
    """Let this page's forms post to `origin` (deep-linking return, registration close)."""
    g.setdefault("form_actions", set()).add(origin)


def content_security_policy() -> str:
    ancestors = " ".join(["'self'", *sorted(g.get("frame_ancestors", ()))])
    actions = " ".join(["'self'", *sorted(g.get("form_actions", ()))])
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"object-src 'none'; base-uri 'none'; form-action {actions}; "
        f"frame-ancestors {ancestors}"
    )


def has_nul(values: Iterable[str]) -> bool:
    return any("\x00" in value for value in values)


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters() -> None:
        # No text a person types contains NUL, and PostgreSQL cannot store it: refuse it once,
        # here, rather than let any form or query reach a 500 deep inside a view.
        if has_nul(request.args.values()) or has_nul(request.args.keys()) or (
            request.method != "GET" and request.mimetype in {
                "application/x-www-form-urlencoded", "multipart/form-data"}
            and (has_nul(request.form.values()) or has_nul(request.form.keys()))
        ):
            raise BadRequest(detail="NUL character in the request")

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if app.config["CIRCOLO"].is_production:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
