"""Circolo's exception family and the one place that renders every error.

People get a page in their language; API clients get `{"error": {"status", "code", "message"}}`.
Nobody gets a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class CircoloError(Exception):
    """Base of Circolo's errors: an HTTP status, a stable code and a message for people."""

    status_code = 500
    code = "internal_error"
    message: Any = _l("Something went wrong on our side. Please try again in a moment.")

    def __init__(self, message: Any = None, *, code: str | None = None,
                 detail: str | None = None) -> None:
        # The exception's text is for logs: never render the (lazy, per-request) message here,
        # since errors are also raised in the worker, outside any request.
        super().__init__(detail or code or self.code)
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        #: For the log only, never shown: what exactly failed.
        self.detail = detail


class BadRequest(CircoloError):
    status_code = 400
    code = "bad_request"
    message = _l("The request could not be understood.")


class Unauthorised(CircoloError):
    status_code = 401
    code = "not_signed_in"
    message = _l("Your session has expired. Open Circolo again from your course page.")


class Forbidden(CircoloError):
    status_code = 403
    code = "forbidden"
    message = _l("You do not have access to this page.")


class NotFound(CircoloError):
    status_code = 404
    code = "not_found"
    message = _l("This page does not exist.")


class Conflict(CircoloError):
    status_code = 409
    code = "conflict"
    message = _l("This was changed by someone else in the meantime. Reload and try again.")


class TooManyRequests(CircoloError):
    status_code = 429
    code = "too_many_requests"
    message = _l("Please wait a little before trying again.")


class ServiceUnavailable(CircoloError):
    status_code = 503
    code = "unavailable"
    message = _l("Circolo cannot reach a service it needs right now. Please try again later.")


# Werkzeug's messages are English-only; these are the ones people can meet.
_HTTP_MESSAGES: dict[int, Any] = {
    400: BadRequest.message,
    401: Unauthorised.message,
    403: Forbidden.message,
    404: NotFound.message,
    405: _l("This address does not accept that kind of request."),
    413: _l("What you sent is too large."),
    429: TooManyRequests.message,
    500: CircoloError.message,
    503: ServiceUnavailable.message,
}

_TITLES: dict[int, Any] = {
    400: _l("Bad request"),
    401: _l("Session expired"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Too large"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Service unavailable"),
}


def wants_json() -> bool:
    """Tell whether the client is a program rather than a person's browser."""
    if request.path.startswith(("/api/", "/healthz", "/readyz")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"
    ]


def render_error(status: int, code: str, message: Any) -> Response:
    if wants_json():
        response = jsonify(error={"status": status, "code": code, "message": str(message)})
    else:
        title = _TITLES.get(status, _TITLES[500 if status >= 500 else 400])
        response = Response(
            render_template("error.html", status=status, title=title, message=message, code=code)
        )
    response.status_code = status
    return response


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(CircoloError)
    def circolo_error(error: CircoloError) -> Response:
        level = logging.ERROR if error.status_code >= 500 else logging.INFO
        log.log(level, "request failed: %s", error.code,
                extra={"error_code": error.code, "status": error.status_code,
                       "detail": error.detail or str(error)})
        return render_error(error.status_code, error.code, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = _HTTP_MESSAGES.get(status, error.description)
        code = (error.name or "error").lower().replace(" ", "_")
        response = render_error(status, code, message)
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        log.exception("unhandled error")
        return render_error(500, CircoloError.code, CircoloError.message)
