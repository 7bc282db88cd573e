"""Every string a person reads exists in Italian and English (English is the source language)."""

import importlib.util

from middleware.config import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("i18n_script", PROJECT_ROOT / "scripts" / "i18n.py")
i18n_script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(i18n_script)


def test_every_string_in_the_code_has_its_italian_translation():
    missing = i18n_script.missing_translations()
    hint = "run `python scripts/i18n.py update DOMAIN` and translate:\n"
    assert missing == [], hint + "\n".join(missing)


def test_launch_locale_is_normalised():
    from middleware.i18n import normalise_locale

    assert normalise_locale("it-IT") == "it"
    assert normalise_locale("it_IT") == "it"
    assert normalise_locale("en_us") == "en"
    assert normalise_locale("de") is None
    assert normalise_locale("") is None
