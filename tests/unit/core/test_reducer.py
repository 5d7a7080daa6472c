"""The reducer on queue and agent events: call lifecycles, pauses, wrap-up, determinism."""

from __future__ import annotations

import json
from typing import Any

from ccops.core.clock import FakeClock
from ccops.core.derive import effective_state, member_time_in_state, queue_view
from ccops.core.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentRingNoAnswer,
    ChannelHangup,
    ChannelHold,
    ChannelNew,
    DeviceState,
    Event,
    LinkState,
    LinkStateChanged,
    MemberChange,
    PbxReloaded,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueMemberUpdate,
)
from ccops.core.model import PbxState
from ccops.core.reducer import LINK, Reducer

PBX = "pbx1"
Q = "hotline"
A1 = "Local/agent1@agents/n"
A2 = "Local/agent2@agents/n"
CALLER = "1767225590.14"


class Scenario:
    """Events stamped by a fake clock, applied as they are made."""

    def __init__(self, reducer: Reducer | None = None) -> None:
        self.clock = FakeClock()
        self.reducer = reducer or Reducer(PBX, queue_wrapup={Q: 10})
        self.state = self.reducer.new_state()
        self.log: list[Event] = []

    @property
    def now(self) -> float:
        return self.clock.now()

    def kw(self) -> dict[str, Any]:
        return {"pbx": PBX, "at": self.clock.now()}

    def apply(self, event: Event) -> set[tuple[str, ...]]:
        self.log.append(event)
        return set(self.reducer.apply(self.state, event))

    def member(self, iface: str, **fields: Any) -> set[tuple[str, ...]]:
        values: dict[str, Any] = {
            "change": MemberChange.STATUS,
            "queue": Q,
            "interface": iface,
            "name": iface.split("@")[0].split("/")[1],
            "status": DeviceState.NOT_INUSE,
        }
        values.update(fields)
        return self.apply(QueueMemberUpdate(**self.kw(), **values))

    def join(self, uid: str, position: int, num: str = "13800138000") -> None:
        self.apply(
            ChannelNew(
                **self.kw(),
                channel=f"PJSIP/carrier-a-{uid[-2:]}",
                uniqueid=uid,
                caller_num=num,
                state="Ring",
            )
        )
        self.apply(
            QueueCallerJoin(
                **self.kw(),
                queue=Q,
                uniqueid=uid,
                channel=f"PJSIP/carrier-a-{uid}",
                position=position,
                count=position,
                caller_num=num,
            )
        )

    def m(self, iface: str) -> Any:
        return self.state.queues[Q].members[iface]


def setup_two_agents() -> Scenario:
    s = Scenario()
    s.member(A1, change=MemberChange.ADDED)
    s.member(A2, change=MemberChange.ADDED)
    return s


