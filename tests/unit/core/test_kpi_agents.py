"""KPI engine, agent side: the state machine of domain.md §4.4, time in state, hold,
occupancy and wrap-up (measured from an ACW pause, or configured)."""

from __future__ import annotations

from typing import Any

import pytest

from ccops.config import KpiConfig
from ccops.core.clock import FakeClock
from ccops.core.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentRingNoAnswer,
    ChannelHold,
    DeviceState,
    LinkState,
    LinkStateChanged,
    MemberChange,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueMemberItem,
    QueueMemberUpdate,
    SyncBegin,
    SyncDomain,
    SyncEnd,
)
from ccops.core.kpi import KpiEngine
from ccops.core.kpi_agents import channel_device

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a 15-minute boundary
A1 = "PJSIP/agent1"


class Agents:
    """Plays member and agent events for one PBX; times are seconds after T0."""

    def __init__(self, engine: KpiEngine) -> None:
        self.e = engine

    def member(
        self,
        t: float,
        iface: str = A1,
        queue: str = "hotline",
        *,
        change: MemberChange = MemberChange.STATUS,
        paused: bool = False,
        reason: str = "",
        status: DeviceState = DeviceState.NOT_INUSE,
        state_interface: str = "",
    ) -> None:
        self.e.apply(
            QueueMemberUpdate(
                pbx="main",
                at=T0 + t,
                change=change,
                queue=queue,
                interface=iface,
                name=iface.split("/")[-1],
                state_interface=state_interface,
                status=status,
                paused=paused,
                paused_reason=reason,
            )
        )

    def call(self, t: float, uid: str, iface: str = A1, queue: str = "hotline") -> None:
        self.e.apply(
            QueueCallerJoin(
                pbx="main", at=T0 + t, queue=queue, uniqueid=uid, channel="x", position=1, count=1
            )
        )

    def ring(self, t: float, uid: str, iface: str = A1, queue: str = "hotline") -> None:
        self.e.apply(
            AgentCalled(
                pbx="main", at=T0 + t, queue=queue, interface=iface, member_name=iface, uniqueid=uid
            )
        )

    def connect(
        self, t: float, uid: str, hold: int, iface: str = A1, queue: str = "hotline"
    ) -> None:
        self.e.apply(
            QueueCallerLeave(pbx="main", at=T0 + t, queue=queue, uniqueid=uid, position=1, count=0)
        )
        self.e.apply(
            AgentConnect(
                pbx="main",
                at=T0 + t,
                queue=queue,
                interface=iface,
                member_name=iface,
                uniqueid=uid,
                hold_time=hold,
            )
        )

    def complete(
        self, t: float, uid: str, talk: int, iface: str = A1, queue: str = "hotline"
    ) -> None:
        self.e.apply(
            AgentComplete(
                pbx="main",
                at=T0 + t,
                queue=queue,
                interface=iface,
                member_name=iface,
                uniqueid=uid,
                hold_time=0,
                talk_time=talk,
                reason="caller",
            )
        )

    def hold(self, t: float, channel: str, on: bool, uid: str = "agentchan") -> None:
        self.e.apply(ChannelHold(pbx="main", at=T0 + t, channel=channel, uniqueid=uid, on_hold=on))


def setup(**cfg: Any) -> tuple[KpiEngine, Agents, FakeClock]:
    clock = FakeClock(T0)
    engine = KpiEngine(KpiConfig(**cfg), clock)
    return engine, Agents(engine), clock


def at(engine: KpiEngine, clock: FakeClock, t: float) -> dict[str, Any]:
    clock.advance(T0 + t - clock.now())
    engine.tick(clock.now())
    return engine.snapshot("main")


