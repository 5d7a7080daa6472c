"""Per-queue surges and the drill step helpers the daemon's drill runner uses."""

from __future__ import annotations

import pytest

from ccops.sim import ScenarioError, SimulatedPbx, default_centre, parse_scenario
from ccops.sim.drill import DrillStepError, describe, parse_steps, substitute_steps, undo_of
from ccops.sim.scenario import EndSurgeStep, SurgeStep, TrunkDownStep, TrunkUpStep


async def test_a_queue_surge_touches_only_that_queue(sim: SimulatedPbx) -> None:
    traffic = sim.boot.traffic
    hotline, billing = traffic.rate("hotline"), traffic.rate("billing")
    sim.surge(3, queue="hotline")
    assert traffic.rate("hotline") == pytest.approx(3 * hotline)
    assert traffic.rate("billing") == pytest.approx(billing)
    sim.surge(2)  # a whole-centre surge multiplies on top of the queue's
    assert traffic.rate("hotline") == pytest.approx(6 * hotline)
    sim.end_surge("hotline")
    assert traffic.rate("hotline") == pytest.approx(2 * hotline)
    sim.end_surge()
    assert traffic.rate("hotline") == pytest.approx(hotline)
    with pytest.raises(KeyError, match="no queue 'nowhere'"):
        sim.surge(3, queue="nowhere")


async def test_more_calls_arrive_on_the_surged_queue(sim: SimulatedPbx) -> None:
    await sim.advance(600)
    before = {q: sim.stats.queue(q).offered for q in ("hotline", "billing")}
    await sim.advance(1200)
    normal = {q: sim.stats.queue(q).offered - before[q] for q in before}
    sim.surge(3, queue="hotline")
    await sim.advance(1200)
    surged = {q: sim.stats.queue(q).offered - before[q] - normal[q] for q in before}
    assert surged["hotline"] > 2 * normal["hotline"]
    assert surged["billing"] < 1.6 * normal["billing"] + 5


async def test_a_timed_queue_surge_ends_and_survives_a_restart(sim: SimulatedPbx) -> None:
    base = sim.boot.traffic.rate("repairs")
    sim.surge(4, seconds=120, queue="repairs")
    sim.restart(downtime=5)
    await sim.advance(10)
    assert sim.boot.traffic.rate("repairs") == pytest.approx(4 * base)  # the world's surge
    await sim.advance(150)
    assert sim.boot.traffic.rate("repairs") == pytest.approx(base)


async def test_a_scheduled_step_runs_later_and_can_be_dropped(sim: SimulatedPbx) -> None:
    down = TrunkDownStep(at=0, action="trunk_down", trunk="carrier-b")
    timer = sim.schedule_step(30, down)
    await sim.advance(20)
    assert sim.boot.engine.trunks["carrier-b"].really_up
    await sim.advance(15)
    assert not sim.boot.engine.trunks["carrier-b"].really_up
    sim.apply_now(TrunkUpStep(at=0, action="trunk_up", trunk="carrier-b"))
    dropped = sim.schedule_step(30, down)
    dropped.cancel()
    await sim.advance(60)
    assert sim.boot.engine.trunks["carrier-b"].really_up and timer.cancelled is False


def test_scenario_files_check_the_surge_queue() -> None:
    ok = parse_scenario('steps = [{at="1m", action="surge", factor=3, queue="hotline"}]',
                        centre=default_centre())
    assert isinstance(ok.steps[0], SurgeStep) and ok.steps[0].queue == "hotline"
    with pytest.raises(ScenarioError) as exc:
        parse_scenario('name = "x"\n\n[[steps]]\nat = "1m"\naction = "end_surge"\n'
                       'queue = "hotlin"\n', source="d.toml", centre=default_centre())
    assert exc.value.problems == [
        "d.toml:6: steps[0] (end_surge): queue: no queue 'hotlin' "
        "(known: billing, hotline, repairs)"]


def test_drill_steps_substitute_validate_and_undo() -> None:
    raw = [{"at": "0s", "action": "surge", "factor": 3, "queue": "$q"},
           {"at": "5m", "action": "trunk_down", "trunk": "$trunk"}]
    steps = parse_steps(substitute_steps(raw, {"q": "hotline", "trunk": "carrier-a"}),
                        default_centre())
    assert [describe(s) for s in steps] == ["calls ×3 on queue hotline",
                                            "carrier carrier-a stops answering"]
    assert undo_of(steps[0]) == EndSurgeStep(at=0, action="end_surge", queue="hotline")
    assert undo_of(steps[1]) == TrunkUpStep(at=0, action="trunk_up", trunk="carrier-a")
    with pytest.raises(DrillStepError) as unset:
        substitute_steps(raw, {"q": "hotline"})
    assert unset.value.problems == [((1, "trunk"), "$trunk is not set")]
    with pytest.raises(DrillStepError) as bad:
        parse_steps([{"at": 0, "action": "pbx_restart"},
                     {"at": 0, "action": "surge", "factr": 3},
                     {"at": 0, "action": "trunk_down", "trunk": "carrier-z"}], default_centre())
    problems = dict(bad.value.problems)
    assert "undo each step" in problems[(0, "action")]
    assert (1, "factor") in problems and (1, "factr") in problems
    assert problems[(2, "trunk")] == "no trunk 'carrier-z' (known: carrier-a, carrier-b)"
