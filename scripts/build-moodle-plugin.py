"""Zip the Moodle plugin for IT: `make moodle-plugin` writes dist/local_circolo-<release>.zip.

Moodle's installer (Site administration > Plugins > Install plugins) wants one top folder named
after the plugin without its type, `circolo/`, holding version.php and lang/en/local_circolo.php,
with an entry for every folder. The same zip unzipped into Moodle's `local/` gives local/circolo.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "moodle" / "local_circolo"
TOP = "circolo"
#: A fixed date for every entry, so that the same sources always give the same zip.
STAMP = (2026, 1, 1, 0, 0, 0)


def plugin_release(version_php: str) -> str:
    """Return `$plugin->release` from version.php."""
    match = re.search(r"\$plugin->release\s*=\s*'([^']+)'", version_php)
    if not match:
        raise SystemExit("version.php declares no $plugin->release")
    return match.group(1)


def build(destination: Path) -> Path:
    """Write the zip into `destination` and return its path."""
    release = plugin_release((PLUGIN / "version.php").read_text())
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / f"local_circolo-{release}.zip"
    paths = sorted(p for p in PLUGIN.rglob("*") if "__pycache__" not in p.parts)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_entry(f"{TOP}/", directory=True), b"")
        for path in paths:
            name = f"{TOP}/{path.relative_to(PLUGIN).as_posix()}"
            if path.is_dir():
                archive.writestr(_entry(name + "/", directory=True), b"")
            else:
                archive.writestr(_entry(name), path.read_bytes())
    return target


def _entry(name: str, *, directory: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, STAMP)
    info.external_attr = ((0o40755 if directory else 0o100644) << 16) | (0x10 if directory else 0)
    info.compress_type = zipfile.ZIP_STORED if directory else zipfile.ZIP_DEFLATED
    return info


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"
    print(build(out))