def test_full_call_lifecycle_states_and_times() -> None:
    s = setup_two_agents()
    t0 = s.now
    s.join(CALLER, 1)
    q = s.state.queues[Q]
    assert q.callers[CALLER].joined_at == t0
    assert q.callers[CALLER].caller_num == "13800138000"

    s.clock.advance(5)
    changes = s.apply(
        AgentCalled(
            **s.kw(),
            queue=Q,
            interface=A1,
            member_name="agent1",
            uniqueid=CALLER,
            dest_channel="Local/agent1@agents-0001;1",
        )
    )
    assert ("member", Q, A1) in changes
    assert s.m(A1).state == "ringing"
    assert s.m(A1).state_since == t0 + 5
    assert s.m(A1).ringing_caller == "13800138000"

    s.clock.advance(3)
    # note 17: Leave comes before AgentConnect
    s.apply(QueueCallerLeave(**s.kw(), queue=Q, uniqueid=CALLER, position=1, count=0))
    assert CALLER not in q.callers
    s.apply(
        AgentConnect(
            **s.kw(),
            queue=Q,
            interface=A1,
            member_name="agent1",
            uniqueid=CALLER,
            hold_time=8,
            ring_time=3,
            dest_channel="Local/agent1@agents-0001;1",
        )
    )
    m = s.m(A1)
    assert m.state == "on_call"
    assert m.state_since == t0 + 8
    assert m.current_uniqueid == CALLER
    assert m.current_caller == "13800138000"
    assert m.call_started_at == t0 + 8

    s.clock.advance(95)
    s.apply(
        AgentComplete(
            **s.kw(),
            queue=Q,
            interface=A1,
            member_name="agent1",
            uniqueid=CALLER,
            hold_time=8,
            talk_time=95,
            reason="caller",
        )
    )
    assert m.state == "acw"
    assert m.state_since == t0 + 103
    assert m.wrapup_until == t0 + 113  # queue wrap-up 10 s
    assert m.current_uniqueid == ""
    s.apply(ChannelHangup(**s.kw(), channel="PJSIP/carrier-a-14", uniqueid=CALLER, cause=16))
    assert CALLER not in s.state.channels
    assert s.state.engaged == {}

    # wrap-up runs out: derived view first, then the timer makes it so
    assert effective_state(m, t0 + 112) == ("acw", t0 + 103)
    assert effective_state(m, t0 + 114) == ("available", t0 + 113)
    assert member_time_in_state(m, t0 + 120) == 7
    assert s.reducer.expire(s.state, t0 + 112) == []
    assert s.reducer.expire(s.state, t0 + 114) == [("member", Q, A1)]
    assert (m.state, m.state_since) == ("available", t0 + 113)
    assert s.state.anomalies == {}


def test_ringall_answer_stops_the_other_ringing_member() -> None:
    s = setup_two_agents()
    s.join(CALLER, 1)
    for iface in (A1, A2):
        s.apply(AgentCalled(**s.kw(), queue=Q, interface=iface, member_name="x", uniqueid=CALLER))
    assert s.m(A1).state == s.m(A2).state == "ringing"
    s.clock.advance(2)
    s.apply(QueueCallerLeave(**s.kw(), queue=Q, uniqueid=CALLER, position=1, count=0))
    s.apply(
        AgentConnect(**s.kw(), queue=Q, interface=A2, member_name="x", uniqueid=CALLER, hold_time=2)
    )
    assert s.m(A1).state == "available"
    assert s.m(A2).state == "on_call"
    assert s.state.engaged == {CALLER: {(Q, A2)}}


def test_ring_no_answer_returns_to_available() -> None:
    s = setup_two_agents()
    s.join(CALLER, 1)
    s.apply(AgentCalled(**s.kw(), queue=Q, interface=A1, member_name="x", uniqueid=CALLER))
    s.clock.advance(15)
    s.apply(
        AgentRingNoAnswer(
            **s.kw(), queue=Q, interface=A1, member_name="x", uniqueid=CALLER, ring_time=15000
        )
    )
    assert s.m(A1).state == "available"
    assert s.m(A1).state_since == s.now
    assert s.state.queues[Q].callers[CALLER].position == 1


def test_abandon_removes_caller_and_stops_ringing() -> None:
    s = setup_two_agents()
    s.join("1.1", 1)
    s.join(CALLER, 2)
    s.join("1.3", 3)
    s.apply(AgentCalled(**s.kw(), queue=Q, interface=A1, member_name="x", uniqueid=CALLER))
    s.clock.advance(40)
    s.apply(
        QueueCallerAbandon(
            **s.kw(), queue=Q, uniqueid=CALLER, position=2, original_position=2, hold_time=40
        )
    )
    q = s.state.queues[Q]
    assert q.callers[CALLER].abandoned is True
    assert s.m(A1).state == "available"
    s.apply(QueueCallerLeave(**s.kw(), queue=Q, uniqueid=CALLER, position=2, count=2))
    s.apply(ChannelHangup(**s.kw(), channel="PJSIP/carrier-a-14", uniqueid=CALLER))
    assert {u: c.position for u, c in q.callers.items()} == {"1.1": 1, "1.3": 2}
    assert s.state.anomalies == {}


