"""Italian and English: the launch's locale picks, then the browser's, then English."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel import numbers
from flask import Flask, g, request, session
from flask_babel import Babel, get_locale

SUPPORTED_LOCALES = ("en", "it")
DEFAULT_LOCALE = "en"

#: One catalogue (gettext domain) per feature, so features are translated independently.
#: Each domain's strings come from the source paths listed (Babel glob patterns); the catalogue
#: is middleware/translations/<locale>/LC_MESSAGES/<domain>.po. English is the source language.
DOMAINS: dict[str, tuple[str, ...]] = {
    "messages": ("middleware/*.py", "middleware/ops/**.py", "middleware/templates/*.html"),
    "lti": ("lti/**.py", "middleware/lti/**.py", "middleware/templates/lti/**.html"),
    "moodle": ("middleware/moodle/**.py", "middleware/sync/**.py",
               "middleware/templates/sync/**.html"),
    "analytics": ("middleware/analytics/**.py",),
    "mentoring": ("middleware/mentoring/**.py", "middleware/templates/mentoring/**.html"),
    "pages": ("middleware/pane/**.py", "middleware/dashboard/**.py",
              "middleware/templates/pane/**.html", "middleware/templates/dashboard/**.html"),
    "privacy": ("middleware/privacy/**.py", "middleware/templates/privacy/**.html"),
    "companion": ("middleware/companion/**.py",),
}

babel = Babel()


#: Numbers already formatted, by (locale, type, value, pattern): a dashboard prints a thousand
#: small integers per page and Babel's general formatter was a fifth of its rendering time.
_FORMATTED: dict[tuple[str, type, Any, str | None], str] = {}
_FORMATTED_MAX = 20_000


def format_decimal(number: Any, format: str | None = None) -> str:  # noqa: A002 - Babel's name
    """Return `number` formatted for the request's locale, as `flask_babel.format_decimal`."""
    return decimal_formatter()(number, format)


def decimal_formatter() -> Callable[..., str]:
    """Return `format_decimal` bound to the request's locale, for pages that print many numbers
    (the locale is looked up once instead of once per number)."""
    locale = get_locale()
    name = str(locale)

    def formatted(number: Any, format: str | None = None) -> str:  # noqa: A002
        key = (name, type(number), number, format)
        found = _FORMATTED.get(key)
        if found is None:
            found = numbers.format_decimal(number, format=format, locale=locale)
            if len(_FORMATTED) >= _FORMATTED_MAX:
                _FORMATTED.clear()
            _FORMATTED[key] = found
        return found

    return formatted


def normalise_locale(value: str | None) -> str | None:
    """Map a launch locale such as `it-IT`, `it_IT` or `en_us` to a supported one, or None."""
    if not value:
        return None
    language = value.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else None


def select_locale() -> str:
    # `g.locale` is set by a launch (or a request carrying a launch token); the session keeps it.
    for candidate in (g.get("locale"), session.get("locale") if _has_session() else None,
                      request.args.get("lang")):
        locale = normalise_locale(candidate)
        if locale:
            return locale
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE


def select_timezone() -> str:
    return g.get("timezone") or "UTC"


def _has_session() -> bool:
    try:
        return bool(session)
    except RuntimeError:
        return False


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DOMAIN", ";".join(DOMAINS))
    directories = ";".join(["translations"] * len(DOMAINS))
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", directories)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.context_processor
    def locale_in_templates() -> dict[str, str]:
        locale = get_locale()
        return {"current_locale": locale.language if locale else DEFAULT_LOCALE}
