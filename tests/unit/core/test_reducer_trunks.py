"""The reducer on endpoints and trunks: reachability, registration, capacity, classification."""

from __future__ import annotations

from ccops.config import TrunkConfig
from ccops.core.clock import FakeClock
from ccops.core.events import (
    ChannelHangup,
    ChannelNew,
    ContactItem,
    ContactStatus,
    DeviceStateChanged,
    EndpointItem,
    Event,
    PeerStatus,
    RegistrationItem,
    RegistryStatus,
    SyncBegin,
    SyncDomain,
    SyncEnd,
)
from ccops.core.model import PbxState
from ccops.core.reducer import Reducer

PBX = "pbx1"
CARRIER_B = "sip:203.0.113.7:5060"


class Bench:
    def __init__(self, reducer: Reducer) -> None:
        self.clock = FakeClock()
        self.reducer = reducer
        self.state: PbxState = reducer.new_state()

    def at(self) -> float:
        return self.clock.now()

    def apply(self, event: Event) -> list[tuple[str, ...]]:
        return list(self.reducer.apply(self.state, event))


def configured() -> Bench:
    return Bench(
        Reducer(
            PBX,
            trunks=[TrunkConfig(name="carrier-a", capacity=4), TrunkConfig(name="carrier-b")],
        )
    )


def test_trunk_down_then_up_from_the_note_20_triple() -> None:
    b = configured()
    b.apply(
        ContactStatus(
            pbx=PBX,
            at=b.at(),
            aor="carrier-b",
            uri=CARRIER_B,
            endpoint="carrier-b",
            status="Reachable",
            rtt_usec=2100,
        )
    )
    ep = b.state.endpoints["carrier-b"]
    assert (ep.is_trunk, ep.capacity, ep.reachable, ep.up) == (True, 30, True, True)
    b.clock.advance(60)
    down_at = b.at()
    changes = b.apply(PeerStatus(pbx=PBX, at=b.at(), endpoint="carrier-b", status="Unreachable"))
    assert changes == [("trunk", "carrier-b")]
    b.apply(
        ContactStatus(
            pbx=PBX,
            at=b.at(),
            aor="carrier-b",
            uri=CARRIER_B,
            endpoint="carrier-b",
            status="Unreachable",
            rtt_usec=0,
        )
    )
    b.apply(DeviceStateChanged(pbx=PBX, at=b.at(), device="PJSIP/carrier-b", state="UNAVAILABLE"))
    assert (ep.reachable, ep.up, ep.device_state) == (False, False, "UNAVAILABLE")
    assert ep.contacts[CARRIER_B].status == "Unreachable"
    assert ep.contacts[CARRIER_B].rtt_usec == 0
    assert ep.last_change == down_at
    b.clock.advance(120)
    b.apply(PeerStatus(pbx=PBX, at=b.at(), endpoint="carrier-b", status="Reachable"))
    b.apply(
        ContactStatus(
            pbx=PBX,
            at=b.at(),
            aor="carrier-b",
            uri=CARRIER_B,
            endpoint="carrier-b",
            status="Reachable",
            rtt_usec=1900,
        )
    )
    b.apply(DeviceStateChanged(pbx=PBX, at=b.at(), device="PJSIP/carrier-b", state="NOT_INUSE"))
    assert (ep.reachable, ep.up, ep.device_state) == (True, True, "NOT_INUSE")
    assert [(t.up, t.at) for t in ep.history] == [
        (True, down_at - 60),
        (False, down_at),
        (True, down_at + 120),
    ]
    assert ep.history[1].cause == "PeerStatus Unreachable"


def test_history_is_bounded() -> None:
    b = configured()
    for i in range(500):
        b.clock.advance(1)
        b.apply(
            PeerStatus(
                pbx=PBX,
                at=b.at(),
                endpoint="carrier-a",
                status="Reachable" if i % 2 else "Unreachable",
            )
        )
    ep = b.state.endpoints["carrier-a"]
    assert len(ep.history) == ep.history.maxlen
    assert ep.history[-1].at == b.at()