def test_timeout_leave_without_abandon_or_connect() -> None:
    s = setup_two_agents()
    s.join(CALLER, 1)
    s.apply(AgentCalled(**s.kw(), queue=Q, interface=A1, member_name="x", uniqueid=CALLER))
    s.clock.advance(300)
    s.apply(QueueCallerLeave(**s.kw(), queue=Q, uniqueid=CALLER, position=1, count=0))
    assert s.state.queues[Q].callers == {}
    assert s.m(A1).state == "available"
    assert s.state.engaged == {}
    # the caller goes on in the dialplan (voicemail), the channel is still there
    assert CALLER in s.state.channels


def test_higher_priority_join_moves_others_back() -> None:
    s = setup_two_agents()
    s.join("1.1", 1)
    s.join("1.2", 2)
    s.join("1.9", 1)  # VIP placed first
    q = s.state.queues[Q]
    assert {u: c.position for u, c in q.callers.items()} == {"1.1": 2, "1.2": 3, "1.9": 1}


def test_pause_with_reason_and_since_then_unpause() -> None:
    s = setup_two_agents()
    s.clock.advance(60)
    t = s.now
    s.member(A1, change=MemberChange.PAUSE, paused=True, paused_reason="meal", last_pause=123)
    m = s.m(A1)
    assert (m.state, m.state_since, m.paused_since) == ("paused:meal", t, t)
    s.clock.advance(30)
    s.member(A1, change=MemberChange.PAUSE, paused=True, paused_reason="training")
    assert (m.state, m.state_since, m.paused_since) == ("paused:training", t + 30, t)
    s.clock.advance(30)
    s.member(A1, change=MemberChange.PAUSE, paused=False)
    assert (m.state, m.paused, m.paused_reason, m.paused_since) == ("available", False, "", 0.0)
    s.member(A1, change=MemberChange.PAUSE, paused=True)
    assert m.state == "paused"
    s.member(A1, change=MemberChange.PAUSE, paused=True, paused_reason="ACW")
    assert m.state == "acw"


def test_device_unavailable_and_busy_from_another_queue() -> None:
    s = setup_two_agents()
    s.member(A1, status=DeviceState.UNAVAILABLE)
    assert s.m(A1).state == "unavailable"
    s.member(A1, status=DeviceState.NOT_INUSE)
    assert s.m(A1).state == "available"
    s.member(A1, status=DeviceState.INUSE, in_call=False)  # call from another queue
    assert s.m(A1).state == "on_call"
    assert s.m(A1).busy_elsewhere is True
    view = queue_view(s.state.queues[Q], s.now)
    assert (view.available, view.on_call, view.members) == (1, 1, 2)


def test_hold_on_agent_device_channel() -> None:
    s = setup_two_agents()
    s.member(A1, state_interface="PJSIP/6001")
    s.join(CALLER, 1)
    s.apply(QueueCallerLeave(**s.kw(), queue=Q, uniqueid=CALLER, position=1, count=0))
    s.apply(
        AgentConnect(
            **s.kw(),
            queue=Q,
            interface=A1,
            member_name="x",
            uniqueid=CALLER,
            hold_time=1,
            dest_channel="Local/agent1@agents-0001;1",
        )
    )
    s.clock.advance(20)
    s.apply(
        ChannelHold(**s.kw(), channel="PJSIP/6001-00000012", uniqueid="1767225601.20", on_hold=True)
    )
    m = s.m(A1)
    assert (m.state, m.on_hold, m.hold_since) == ("on_hold", True, s.now)
    s.clock.advance(10)
    s.apply(
        ChannelHold(
            **s.kw(), channel="PJSIP/6001-00000012", uniqueid="1767225601.20", on_hold=False
        )
    )
    assert (m.state, m.state_since) == ("on_call", s.now)
    # someone else's hold does not touch this agent
    s.apply(ChannelHold(**s.kw(), channel="PJSIP/6002-00000013", uniqueid="9.9", on_hold=True))
    assert m.state == "on_call"


