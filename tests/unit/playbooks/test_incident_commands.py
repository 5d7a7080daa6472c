"""Incident commands through ``execute(operator, command)``: capability, step role, stale
refusal, audit, PBX steps with their own audit line and undo, and the closure gate on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pb_helpers import ROSTER

from ccops.core.clock import FakeClock
from ccops.core.commands import (
    ClearRoutingFlag,
    CloseIncident,
    Command,
    CompleteStep,
    RunPbxStep,
    SetRoutingFlag,
    StartIncident,
)
from ccops.core.execute import Executor, Operator, PerformOutcome
from ccops.core.incident_perform import IncidentPerformer
from ccops.core.incident_state import IncidentStatus, StepState
from ccops.core.incidents import IncidentEngine
from ccops.core.playbook_load import LoadedPlaybook
from ccops.core.roles import Role
from ccops.store import Store
from ccops.store.incidents import IncidentStore

LI = Operator("li", Role.SUPERVISOR, "s1", "ssh")
ZHANG = Operator("zhang", Role.MAINTENANCE, "s2", "ssh")
VERA = Operator("vera", Role.VIEWER, "s3", "ssh")
SITE = {"a8_call_surge": {"pbx": "main", "surge_queue": "hotline",
                          "overflow_destination": "voicemail"}}


class FakePbx:
    """The daemon's PBX performer stand-in: routing flags succeed and say how to undo."""

    def __init__(self) -> None:
        self.calls: list[Command] = []

    async def perform(self, command: Command) -> PerformOutcome:
        self.calls.append(command)
        if isinstance(command, SetRoutingFlag):
            undo = ClearRoutingFlag(pbx=command.pbx, kind=command.kind, target=command.target)
            return PerformOutcome(True, "flag set", readback={"value": command.value}, undo=undo)
        return PerformOutcome(True, "done")


@dataclass
class Rig:
    store: Store
    engine: IncidentEngine
    executor: Executor
    pbx: FakePbx
    clock: FakeClock


@pytest.fixture
async def rig(
    tmp_path: Path, clock: FakeClock, shipped: dict[str, LoadedPlaybook]
) -> AsyncIterator[Rig]:
    store = await Store.open(tmp_path / "ccops.sqlite3", clock=clock)
    repo = IncidentStore(store)
    engine = IncidentEngine(repo, clock, shipped, roster=ROSTER, parameters=SITE, undos=repo)
    pbx = FakePbx()
    performer = IncidentPerformer(engine, pbx)
    executor = Executor(store, performer, clock)
    performer.run_nested = executor.execute
    try:
        yield Rig(store, engine, executor, pbx, clock)
    finally:
        await store.close()


async def test_start_complete_and_stale_refusal_are_audited(rig: Rig) -> None:
    started = await rig.executor.execute(LI, StartIncident(playbook="a2_app_network_failure"))
    assert started.ok and started.readback == {"incident_id": 1}
    rig.clock.advance(90)
    done = await rig.executor.execute(LI, CompleteStep(incident_id=1, step="report_supervisor"))
    assert done.ok
    again = await rig.executor.execute(LI, CompleteStep(incident_id=1, step="report_supervisor"))
    assert not again.ok
    assert again.detail == "refused: step report_supervisor already completed by li at 00:01:30"
    audit = await rig.store.audit_page(0, 100)
    assert [(a.entry.action, a.entry.result.value) for a in audit] == [
        ("start_incident", "ok"), ("complete_step", "ok"), ("complete_step", "failed")
    ]
    assert audit[1].entry.operator == "li"
    assert rig.engine.incident(1).timeline[-1].actor == "li"


async def test_capability_then_step_role(rig: Rig) -> None:
    refused = await rig.executor.execute(VERA, StartIncident(playbook="a2_app_network_failure"))
    assert refused.status.value == "refused"
    await rig.executor.execute(ZHANG, StartIncident(playbook="a2_app_network_failure"))
    wrong = await rig.executor.execute(ZHANG, CompleteStep(incident_id=1, step="phone_leaders"))
    assert not wrong.ok and "is for the duty team leader" in wrong.detail
    closing = await rig.executor.execute(ZHANG, CloseIncident(incident_id=1))
    assert closing.status.value == "refused"  # O&M has no close_incident capability


async def test_pbx_step_is_audited_on_its_own_and_gates_closure_until_undone(rig: Rig) -> None:
    await rig.executor.execute(LI, StartIncident(playbook="a8_call_surge"))
    ran = await rig.executor.execute(LI, RunPbxStep(incident_id=1, step="overflow"))
    assert ran.ok, ran.detail
    assert rig.pbx.calls == [SetRoutingFlag(pbx="main", kind="overflow", target="hotline",
                                            value="voicemail", expected_duration_min=60)]
    row = rig.engine.incident(1).steps["overflow"]
    assert row.state is StepState.DONE and len(row.detail["undo_ids"]) == 1
    actions = [a.entry.action for a in await rig.store.audit_page(0, 100)]
    assert actions == ["start_incident", "set_routing_flag", "run_pbx_step"]
    await rig.executor.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                                record={"controlled_at": "00:40"}))
    blocked = await rig.executor.execute(LI, CloseIncident(incident_id=1))
    assert not blocked.ok and "PBX change of step overflow is not undone" in blocked.detail
    undo = await rig.executor.execute(
        LI, ClearRoutingFlag(pbx="main", kind="overflow", target="hotline")
    )
    assert undo.ok
    closed = await rig.executor.execute(LI, CloseIncident(incident_id=1))
    assert closed.ok, closed.detail
    assert rig.engine.open_incidents == []


async def test_closing_may_keep_pbx_changes_with_a_note(rig: Rig) -> None:
    await rig.executor.execute(LI, StartIncident(playbook="a8_call_surge"))
    await rig.executor.execute(LI, RunPbxStep(incident_id=1, step="overflow"))
    await rig.executor.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                                record={"controlled_at": "00:40"}))
    no_note = await rig.executor.execute(LI, CloseIncident(incident_id=1, keep_pbx_changes=True))
    assert not no_note.ok and "needs a note" in no_note.detail
    kept = await rig.executor.execute(
        LI, CloseIncident(incident_id=1, keep_pbx_changes=True, note="overflow stays tonight")
    )
    assert kept.ok
    repo = IncidentStore(rig.store)
    stored = await repo.get_incident(1)
    assert stored is not None and stored.status is IncidentStatus.CLOSED
    assert "PBX changes kept" in stored.timeline[-1].detail


async def test_pbx_step_with_an_unset_parameter_names_it(rig: Rig) -> None:
    await rig.executor.execute(LI, StartIncident(playbook="a2_app_network_failure"))
    ran = await rig.executor.execute(LI, RunPbxStep(incident_id=1, step="outage_announcement"))
    assert not ran.ok and "needs parameter $pbx set" in ran.detail
    assert rig.pbx.calls == []


async def test_drill_pbx_steps_do_not_reach_the_pbx(rig: Rig) -> None:
    await rig.executor.execute(LI, StartIncident(playbook="a8_call_surge", drill=True))
    ran = await rig.executor.execute(LI, RunPbxStep(incident_id=1, step="overflow"))
    assert ran.ok and ran.detail.startswith("drill:")
    assert rig.pbx.calls == []
    last = rig.engine.incident(1).timeline[-1]
    assert last.kind == "pbx_action" and last.detail.startswith("DRILL")