def test_time_in_each_state_and_occupancy_over_a_call_cycle() -> None:
    engine, ag, clock = setup(default_wrapup=30)
    ag.member(0, change=MemberChange.ADDED)  # available
    ag.call(50, "c1")
    ag.ring(60, "c1")  # ringing 10 s
    ag.connect(70, "c1", hold=20)  # on_call
    ag.hold(100, "PJSIP/agent1-0000000a", True)  # on_hold 30 s (agent's own channel)
    ag.hold(130, "PJSIP/agent1-0000000a", False)
    ag.complete(200, "c1", talk=130)  # wrap-up 30 s (configured): acw until 230
    ag.member(300, paused=True, reason="break")  # paused:break 100 s
    ag.member(400, paused=False)
    snap = at(engine, clock, 500)
    agent = snap["agents"][A1]
    assert agent["state"] == "available" and agent["since"] == T0 + 400
    assert agent["state_seconds"] == {
        "available": 60 + 70 + 100,
        "ringing": 10,
        "on_call": 30 + 70,
        "on_hold": 30,
        "acw": 30,
        "paused:break": 100,
    }
    assert agent["pause_by_reason"] == {"break": 100}
    assert agent["logged_in_time"] == 500
    assert agent["calls_per_hour"] == pytest.approx(1 * 3600 / 500)
    assert agent["calls"] == 1 and agent["talk_time"] == 130
    assert agent["hold_time"] == 30 and agent["holds"] == 1
    assert agent["occupancy"] == pytest.approx((100 + 30) / (100 + 30 + 230 + 10))
    queue = snap["queues"]["hotline"]["today"]
    assert queue["agent_hold_per_call"] == 30
    assert queue["aht"] == 130 + 30


def test_measured_acw_pause_beats_the_configured_wrapup() -> None:
    engine, ag, clock = setup(default_wrapup=10)
    ag.member(0, change=MemberChange.ADDED)
    ag.connect(10, "c1", hold=3)
    ag.complete(100, "c1", talk=90)
    ag.member(102, paused=True, reason="ACW")  # "after-call work" (case-insensitive)
    at(engine, clock, 150)  # well past the detection window: still measuring
    ag.member(160, paused=False)
    snap = at(engine, clock, 200)
    q = snap["queues"]["hotline"]["today"]
    assert q["avg_wrapup"] == 60  # AgentComplete (100) → end of the ACW pause (160)
    assert q["aht"] == 90 + 60
    # acw from AgentComplete (derived wrap-up, then the ACW pause) to the unpause
    assert snap["agents"][A1]["state_seconds"] == {"available": 10 + 40, "on_call": 90, "acw": 60}


def test_no_acw_pause_books_the_configured_wrapup_after_the_detection_window() -> None:
    engine, ag, clock = setup(default_wrapup=12)
    ag.member(0, change=MemberChange.ADDED)
    ag.connect(10, "c1", hold=3)
    ag.complete(100, "c1", talk=90)
    assert at(engine, clock, 110)["queues"]["hotline"]["today"]["avg_wrapup"] is None
    q = at(engine, clock, 116)["queues"]["hotline"]["today"]
    assert (q["avg_wrapup"], q["aht"]) == (12, 102)


def test_a_break_pause_after_a_call_is_not_wrapup() -> None:
    engine, ag, clock = setup(default_wrapup=0)
    ag.member(0, change=MemberChange.ADDED)
    ag.connect(10, "c1", hold=3)
    ag.complete(100, "c1", talk=90)
    ag.member(101, paused=True, reason="lunch")
    ag.member(1000, paused=False)
    q = at(engine, clock, 1100)["queues"]["hotline"]["today"]
    assert (q["avg_wrapup"], q["aht"]) == (0, 90)


def test_member_wrapuptime_overrides_the_queue_callback() -> None:
    clock = FakeClock(T0)
    engine = KpiEngine(KpiConfig(default_wrapup=5), clock, wrapup_for=lambda p, q: 20)
    ag = Agents(engine)
    ag.member(0, change=MemberChange.ADDED, iface="PJSIP/a")
    ag.member(0, change=MemberChange.ADDED, iface="PJSIP/b")
    engine.apply(
        QueueMemberUpdate(
            pbx="main",
            at=T0,
            change=MemberChange.STATUS,
            queue="hotline",
            interface="PJSIP/b",
            name="b",
            wrapup_time=45,
            status=DeviceState.NOT_INUSE,
        )
    )
    ag.connect(10, "ca", 1, iface="PJSIP/a")
    ag.connect(10, "cb", 1, iface="PJSIP/b")
    ag.complete(70, "ca", 60, iface="PJSIP/a")
    ag.complete(70, "cb", 60, iface="PJSIP/b")
    snap = at(engine, clock, 200)
    assert snap["queues"]["hotline"]["today"]["avg_wrapup"] == (20 + 45) / 2
    assert snap["agents"]["PJSIP/b"]["state_seconds"]["acw"] == 45  # derived wrap-up
    assert snap["agents"]["PJSIP/a"]["state_seconds"]["acw"] == 20


