"""`make demo` prepares a course a person can open: synced, analysed, rules run, two links."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from middleware.config import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.live_http
@pytest.mark.slow
def test_the_demo_prepares_a_course_and_prints_two_links(tmp_path):
    ports = [str(_free_port()) for _ in range(3)]
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "demo.py"), "--setup-only",
         "--port", ports[0], "--moodle-port", ports[1], "--ws-port", ports[2],
         "--learners", "20", "--instance", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "succeeded:" in out  # the sync ran
    assert "views of the course analysed" in out  # the analytics ran
    assert "prompts queued" in out  # the rules ran
    learner = next(line for line in out.splitlines() if "Open as a learner" in line)
    teacher = next(line for line in out.splitlines() if "Open as the teacher" in line)
    assert f"http://127.0.0.1:{ports[1]}/course/view.php?user=" in learner and "link=1" in learner
    assert "user=3&" in teacher and "link=2" in teacher