def test_registration_rejected_marks_trunk_down() -> None:
    b = configured()
    b.apply(
        RegistrationItem(
            pbx=PBX,
            at=b.at(),
            registration="carrier-b",
            server_uri=CARRIER_B,
            client_uri="sip:ccops@203.0.113.7:5060",
            status="Registered",
            next_reg=3585,
        )
    )
    ep = b.state.endpoints["carrier-b"]
    reg = b.state.registrations["carrier-b"]
    assert (reg.endpoint, ep.registration, ep.registration_status) == (
        "carrier-b",
        "carrier-b",
        "Registered",
    )
    assert reg.next_reg_at == b.at() + 3585
    assert ep.up is True
    b.clock.advance(10)
    # note 21: a timeout is reported as Rejected, matched by the registrar URI
    changes = b.apply(
        RegistryStatus(
            pbx=PBX,
            at=b.at(),
            username="sip:ccops@203.0.113.7:5060",
            domain=CARRIER_B,
            status="Rejected",
        )
    )
    assert ("registration", "carrier-b") in changes
    assert ("trunk", "carrier-b") in changes
    assert (reg.status, reg.since) == ("Rejected", b.at())
    assert (ep.registration_status, ep.up) == ("Rejected", False)


def test_registry_event_without_registration_list_matches_trunk_by_contact_host() -> None:
    """A read-only user cannot run PJSIPShow* (note 8): events alone must do."""
    b = Bench(Reducer(PBX))
    b.apply(
        ContactStatus(
            pbx=PBX,
            at=b.at(),
            aor="carrier-b",
            uri="sip:203.0.113.7",
            endpoint="carrier-b",
            status="Reachable",
            rtt_usec=2000,
        )
    )
    b.apply(
        RegistryStatus(
            pbx=PBX,
            at=b.at(),
            username="sip:ccops@203.0.113.7:5060",
            domain=CARRIER_B,
            status="Registered",
        )
    )
    ep = b.state.endpoints["carrier-b"]
    assert ep.registration == "203.0.113.7:5060"
    assert ep.registration_status == "Registered"
    assert ep.is_trunk is True  # it registers outbound
    assert [r.endpoint for r in b.state.registrations.values()] == ["carrier-b"]


def test_channels_in_use_vs_capacity() -> None:
    b = configured()
    b.apply(
        EndpointItem(
            pbx=PBX,
            at=b.at(),
            endpoint="carrier-a",
            aor="carrier-a",
            contacts=("carrier-a/sip:198.51.100.2:5060",),
            device_state="In use",
            active_channels=0,
        )
    )
    ep = b.state.endpoints["carrier-a"]
    for i in range(3):
        changes = b.apply(
            ChannelNew(pbx=PBX, at=b.at(), channel=f"PJSIP/carrier-a-0000000{i}", uniqueid=f"1.{i}")
        )
        assert ("trunk", "carrier-a") in changes
    # other channels do not count: a desk phone, a Local half, a trunk with a longer name
    b.apply(ChannelNew(pbx=PBX, at=b.at(), channel="PJSIP/6001-00000009", uniqueid="2.1"))
    b.apply(
        ChannelNew(pbx=PBX, at=b.at(), channel="Local/agent1@agents-00000003;1", uniqueid="2.2")
    )
    b.apply(
        ChannelNew(pbx=PBX, at=b.at(), channel="PJSIP/carrier-a-backup-0000000a", uniqueid="2.3")
    )
    assert ep.channels_in_use == 3
    assert ep.usage == 0.75
    assert ep.device_state == "INUSE"
    b.apply(ChannelHangup(pbx=PBX, at=b.at(), channel="PJSIP/carrier-a-00000001", uniqueid="1.1"))
    assert ep.channels_in_use == 2
    # an unknown hangup changes nothing
    b.apply(ChannelHangup(pbx=PBX, at=b.at(), channel="PJSIP/carrier-a-00000001", uniqueid="1.1"))
    assert ep.channels_in_use == 2
    assert b.state.channel_counts == {"carrier-a": 2, "6001": 1, "carrier-a-backup": 1}


def test_channels_counted_before_the_endpoint_is_known() -> None:
    b = configured()
    b.apply(ChannelNew(pbx=PBX, at=b.at(), channel="PJSIP/carrier-b-00000001", uniqueid="1.1"))
    b.apply(PeerStatus(pbx=PBX, at=b.at(), endpoint="carrier-b", status="Reachable"))
    assert b.state.endpoints["carrier-b"].channels_in_use == 1