def test_state_time_is_split_at_interval_boundaries_and_drained() -> None:
    engine, ag, clock = setup()
    ag.member(600, change=MemberChange.ADDED)
    at(engine, clock, 1000)  # crosses the 00:15 boundary at 900
    (closed,) = engine.drain_closed_agents()
    assert (closed.interface, closed.bucket_start, closed.state_seconds) == (
        A1,
        T0,
        {"available": 300.0},
    )
    (open_rec,) = engine.current_agent_records()
    assert open_rec.state_seconds == {"available": 100.0}
    assert engine.drain_closed_agents() == []


def test_agent_records_restore_merges_state_time() -> None:
    engine, ag, clock = setup()
    ag.member(0, change=MemberChange.ADDED)
    at(engine, clock, 300)
    saved = engine.current_agent_records()
    clock2 = FakeClock(T0 + 400)
    engine2 = KpiEngine(KpiConfig(), clock2)
    Agents(engine2).member(400, change=MemberChange.ADDED)
    engine2.restore(saved)
    clock2.advance(100)
    engine2.tick(clock2.now())
    assert engine2.snapshot("main")["agents"][A1]["state_seconds"] == {"available": 400.0}


def test_local_channel_member_hold_is_found_through_its_state_interface() -> None:
    engine, ag, clock = setup()
    local = "Local/agent2@agents/n"
    ag.member(0, iface=local, change=MemberChange.ADDED, state_interface="PJSIP/agent2")
    ag.connect(10, "c1", 2, iface=local)
    ag.hold(20, "PJSIP/agent2-0000001f", True)
    ag.hold(50, "PJSIP/agent2-0000001f", False)
    ag.hold(60, "PJSIP/agent7-00000020", True)  # someone else's channel: ignored
    ag.complete(100, "c1", 90, iface=local)
    agent = at(engine, clock, 200)["agents"][local]
    assert agent["hold_time"] == 30 and agent["state_seconds"]["on_hold"] == 30


def test_hold_reported_on_the_callers_channel_is_attributed_to_its_agent() -> None:
    engine, ag, clock = setup()
    ag.member(0, change=MemberChange.ADDED)
    ag.connect(10, "c1", 2)
    ag.hold(20, "PJSIP/trunk-00000001", True, uid="c1")
    ag.hold(35, "PJSIP/trunk-00000001", False, uid="c1")
    ag.complete(100, "c1", 90)
    assert at(engine, clock, 200)["agents"][A1]["hold_time"] == 15


def test_ring_all_clears_the_other_agents_when_one_answers() -> None:
    engine, ag, clock = setup()
    for iface in ("PJSIP/a", "PJSIP/b", "PJSIP/c"):
        ag.member(0, iface=iface, change=MemberChange.ADDED)
        ag.ring(10, "c1", iface=iface)
    engine.apply(
        AgentRingNoAnswer(
            pbx="main",
            at=T0 + 12,
            queue="hotline",
            interface="PJSIP/c",
            member_name="c",
            uniqueid="c1",
        )
    )
    ag.connect(15, "c1", 15, iface="PJSIP/a")
    snap = at(engine, clock, 20)
    assert snap["agents"]["PJSIP/a"]["state"] == "on_call"
    assert snap["agents"]["PJSIP/b"]["state"] == "available"
    assert snap["agents"]["PJSIP/b"]["state_seconds"]["ringing"] == 5
    assert snap["agents"]["PJSIP/c"]["state_seconds"]["ringing"] == 2


def test_paused_in_one_queue_of_two_is_still_available() -> None:
    engine, ag, clock = setup()
    ag.member(0, queue="hotline", change=MemberChange.ADDED)
    ag.member(0, queue="billing", change=MemberChange.ADDED)
    ag.member(10, queue="hotline", paused=True, reason="training")
    assert at(engine, clock, 20)["agents"][A1]["state"] == "available"
    ag.member(20, queue="billing", paused=True, reason="training")
    snap = at(engine, clock, 30)
    assert snap["agents"][A1]["state"] == "paused:training"
    assert snap["agents"][A1]["queues"] == ["billing", "hotline"]


