"""Mark-and-sweep sync, snapshot rows, link staleness."""

from __future__ import annotations

from ccops.core.clock import FakeClock
from ccops.core.events import (
    AgentConnect,
    ChannelItem,
    ChannelNew,
    DbEntry,
    DeviceState,
    EndpointItem,
    Event,
    LinkState,
    LinkStateChanged,
    QueueCallerJoin,
    QueueEntryItem,
    QueueMemberItem,
    QueueParamsItem,
    RegistrationItem,
    SyncBegin,
    SyncDomain,
    SyncEnd,
)
from ccops.core.model import PbxState
from ccops.core.reducer import PBX as PBX_CHANGE
from ccops.core.reducer import Reducer

PBX = "pbx1"
ALL = frozenset(SyncDomain)


class Link:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.reducer = Reducer(PBX, queue_wrapup={"hotline": 15})
        self.state: PbxState = self.reducer.new_state()
        self.epoch = 0

    def apply(self, event: Event) -> list[tuple[str, ...]]:
        return list(self.reducer.apply(self.state, event))

    def sync(self, rows: list[Event], confirmed: frozenset[SyncDomain] = ALL) -> None:
        self.epoch += 1
        self.apply(SyncBegin(pbx=PBX, at=self.clock.now(), epoch=self.epoch))
        for row in rows:
            self.apply(row)
        assert self.apply(
            SyncEnd(pbx=PBX, at=self.clock.now(), epoch=self.epoch, confirmed=confirmed)
        ) == [PBX_CHANGE]


def snapshot(
    at: float,
    *,
    members: tuple[str, ...],
    callers: tuple[str, ...],
    queues: tuple[str, ...] = ("hotline",),
) -> list[Event]:
    rows: list[Event] = []
    for q in queues:
        rows.append(
            QueueParamsItem(pbx=PBX, at=at, queue=q, strategy="rrmemory", calls=len(callers))
        )
        for iface in members:
            rows.append(
                QueueMemberItem(
                    pbx=PBX,
                    at=at,
                    queue=q,
                    interface=iface,
                    name=iface,
                    status=DeviceState.NOT_INUSE,
                )
            )
        for pos, uid in enumerate(callers, start=1):
            rows.append(
                QueueEntryItem(
                    pbx=PBX,
                    at=at,
                    queue=q,
                    uniqueid=uid,
                    channel=f"c-{uid}",
                    position=pos,
                    wait=10 * pos,
                )
            )
    return rows


def test_snapshot_builds_the_model_with_join_time_from_wait() -> None:
    link = Link()
    now = link.clock.now()
    link.sync(snapshot(now, members=("PJSIP/6001", "PJSIP/6002"), callers=("1.1", "1.2")))
    q = link.state.queues["hotline"]
    assert q.strategy == "rrmemory"
    assert sorted(q.members) == ["PJSIP/6001", "PJSIP/6002"]
    assert {u: (c.position, c.joined_at) for u, c in q.callers.items()} == {
        "1.1": (1, now - 10),
        "1.2": (2, now - 20),
    }
    assert link.state.synced_at == now
    assert link.state.syncing is False


def test_absent_from_resync_disappears_live_added_during_sync_survives() -> None:
    link = Link()
    t = link.clock.now()
    link.sync(
        snapshot(
            t,
            members=("PJSIP/6001", "PJSIP/6002"),
            callers=("1.1", "1.2"),
            queues=("hotline", "sales"),
        )
    )
    link.clock.advance(30)
    t = link.clock.now()
    link.epoch += 1
    link.apply(SyncBegin(pbx=PBX, at=t, epoch=link.epoch))
    # the snapshot no longer has 6002, caller 1.1 or queue sales ...
    for row in snapshot(t, members=("PJSIP/6001",), callers=("1.2",)):
        link.apply(row)
    # ... and a caller joins while the sync runs
    link.apply(
        QueueCallerJoin(
            pbx=PBX, at=t, queue="hotline", uniqueid="1.3", channel="c", position=2, count=2
        )
    )
    link.apply(SyncEnd(pbx=PBX, at=t, epoch=link.epoch, confirmed=ALL))
    assert list(link.state.queues) == ["hotline"]
    q = link.state.queues["hotline"]
    assert list(q.members) == ["PJSIP/6001"]
    assert {u: c.position for u, c in q.callers.items()} == {"1.2": 1, "1.3": 2}
    # the caller we already knew keeps its precise join time
    assert q.callers["1.2"].joined_at == t - 30 - 20


