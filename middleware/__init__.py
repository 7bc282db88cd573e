"""Circolo: community management for online courses, as an LTI 1.3 tool for Moodle."""

from __future__ import annotations

from flask import Flask

from .config import Settings


def create_app(config: Settings | None = None) -> Flask:
    """Create the Circolo application; settings come from the environment unless given."""
    settings = config or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        CIRCOLO=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        # The pane lives in Moodle's iframe: its cookies are third-party and must be
        # SameSite=None; Secure (browsers accept Secure cookies from http://127.0.0.1 too).
        SESSION_COOKIE_NAME="circolo_session",
        SESSION_COOKIE_SAMESITE="None",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    settings.instance_path.mkdir(parents=True, exist_ok=True)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import db, i18n, logging, queue, security
    from .ops import metrics

    logging.init_app(app)
    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    metrics.init_app(app)
    queue.bind_app(app)


def register_blueprints(app: Flask) -> None:
    from . import lti
    from .ops import bp as ops_bp

    app.register_blueprint(ops_bp)
    lti.init_app(app)  # the `lti` blueprint, launched sessions, CSRF, `platform`/`keys` commands
    from .lti.registration import bp as lti_registration_bp

    app.register_blueprint(lti_registration_bp)  # /lti/register: dynamic registration
    from . import pane

    pane.init_app(app)  # /pane (learners) and /dashboard (teachers)
    from .mentoring.views import bp as mentoring_bp

    app.register_blueprint(mentoring_bp)  # /dashboard/mentoring: the teacher's mentoring pages
    from . import moodle

    moodle.init_app(app)  # `flask circolo moodle`, sync metrics and signal receivers
    from . import privacy

    privacy.init_app(app)  # `flask circolo learner|privacy`, forget people Moodle dropped
    from . import companion

    companion.init_app(app)  # /api/companion: the Moodle plugin's connect and events; `invite`


def register_errorhandlers(app: Flask) -> None:
    from .errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from . import cli

    cli.init_app(app)
