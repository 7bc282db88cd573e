"""Serve the Moodle-like platform double from a shell: for demos and manual testing."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from . import start_platform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.doubles.lti_platform",
                                     description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--tool", default="http://localhost:8000",
                        help="Circolo's public base URL (its /lti/login, /lti/launch, /lti/jwks);"
                             " a host name other than 127.0.0.1 makes it a third-party iframe")
    parser.add_argument("--client-id", default="circolo-demo")
    args = parser.parse_args(argv)

    platform = start_platform(port=args.port)
    tool = platform.add_tool(base_url=args.tool.rstrip("/"), client_id=args.client_id)
    print(f"Moodle double at {platform.issuer}/")
    print("Register it in Circolo with:")
    print(f"  flask circolo platform add --issuer {platform.issuer} --client-id {tool.client_id}"
          f" --deployment-id {tool.type_id} --auth-login-url {platform.auth_url}"
          f" --auth-token-url {platform.token_url} --key-set-url {platform.jwks_url}")
    register = platform.registration_page_url(args.tool.rstrip("/") + "/lti/register")
    print(f"Or register it dynamically: {register}")
    sys.stdout.flush()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    platform.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
