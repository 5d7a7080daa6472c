"""Closing with ``undo_pbx_changes`` through ``execute``: every open undo of the incident runs
as the closing operator, newest first, each audited on its own line; a read-back that
disagrees stops it with the incident open; the two closing options exclude each other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
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
from ccops.core.incident_state import IncidentStatus
from ccops.core.incidents import IncidentEngine
from ccops.core.playbook_load import LoadedPlaybook
from ccops.core.roles import Role
from ccops.store import Store
from ccops.store.incidents import IncidentStore

LI = Operator("li", Role.SUPERVISOR, "s1", "ssh")
SITE = {"a8_call_surge": {"pbx": "main", "surge_queue": "hotline", "inbound_did": "4000",
                          "busy_sound": "busy-now", "overflow_destination": "voicemail"}}


@dataclass
class FlagPbx:
    """AstDB flags in a dict; ``disagree`` makes the read-back of a clear say "still on"."""

    db: dict[str, str] = field(default_factory=dict)
    calls: list[Command] = field(default_factory=list)
    disagree: set[str] = field(default_factory=set)
    gate: asyncio.Event | None = None  # when set, a clear waits for it (a slow PBX)

    async def perform(self, command: Command) -> PerformOutcome:
        self.calls.append(command)
        if self.gate is not None and isinstance(command, ClearRoutingFlag):
            await self.gate.wait()
        assert isinstance(command, SetRoutingFlag | ClearRoutingFlag)
        key = f"{command.kind}/{command.target}"
        before = self.db.get(key)
        if isinstance(command, SetRoutingFlag):
            self.db[key] = command.value
        elif command.target not in self.disagree:
            self.db.pop(key, None)
        now = self.db.get(key)
        readback = {"family": "ccops", "key": key, "value": now, "previous": before}
        want = command.value if isinstance(command, SetRoutingFlag) else None
        if now != want:
            return PerformOutcome(False, f"read-back: AstDB ccops/{key} = {now!r}, "
                                  f"expected {want!r}", readback=readback)
        undo: Command = ClearRoutingFlag(pbx=command.pbx, kind=command.kind,
                                         target=command.target)
        return PerformOutcome(True, f"Asterisk confirms {key}", readback=readback, undo=undo)


@dataclass
class Rig:
    store: Store
    engine: IncidentEngine
    executor: Executor
    pbx: FlagPbx


@pytest.fixture
async def rig(
    tmp_path: Path, clock: FakeClock, shipped: dict[str, LoadedPlaybook]
) -> AsyncIterator[Rig]:
    store = await Store.open(tmp_path / "ccops.sqlite3", clock=clock)
    repo = IncidentStore(store)
    engine = IncidentEngine(repo, clock, shipped, roster=ROSTER, parameters=SITE, undos=repo)
    pbx = FlagPbx()
    performer = IncidentPerformer(engine, pbx)
    executor = Executor(store, performer, clock)
    performer.run_nested = executor.execute
    try:
        yield Rig(store, engine, executor, pbx)
    finally:
        await store.close()


async def two_changes(rig: Rig, clock: FakeClock) -> None:
    assert (await rig.executor.execute(LI, StartIncident(playbook="a8_call_surge"))).ok
    ran = await rig.executor.execute(LI, RunPbxStep(incident_id=1, step="busy_announcement"))
    assert ran.ok, ran.detail
    clock.advance(60)
    assert (await rig.executor.execute(LI, RunPbxStep(incident_id=1, step="overflow"))).ok
    done = await rig.executor.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                                       record={"controlled_at": "00:40"}))
    assert done.ok, done.detail
    assert rig.pbx.db == {"emergency_announcement/4000": "busy-now",
                          "overflow/hotline": "voicemail"}


async def test_undoes_newest_first_each_audited_then_closes(rig: Rig, clock: FakeClock) -> None:
    await two_changes(rig, clock)
    changes = await rig.engine.open_changes(1)
    assert [c.step_id for c in changes] == ["overflow", "busy_announcement"]
    assert [c.what for c in changes] == ["overflow hotline → voicemail",
                                         "emergency announcement 4000 → busy-now"]
    closed = await rig.executor.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True))
    assert closed.ok, closed.detail
    assert rig.pbx.db == {}
    assert [c.target for c in rig.pbx.calls[2:]] == ["hotline", "4000"]  # newest first
    audit = [(a.entry.action, a.entry.result.value, a.entry.operator)
             for a in await rig.store.audit_page(0, 100)]
    assert audit[-3:] == [("clear_routing_flag", "ok", "li"), ("clear_routing_flag", "ok", "li"),
                          ("close_incident", "ok", "li")]
    assert await rig.engine.stored(1) is not None
    assert rig.engine.open_incidents == []


async def test_a_disagreeing_read_back_stops_with_the_incident_open(
    rig: Rig, clock: FakeClock
) -> None:
    await two_changes(rig, clock)
    rig.pbx.disagree.add("4000")  # the second undo's read-back disagrees
    failed = await rig.executor.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True))
    assert not failed.ok
    assert "undoing emergency announcement 4000 → busy-now (step busy_announcement) failed: " \
        "read-back: AstDB ccops/emergency_announcement/4000 = 'busy-now'" in failed.detail
    assert "Still in place: emergency announcement 4000 → busy-now (step busy_announcement" \
        in failed.detail
    assert "Undone before it: overflow hotline → voicemail" in failed.detail
    inc = rig.engine.incident(1)
    assert inc.status is IncidentStatus.OPEN
    assert [c.step_id for c in await rig.engine.open_changes(1)] == ["busy_announcement"]
    lines = [e.detail for e in inc.timeline if e.kind == "pbx_undo"]
    assert lines[0] == "undone: overflow hotline → voicemail; Asterisk now says off"
    assert lines[1].startswith("undo FAILED: emergency announcement 4000 → busy-now: read-back")
    # the operator can still keep the rest, with a note
    kept = await rig.executor.execute(
        LI, CloseIncident(incident_id=1, keep_pbx_changes=True, note="announcement stays"))
    assert kept.ok, kept.detail


async def test_both_options_together_are_refused(rig: Rig, clock: FakeClock) -> None:
    await two_changes(rig, clock)
    both = await rig.executor.execute(
        LI, CloseIncident(incident_id=1, undo_pbx_changes=True, keep_pbx_changes=True, note="x"))
    assert not both.ok and "choose one" in both.detail and "not both" in both.detail
    assert len(rig.pbx.calls) == 2  # nothing undone


async def test_nothing_open_just_closes(rig: Rig) -> None:
    assert (await rig.executor.execute(LI, StartIncident(playbook="a8_call_surge"))).ok
    await rig.executor.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                                record={"controlled_at": "00:40"}))
    closed = await rig.executor.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True))
    assert closed.ok and "no PBX change was open" in closed.detail
    assert rig.pbx.calls == []


async def test_a_second_undo_and_close_meanwhile_is_refused(rig: Rig, clock: FakeClock) -> None:
    await two_changes(rig, clock)
    rig.pbx.gate = asyncio.Event()
    first = asyncio.create_task(
        rig.executor.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True)))
    for _ in range(100):  # until the first undo is at the PBX
        if len(rig.pbx.calls) == 3:
            break
        await asyncio.sleep(0.01)
    bob = Operator("bob", Role.SUPERVISOR, "s9", "ssh")
    second = await rig.executor.execute(bob, CloseIncident(incident_id=1, undo_pbx_changes=True))
    assert not second.ok and "being undone and closed by li" in second.detail
    rig.pbx.gate.set()
    assert (await first).ok
    assert len(rig.pbx.calls) == 4  # each change undone once
