"""bench/incident_engine.py in its tiny mode (no timing asserted): it runs, every due timer
fires, and the last line has the documented shape."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = str(REPO / "bench" / "incident_engine.py")
FINAL = re.compile(
    r"^incident_engine: (\d+) incidents, (\d+) armed timers; idle tick [\d.]+ ms "
    r"\([\d.]+x bare loop\); due tick [\d.]+ ms for (\d+) timers, [\d.]+ ms/timer "
    r"\(\d+x idle tick\); restart [\d.]+ ms \([\d.]+x raw read\)$"
)


def test_tiny_run_prints_the_ratio_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, SCRIPT, "--tiny", "--json", str(tmp_path / "runs.json")],
        capture_output=True, text=True, timeout=100, check=False,
    )
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    match = FINAL.match(last)
    assert match, last
    incidents, armed, due = (int(g) for g in match.groups())
    assert incidents == 19 and armed >= due == 4
    assert "4/4 fired" in out.stdout
    assert (tmp_path / "runs.json").read_text().count('"fired": 4') == 1


def test_bad_arguments_are_refused() -> None:
    out = subprocess.run([sys.executable, SCRIPT, "--due", "0"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 2 and "--due" in out.stderr
