"""Drill scenarios in playbooks (format, located errors, values) and the drill record's
evaluation and participants in the engine."""

from __future__ import annotations

import pytest
from pb_helpers import LI, ZHANG

from ccops.core.clock import FakeClock
from ccops.core.drill_scenario import (
    PreparedScenario,
    ScenarioRefused,
    choose,
    lead_seconds,
    values_for,
)
from ccops.core.incident_report import drill_participants, drill_record
from ccops.core.incidents import IncidentEngine, IncidentRefused
from ccops.core.playbook_load import LoadedPlaybook, PlaybookError, parse_playbook

MINIMAL = """\
id: tiny
version: 1
title: Tiny
category: call_center
source: S001-P1 §4
steps:
  - id: one
    kind: check
    actor: team_leader
    title: Do the thing
    source: S001-P1 §4.1
"""

DRILL = """\
parameters:
  queue_name: {type: text, text: the queue}
drill:
  default: surge-x3
  scenarios:
    surge-x3:
      title: Three times the calls
      lead: 2m
      params: {factor: 3}
      steps:
        - {at: 0s, action: surge, factor: $factor, queue: $queue_name}
"""


def _with_drill(extra: str) -> str:
    return MINIMAL + extra


def _error(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as exc:
        parse_playbook(text, "site/x.yaml")
    return exc.value.problems


def test_shipped_outage_and_surge_playbooks_have_their_drills(
    shipped: dict[str, LoadedPlaybook],
) -> None:
    for pid in ("a2_app_network_failure", "a7_network_information_system"):
        spec = shipped[pid].playbook.drill
        assert spec.default == "trunk-down" and spec.scenarios["trunk-down"].params == {
            "trunk": "carrier-b"}
    a8 = shipped["a8_call_surge"].playbook.drill
    assert a8.default == "surge-x3"
    assert a8.scenarios["surge-x3"].steps == (
        {"at": "0s", "action": "surge", "factor": 3, "queue": "$surge_queue"},)


def test_a_drill_section_loads() -> None:
    pb = parse_playbook(_with_drill(DRILL), "site/x.yaml").playbook
    sc = pb.drill.scenarios["surge-x3"]
    assert sc.lead is not None and sc.lead.seconds == 120 and sc.params == {"factor": 3}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("default: surge-x3", "default: surge-x4"),
         "site/x.yaml:15: drill.default: no drill scenario 'surge-x4'"),
        (("queue: $queue_name", "queue: $queue"),
         "site/x.yaml:22: drill.scenarios.surge-x3.steps: unknown parameter $queue"),
        (("action: surge, factor", "action: pbx_restart, factor"),
         "site/x.yaml:22: drill.scenarios.surge-x3.steps.0.action: drills use surge, "
         "end_surge, trunk_down, trunk_up (got 'pbx_restart'): the daemon must be able to "
         "undo each step when the drill ends"),
        (("factor: $factor, queue", "factr: $factor, queue"),
         "site/x.yaml:22: drill.scenarios.surge-x3.steps.0.factor: Field required"),
        (("surge-x3:\n      title", "Surge_X3:\n      title"), "drill.scenarios.Surge_X3"),
        (("lead: 2m", "lead: $queue_name"),
         "drill.scenarios.surge-x3.lead: a drill's lead is a duration, not a parameter"),
    ],
)
def test_bad_drill_sections_are_located(change: tuple[str, str], expected: str) -> None:
    problems = _error(_with_drill(DRILL).replace(*change))
    assert any(expected in p for p in problems), problems


def test_values_come_from_start_then_scenario_then_site() -> None:
    pb = parse_playbook(_with_drill(DRILL), "site/x.yaml").playbook
    name, sc = choose(pb, None)
    assert name == "surge-x3"
    assert values_for(pb, sc, {}, {"queue_name": "hotline"}) == {
        "queue_name": "hotline", "factor": 3}
    assert values_for(pb, sc, {"factor": "6", "queue_name": "billing"},
                      {"queue_name": "hotline"}) == {"queue_name": "billing", "factor": "6"}
    with pytest.raises(ScenarioRefused, match=r"unknown scenario value\(s\) trunk"):
        values_for(pb, sc, {"trunk": "x"}, {})
    with pytest.raises(ScenarioRefused, match=r"no drill scenario 'nope' \(known: surge-x3\)"):
        choose(pb, "nope")
    assert lead_seconds(sc, None) == 120 and lead_seconds(sc, 0) == 0
    with pytest.raises(ScenarioRefused, match="lead time"):
        lead_seconds(sc, 121 * 60)
    plain = parse_playbook(MINIMAL, "site/y.yaml").playbook
    with pytest.raises(ScenarioRefused, match="no default drill scenario"):
        choose(plain, None)


async def test_drill_fields_belong_to_drills_and_outlive_closure(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    real = await engine.start("a4_air_conditioning", LI)
    with pytest.raises(IncidentRefused, match="not a drill"):
        await engine.set_report_field(real.id or 0, "evaluation", "x", LI)
    drill = await engine.start("a8_call_surge", LI, drill=True)
    assert drill.id is not None
    await engine.set_report_field(drill.id, "participants", "wang, zhao,, wang ", LI)
    assert drill.report["participants"] == "wang, zhao"
    await engine.add_note(drill.id, "taking part", ZHANG)
    await engine.complete_step(drill.id, "controlled", LI, record={"controlled_at": "10:00"})
    await engine.close(drill.id, LI, note="end")
    await engine.set_report_field(drill.id, "evaluation", "Fast detection; slow report", ZHANG)
    stored = await engine.stored(drill.id)
    assert stored is not None and stored.report["evaluation"] == "Fast detection; slow report"
    assert stored.timeline[-1].kind == "report_field" and stored.timeline[-1].actor == "zhang"
    assert drill_participants(stored) == ["li", "wang", "zhang", "zhao"]
    with pytest.raises(IncidentRefused, match="no incident 99"):
        await engine.set_report_field(99, "evaluation", "x", LI)


async def test_a_drill_detects_at_its_scenario_fault(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    now = clock.now()
    with pytest.raises(IncidentRefused, match="future"):
        await engine.start("a6_personal_accident", LI, detected_at=now + 60)
    inc = await engine.start("a6_personal_accident", LI, detected_at=now + 120, drill=True)
    assert inc.id is not None and inc.detected_at == now + 120
    prepared = PreparedScenario("surge-x3", "Three times", 120.0, 120.0,
                                ({"at": 0.0, "action": "surge", "factor": 3.0},),
                                summary="calls ×3 on every queue")
    await engine.record_drill_scenario(inc.id, prepared.timeline_text(), prepared.as_data(now))
    # the deadline counts from the fault, not from the start
    assert engine.incident(inc.id).timers["staffing_assessment"].due_at == now + 120 + 600
    record = drill_record(engine.incident(inc.id), engine.definition(inc.id))
    assert "scenario: surge-x3 — calls ×3 on every queue (fault at" in record
    assert ", running; detection clock starts at the fault)" in record