def test_unconfirmed_domains_are_not_swept() -> None:
    link = Link()
    t = link.clock.now()
    link.sync(
        [
            *snapshot(t, members=("PJSIP/6001",), callers=()),
            EndpointItem(pbx=PBX, at=t, endpoint="carrier-a", aor="carrier-a"),
            RegistrationItem(pbx=PBX, at=t, registration="carrier-a", status="Registered"),
            ChannelItem(
                pbx=PBX, at=t, channel="PJSIP/carrier-a-00000001", uniqueid="9.1", duration=65
            ),
            DbEntry(pbx=PBX, at=t, family="ccops", key="overflow/hotline", value="1"),
        ]
    )
    assert link.state.channels["9.1"].created_at == t - 65
    assert link.state.endpoints["carrier-a"].channels_in_use == 1
    # PJSIPShow* denied and CoreShowChannels denied this time: only queues and flags confirmed
    link.sync([], confirmed=frozenset({SyncDomain.QUEUES, SyncDomain.FLAGS}))
    assert link.state.queues == {}
    assert link.state.flags == {}
    assert list(link.state.endpoints) == ["carrier-a"]
    assert list(link.state.registrations) == ["carrier-a"]
    assert list(link.state.channels) == ["9.1"]
    # then channels are confirmed and empty: the count follows
    link.sync([], confirmed=frozenset({SyncDomain.CHANNELS}))
    assert link.state.channels == {}
    assert link.state.endpoints["carrier-a"].channels_in_use == 0
    assert link.state.channel_counts == {}


def test_live_channel_during_sync_survives_and_is_counted() -> None:
    link = Link()
    t = link.clock.now()
    link.apply(SyncBegin(pbx=PBX, at=t, epoch=1))
    link.apply(EndpointItem(pbx=PBX, at=t, endpoint="carrier-a", aor="carrier-a"))
    link.apply(ChannelNew(pbx=PBX, at=t, channel="PJSIP/carrier-a-00000002", uniqueid="9.2"))
    link.apply(SyncEnd(pbx=PBX, at=t, epoch=1, confirmed=ALL))
    assert list(link.state.channels) == ["9.2"]
    assert link.state.endpoints["carrier-a"].channels_in_use == 1


def test_flags_read_back_and_deleted() -> None:
    link = Link()
    t = link.clock.now()
    link.sync([DbEntry(pbx=PBX, at=t, family="ccops", key="night/95598", value="on")])
    assert link.state.flags[("ccops", "night/95598")].value == "on"
    changes = link.apply(DbEntry(pbx=PBX, at=t, family="ccops", key="night/95598", value=None))
    assert changes == [("flag", "ccops", "night/95598")]
    assert link.state.flags == {}


def test_sync_end_for_another_epoch_is_ignored_and_counted() -> None:
    link = Link()
    t = link.clock.now()
    link.sync(snapshot(t, members=("PJSIP/6001",), callers=()))
    link.apply(SyncBegin(pbx=PBX, at=t, epoch=7))
    assert link.apply(SyncEnd(pbx=PBX, at=t, epoch=6, confirmed=ALL)) == []
    assert link.state.anomalies == {"sync_end_without_begin": 1}
    assert list(link.state.queues["hotline"].members) == ["PJSIP/6001"]


def test_resync_with_reused_epoch_still_sweeps() -> None:
    """A resync after Reload may reuse the login epoch; the generation still moves on."""
    link = Link()
    t = link.clock.now()
    link.apply(SyncBegin(pbx=PBX, at=t, epoch=3))
    for row in snapshot(t, members=("PJSIP/6001", "PJSIP/6002"), callers=()):
        link.apply(row)
    link.apply(SyncEnd(pbx=PBX, at=t, epoch=3, confirmed=ALL))
    link.apply(SyncBegin(pbx=PBX, at=t, epoch=3))
    for row in snapshot(t, members=("PJSIP/6001",), callers=()):
        link.apply(row)
    link.apply(SyncEnd(pbx=PBX, at=t, epoch=3, confirmed=ALL))
    assert list(link.state.queues["hotline"].members) == ["PJSIP/6001"]


