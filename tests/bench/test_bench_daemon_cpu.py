"""bench/daemon_cpu.py in a tiny mode against the real Asterisk tier (no timing asserted).

Skip rule as in tests/integration/conftest.py: without the tier a developer's run skips
with the reason; with ``CI=true`` a missing tier fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

from asterisk_tier import unavailable_reason  # noqa: E402
from daemon_cpu import cpu_seconds  # noqa: E402

FINAL = re.compile(
    r"^daemon_cpu: daemon \d+\.\d\d s; asterisk \d+\.\d\d s; ratio (\d+\.\d\d|inf) %; "
    r"events (\d+); calls completed (\d+)$"
)
SCRIPT = str(REPO / "bench" / "daemon_cpu.py")


def test_cpu_seconds_reads_this_process() -> None:
    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(300_000))  # burn a little CPU
    assert cpu_seconds(os.getpid()) >= before >= 0


def test_missing_tier_exits_2_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "CCOPS_ASTERISK_CHROOT": str(tmp_path / "nowhere")}
    out = subprocess.run(
        [sys.executable, SCRIPT, "--seconds", "1"],
        capture_output=True, text=True, timeout=60, cwd=REPO, env=env,
    )  # fmt: skip
    assert out.returncode == 2
    assert "tier is unavailable" in out.stderr


@pytest.mark.slow
def test_tiny_run_on_the_tier_prints_the_final_line() -> None:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the Asterisk tier is unavailable: {reason}", pytrace=False)
        pytest.skip(f"Asterisk tier unavailable: {reason}")
    out = subprocess.run(
        [sys.executable, SCRIPT, "--seconds", "3", "--rate", "2", "--patience", "2",
         "--idle", "1"],
        capture_output=True, text=True, timeout=110, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    last = out.stdout.strip().splitlines()[-1]
    match = FINAL.match(last)
    assert match, last
    assert int(match.group(2)) > 0  # the daemon really processed the tier's events
    assert int(match.group(3)) > 0  # and sipp's calls completed
