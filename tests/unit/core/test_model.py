"""The published shape of the model (``as_dict``) and the derived views."""

from __future__ import annotations

import json

from ccops.config import KpiConfig, PbxConfig, TrunkConfig
from ccops.core.clock import FakeClock
from ccops.core.derive import agent_views, effective_state, member_time_in_state, queue_view
from ccops.core.events import (
    AgentCalled,
    AgentConnect,
    ChannelNew,
    ContactStatus,
    DbEntry,
    DeviceState,
    Event,
    LinkState,
    LinkStateChanged,
    QueueCallerJoin,
    QueueMemberItem,
    RegistrationItem,
)
from ccops.core.model import CenterState, Member
from ccops.core.reducer import Reducer

PBX = "pbx1"


def populated() -> tuple[Reducer, CenterState, float]:
    clock = FakeClock()
    cfg = PbxConfig(name=PBX, trunks=[TrunkConfig(name="carrier-a", capacity=10)], simulated=True)
    reducer = Reducer.from_config(cfg, KpiConfig(default_wrapup=20))
    state = reducer.new_state()
    t = clock.now()
    events: list[Event] = [
        LinkStateChanged(pbx=PBX, at=t, state=LinkState.LIVE, epoch=1, host="127.0.0.1", port=5038),
        QueueMemberItem(
            pbx=PBX,
            at=t,
            queue="hotline",
            interface="PJSIP/6001",
            name="Li Na",
            status=DeviceState.NOT_INUSE,
        ),
        QueueMemberItem(
            pbx=PBX,
            at=t,
            queue="hotline",
            interface="PJSIP/6002",
            name="Wang Wei",
            paused=True,
            paused_reason="break",
            status=DeviceState.NOT_INUSE,
        ),
        QueueMemberItem(
            pbx=PBX,
            at=t,
            queue="sales",
            interface="PJSIP/6002",
            name="Wang Wei",
            status=DeviceState.NOT_INUSE,
        ),
        QueueCallerJoin(
            pbx=PBX,
            at=t - 30,
            queue="hotline",
            uniqueid="1.1",
            channel="c1",
            position=1,
            count=1,
            caller_num="13800138000",
        ),
        QueueCallerJoin(
            pbx=PBX, at=t - 5, queue="hotline", uniqueid="1.2", channel="c2", position=2, count=2
        ),
        AgentCalled(
            pbx=PBX,
            at=t,
            queue="hotline",
            interface="PJSIP/6001",
            member_name="Li Na",
            uniqueid="1.1",
        ),
        ChannelNew(pbx=PBX, at=t, channel="PJSIP/carrier-a-00000001", uniqueid="1.1"),
        ContactStatus(
            pbx=PBX,
            at=t,
            aor="carrier-a",
            uri="sip:198.51.100.2:5060",
            endpoint="carrier-a",
            status="Reachable",
            rtt_usec=1500,
        ),
        RegistrationItem(
            pbx=PBX,
            at=t,
            registration="carrier-a",
            server_uri="sip:198.51.100.2:5060",
            status="Registered",
            next_reg=60,
        ),
        DbEntry(pbx=PBX, at=t, family="ccops", key="overflow/hotline", value="1"),
    ]
    for e in events:
        reducer.apply(state, e)
    return reducer, CenterState(pbxs={PBX: state}), t


def test_as_dict_is_json_and_complete() -> None:
    _, center, t = populated()
    out = center.as_dict()
    json.dumps(out)  # plain JSON types only
    (pbx,) = out["pbxs"]
    assert set(pbx) == {
        "name",
        "version",
        "epoch",
        "syncing",
        "synced_at",
        "sync_failed",
        "link",
        "queues",
        "trunks",
        "endpoints",
        "registrations",
        "flags",
        "channel_count",
        "anomalies",
        "channels",
        "last_error",
    }
    assert pbx["link"]["state"] == "live"
    assert pbx["link"]["simulated"] is True
    assert pbx["link"]["stale"] is False
    hotline = pbx["queues"][0]
    assert hotline["name"] == "hotline"
    assert hotline["waiting"] == 2
    assert [c["uniqueid"] for c in hotline["callers"]] == ["1.1", "1.2"]
    assert hotline["callers"][0]["joined_at"] == t - 30
    assert hotline["wrapup_time"] == 20
    li, wang = hotline["members"]
    assert li["state"] == "ringing"
    assert li["ringing"] == {"uniqueid": "1.1", "caller": "13800138000", "since": t}
    assert li["current_call"] is None
    assert li["device_status"] == "not_inuse"
    assert wang["state"] == "paused:break"
    assert wang["paused_since"] == t
    (trunk,) = pbx["trunks"]
    assert trunk["name"] == "carrier-a"
    assert (trunk["capacity"], trunk["channels_in_use"], trunk["usage"]) == (10, 1, 0.1)
    assert (trunk["reachable"], trunk["up"], trunk["registration_status"]) == (
        True,
        True,
        "Registered",
    )
    assert trunk["contacts"] == [
        {
            "aor": "carrier-a",
            "uri": "sip:198.51.100.2:5060",
            "status": "Reachable",
            "rtt_usec": 1500,
            "dynamic": None,
            "since": t,
        }
    ]
    assert pbx["registrations"][0]["next_reg_at"] == t + 60
    assert pbx["flags"] == [
        {"family": "ccops", "key": "overflow/hotline", "value": "1", "read_at": t}
    ]
    assert pbx["channel_count"] == 1
    assert "channels" not in center.as_dict(channels=False)["pbxs"][0]


def test_queue_view_counts_and_longest_wait() -> None:
    _, center, t = populated()
    view = queue_view(center.pbxs[PBX].queues["hotline"], t + 10)
    assert (view.waiting, view.longest_wait) == (2, 40)
    assert (view.ringing, view.paused, view.available, view.members) == (1, 1, 0, 2)


def test_agent_views_combine_queues() -> None:
    reducer, center, t = populated()
    views = {v.interface: v for v in agent_views(center.pbxs[PBX], t)}
    assert views["PJSIP/6002"].state == "available"  # paused in hotline, free in sales
    assert views["PJSIP/6002"].queues == ("hotline", "sales")
    assert views["PJSIP/6001"].state == "ringing"
    state = center.pbxs[PBX]
    reducer.apply(
        state,
        AgentConnect(
            pbx=PBX,
            at=t + 2,
            queue="hotline",
            interface="PJSIP/6001",
            member_name="Li Na",
            uniqueid="1.1",
            hold_time=32,
        ),
    )
    views = {v.interface: v for v in agent_views(state, t + 3)}
    assert (views["PJSIP/6001"].state, views["PJSIP/6001"].since) == ("on_call", t + 2)


def test_time_in_state_never_negative_and_unknown_is_zero() -> None:
    m = Member(interface="PJSIP/1", state_since=100.0)
    assert member_time_in_state(m, 50.0) == 0.0
    assert member_time_in_state(m, 160.0) == 60.0
    assert member_time_in_state(Member(interface="PJSIP/2"), 160.0) == 0.0
    assert effective_state(m, 160.0) == ("available", 100.0)
