"""Keep the translation catalogues in step with the code.

    python scripts/i18n.py update    extract every string and merge it into each catalogue
    python scripts/i18n.py check     list strings with no translation (exit 1 if any)
    python scripts/i18n.py compile   build the .mo files the application reads
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "middleware" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LOCALES = ("it",)


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def update() -> None:
    pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2",
            "--no-location", "--sort-output", "-o", str(TEMPLATE), ".")
    for locale in LOCALES:
        pybabel("update", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", locale,
                "--no-fuzzy-matching", "--ignore-obsolete")


def missing_translations() -> dict[str, list[str]]:
    """Return, per locale, the message ids that have no (or only a fuzzy) translation."""
    missing: dict[str, list[str]] = {}
    for locale in LOCALES:
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                key = message.id if isinstance(message.id, str) else message.id[0]
                missing.setdefault(locale, []).append(key)
    return missing


def check() -> int:
    missing = missing_translations()
    for locale, ids in missing.items():
        for message_id in ids:
            print(f"{locale}: untranslated: {message_id!r}")
    return 1 if missing else 0


def compile_catalogues() -> None:
    pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "check"
    if action == "update":
        update()
    elif action == "compile":
        compile_catalogues()
    else:
        sys.exit(check())
