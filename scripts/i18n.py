"""Keep the translation catalogues in step with the code (one catalogue per feature domain).

    python scripts/i18n.py update [DOMAIN]   extract strings and merge them into the catalogues
    python scripts/i18n.py check             list strings with no Italian (exit 1 if any)
    python scripts/i18n.py compile           build the .mo files the application reads

Domains and their source paths are listed in middleware/i18n.py (DOMAINS).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TRANSLATIONS = ROOT / "middleware" / "translations"
LOCALES = ("it",)

from middleware.i18n import DOMAINS  # noqa: E402


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", *args],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def extract(domain: str, output: Path) -> None:
    """Extract the strings of `domain` into the template `output`."""
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as mapping:
        for pattern in DOMAINS[domain]:
            method = "jinja2" if pattern.endswith(".html") else "python"
            mapping.write(f"[{method}: {pattern}]\n")
    try:
        pybabel("extract", "-F", mapping.name, "-k", "_l", "-k", "lazy_gettext",
                "-k", "ngettext:1,2", "-k", "lazy_ngettext:1,2", "--no-location",
                "--sort-output", "--omit-header", "-o", str(output), ".")
    finally:
        Path(mapping.name).unlink()


def catalogue(locale: str, domain: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{domain}.po"


def update(domains: list[str]) -> None:
    for domain in domains:
        template = TRANSLATIONS / f"{domain}.pot"
        extract(domain, template)
        for locale in LOCALES:
            action = "update" if catalogue(locale, domain).exists() else "init"
            extra = ["--no-fuzzy-matching", "--ignore-obsolete"] if action == "update" else []
            pybabel(action, "-i", str(template), "-d", str(TRANSLATIONS), "-l", locale,
                    "-D", domain, "-w", "100", *extra)


def _ids(path: Path) -> dict[str, object]:
    with open(path, "rb") as handle:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(handle) if m.id}


def missing_translations() -> list[str]:
    """Return one line per string in the code that has no Italian translation."""
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        for domain in DOMAINS:
            template = Path(scratch) / f"{domain}.pot"
            extract(domain, template)
            wanted = _ids(template)
            for locale in LOCALES:
                path = catalogue(locale, domain)
                have = _ids(path) if path.exists() else {}
                for message_id in wanted:
                    message = have.get(message_id)
                    strings = () if message is None else (
                        message.string if isinstance(message.string, tuple) else (message.string,))
                    if message is None or message.fuzzy or not all(strings):
                        problems.append(f"{locale}/{domain}: untranslated: {message_id!r}")
    return problems


def check() -> int:
    problems = missing_translations()
    print("\n".join(problems) if problems else "every string has its translation")
    return 1 if problems else 0


def compile_catalogues() -> None:
    for domain in DOMAINS:
        for locale in LOCALES:
            if catalogue(locale, domain).exists():
                pybabel("compile", "-d", str(TRANSLATIONS), "-l", locale, "-D", domain)


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "check"
    if action == "update":
        update(sys.argv[2:] or list(DOMAINS))
    elif action == "compile":
        compile_catalogues()
    else:
        sys.exit(check())
