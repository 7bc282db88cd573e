#!/usr/bin/env python3
"""Record a real Moodle's web-service and LTI answers into tests/fixtures/moodle-<version>/.

    MOODLE_SRC=/path/to/moodle.tar.xz .venv/bin/python scripts/record_moodle.py

Runs the real-Moodle tier (tests/e2e, the same install, seed and flow as `make e2e`) with
CIRCOLO_RECORD_MOODLE set, so that every exchange the tests make with Moodle is also written
down, in the shapes of the existing recordings: `ws/<name>.json` (request, status, response) and
`lti/<name>.json` (launches, keys, configuration, a dynamic registration). Only a complete, green
run replaces the folder's recordings; its README.md is kept. Tokens are never written.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def moodle_release(source: Path) -> str:
    """Moodle's `$release` ("4.5dev+ (Build: 20240903)") from a source folder or tarball."""
    if source.is_dir():
        candidates = [source / "version.php", *source.glob("*/version.php")]
        text = next((p.read_text() for p in candidates if (p.parent / "config-dist.php")
                     .is_file()), "")
    else:
        with tarfile.open(source) as archive:
            member = next((m for m in archive if m.name.count("/") <= 1
                           and m.name.endswith("version.php")), None)
            extracted = archive.extractfile(member) if member else None
            text = extracted.read().decode() if extracted else ""
    match = re.search(r"\$release\s*=\s*'([^']+)'", text)
    if not match:
        raise SystemExit(f"{source} holds no Moodle version.php")
    return match.group(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=os.environ.get("MOODLE_SRC"),
                        help="Moodle's source, a tarball or folder (default: $MOODLE_SRC)")
    parser.add_argument("--version", help="the folder's version, e.g. 4.5 (default: read from "
                                          "the source's version.php)")
    parser.add_argument("pytest_args", nargs="*", help="more arguments for pytest")
    options = parser.parse_args()
    if not options.source:
        parser.error("give --source or set MOODLE_SRC")
    source = Path(options.source).expanduser().resolve()
    release = moodle_release(source)
    version = options.version or re.match(r"\d+\.\d+", release).group(0)  # type: ignore[union-attr]
    target = FIXTURES / f"moodle-{version}"
    print(f"recording Moodle {release} into {target.relative_to(ROOT)}", flush=True)

    with tempfile.TemporaryDirectory(prefix="circolo-recording-") as scratch:
        env = {**os.environ, "MOODLE_SRC": str(source), "CIRCOLO_RECORD_MOODLE": scratch}
        run = subprocess.run([sys.executable, "-m", "pytest", "tests/e2e", "-m", "moodle",
                              *options.pytest_args], cwd=ROOT, env=env, check=False)
        if run.returncode != 0:
            print("the tier failed: nothing was replaced", file=sys.stderr)
            return run.returncode
        written = sorted(p.relative_to(scratch) for p in Path(scratch).rglob("*.json"))
        if not written:
            print("nothing was recorded (was the tier skipped?)", file=sys.stderr)
            return 1
        for kind in ("ws", "lti"):
            shutil.rmtree(target / kind, ignore_errors=True)
            if (Path(scratch) / kind).is_dir():
                shutil.copytree(Path(scratch) / kind, target / kind)
    print(f"{len(written)} recordings written:", *(f"  {p}" for p in written), sep="\n")
    if not (target / "README.md").exists():
        print(f"write {target.relative_to(ROOT)}/README.md: what site and course they come from")
    return 0


if __name__ == "__main__":
    sys.exit(main())
