"""Response headers every page gets; views widen frame-ancestors/form-action for the platform."""

from __future__ import annotations

from flask import Flask, Response, g


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


def init_app(app: Flask) -> None:
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
