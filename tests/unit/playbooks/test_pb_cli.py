"""``ccops check --playbooks DIR``: exit 0 with a count, or exit 3 with located problems."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pb_helpers import LI, ZHANG

from ccops.cli import main
from ccops.core.clock import FakeClock
from ccops.core.incidents import IncidentEngine
from ccops.core.playbook_load import load_playbooks
from ccops.store import Store
from ccops.store.incidents import IncidentStore

BAD = """\
id: tiny
version: 1
title: T
category: call_center
source: S001-P1 §4
steps:
  - id: a
    kind: deadline
    actor: team_leader
    title: x
    source: S001-P1 §4.1
    within: soon
"""


def test_check_counts_shipped_and_site_playbooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CCOPS_CONFIG", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    (site / "tiny.yaml").write_text(BAD.replace("within: soon", "within: 2m"), "utf-8")
    assert main(["check", "--playbooks", str(site)]) == 0
    assert f"ok: 20 playbooks (shipped + {site})" in capsys.readouterr().out


def test_check_reports_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "tiny.yaml").write_text(BAD, "utf-8")
    assert main(["check", "--playbooks", str(site)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"ccops: config: {site / 'tiny.yaml'}:12: steps.0.within: expected a duration like "
        "5m, 90s, 1h or 1h30m (got 'soon')"
    ]


def test_check_validates_site_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "ccops.toml"
    cfg.write_text(
        "[playbooks.parameters.a8_call_surge]\nsurge_queue = 'hotline'\nbogus = 1\n"
        "[playbooks.parameters.a1_seat_equipment]\nom_reminder = 'soon'\n"
        "[playbooks.parameters.z9_nothing]\nx = 1\n",
        "utf-8",
    )
    assert main(["check", "--config", str(cfg)]) == 3
    err = capsys.readouterr().err
    assert "playbooks.parameters.a8_call_surge.bogus: unknown parameter" in err
    assert "playbooks.parameters.a1_seat_equipment.om_reminder: expected a duration" in err
    assert "playbooks.parameters.z9_nothing: unknown playbook" in err
    good = tmp_path / "good.toml"
    good.write_text("[playbooks.parameters.a1_seat_equipment]\nom_reminder = '15m'\n", "utf-8")
    assert main(["check", "--config", str(good)]) == 0


async def _one_incident(db: Path) -> None:
    clock = FakeClock()
    async with await Store.open(db, clock=clock) as store:
        engine = IncidentEngine(IncidentStore(store), clock, load_playbooks())
        await engine.start("a2_app_network_failure", LI, site="floor 3", drill=True)
        clock.advance(200)
        await engine.complete_step(1, "report_supervisor", LI)
        await engine.complete_step(1, "recovered", ZHANG, record={"recovered_at": "00:04"})


def test_incident_report_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ccops.sqlite3"
    asyncio.run(_one_incident(db))
    cfg = tmp_path / "ccops.toml"
    cfg.write_text(f"[store]\npath = '{db}'\n", "utf-8")
    assert main(["incident", "report", "1", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# DRILL — Incident report 1: Application or network system failure")
    assert "## 1. Site\nfloor 3" in out
    assert main(["incident", "report", "1", "--drill", "--config", str(cfg)]) == 0
    assert "report_supervisor: met, 1m40s to spare" in capsys.readouterr().out
    assert main(["incident", "report", "1", "--review", "--config", str(cfg)]) == 0
    assert "## Corrective actions" in capsys.readouterr().out
    assert main(["incident", "report", "7", "--config", str(cfg)]) == 1
    assert "no incident 7" in capsys.readouterr().err
    missing = tmp_path / "missing.toml"
    missing.write_text(f"[store]\npath = '{tmp_path / 'nope.sqlite3'}'\n", "utf-8")
    assert main(["incident", "report", "1", "--config", str(missing)]) == 4