def test_hangup_cleans_up_a_listed_caller_and_counts_it() -> None:
    s = setup_two_agents()
    s.join("1.1", 1)
    s.join(CALLER, 2)
    s.apply(ChannelHangup(**s.kw(), channel="PJSIP/carrier-a-01", uniqueid="1.1"))
    q = s.state.queues[Q]
    assert list(q.callers) == [CALLER]
    assert q.callers[CALLER].position == 1
    assert s.state.anomalies == {"hangup_removed_caller": 1}


def test_anomalies_are_counted_not_raised() -> None:
    s = setup_two_agents()
    s.apply(QueueCallerLeave(**s.kw(), queue=Q, uniqueid="nope", position=1, count=0))
    s.apply(
        AgentComplete(
            **s.kw(),
            queue=Q,
            interface=A1,
            member_name="x",
            uniqueid="nope",
            hold_time=0,
            talk_time=0,
        )
    )
    s.apply(
        QueueMemberUpdate(
            **s.kw(), change=MemberChange.REMOVED, queue=Q, interface="PJSIP/ghost", name=""
        )
    )
    s.apply(
        QueueCallerJoin(
            pbx="other", at=s.now, queue=Q, uniqueid="x", channel="c", position=1, count=1
        )
    )
    assert s.state.anomalies == {
        "leave_unknown_caller": 1,
        "complete_unknown_call": 1,
        "remove_unknown_member": 1,
        "event_for_other_pbx": 1,
    }


def test_member_removed_disappears() -> None:
    s = setup_two_agents()
    changes = s.member(A2, change=MemberChange.REMOVED)
    assert ("member", Q, A2) in changes
    assert list(s.state.queues[Q].members) == [A1]


def test_member_wrapuptime_overrides_queue_and_zero_means_default() -> None:
    s = Scenario(Reducer(PBX, default_wrapup=5))
    s.member(A1, wrapup_time=30)
    s.member(A2)
    for iface in (A1, A2):
        s.apply(
            AgentConnect(
                **s.kw(),
                queue=Q,
                interface=iface,
                member_name="x",
                uniqueid=f"u-{iface}",
                hold_time=0,
            )
        )
    s.clock.advance(10)
    for iface in (A1, A2):
        s.apply(
            AgentComplete(
                **s.kw(),
                queue=Q,
                interface=iface,
                member_name="x",
                uniqueid=f"u-{iface}",
                hold_time=0,
                talk_time=10,
            )
        )
    assert s.m(A1).wrapup_until == s.now + 30
    assert s.m(A2).wrapup_until == s.now + 5


def test_no_wrapup_means_available_right_after_the_call() -> None:
    s = Scenario(Reducer(PBX))
    s.member(A1)
    s.apply(
        AgentConnect(**s.kw(), queue=Q, interface=A1, member_name="x", uniqueid="u", hold_time=0)
    )
    s.apply(
        AgentComplete(
            **s.kw(),
            queue=Q,
            interface=A1,
            member_name="x",
            uniqueid="u",
            hold_time=0,
            talk_time=10,
        )
    )
    assert s.m(A1).state == "available"


def test_stale_device_status_after_complete_keeps_acw_since_call_end() -> None:
    s = setup_two_agents()
    s.member(A1, status=DeviceState.INUSE, in_call=True)
    s.apply(
        AgentConnect(**s.kw(), queue=Q, interface=A1, member_name="x", uniqueid="u", hold_time=0)
    )
    s.clock.advance(60)
    end = s.now
    s.apply(
        AgentComplete(
            **s.kw(),
            queue=Q,
            interface=A1,
            member_name="x",
            uniqueid="u",
            hold_time=0,
            talk_time=60,
        )
    )
    assert s.m(A1).state == "on_call"  # the device still says in use
    s.clock.advance(1)
    s.member(A1, status=DeviceState.NOT_INUSE, in_call=False)
    assert (s.m(A1).state, s.m(A1).state_since) == ("acw", end)