def test_snapshot_member_states_and_times() -> None:
    link = Link()
    t = link.clock.now()
    link.sync(
        [
            QueueMemberItem(
                pbx=PBX,
                at=t,
                queue="hotline",
                interface="PJSIP/6001",
                name="a",
                paused=True,
                paused_reason="meal",
                last_pause=int(t) - 300,
                status=DeviceState.NOT_INUSE,
            ),
            QueueMemberItem(
                pbx=PBX,
                at=t,
                queue="hotline",
                interface="PJSIP/6002",
                name="b",
                last_call=int(t) - 5,
                status=DeviceState.NOT_INUSE,
            ),
            QueueMemberItem(
                pbx=PBX,
                at=t,
                queue="hotline",
                interface="PJSIP/6003",
                name="c",
                in_call=True,
                status=DeviceState.INUSE,
            ),
            QueueMemberItem(
                pbx=PBX,
                at=t,
                queue="hotline",
                interface="PJSIP/6004",
                name="d",
                status=DeviceState.UNAVAILABLE,
            ),
        ]
    )
    members = link.state.queues["hotline"].members
    assert (members["PJSIP/6001"].state, members["PJSIP/6001"].state_since) == (
        "paused:meal",
        t - 300,
    )
    # last call 5 s ago with a 15 s queue wrap-up: still in after-call work
    assert (members["PJSIP/6002"].state, members["PJSIP/6002"].state_since) == ("acw", t - 5)
    assert members["PJSIP/6002"].wrapup_until == t + 10
    assert members["PJSIP/6003"].state == "on_call"
    assert members["PJSIP/6004"].state == "unavailable"


def test_snapshot_saying_not_in_call_ends_a_stale_call() -> None:
    link = Link()
    t = link.clock.now()
    link.apply(
        AgentConnect(
            pbx=PBX,
            at=t,
            queue="hotline",
            interface="PJSIP/6001",
            member_name="a",
            uniqueid="5.5",
            hold_time=3,
        )
    )
    assert link.state.queues["hotline"].members["PJSIP/6001"].state == "on_call"
    link.clock.advance(600)
    link.sync(snapshot(link.clock.now(), members=("PJSIP/6001",), callers=()))
    m = link.state.queues["hotline"].members["PJSIP/6001"]
    assert m.current_uniqueid == ""
    assert link.state.engaged == {}
    assert link.state.anomalies["snapshot_ended_call"] == 1


def test_link_down_marks_stale_with_retry_time() -> None:
    link = Link()
    t = link.clock.now()
    link.apply(
        LinkStateChanged(
            pbx=PBX,
            at=t,
            state=LinkState.LIVE,
            epoch=1,
            host="127.0.0.1",
            port=5038,
            asterisk_version="22.10.1",
        )
    )
    link.sync(snapshot(t, members=("PJSIP/6001",), callers=("1.1",)))
    assert link.state.link.stale is False
    link.clock.advance(100)
    down = link.clock.now()
    link.apply(
        LinkStateChanged(
            pbx=PBX,
            at=down,
            state=LinkState.DOWN,
            detail="connection reset",
            next_retry_at=down + 4,
        )
    )
    info = link.state.link.as_dict()
    assert info["stale"] is True
    assert (info["state"], info["since"], info["next_retry_at"]) == ("down", down, down + 4)
    assert (info["epoch"], info["asterisk_version"], info["detail"]) == (
        1,
        "22.10.1",
        "connection reset",
    )
    # the last known state is kept, to be shown as stale
    assert list(link.state.queues["hotline"].callers) == ["1.1"]
    link.clock.advance(1)
    link.apply(
        LinkStateChanged(
            pbx=PBX,
            at=link.clock.now(),
            state=LinkState.DOWN,
            detail="connection refused",
            next_retry_at=down + 9,
        )
    )
    assert link.state.link.since == down  # still down since the first failure
