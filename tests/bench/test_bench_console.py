"""bench/console_latency.py in tiny mode: every stage runs end to end with real processes
(simulated PBX, daemon, a real console, plain clients) and reports real figures.

No timing is asserted (that is the benchmark's business on a quiet machine); what is
checked is that each stage produced a measurement: markers painted and timed, RSS read,
daemon CPU read, a first live paint, and no display error in the console.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tiny_run_measures_every_stage(tmp_path: Path) -> None:
    out_json = tmp_path / "console.json"
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "console_latency.py"), "--tiny",
         "--json", str(out_json)],
        capture_output=True, text=True, timeout=110, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert any(line.startswith("latency event→screen, 1 consoles") for line in lines), lines
    assert any(line.startswith("cold start to first live paint:") for line in lines), lines
    figures = json.loads(out_json.read_text())
    assert figures["markers"] >= 1
    assert figures["latencies_ms"], "no marker was seen painted by the console"
    assert all(0 < v < 30_000 for v in figures["latencies_ms"])  # stamps are real times
    assert figures["rss_one_mb"] > 10 and figures["rss_each_mb"][0] > 10
    assert figures["cpu_idle_s"] >= 0 and figures["cpu_loaded_s"] >= 0
    assert figures["events_per_s"] > 0
    assert figures["cold_start_s"] and all(math.isfinite(v) for v in figures["cold_start_s"])
    assert figures["import_baseline_s"]
    assert figures["display_errors"] == 0
