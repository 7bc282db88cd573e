"""Exit 0 when gunicorn answers /healthz at the address CIRCOLO_BIND names (the HEALTHCHECK).

    python scripts/healthcheck.py            ask $CIRCOLO_BIND (the entrypoint's default if unset)

Only the standard library: it runs every 30 s in the container and needs nothing installed.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys

#: The entrypoint's defaults (scripts/entrypoint.sh), and gunicorn's port for a bare host.
DEFAULT_BIND = "0.0.0.0:8000"
DEFAULT_PORT = 8000
#: Under the container's HEALTHCHECK --timeout=5s, so a slow answer is a failure, not a kill.
TIMEOUT = 4.0


def health_address(bind: str) -> tuple[str, int] | str:
    """Return where a gunicorn bound to `bind` is reached: (host, port), or a unix socket path."""
    bind = bind.strip()
    if bind.startswith("unix:"):
        return bind.removeprefix("unix:")
    host, colon, port = bind.rpartition(":")
    if not colon or "]" in port:  # a host without a port ("example", "[::1]")
        host, port = bind, str(DEFAULT_PORT)
    host = host.strip("[]")
    # A wildcard bind listens on every address: ask the loopback one of the same family.
    if host in ("", "0.0.0.0"):  # noqa: S104 (compared, not bound)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, int(port)


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection over a unix socket (gunicorn's `unix:PATH` bind)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def is_healthy(bind: str, *, timeout: float = TIMEOUT) -> bool:
    """Ask /healthz at `bind`; True only for a 200."""
    address = health_address(bind)
    if isinstance(address, str):
        connection: http.client.HTTPConnection = UnixHTTPConnection(address, timeout)
    else:
        connection = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


if __name__ == "__main__":
    bind = os.environ.get("CIRCOLO_BIND") or DEFAULT_BIND
    if is_healthy(bind):
        sys.exit(0)
    sys.stderr.write(f"circolo: no healthy answer from /healthz at {bind}\n")
    sys.exit(1)
