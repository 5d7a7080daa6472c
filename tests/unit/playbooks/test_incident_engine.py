"""The incident engine with a fake clock and a real SQLite file: timers to the second,
restarts with timers due, roles, stale actions, notes, pages and closure gates."""

from __future__ import annotations

import pytest
from pb_helpers import DAN, LI, T0, VERA, ZHANG, Harness

from ccops.core.clock import FakeClock
from ccops.core.incident_state import IncidentStatus, StepState, TimerState
from ccops.core.incidents import ConsoleNotice, IncidentEngine, IncidentRefused, PageRequest
from ccops.core.playbook_load import LoadedPlaybook, parse_playbook, shipped_root
from ccops.core.roles import Role

MIN = 60.0
A2 = "a2_app_network_failure"
A8 = "a8_call_surge"


def kinds(engine: IncidentEngine, incident_id: int) -> list[str]:
    return [e.kind for e in engine.incident(incident_id).timeline]


async def test_restart_with_timers_due_fires_each_once_with_lateness(
    harness: Harness, clock: FakeClock
) -> None:
    engine = await harness.restart()
    inc = await engine.start(A2, LI)
    assert inc.id == 1
    clock.advance(3 * MIN)
    await engine.tick()
    assert "deadline_missed" not in kinds(engine, 1)
    await harness.close()  # the daemon goes down at 3:00 …
    clock.advance(9 * MIN)  # … and comes back at 12:00
    engine = await harness.open()
    assert [i.id for i in engine.open_incidents] == [1]
    intents = await engine.tick()
    inc = engine.incident(1)
    report, esc10, esc60 = (inc.timers[k] for k in
                            ("report_supervisor", "escalate_10m", "escalate_60m"))
    assert report.state is TimerState.FIRED and report.lateness == 7 * MIN
    assert esc10.state is TimerState.FIRED and esc10.lateness == 2 * MIN
    assert esc60.state is TimerState.ARMED and esc60.due_at == T0 + 60 * MIN
    fired = [e for e in inc.timeline if e.kind in ("deadline_missed", "watchdog_fired")]
    assert [e.step_id for e in fired] == ["report_supervisor", "escalate_10m"]  # due order
    assert fired[0].data["lateness"] == 7 * MIN and "7m late" in fired[0].detail
    assert any(isinstance(i, PageRequest) and i.person == "wang" for i in intents)
    # exactly once: another tick, and another restart, fire nothing more
    assert await engine.tick() == []
    engine = await harness.restart()
    assert await engine.tick() == []
    assert kinds(engine, 1).count("watchdog_fired") == 1
    assert kinds(engine, 1).count("deadline_missed") == 1


async def test_level_2_at_exactly_30_minutes_and_both_levels_after_a_long_outage(
    harness: Harness, clock: FakeClock
) -> None:
    engine = await harness.restart()
    inc = await engine.start(A8, LI)
    assert inc.level == 1
    clock.advance(30 * MIN - 1)
    await engine.tick()
    assert engine.incident(1).level == 1
    clock.advance(1)
    intents = await engine.tick()
    assert engine.incident(1).level == 2
    pages = sorted(i.person for i in intents if isinstance(i, PageRequest))
    assert pages == ["chen", "liu"]  # the standby staff from the roster
    await harness.close()
    clock.advance(45 * MIN)  # down from 30:00 to 75:00: level 3 (due 60:00) missed
    engine = await harness.open()
    await engine.tick()
    inc = engine.incident(1)
    assert inc.level == 3 and inc.level_started_at == T0 + 60 * MIN
    assert inc.timers["support_levels:L3"].lateness == 15 * MIN


async def test_long_outage_fires_both_levels_in_order(harness: Harness, clock: FakeClock) -> None:
    engine = harness.engine
    assert engine is not None
    await engine.start(A8, LI)
    clock.advance(2 * 3600)
    await engine.tick()
    levels = [e.data["level"] for e in engine.incident(1).timeline if e.kind == "level"]
    assert levels == [1, 2, 3]
    assert engine.incident(1).timers["support_levels:L2"].lateness == 90 * MIN
    assert engine.incident(1).timers["support_levels:L3"].lateness == 60 * MIN