def test_config_decides_trunks_when_given() -> None:
    b = configured()
    b.apply(PeerStatus(pbx=PBX, at=b.at(), endpoint="6001", status="Reachable"))
    b.apply(
        EndpointItem(
            pbx=PBX,
            at=b.at(),
            endpoint="carrier-x",
            aor="carrier-x",
            contacts=("carrier-x/sip:192.0.2.99:5060",),
        )
    )
    b.apply(
        RegistrationItem(
            pbx=PBX,
            at=b.at(),
            registration="carrier-x",
            server_uri="sip:192.0.2.99:5060",
            status="Registered",
        )
    )
    assert b.state.endpoints["6001"].is_trunk is False
    assert b.state.endpoints["carrier-x"].is_trunk is False  # not configured
    assert [e.name for e in b.state.trunks()] == []


def test_heuristic_static_contact_is_trunk_registered_phone_is_not() -> None:
    b = Bench(Reducer(PBX))
    b.apply(SyncBegin(pbx=PBX, at=b.at(), epoch=1))
    b.apply(
        EndpointItem(
            pbx=PBX,
            at=b.at(),
            endpoint="carrier-a",
            aor="carrier-a",
            contacts=("carrier-a/sip:198.51.100.2:5060",),
            device_state="Not in use",
        )
    )
    b.apply(
        EndpointItem(
            pbx=PBX,
            at=b.at(),
            endpoint="6001",
            aor="6001",
            contacts=("6001/sip:6001@192.0.2.10:5060",),
            device_state="Not in use",
        )
    )
    b.apply(
        EndpointItem(
            pbx=PBX, at=b.at(), endpoint="6002", aor="6002", contacts=(), device_state="Unavailable"
        )
    )
    b.apply(
        ContactItem(
            pbx=PBX,
            at=b.at(),
            aor="6001",
            uri="sip:6001@192.0.2.10:5060",
            endpoint="6001",
            status="Reachable",
            rtt_usec=1800,
            dynamic=True,
        )
    )
    b.apply(SyncEnd(pbx=PBX, at=b.at(), epoch=1, confirmed=frozenset({SyncDomain.ENDPOINTS})))
    eps = b.state.endpoints
    assert eps["carrier-a"].contacts["sip:198.51.100.2:5060"].dynamic is False
    assert (eps["carrier-a"].is_trunk, eps["carrier-a"].capacity) == (True, None)
    assert eps["6001"].is_trunk is False
    assert eps["6002"].is_trunk is False
    assert eps["6002"].reachable is False
    assert eps["carrier-a"].reachable is None  # no qualify result: unknown, not "up"
    out = b.state.as_dict()
    assert [t["name"] for t in out["trunks"]] == ["carrier-a"]
    assert [e["name"] for e in out["endpoints"]] == ["6001", "6002"]


def test_contact_removed_and_device_state_for_non_endpoints() -> None:
    b = Bench(Reducer(PBX))
    b.apply(
        ContactStatus(
            pbx=PBX,
            at=b.at(),
            aor="6001",
            uri="sip:6001@192.0.2.10:5060",
            endpoint="6001",
            status="Created",
        )
    )
    ep = b.state.endpoints["6001"]
    assert ep.contacts["sip:6001@192.0.2.10:5060"].status == "Created"
    b.apply(
        ContactStatus(
            pbx=PBX,
            at=b.at(),
            aor="6001",
            uri="sip:6001@192.0.2.10:5060",
            endpoint="6001",
            status="Reachable",
            rtt_usec=900,
        )
    )
    b.apply(
        ContactStatus(
            pbx=PBX,
            at=b.at(),
            aor="6001",
            uri="sip:6001@192.0.2.10:5060",
            endpoint="6001",
            status="Updated",
        )
    )
    assert ep.contacts["sip:6001@192.0.2.10:5060"].status == "Reachable"
    b.apply(
        ContactStatus(
            pbx=PBX,
            at=b.at(),
            aor="6001",
            uri="sip:6001@192.0.2.10:5060",
            endpoint="6001",
            status="Removed",
        )
    )
    assert ep.contacts == {}
    assert (
        b.apply(
            DeviceStateChanged(pbx=PBX, at=b.at(), device="Custom:ccops-overflow", state="INUSE")
        )
        == []
    )
    assert (
        b.apply(
            DeviceStateChanged(pbx=PBX, at=b.at(), device="Queue:hotline_avail", state="NOT_INUSE")
        )
        == []
    )
    assert set(b.state.endpoints) == {"6001"}
