"""The learner's community pane (blueprint `pane`, `/pane...`)."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_date, format_datetime, format_percent

from middleware.i18n import decimal_formatter, format_decimal

from .content import sanitise_post_html


def init_app(app: Flask) -> None:
    """Register the pane and the teacher dashboard, and the formatters their pages use."""
    from middleware.dashboard.views import bp as dashboard_bp

    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(dashboard_bp)
    app.jinja_env.globals.update(format_date=format_date, format_datetime=format_datetime,
                                 format_decimal=format_decimal, format_percent=format_percent,
                                 decimal_formatter=decimal_formatter)
    app.jinja_env.filters["post_html"] = sanitise_post_html
