"""Drills that cause their own incident, end to end on a real daemon over its simulator.

A8 with ``surge-x3``: the simulator's hotline gets three times its calls, the waiting
count in the status document climbs, the overflow step goes to the simulator, level 2
fires at exactly 30 minutes (the desk ticked at chosen times), closing ends the surge, and
the drill record carries the scenario, score, participants and evaluation.
A2 with ``trunk-down``: carrier-b goes unreachable as Asterisk reports it, the outage
suggestion appears, closing brings the trunk back. Drills stay out of production figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ccops.config import PbxConfig, PlaybooksConfig, SimConfig
from ccops.core.commands import (
    CloseIncident,
    CompleteStep,
    RunPbxStep,
    SetReportField,
    StartIncident,
    parse_command,
)
from ccops.core.execute import Operator
from ccops.core.incident_report import drill_record
from ccops.core.playbook_load import load_pinned
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.sim.server import SimulatedPbx
from ccops.store.incidents import IncidentStore

from .conftest import sim_settings, wait_live

LI = Operator(name="li", role=Role.SUPERVISOR, session_id="t-li", via="local")
PARAMS = {"a8_call_surge": {"pbx": "sim", "surge_queue": "hotline",
                            "overflow_destination": "voicemail"}}
# A flat day at 20x speed: the surge shows within seconds, the same every run (seeded).
SCENARIO = 'name = "drill ground"\n[sim]\nprofile = "flat"\nspeed = 20\nagent_pauses = false\n'


class OffsetClock:
    """The real clock, whose wall time a test can move forward (monotonic time stays real,
    so the AMI link's keepalive is not fooled): the KPI engine's warm-up passes at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


async def _daemon(tmp_path: Path, clock: OffsetClock | None = None) -> Daemon:
    scenario = tmp_path / "ground.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    settings = sim_settings(tmp_path / "state", publish_hz=5.0)
    settings = settings.model_copy(update={
        "playbooks": PlaybooksConfig(parameters=PARAMS),
        "sim": SimConfig(scenario=scenario, seed=7),
    })
    d = Daemon(settings, clock=clock)
    await d.start()
    return d


@pytest.fixture
async def drill_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    d = await _daemon(tmp_path, OffsetClock())
    try:
        await wait_live(d)
        yield d
    finally:
        await d.stop()


async def _until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    for _ in range(int(timeout * 10)):
        got = check()
        if got:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _hotline(d: Daemon) -> dict[str, Any]:
    queue: dict[str, Any] = d.status_document()["pbx"]["sim"]["queues"]["hotline"]
    return queue


async def test_surge_drill_causes_its_incident_and_closing_ends_it(drill_daemon: Daemon) -> None:
    d = drill_daemon
    assert d.sim is not None
    traffic = d.sim.boot.traffic
    normal, billing = traffic.rate("hotline"), traffic.rate("billing")
    started = await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True,
                                                scenario="surge-x3"))
    assert started.ok, started.detail
    assert started.readback == {"incident_id": 1, "scenario": "surge-x3"}
    assert traffic.rate("hotline") == pytest.approx(3 * normal)
    assert traffic.rate("billing") == pytest.approx(billing)  # only the surge queue
    assert d.kpi.snapshot("sim")["production"] is False  # drill figures kept apart

    doc = d.status_document()["incidents"]
    assert doc[0]["drill"] and doc[0]["scenario"]["name"] == "surge-x3"
    assert doc[0]["scenario"]["state"] == "running"
    inc0 = d.incidents.engine.incident(1) if d.incidents else None
    assert inc0 is not None and inc0.detected_at == pytest.approx(inc0.started_at)

    peak = await _until(lambda: (w := _hotline(d)["waiting"]) >= 6 and w,
                        "hotline waiting to climb under the surge", timeout=60)
    assert peak >= 6
    assert isinstance(d.clock, OffsetClock)
    d.clock.offset = 300.0  # past the KPI engine's 5-minute warm-up for arrival rates
    a8 = await _until(
        lambda: [s for s in d.status_document()["incident_suggestions"]
                 if s["playbook"] == "a8_call_surge" and (s["staffing_gap"] or 0) > 0],
        "the surge suggestion with its Erlang C gap", timeout=60)
    assert "sim:hotline" in a8[0]["scopes"] and a8[0]["drill"] is True

    ran = await d.execute(LI, RunPbxStep(incident_id=1, step="overflow"))
    assert ran.ok, ran.detail
    await _until(lambda: any("overflow/hotline" in k
                             for k in d.status_document()["pbx"]["sim"]["flags"]),
                 "the overflow flag read back from the simulator")

    # Level 2 at exactly 30 minutes: the desk ticks at chosen times (a fake clock for it).
    assert d.incidents is not None
    inc = d.incidents.engine.incident(1)
    await d.incidents.tick(inc.started_at + 1799.9)
    assert d.incidents.engine.incident(1).level == 1
    await d.incidents.tick(inc.started_at + 1800)
    inc = d.incidents.engine.incident(1)
    assert inc.level == 2
    timer = inc.timers["support_levels:L2"]
    assert timer.fired_at == inc.started_at + 1800 and timer.lateness == 0

    await d.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                     record={"controlled_at": "drill end"}))
    assert d.store is not None
    undo = next(u for u in await d.store.open_undos(pbx="sim") if "overflow" in u.spec.subject)
    assert (await d.execute(LI, parse_command(undo.spec.undo_command,
                                              undo.spec.undo_params))).ok
    for name, text in (("evaluation", "Surge detected late; overflow set in 2 minutes"),
                       ("participants", "wang, zhao, wang")):
        set_ok = await d.execute(LI, parse_command(
            "set_report_field", {"incident_id": 1, "field": name, "text": text}))
        assert set_ok.ok, set_ok.detail
    closed = await d.execute(LI, CloseIncident(incident_id=1, note="drill complete"))
    assert closed.ok, closed.detail
    await d.tick()  # the next daemon tick ends the closed drill's scenario
    assert traffic.rate("hotline") == pytest.approx(normal)
    assert d.kpi.snapshot("sim")["production"] is True
    detail = (await d.handle(LI, {"op": "incident", "id": 9, "incident_id": 1}))["incident"]
    assert detail["scenario"]["state"] == "ended"
    assert "# Drill record: incident 1" in detail["report"]

    # The evaluation can still be written after the debrief, on the closed drill.
    late = await d.execute(LI, SetReportField.model_validate(
        {"incident_id": 1, "field": "evaluation", "text": "Good drill; brief standby staff"}))
    assert late.ok, late.detail
    stored = await IncidentStore(d.store).get_incident(1)
    assert stored is not None and stored.is_drill
    record = drill_record(stored, load_pinned(stored.document))
    assert "scenario: surge-x3 — calls ×3 on queue hotline" in record
    assert "participants: li, wang, zhao" in record
    assert "evaluation: Good drill; brief standby staff" in record
    assert "score: 0 of 0 deadlines met" in record
    assert "support_levels:L2: fired at T+30m" in record
    # Incident statistics exclude drills.
    assert await IncidentStore(d.store).list_incidents(drills=False) == []
    assert [i.id for i in await IncidentStore(d.store).list_incidents()] == [1]


