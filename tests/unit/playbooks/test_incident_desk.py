"""The daemon side: intents become console frames and phone pages; a keypress 1 from the
pager acknowledges the step; drills never page through a real PBX."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pb_helpers import LI, Harness

from ccops.core.clock import FakeClock
from ccops.core.incident_state import StepState
from ccops.daemon.incident_desk import IncidentDesk, roster_from


@dataclass
class Person:
    name: str
    role: str


@dataclass
class Result:
    acknowledged: bool
    detail: str = ""


@dataclass
class FakePager:
    answer: bool = True
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def page(self, person: str, message: str = "", ref: str = "") -> Any:
        self.calls.append((person, message, ref))
        return Result(self.answer, "" if self.answer else "no answer after 3 call(s)")


def test_roster_from_oncall_config() -> None:
    people = [Person("zhang", "maintenance"), Person("zhao", "center_manager"),
              Person("chen", "standby_staff"), Person("x", "viewer")]
    assert roster_from(people) == {"om_specialist": ["zhang"], "center_manager": ["zhao"],
                                   "standby_staff": ["chen"]}


async def _desk(harness: Harness, pager: FakePager, *, simulated: bool) -> tuple[
        IncidentDesk, list[dict[str, Any]]]:
    assert harness.store is not None
    frames: list[dict[str, Any]] = []
    desk = await IncidentDesk.open(
        harness.store, harness.clock, push=frames.append, pager=pager,
        oncall=[Person("zhang", "maintenance")], simulated=simulated,
    )
    return desk, frames


async def test_console_frame_and_acknowledged_page(harness: Harness, clock: FakeClock) -> None:
    pager = FakePager()
    desk, frames = await _desk(harness, pager, simulated=False)
    await desk.engine.start("a2_app_network_failure", LI)
    await desk.tick(clock.now())
    await asyncio.gather(*desk._pages)
    assert frames[0]["type"] == "incident_notice" and frames[0]["step"] == "notify_om"
    assert "maintenance" in frames[0]["roles"]
    assert pager.calls == [("zhang", "Application/network failure - work on site or by remote "
                            "desktop", "incident 1 step notify_om page 2")]
    inc = desk.engine.incident(1)
    assert inc.steps["notify_om"].state is StepState.ACKNOWLEDGED
    assert inc.steps["notify_om"].acked_by == "zhang"
    assert all(n.acked_by == "zhang" for n in inc.notifications)  # console alert ends too
    status = desk.status()
    assert status[0]["id"] == 1 and status[0]["next_due"] == clock.now() + 300
    await desk.stop()


async def test_console_notice_repeats_until_acknowledged(
    harness: Harness, clock: FakeClock
) -> None:
    desk, frames = await _desk(harness, FakePager(answer=False), simulated=False)
    await desk.engine.start("a4_air_conditioning", LI)  # no notices at start
    await desk.engine.start("a2_app_network_failure", LI)
    await desk.tick(clock.now())
    await asyncio.gather(*desk._pages)
    assert [f["repeat"] for f in frames] == [False]
    clock.advance(59)
    await desk.tick(clock.now())
    assert len(frames) == 1
    clock.advance(1)
    await desk.tick(clock.now())
    assert [f["repeat"] for f in frames] == [False, True] and frames[1]["step"] == "notify_om"
    await desk.engine.acknowledge(2, "notify_om", LI)
    clock.advance(120)
    await desk.tick(clock.now())
    assert len(frames) == 2
    await desk.stop()


async def test_unanswered_page_is_noted(harness: Harness, clock: FakeClock) -> None:
    desk, _frames = await _desk(harness, FakePager(answer=False), simulated=False)
    await desk.engine.start("a2_app_network_failure", LI)
    await desk.tick(clock.now())
    await asyncio.gather(*desk._pages)
    last = desk.engine.incident(1).timeline[-1]
    assert last.kind == "note" and "no answer after 3 call(s)" in last.detail
    assert desk.engine.incident(1).steps["notify_om"].state is StepState.FIRED


async def test_drill_pages_never_reach_a_real_pbx(harness: Harness, clock: FakeClock) -> None:
    pager = FakePager()
    desk, _frames = await _desk(harness, pager, simulated=False)
    await desk.engine.start("a2_app_network_failure", LI, drill=True)
    await desk.tick(clock.now())
    await asyncio.gather(*desk._pages)
    assert pager.calls == []
    assert "drill: page to zhang not placed" in desk.engine.incident(1).timeline[-1].detail
