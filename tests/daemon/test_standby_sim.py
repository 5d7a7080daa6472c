"""The standby call-out end to end on the simulated PBX: the same daemon path as the tier.

Two simulated desk phones are on the standby list: one answers and presses 1, one answers
and stays silent. The one who pressed 1 must be added to the queue (read back from the
PBX, visible in the status document), with an audited add and an open undo; the silent one
must not. Run as an A8 drill step, the step keeps the add's undo so closure can remove the
member again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ccops.config import OnCallPerson, PagingConfig
from ccops.core.commands import PageStandby, RunPbxStep, StartIncident, parse_command
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon

from .conftest import sim_settings, wait_live

LEAD = Operator(name="lead", role=Role.SUPERVISOR, session_id="t", via="local")
ROSTER = [
    OnCallPerson(name="ann", display_name="Ann Standby", role="standby_staff",
                 extension="desk-201", queue_interface="PJSIP/desk-201"),
    OnCallPerson(name="bo", role="standby_staff", extension="desk-202",
                 queue_interface="PJSIP/desk-202"),
]
SITE = {"a8_call_surge": {"pbx": "sim", "surge_queue": "repairs"}}


@pytest.fixture
async def standby_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    base = sim_settings(tmp_path / "state", publish_hz=5.0)
    paging = PagingConfig(max_attempts=1, retry_backoff_s=0.2, ack_timeout_s=20,
                          ring_timeout_s=5)
    playbooks = base.playbooks.model_copy(update={"parameters": SITE})
    d = Daemon(base.model_copy(update={"paging": paging, "oncall": ROSTER,
                                       "playbooks": playbooks}))
    await d.start()
    try:
        await wait_live(d)
        phones = d.sim.phones
        phones.program("desk-201", answer_after=(0.3, 0.3), digit="1", digit_after=(0.5, 0.5),
                       hangup_after=0.2)
        phones.program("desk-202", answer_after=(0.3, 0.3), digit=None, hangup_after=0.2)
        yield d
    finally:
        await d.stop()


async def members(d: Daemon, queue: str, *, want: str, present: bool) -> dict[str, Any]:
    """The queue's members in the status document once ``want`` is (or is not) listed."""
    for _ in range(100):
        got: dict[str, Any] = d.status_document()["pbx"]["sim"]["queues"][queue]["members"]
        if (want in got) is present:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"{want} {'never' if present else 'still'} listed in {queue}: {got}")


async def test_who_presses_1_joins_the_queue_and_the_silent_one_does_not(
    standby_daemon: Daemon,
) -> None:
    d = standby_daemon
    before = d.status_document()["pbx"]["sim"]["queues"]["hotline"]["members"]
    assert "PJSIP/desk-201" not in before and "PJSIP/desk-202" not in before
    cmd = parse_command("page_standby", {"pbx": "sim", "queue": "hotline",
                                         "group": "standby_staff", "penalty": 2,
                                         "member_name": "{display_name} (standby)"})
    assert isinstance(cmd, PageStandby)
    result = await d.execute(LEAD, cmd)
    assert result.ok, result.detail
    rb = result.readback
    assert rb is not None
    people = {p["person"]: p for p in rb["people"]}
    assert people["ann"]["status"] == "added" and people["ann"]["interface"] == "PJSIP/desk-201"
    assert people["bo"]["status"] == "no_key" and people["bo"]["answered"]
    listed = await members(d, "hotline", want="PJSIP/desk-201", present=True)
    assert "PJSIP/desk-202" not in listed
    ann = listed["PJSIP/desk-201"]
    assert ann["name"] == "Ann Standby (standby)" and ann["penalty"] == 2
    assert d.store is not None
    audit = [(r.entry.action, r.entry.operator, r.entry.result.value)
             for r in await d.store.audit_page(0, 100)]
    assert sorted(audit) == [("add_member", "lead", "ok"), ("page_person", "lead", "failed"),
                             ("page_person", "lead", "ok"), ("page_standby", "lead", "ok")]
    undos = await d.store.open_undos()
    assert [(u.spec.undo_command, u.spec.undo_params["interface"]) for u in undos] == [
        ("remove_member", "PJSIP/desk-201")]
    assert rb["undo_ids"] == [undos[0].id]
    spec = undos[0].spec
    undo = await d.execute(LEAD, parse_command(spec.undo_command, spec.undo_params))
    assert undo.ok, undo.detail
    await members(d, "hotline", want="PJSIP/desk-201", present=False)
    # The add's undo is closed (superseded by the remove, whose own undo re-adds).
    assert undos[0].id not in {u.id for u in await d.store.open_undos()}


async def test_a8_drill_step_adds_on_the_simulator_and_keeps_the_undo(
    standby_daemon: Daemon,
) -> None:
    d = standby_daemon
    started = await d.execute(LEAD, StartIncident(playbook="a8_call_surge", drill=True))
    assert started.ok, started.detail
    iid = int((started.readback or {})["incident_id"])
    ran = await d.execute(LEAD, RunPbxStep(incident_id=iid, step="standby_callout"))
    assert ran.ok, ran.detail
    await members(d, "repairs", want="PJSIP/desk-201", present=True)
    assert d.incidents is not None
    doc = await d.incidents.incident_json(iid)
    assert doc is not None
    step = next(s for s in doc["steps"] if s["id"] == "standby_callout")
    assert step["state"] == "done" and len(step["detail"]["undo_ids"]) == 1
    assert [(p["person"], p["status"]) for p in step["detail"]["runs"][-1]["people"]] == [
        ("ann", "added"), ("bo", "no_key")]
    lines = [e["detail"] for e in doc["timeline"] if e["kind"] == "pbx_person"]
    # A drill: on the simulator, and the timeline says so.
    assert lines[0].startswith("DRILL (not sent to a real PBX): ann: pressed 1 → added to "
                               "repairs as PJSIP/desk-201")
    assert d.store is not None
    refs = [r.entry.params.get("ref") for r in await d.store.audit_page(0, 100)
            if r.entry.action == "page_person"]
    assert refs == [f"incident {iid} step standby_callout"] * 2
    assert any("is not undone" in p for p in doc["closure_problems"])
