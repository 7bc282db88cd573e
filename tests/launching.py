"""A test client carrying a launch the way the LTI session contract allows (its launch token)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from middleware.lti.session import TOKEN_HEADER, Launch, csrf_token, issue_launch_token


class LaunchedClient:
    """Flask's test client with a launch token on every request and the launch's CSRF token."""

    def __init__(self, app: Flask, launch: Launch) -> None:
        self.app = app
        self.launch = launch
        self.client = app.test_client()
        with app.test_request_context():
            self.token = issue_launch_token(launch)
        self.headers = {TOKEN_HEADER: self.token}
        with app.test_request_context(headers=self.headers):
            self.csrf = csrf_token()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True,
             **kwargs: Any) -> Any:
        """POST a form, with the CSRF token unless `csrf=False` (to test the refusal)."""
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=data, headers=self.headers, **kwargs)
