"""The Flask side of LTI 1.3: the `lti` blueprint, the launched session, CSRF and CLI.

Other features use `middleware.lti.session` (see its docstring) and nothing else from here.
"""

from __future__ import annotations

from flask import Flask

from lti.jwks import PlatformKeySets

from . import deep_linking, session  # noqa: F401 - deep_linking adds its routes to `bp`
from .views import KEY_SETS, bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Register the blueprint, the per-request launch handling, Jinja globals and commands."""
    app.register_blueprint(bp)
    app.extensions[KEY_SETS] = PlatformKeySets()
    # Chrome keeps third-party cookies in an iframe only when they are partitioned (CHIPS).
    app.config["SESSION_COOKIE_PARTITIONED"] = True
    app.before_request(session.before_request)
    app.jinja_env.globals.update(session.template_globals())

    from . import cli  # noqa: F401 - adds `platform` and `keys` to `flask circolo`
