"""Numbers on the pages: the remembered formatting says exactly what Babel says, per locale."""

from __future__ import annotations

from decimal import Decimal

import flask_babel
import pytest

from middleware.i18n import format_decimal


@pytest.mark.parametrize("locale", ["it", "en"])
def test_format_decimal_matches_babel_in_each_locale(app, locale):
    values = [0, 1, 1.0, 1.5, 2.25, 999, 1000, 12345, -7, 1234567.891, Decimal("3.10")]
    with app.test_request_context(headers={"Accept-Language": locale}):
        for _ in range(2):  # the second round is served from memory
            for value in values:
                assert format_decimal(value) == flask_babel.format_decimal(value), value
            assert format_decimal(1234.5, "#,##0.00") == flask_babel.format_decimal(1234.5,
                                                                                   "#,##0.00")
    with app.test_request_context(headers={"Accept-Language": "it"}):
        assert format_decimal(12345) == "12.345"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert format_decimal(12345) == "12,345"
