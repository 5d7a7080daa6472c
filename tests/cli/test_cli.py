"""The ``ccops`` command as a user runs it: real processes, real socket, real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ccops(*args: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccops", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("CCOPS_")}
    e["CCOPS_DAEMON__STATE_DIR"] = str(tmp_path / "state")
    e["HOME"] = str(tmp_path)  # no user config file leaks in
    return e


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccops", "serve"], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            result = ccops("status", "--json", env=env)
            if result.returncode == 0 and json.loads(result.stdout)["pbx"]["sim"]["sync"][
                "synced_at"
            ]:
                break
            time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_status_json_is_the_live_model_of_the_simulator(
    served: subprocess.Popen[str], env: dict[str, str]
) -> None:
    result = ccops("status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "ccops.status/1"
    sim = doc["pbx"]["sim"]
    assert sim["simulated"] is True and sim["link"]["state"] == "live"
    assert {"hotline", "billing", "repairs"} <= set(sim["queues"])
    assert sim["trunks"], "trunks are listed"
    human = ccops("status", env=env)
    assert human.returncode == 0
    assert "SIMULATED" in human.stdout and "hotline" in human.stdout


def test_sigterm_stops_cleanly_and_audit_verifies(
    served: subprocess.Popen[str], env: dict[str, str]
) -> None:
    served.send_signal(signal.SIGTERM)
    assert served.wait(timeout=20) == 0
    result = ccops("audit", "verify", env=env)
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout


def test_status_without_daemon_says_so(env: dict[str, str]) -> None:
    result = ccops("status", env=env)
    assert result.returncode == 4
    assert "no ccops daemon" in result.stderr and "ccops serve" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_reports_located_errors(env: dict[str, str], tmp_path: Path) -> None:
    good = ccops("check", "--config", str(ROOT / "config" / "ccops.example.toml"),
                 env={**env, "CCOPS_PBX_MAIN_SECRET": "x"})
    assert good.returncode == 0, good.stderr
    assert "1 PBX" in good.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[[pbx]]\nname = "main"\nport = "fifty"\n')
    result = ccops("check", "--config", str(bad), env=env)
    assert result.returncode == 3
    assert f"{bad} line 3: pbx[0].port" in result.stderr
    nosecret = tmp_path / "nosecret.toml"
    nosecret.write_text('[[pbx]]\nname = "main"\n')
    result = ccops("check", "--config", str(nosecret), env=env)
    assert result.returncode == 3 and "CCOPS_PBX_MAIN_SECRET" in result.stderr


def test_unreachable_pbx_at_start_keeps_the_daemon_serving(
    env: dict[str, str], tmp_path: Path
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[pbx]]\nname = "far"\nport = 1\nsecret = "x"\nbackoff_max = 2\n')
    proc = subprocess.Popen([sys.executable, "-m", "ccops", "serve", "--config", str(cfg)],
                            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        doc = None
        for _ in range(100):
            time.sleep(0.1)
            result = ccops("status", "--json", "--config", str(cfg), env=env)
            if result.returncode == 0:
                doc = json.loads(result.stdout)
                if doc["pbx"]["far"]["link"]["state"] == "down":
                    break
        assert doc is not None
        link = doc["pbx"]["far"]["link"]
        assert link["state"] == "down" and link["stale"] is True
        assert "refused" in link["detail"].lower()
        assert link["next_retry_at"] is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