async def test_controlled_stops_the_escalation(engine: IncidentEngine, clock: FakeClock) -> None:
    await engine.start(A8, LI)
    clock.advance(20 * MIN)
    await engine.complete_step(1, "controlled", LI, record={"controlled_at": "00:20"})
    clock.advance(3600)
    await engine.tick()
    inc = engine.incident(1)
    assert inc.level == 1 and inc.timers["support_levels:L2"].state is TimerState.CANCELLED
    assert inc.steps["support_levels"].state is StepState.DONE


async def test_escalation_and_pbx_steps_are_not_ticked_off_by_hand(
    engine: IncidentEngine,
) -> None:
    await engine.start(A8, LI)
    with pytest.raises(IncidentRefused, match="ends when step controlled is done"):
        await engine.complete_step(1, "support_levels", LI)
    with pytest.raises(IncidentRefused, match="is a PBX action: run it"):
        await engine.complete_step(1, "overflow", LI)
    await engine.complete_step(1, "overflow", LI, waive=True, note="second site is down too")
    assert engine.incident(1).steps["overflow"].state is StepState.WAIVED


async def test_manual_level_restarts_the_next_levels_clock(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    await engine.start(A8, LI)
    clock.advance(10 * MIN)
    with pytest.raises(IncidentRefused, match="needs a note"):
        await engine.set_level(1, 2, "", LI)
    await engine.set_level(1, 2, "queue at 40 waiting, calling standby early", LI)
    inc = engine.incident(1)
    assert inc.timers["support_levels:L2"].state is TimerState.CANCELLED
    assert inc.timers["support_levels:L3"].due_at == T0 + 40 * MIN
    clock.advance(30 * MIN)
    await engine.tick()
    assert engine.incident(1).level == 3


async def test_watchdog_is_cancelled_when_recovered_in_time(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    await engine.start(A2, LI)
    clock.advance(8 * MIN)
    await engine.complete_step(1, "recovered", ZHANG, record={"recovered_at": "00:08"})
    clock.advance(60 * MIN)
    await engine.tick()
    inc = engine.incident(1)
    assert inc.steps["escalate_10m"].state is StepState.CANCELLED
    assert inc.timers["escalate_60m"].state is TimerState.CANCELLED
    assert "watchdog_fired" not in kinds(engine, 1)


async def test_deadline_met_records_the_margin(engine: IncidentEngine, clock: FakeClock) -> None:
    await engine.start(A2, LI, detected_at=T0 - 60)  # discovered a minute before declared
    clock.advance(2 * MIN + 40)
    await engine.complete_step(1, "report_supervisor", LI)
    entry = engine.incident(1).timeline[-1]
    assert entry.kind == "step_done" and entry.data["margin"] == 80.0
    assert "1m20s before the deadline" in entry.detail
    assert engine.incident(1).timers["report_supervisor"].state is TimerState.CANCELLED


async def test_stale_action_is_refused_with_who_and_when(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    await engine.start(A2, LI)
    clock.advance(3 * MIN)
    await engine.complete_step(1, "report_supervisor", LI)
    clock.advance(5)
    with pytest.raises(IncidentRefused, match=r"already completed by li at 00:03:00"):
        await engine.complete_step(1, "report_supervisor", LI)


async def test_roles_from_the_playbook_and_the_step(engine: IncidentEngine) -> None:
    with pytest.raises(IncidentRefused, match="may not start"):
        await engine.start(A2, VERA)
    with pytest.raises(IncidentRefused, match="may not start a8_call_surge"):
        await engine.start(A8, ZHANG)  # O&M: technical playbooks only
    await engine.start(A2, ZHANG)
    with pytest.raises(IncidentRefused, match="duty team leader"):
        await engine.complete_step(1, "report_supervisor", ZHANG)
    with pytest.raises(IncidentRefused, match="O&M specialist"):
        await engine.complete_step(1, "recovered", DAN, record={"recovered_at": "now"})
    await engine.complete_step(1, "recovered", ZHANG, record={"recovered_at": "00:00"})


async def test_needs_and_records(engine: IncidentEngine) -> None:
    await engine.start(A2, LI)
    with pytest.raises(IncidentRefused, match="needs step recovered first"):
        await engine.complete_step(1, "phone_leaders", LI)
    with pytest.raises(IncidentRefused, match="needs recovered_at recorded"):
        await engine.complete_step(1, "recovered", LI)
    with pytest.raises(IncidentRefused, match="records no colour"):
        await engine.complete_step(1, "recovered", LI, record={"colour": "red"})
    with pytest.raises(IncidentRefused, match="waiving a step needs a note"):
        await engine.complete_step(1, "manual_records", LI, waive=True)
    await engine.complete_step(1, "manual_records", LI, waive=True, note="no manual calls")
    assert engine.incident(1).steps["manual_records"].state is StepState.WAIVED


async def test_changing_a_timer_needs_a_note_and_moves_the_firing(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    await engine.start(A2, LI)
    with pytest.raises(IncidentRefused, match="needs a note"):
        await engine.change_timer(1, "escalate_10m", T0 + 20 * MIN, " ", LI)
    await engine.change_timer(1, "escalate_10m", T0 + 20 * MIN, "vendor on site, agreed", LI)
    entry = engine.incident(1).timeline[-1]
    assert entry.kind == "timer_changed" and "vendor on site" in entry.detail
    assert entry.actor == "li"
    clock.advance(10 * MIN)
    await engine.tick()
    assert engine.incident(1).timers["escalate_10m"].state is TimerState.ARMED
    clock.advance(10 * MIN)
    await engine.tick()
    assert engine.incident(1).timers["escalate_10m"].state is TimerState.FIRED


async def test_notifications_pages_and_acknowledgements(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    inc = await engine.start(A2, LI)
    intents = engine.take_intents()
    console = [i for i in intents if isinstance(i, ConsoleNotice)]
    pages = [i for i in intents if isinstance(i, PageRequest)]
    assert len(console) == 1 and Role.MAINTENANCE in console[0].roles
    assert [(p.person, p.step_id) for p in pages] == [("zhang", "notify_om")]
    clock.advance(30)
    await engine.acknowledge_page(1, pages[0].notification_seq, "zhang")
    row = engine.incident(1).steps["notify_om"]
    assert row.state is StepState.ACKNOWLEDGED and row.acked_by == "zhang"
    with pytest.raises(IncidentRefused, match="already acknowledged by zhang at 00:00:30"):
        await engine.acknowledge_page(1, pages[0].notification_seq, "zhang")
    with pytest.raises(IncidentRefused, match="already acknowledged"):
        await engine.acknowledge(1, "notify_om", ZHANG)
    assert inc.id == 1


async def test_missed_deadline_alert_can_be_acknowledged(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    await engine.start(A2, LI)
    with pytest.raises(IncidentRefused, match="no notification"):
        await engine.acknowledge(1, "report_supervisor", LI)
    clock.advance(5 * MIN)
    await engine.tick()
    await engine.acknowledge(1, "report_supervisor", LI)
    assert engine.incident(1).steps["report_supervisor"].state is StepState.PENDING  # still to do


async def test_unset_parameter_leaves_the_timer_unarmed_until_configured(
    harness: Harness, clock: FakeClock, shipped: dict[str, LoadedPlaybook]
) -> None:
    engine = harness.engine
    assert engine is not None
    inc = await engine.start("a1_seat_equipment", LI)
    assert inc.timers["om_reminder"].state is TimerState.UNSET
    assert any(e.kind == "timer_unset" and "$om_reminder" in e.detail for e in inc.timeline)
    assert harness.repo is not None
    site = IncidentEngine(harness.repo, clock, shipped,
                          parameters={"a1_seat_equipment": {"om_reminder": "15m"}})
    inc2 = await site.start("a1_seat_equipment", LI)
    assert inc2.timers["om_reminder"].due_at == T0 + 15 * MIN


async def test_an_incident_keeps_the_version_it_started_with(
    harness: Harness, shipped: dict[str, LoadedPlaybook]
) -> None:
    engine = harness.engine
    assert engine is not None
    await engine.start("a4_air_conditioning", LI)
    original = (shipped_root() / "a4_air_conditioning.yaml").read_text(encoding="utf-8")
    text = original.replace("version: 1\n", "version: 2\n", 1).replace(
        "title: Air-conditioning failure", "title: Cooling failure", 1
    )
    harness.playbooks = {**shipped, "a4_air_conditioning": parse_playbook(text, "new.yaml")}
    engine = await harness.restart()
    assert engine.definition(1).version == 1
    assert engine.definition(1).title == "Air-conditioning failure"
    inc2 = await engine.start("a4_air_conditioning", LI)
    assert inc2.playbook_version == 2 and engine.definition(2).title == "Cooling failure"


async def test_closure_gates(harness: Harness, clock: FakeClock) -> None:
    engine = harness.engine
    assert engine is not None
    await engine.start(A2, LI)
    with pytest.raises(IncidentRefused) as exc:
        await engine.close(1, LI)
    for missing in ("step recovered", "step phone_leaders", "recovered.recovered_at",
                    "fault_form.fault_handling_form"):
        assert missing in str(exc.value)
    clock.advance(20 * MIN)
    await engine.complete_step(1, "recovered", ZHANG, record={"recovered_at": "00:20"})
    await engine.complete_step(1, "phone_leaders", LI)
    await engine.complete_step(1, "fault_form", LI, record={"team_leader_log": "p. 12",
                                                            "fault_handling_form": "F-7"})
    assert await engine.closure_problems(1) == ["step follow_ups (Follow up the customers "
                                                "recorded for a callback after recovery) is "
                                                "not done"]
    await engine.complete_step(1, "follow_ups", LI, waive=True, note="nobody to call back")
    closed = await engine.close(1, LI, note="all normal")
    assert closed.status is IncidentStatus.CLOSED and engine.open_incidents == []
    with pytest.raises(IncidentRefused, match="not open"):
        await engine.add_note(1, "late", LI)
    assert harness.repo is not None
    stored = await harness.repo.get_incident(1)
    assert stored is not None and stored.status is IncidentStatus.CLOSED
    assert stored.timeline[-1].kind == "closed" and stored.timeline[-1].actor == "li"
    engine = await harness.restart()
    assert engine.open_incidents == []


async def test_variants_choose_the_steps(engine: IncidentEngine) -> None:
    with pytest.raises(IncidentRefused, match="needs a variant"):
        await engine.start("a3_power_cut", LI)
    inc = await engine.start("a3_power_cut", LI, variant="line")
    assert "phone_supervisor" in inc.steps and "ac_off" not in inc.steps
    problems = await engine.closure_problems(1)
    assert not any("ac_off" in p for p in problems)


async def test_drills_are_flagged_and_left_out_of_production_lists(
    harness: Harness,
) -> None:
    engine = harness.engine
    assert engine is not None and harness.repo is not None
    await engine.start(A8, LI, drill=True)
    await engine.start(A2, LI)
    assert [i.playbook_id for i in await harness.repo.list_incidents(drills=False)] == [A2]
    assert len(await harness.repo.list_incidents()) == 2
    assert engine.incident(1).timeline[0].detail.startswith("DRILL: ")


async def test_notes_land_on_the_timeline_and_survive_restart(harness: Harness) -> None:
    engine = harness.engine
    assert engine is not None
    await engine.start(A2, LI)
    await engine.add_note(1, "vendor ticket 4411 opened", LI)
    with pytest.raises(IncidentRefused):
        await engine.add_note(1, "   ", LI)
    engine = await harness.restart()
    last = engine.incident(1).timeline[-1]
    assert (last.kind, last.actor, last.detail) == ("note", "li", "vendor ticket 4411 opened")