def test_pause_without_reason_is_plain_paused() -> None:
    engine, ag, clock = setup()
    ag.member(0, change=MemberChange.ADDED)
    ag.member(10, paused=True)
    agent = at(engine, clock, 70)["agents"][A1]
    assert agent["state"] == "paused"
    assert agent["pause_by_reason"] == {"unspecified": 60}


def test_device_states_map_to_domain_states() -> None:
    engine, ag, clock = setup()
    ag.member(0, change=MemberChange.ADDED)
    ag.member(10, status=DeviceState.UNAVAILABLE)
    ag.member(20, status=DeviceState.INUSE)  # a call outside the queue: busy, not idle
    ag.member(30, status=DeviceState.NOT_INUSE)
    ag.member(40, change=MemberChange.REMOVED)
    snap = at(engine, clock, 100)
    agent = snap["agents"][A1]
    assert agent["state"] == "logged_out"
    assert agent["state_seconds"] == {"available": 20, "unavailable": 10, "on_call": 10}


def test_link_down_is_unknown_and_a_resync_sweeps_members_it_did_not_confirm() -> None:
    engine, ag, clock = setup()
    ag.member(0, iface="PJSIP/a", change=MemberChange.ADDED)
    ag.member(0, iface="PJSIP/b", change=MemberChange.ADDED)
    engine.apply(LinkStateChanged(pbx="main", at=T0 + 100, state=LinkState.DOWN))
    assert at(engine, clock, 150)["agents"]["PJSIP/a"]["state"] == "unknown"
    engine.apply(LinkStateChanged(pbx="main", at=T0 + 199, state=LinkState.SYNCING))
    assert at(engine, clock, 199)["agents"]["PJSIP/a"]["state"] == "unknown"
    engine.apply(SyncBegin(pbx="main", at=T0 + 200, epoch=2))
    engine.apply(
        QueueMemberItem(
            pbx="main",
            at=T0 + 200,
            queue="hotline",
            interface="PJSIP/a",
            name="a",
            status=DeviceState.NOT_INUSE,
        )
    )
    engine.apply(
        SyncEnd(pbx="main", at=T0 + 200, epoch=2, confirmed=frozenset({SyncDomain.QUEUES}))
    )
    snap = at(engine, clock, 300)
    a, b = snap["agents"]["PJSIP/a"], snap["agents"]["PJSIP/b"]
    assert a["state"] == "available" and a["state_seconds"] == {"available": 200, "unknown": 100}
    assert b["state"] == "logged_out" and b["state_seconds"] == {"available": 100, "unknown": 100}
    assert a["occupancy"] == 0.0


def test_a_call_missed_during_an_outage_is_ended_by_the_resync() -> None:
    engine, ag, clock = setup()
    ag.member(0, change=MemberChange.ADDED)
    ag.connect(10, "c1", 1)
    engine.apply(SyncBegin(pbx="main", at=T0 + 300, epoch=3))
    engine.apply(
        QueueMemberItem(
            pbx="main",
            at=T0 + 300,
            queue="hotline",
            interface=A1,
            name="agent1",
            in_call=False,
            status=DeviceState.NOT_INUSE,
        )
    )
    engine.apply(
        SyncEnd(pbx="main", at=T0 + 300, epoch=3, confirmed=frozenset({SyncDomain.QUEUES}))
    )
    snap = at(engine, clock, 400)
    assert snap["agents"][A1]["state"] == "available"
    assert engine.diagnostics()["anomalies"]["call_end_missed"] == 1


@pytest.mark.parametrize(
    ("channel", "device"),
    [
        ("PJSIP/agent1-0000002a", "PJSIP/agent1"),
        ("Local/agent1@agents-00000001;1", "Local/agent1@agents"),
        ("Local/agent1@agents-0000000b;2", "Local/agent1@agents"),
        ("PJSIP/carrier-b", "PJSIP/carrier-b"),  # an endpoint name, not a channel
        ("PJSIP/front-desk", "PJSIP/front-desk"),
    ],
)
def test_channel_device(channel: str, device: str) -> None:
    assert channel_device(channel) == device
