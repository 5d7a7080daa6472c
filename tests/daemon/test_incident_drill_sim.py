"""A drill end to end on a real daemon over the simulated PBX: start a surge drill, run its
overflow step (sent to the SIMULATED PBX only), see it in the status document, be refused
closure until the change is undone, close, and get the drill record."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccops.config import PlaybooksConfig
from ccops.core.commands import (
    CloseIncident,
    CompleteStep,
    RunPbxStep,
    StartIncident,
    parse_command,
)
from ccops.core.execute import Operator
from ccops.core.incident_report import drill_record
from ccops.core.playbook_load import load_pinned
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.store.incidents import IncidentStore

from .conftest import sim_settings, wait_live

LI = Operator(name="li", role=Role.SUPERVISOR, session_id="t-li", via="local")
PARAMS = {"a8_call_surge": {"pbx": "sim", "surge_queue": "hotline",
                            "overflow_destination": "voicemail"}}


@pytest.fixture
async def drill_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    settings = sim_settings(tmp_path / "state", publish_hz=5.0)
    settings = settings.model_copy(update={"playbooks": PlaybooksConfig(parameters=PARAMS)})
    d = Daemon(settings)
    await d.start()
    try:
        await wait_live(d)
        yield d
    finally:
        await d.stop()


async def test_surge_drill_on_the_simulator(drill_daemon: Daemon) -> None:
    d = drill_daemon
    started = await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True))
    assert started.ok, started.detail
    doc = d.status_document()["incidents"]
    assert [(i["playbook"], i["drill"], i["level"]) for i in doc] == [("a8_call_surge", True, 1)]
    assert doc[0]["next_due"] == pytest.approx(doc[0]["started_at"] + 1800)

    listed = await d.handle(LI, {"op": "playbooks", "id": 1})
    a8 = next(p for p in listed["playbooks"] if p["id"] == "a8_call_surge")
    assert a8["unset_parameters"] == ["busy_sound", "inbound_did"]  # the rest are configured
    assert len(listed["playbooks"]) == 19

    ran = await d.execute(LI, RunPbxStep(incident_id=1, step="overflow"))
    assert ran.ok, ran.detail
    flags: dict[str, object] = {}
    for _ in range(100):  # the read-back came from the simulator; the live model follows
        flags = d.status_document()["pbx"]["sim"]["flags"]
        if any("overflow/hotline" in k for k in flags):
            break
        await asyncio.sleep(0.05)
    assert any("overflow/hotline" in k for k in flags), flags

    await d.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                     record={"controlled_at": "drill end"}))
    detail = (await d.handle(LI, {"op": "incident", "id": 2, "incident_id": 1}))["incident"]
    assert detail["status"] == "open" and detail["drill"] is True
    steps = {s["id"]: s for s in detail["steps"]}
    assert steps["overflow"]["state"] == "done" and steps["overflow"]["done_by"] == "li"
    assert any("not undone" in p for p in detail["closure_problems"])
    assert detail["report"].startswith("# DRILL — Incident report 1")
    refused = await d.execute(LI, CloseIncident(incident_id=1))
    assert not refused.ok and "not undone" in refused.detail
    assert d.store is not None
    undo = next(u for u in await d.store.open_undos(pbx="sim") if "overflow" in u.spec.subject)
    undone = await d.execute(LI, parse_command(undo.spec.undo_command, undo.spec.undo_params))
    assert undone.ok, undone.detail
    closed = await d.execute(LI, CloseIncident(incident_id=1, note="drill complete"))
    assert closed.ok, closed.detail
    assert d.status_document()["incidents"] == []
    after = (await d.handle(LI, {"op": "incident", "id": 3, "incident_id": 1}))["incident"]
    assert after["status"] == "closed" and after["closure_problems"] == []
    missing = await d.handle(LI, {"op": "incident", "id": 4, "incident_id": 99})
    assert missing["type"] == "error"

    stored = await IncidentStore(d.store).get_incident(1)
    assert stored is not None and stored.is_drill
    record = drill_record(stored, load_pinned(stored.document))
    assert "content: playbook a8_call_surge" in record and "participants: li" in record
    kinds = [e.kind for e in stored.timeline]
    assert kinds.count("pbx_action") == 1 and kinds[-1] == "closed"
    actions = [r.entry.action for r in await d.store.audit_page(0, 100)]
    assert actions.count("set_routing_flag") == 1 and "run_pbx_step" in actions