async def test_trunk_down_drill_suggests_the_outage_and_closing_restores(
    drill_daemon: Daemon,
) -> None:
    d = drill_daemon
    started = await d.execute(LI, StartIncident(playbook="a2_app_network_failure", drill=True,
                                                scenario="trunk-down"))
    assert started.ok, started.detail
    await _until(lambda: d.status_document()["pbx"]["sim"]["trunks"]["carrier-b"]
                 .get("reachable") is False, "carrier-b reported Unreachable")
    sugg = await _until(
        lambda: [s for s in d.status_document()["incident_suggestions"]
                 if s["playbook"] == "a2_app_network_failure"],
        "the outage suggestion")
    assert "trunk_down" in sugg[0]["signals"] and "sim:carrier-b" in sugg[0]["scopes"]
    assert sugg[0]["drill"] is True  # labelled: the drill caused it, not a real fault
    # A drill never hides a real suggestion (only a real open incident does).
    assert any(s["playbook"] == "a7_network_information_system"
               for s in d.status_document()["incident_suggestions"])

    detail = (await d.handle(LI, {"op": "incident", "id": 1, "incident_id": 1}))["incident"]
    for step in detail["steps"]:
        if step["state"] in ("pending",) and step["kind"] in ("check", "deadline"):
            record = {f["name"]: "drill" for f in step["fields"] if f["required"]}
            await d.execute(LI, CompleteStep(incident_id=1, step=step["id"], record=record))
    closed = await d.execute(LI, CloseIncident(incident_id=1, note="drill complete"))
    assert closed.ok, closed.detail
    await d.tick()
    await _until(lambda: d.status_document()["pbx"]["sim"]["trunks"]["carrier-b"]
                 .get("reachable") is True, "carrier-b reachable again")