def test_version_bumps_only_on_change_and_link_events() -> None:
    s = setup_two_agents()
    v = s.state.version
    changes = s.apply(
        LinkStateChanged(
            **s.kw(), state=LinkState.DOWN, detail="ping timeout", next_retry_at=s.now + 2
        )
    )
    assert changes == {LINK}
    assert s.state.version == v + 1
    assert s.state.link.stale is True
    assert s.state.link.next_retry_at == s.now + 2
    assert s.apply(PbxReloaded(**s.kw(), module="app_queue.so")) == {LINK}
    assert s.state.link.last_reload_at == s.now


def lifecycle_events() -> tuple[Reducer, list[Event]]:
    s = setup_two_agents()
    s.member(A1, state_interface="PJSIP/6001")
    for i in range(6):
        uid = f"17672256{i:02d}.1"
        s.join(uid, i % 3 + 1)
        s.clock.advance(1)
        s.apply(
            AgentCalled(
                **s.kw(), queue=Q, interface=A1 if i % 2 else A2, member_name="x", uniqueid=uid
            )
        )
        if i % 3 == 0:
            s.apply(
                QueueCallerAbandon(
                    **s.kw(), queue=Q, uniqueid=uid, position=1, original_position=1, hold_time=1
                )
            )
        s.apply(QueueCallerLeave(**s.kw(), queue=Q, uniqueid=uid, position=1, count=0))
        if i % 3 == 1:
            s.apply(
                AgentConnect(
                    **s.kw(), queue=Q, interface=A1, member_name="x", uniqueid=uid, hold_time=1
                )
            )
            s.clock.advance(30)
            s.apply(
                AgentComplete(
                    **s.kw(),
                    queue=Q,
                    interface=A1,
                    member_name="x",
                    uniqueid=uid,
                    hold_time=1,
                    talk_time=30,
                )
            )
        s.apply(ChannelHangup(**s.kw(), channel=f"PJSIP/carrier-a-{uid[-2:]}", uniqueid=uid))
    return s.reducer, s.log


def test_determinism_same_events_same_state() -> None:
    reducer, events = lifecycle_events()
    first: PbxState = reducer.new_state()
    second: PbxState = reducer.new_state()
    changes_1 = [list(reducer.apply(first, e)) for e in events]
    changes_2 = [list(reducer.apply(second, e)) for e in events]
    assert changes_1 == changes_2
    assert first.as_dict() == second.as_dict()
    assert json.dumps(first.as_dict(), sort_keys=True) == json.dumps(
        second.as_dict(), sort_keys=True
    )
    assert first.version == second.version > 0


def test_a_reducer_bug_is_counted_not_raised(monkeypatch: Any) -> None:
    s = setup_two_agents()

    def broken(state: PbxState, event: Event) -> list[tuple[str, ...]]:
        raise RuntimeError("boom")

    monkeypatch.setitem(s.reducer._handlers, QueueCallerJoin, broken)
    changes = s.apply(
        QueueCallerJoin(**s.kw(), queue=Q, uniqueid="x", channel="c", position=1, count=1)
    )
    assert changes == {("pbx",)}
    assert s.state.anomalies == {"reducer_error:QueueCallerJoin": 1}
    assert s.state.last_error == "QueueCallerJoin: RuntimeError: boom"


def test_acw_pause_long_after_a_call_starts_now() -> None:
    s = setup_two_agents()
    s.apply(
        AgentConnect(**s.kw(), queue=Q, interface=A1, member_name="x", uniqueid="u", hold_time=0)
    )
    s.apply(
        AgentComplete(
            **s.kw(),
            queue=Q,
            interface=A1,
            member_name="x",
            uniqueid="u",
            hold_time=0,
            talk_time=10,
        )
    )
    s.reducer.expire(s.state, s.now + 60)
    s.clock.advance(3600)
    s.member(A1, change=MemberChange.PAUSE, paused=True, paused_reason="acw")
    assert (s.m(A1).state, s.m(A1).state_since) == ("acw", s.now)
