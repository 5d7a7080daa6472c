"""Closing an incident undoes its PBX changes in one action, on a real daemon over the
simulated PBX: a surge drill's overflow step sets the flag on the simulator; closing with
``undo_pbx_changes`` clears it through the audited path (AstDB read back), puts each undo on
the timeline and closes. A failing undo (the PBX link down) leaves the incident open with
the change named, loses nothing, and the same close succeeds once the PBX is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccops.config import PlaybooksConfig
from ccops.core.commands import CloseIncident, CompleteStep, RunPbxStep, StartIncident
from ccops.core.events import LinkState
from ccops.core.execute import Operator
from ccops.core.incident_state import IncidentStatus
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.store.incidents import IncidentStore

from .conftest import sim_settings, wait_live

LI = Operator(name="li", role=Role.SUPERVISOR, session_id="t-li", via="local")
PARAMS = {"a8_call_surge": {"pbx": "sim", "surge_queue": "hotline",
                            "overflow_destination": "voicemail"}}
KEY = "/ccops/overflow/hotline"  # the simulator's AstDB key for the overflow flag


@pytest.fixture
async def d(tmp_path: Path) -> AsyncIterator[Daemon]:
    settings = sim_settings(tmp_path / "state", publish_hz=5.0)
    settings = settings.model_copy(update={"playbooks": PlaybooksConfig(parameters=PARAMS)})
    daemon = Daemon(settings)
    await daemon.start()
    try:
        await wait_live(daemon)
        yield daemon
    finally:
        await daemon.stop()


async def overflow_drill(d: Daemon) -> None:
    """A surge drill with its overflow step run (on the simulator) and the surge controlled."""
    assert (await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True))).ok
    ran = await d.execute(LI, RunPbxStep(incident_id=1, step="overflow"))
    assert ran.ok, ran.detail
    assert d.sim is not None and d.sim.astdb.get(KEY) == "voicemail"
    done = await d.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                            record={"controlled_at": "drill end"}))
    assert done.ok, done.detail


async def test_close_undoes_the_overflow_and_closes(d: Daemon) -> None:
    await overflow_drill(d)
    detail = (await d.handle(LI, {"op": "incident", "id": 1, "incident_id": 1}))["incident"]
    [change] = detail["pbx_changes"]  # what the console's close dialog lists
    assert change["step"] == "overflow" and change["what"] == "overflow hotline → voicemail"
    assert change["undo"] == "off" and change["by"] == "li" and change["since"] > 0

    both = await d.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True,
                                             keep_pbx_changes=True, note="x"))
    assert not both.ok and "not both" in both.detail
    assert d.sim is not None and d.sim.astdb.get(KEY) == "voicemail"  # nothing was undone

    closed = await d.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True,
                                               note="drill over"))
    assert closed.ok, closed.detail
    assert "undone: overflow hotline → voicemail (Asterisk now says off)" in closed.detail
    assert closed.readback is not None
    [(_, rb)] = closed.readback.items()
    assert rb["ok"] is True and rb["asterisk"] == "Asterisk now says off"
    assert KEY not in d.sim.astdb  # the simulator's AstDB: the flag is gone
    assert d.status_document()["incidents"] == []

    assert d.store is not None
    stored = await IncidentStore(d.store).get_incident(1)
    assert stored is not None and stored.status is IncidentStatus.CLOSED
    undo_lines = [e for e in stored.timeline if e.kind == "pbx_undo"]
    assert [(e.actor, e.step_id, e.detail) for e in undo_lines] == [
        ("li", "overflow", "DRILL (not sent to a real PBX): undone: overflow hotline → "
                           "voicemail; Asterisk now says off")]
    assert stored.timeline[-1].kind == "closed"
    assert stored.timeline[-1].detail == "closed after undoing 1 PBX change(s): drill over"
    assert [u for u in await d.store.open_undos(pbx="sim") if "overflow" in u.spec.subject
            and u.spec.action == "set_routing_flag"] == []
    audit = [(r.entry.action, r.entry.result.value, r.entry.operator)
             for r in await d.store.audit_page(0, 100)]
    assert ("clear_routing_flag", "ok", "li") in audit
    assert audit[-1][:2] == ("close_incident", "ok")
    clear = next(r for r in await d.store.audit_page(0, 100)
                 if r.entry.action == "clear_routing_flag")
    assert clear.entry.readback is not None and clear.entry.readback["value"] is None


async def test_other_gates_are_checked_before_anything_is_undone(d: Daemon) -> None:
    assert (await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True))).ok
    assert (await d.execute(LI, RunPbxStep(incident_id=1, step="overflow"))).ok
    refused = await d.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True))
    assert not refused.ok
    assert "step controlled" in refused.detail and "no PBX change was undone" in refused.detail
    assert d.sim is not None and d.sim.astdb.get(KEY) == "voicemail"
    assert d.incidents is not None
    assert len(await d.incidents.engine.open_changes(1)) == 1


async def test_a_failing_undo_leaves_the_incident_open_and_loses_nothing(d: Daemon) -> None:
    await overflow_drill(d)
    assert d.sim is not None and d.incidents is not None and d.store is not None
    session = d.sessions["sim"]
    d.sim.restart(downtime=2.0)  # the PBX goes away: the undo cannot be sent
    for _ in range(100):
        if session.link.status.state is not LinkState.LIVE:
            break
        await asyncio.sleep(0.02)
    failed = await d.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True))
    assert not failed.ok
    assert failed.detail.startswith(
        "not closed: undoing overflow hotline → voicemail (step overflow) failed: ")
    assert "Still in place: overflow hotline → voicemail (step overflow, since " in failed.detail
    engine = d.incidents.engine
    assert engine.incident(1).status is IncidentStatus.OPEN
    [still] = await engine.open_changes(1)
    assert still.step_id == "overflow"
    last = engine.incident(1).timeline[-1]
    assert last.kind == "pbx_undo" and "undo FAILED: overflow hotline → voicemail" in last.detail
    audit = [(r.entry.action, r.entry.result.value) for r in await d.store.audit_page(0, 100)]
    assert ("clear_routing_flag", "failed") in audit and audit[-1] == ("close_incident", "failed")
    assert d.sim.astdb.get(KEY) == "voicemail"

    # the PBX comes back: the same one action now undoes and closes
    await session.link.wait_for_state(LinkState.LIVE, timeout=30)
    closed = await d.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True))
    assert closed.ok, closed.detail
    assert KEY not in d.sim.astdb
    stored = await IncidentStore(d.store).get_incident(1)
    assert stored is not None and stored.status is IncidentStatus.CLOSED
    kinds = [e.kind for e in stored.timeline]
    assert kinds.count("pbx_undo") == 2 and kinds[-1] == "closed"