async def test_scenario_refusals_start_nothing(drill_daemon: Daemon) -> None:
    d = drill_daemon
    bad = await d.execute(LI, StartIncident(playbook="a2_app_network_failure", drill=True,
                                            scenario="trunk-down",
                                            scenario_params={"trunk": "carrier-z"}))
    assert not bad.ok and "no trunk 'carrier-z'" in bad.detail
    unknown = await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True,
                                                scenario="trunk-down"))
    assert not unknown.ok and "no drill scenario 'trunk-down' (known: surge-x3)" in unknown.detail
    typo = await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True,
                                             scenario="surge-x3",
                                             scenario_params={"queue_name": "x"}))
    assert not typo.ok and "unknown scenario value(s) queue_name" in typo.detail
    assert d.status_document()["incidents"] == []
    real = await d.execute(LI, parse_command("set_report_field", {
        "incident_id": 1, "field": "evaluation", "text": "x"}))
    assert not real.ok


async def test_a_lead_time_makes_the_fault_the_detection_time(drill_daemon: Daemon) -> None:
    d = drill_daemon
    assert d.sim is not None and d.incidents is not None
    normal = d.sim.boot.traffic.rate("hotline")
    started = await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True,
                                                scenario="surge-x3", lead_min=2))
    assert started.ok, started.detail
    inc = d.incidents.engine.incident(1)
    assert inc.detected_at == pytest.approx(inc.started_at + 120)
    assert d.status_document()["incidents"][0]["scenario"]["state"] == "lead"
    assert d.sim.boot.traffic.rate("hotline") == pytest.approx(normal)  # not yet
    entry = next(e for e in inc.timeline if e.kind == "drill_scenario")
    assert entry.data["fault_at"] == pytest.approx(inc.started_at + 120)
    assert "fault in 2m" in entry.detail


async def test_two_drills_on_one_carrier_keep_it_down_until_both_end(
    drill_daemon: Daemon,
) -> None:
    d = drill_daemon
    assert d.sim is not None and d.incidents is not None and d.incidents.drills is not None
    runner = d.incidents.drills
    for playbook in ("a2_app_network_failure", "a7_network_information_system"):
        ok = await d.execute(LI, StartIncident(playbook=playbook, drill=True,
                                               scenario="trunk-down"))
        assert ok.ok, ok.detail
    trunk = d.sim.boot.engine.trunks["carrier-b"]
    assert not trunk.really_up
    runner.end(1, "test")
    assert not trunk.really_up  # drill 2 still plays the carrier outage
    assert d.kpi.snapshot("sim")["production"] is False
    runner.end(2, "test")
    assert trunk.really_up and d.kpi.snapshot("sim")["production"] is True


async def test_restart_resumes_the_scenario(tmp_path: Path) -> None:
    d = await _daemon(tmp_path)
    try:
        await wait_live(d)
        started = await d.execute(LI, StartIncident(
            playbook="a7_network_information_system", drill=True, scenario="trunk-down"))
        assert started.ok, started.detail
    finally:
        await d.stop()
    d = await _daemon(tmp_path)
    try:
        await wait_live(d)
        assert d.sim is not None and d.incidents is not None
        assert d.sim.boot.engine.trunks["carrier-b"].really_up is False
        assert d.status_document()["incidents"][0]["scenario"]["state"] == "running"
    finally:
        await d.stop()


async def test_a_real_pbx_daemon_refuses_drill_scenarios(tmp_path: Path) -> None:
    """A daemon on a configured ``[[pbx]]`` (here a standalone simulator it takes for a real
    Asterisk) has no scenario host: the drill with a scenario is refused, nothing starts,
    and the PBX is never touched; a drill without a scenario still runs."""
    real = SimulatedPbx(port=0, realtime=True, seed=3)
    port = await real.start()
    settings = sim_settings(tmp_path / "state", publish_hz=5.0)
    pbx = PbxConfig(name="site", port=port, username="ccops",
                    secret="ccops-sim")  # type: ignore[arg-type]
    d = Daemon(settings.model_copy(update={"pbx": [pbx]}))
    await d.start()
    try:
        await wait_live(d)
        assert d.sim is None and d.incidents is not None and d.incidents.drills is None
        rate = real.boot.traffic.rate("hotline")
        refused = await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True,
                                                    scenario="surge-x3"))
        assert not refused.ok
        assert "this daemon runs on a real PBX" in refused.detail
        assert d.incidents.engine.open_incidents == []
        assert real.boot.traffic.rate("hotline") == rate
        plain = await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True))
        assert plain.ok, plain.detail
    finally:
        await d.stop()
        await real.stop()
