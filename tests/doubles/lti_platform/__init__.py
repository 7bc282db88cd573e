"""A Moodle 4.4-like LTI 1.3 platform for tests and demos, served for real on 127.0.0.1.

It has its own RSA key and behaves like Moodle's `mod/lti`: `certs.php` (JWKS), `auth.php` (checks
scope, response_type, response_mode, prompt, client_id, login_hint and redirect_uri as Moodle
does, then form-posts a signed id_token with the claims Moodle sends), `token.php`
(client-credentials with a `private_key_jwt` assertion checked against the tool's JWKS), NRPS
memberships with `Link: rel="next"` paging, AGS line items and scores, the OpenID configuration
and the dynamic-registration endpoint (`token_already_used` on reuse). The browser side: a course
page embedding a launch in an iframe (`course_page_url`), the page that auto-posts the login
initiation (`launch_page_url`), and the admin page that runs a dynamic registration
(`registration_page_url`).

Usage::

    from tests.doubles.lti_platform import start_platform

    platform = start_platform()               # serves on a free port of 127.0.0.1
    tool = platform.add_tool(base_url="http://localhost:8000")    # Circolo's /lti/* URLs
    platform.issuer, tool.client_id, tool.type_id                  # what Circolo registers
    url = platform.course_page_url("11", locale="it")             # Chiara Greco, a learner
    ...
    platform.stop()

or `with running_platform() as platform: ...`. From a shell (for `make demo`)::

    python -m tests.doubles.lti_platform --port 8081 --tool http://localhost:8000

Every URL of the platform is on 127.0.0.1 (its issuer, like Moodle's wwwroot, is the origin of
its pages too). Serve the tool under another site name, `http://localhost:<port>`, and the tool
runs in a *third-party* iframe, as it does under a real Moodle. What happened is kept for
assertions: `auth_requests`, `id_tokens`, `token_requests`, `service_requests`, `scores`,
`registrations`, `deep_link_responses`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .app import create_platform_app
from .platform import (
    AGS_SCOPES,
    DEEP_LINKING,
    NRPS_SCOPE,
    RESOURCE_LINK,
    LineItem,
    MoodlePlatform,
    ResourceLink,
    Tool,
    User,
)
from .registration import openid_configuration_of, registration_answer

__all__ = [
    "AGS_SCOPES", "DEEP_LINKING", "NRPS_SCOPE", "RESOURCE_LINK", "LineItem", "MoodlePlatform",
    "PlatformServer", "ResourceLink", "Tool", "User", "create_platform_app",
    "openid_configuration_of", "registration_answer", "running_platform", "start_platform",
]


class PlatformServer(MoodlePlatform):
    """A MoodlePlatform served by werkzeug in a background thread."""

    server: BaseWSGIServer | None = None
    thread: threading.Thread | None = None

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> PlatformServer:
        """Start serving; port 0 picks a free one. Returns self once it accepts connections."""
        self.app = create_platform_app(self)
        self.server = make_server(host, port, self.app, threaded=True)
        bound = self.server.server_port
        self.issuer = f"http://{host}:{bound}"
        # A short poll interval makes `stop` quick (shutdown waits for the next poll).
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       name=f"moodle-double-{bound}", daemon=True)
        self.thread.start()
        return self

    @property
    def port(self) -> int:
        assert self.server is not None, "the platform is not serving"
        return self.server.server_port

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.server = self.thread = None


def start_platform(*, host: str = "127.0.0.1", port: int = 0, **options: Any) -> PlatformServer:
    """Create a platform (options as for `MoodlePlatform`) and serve it on 127.0.0.1."""
    return PlatformServer(**options).serve(host, port)


@contextmanager
def running_platform(**options: Any) -> Iterator[PlatformServer]:
    """Serve a platform for the duration of a `with` block."""
    platform = start_platform(**options)
    try:
        yield platform
    finally:
        platform.stop()
