"""Normalisation of raw AMI frames (as Asterisk 22 writes them) into core events."""

from __future__ import annotations

import contextlib

import pytest

from ccops.core.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    ChannelHangup,
    ChannelHold,
    ChannelItem,
    ChannelNew,
    ChannelStateChange,
    ContactItem,
    ContactStatus,
    DbEntry,
    DeviceState,
    DeviceStateChanged,
    EndpointItem,
    MemberChange,
    OriginateResult,
    PbxReloaded,
    PbxShutdown,
    PeerStatus,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueEntryItem,
    QueueMemberItem,
    QueueMemberUpdate,
    QueueParamsItem,
    RegistrationItem,
    RegistryStatus,
    Transfer,
    UserEvent,
)
from ccops.pbx.message import AmiMessage
from ccops.pbx.normalize import HANDLED_EVENTS, NormalizeError, normalize

AT = 1_767_225_600.0


def frame(text: str, at: float = AT) -> AmiMessage:
    """Build a message the way the wire parser does: first value in ``headers``, later
    values of a repeated name in ``repeated``."""
    headers: dict[str, str] = {}
    repeated: list[tuple[str, str]] = []
    for line in text.strip().splitlines():
        key, _, value = line.strip().partition(": ")
        if key.endswith(":"):  # "Key:" with an empty value
            key, value = key[:-1], ""
        if key in headers:
            repeated.append((key, value))
        else:
            headers[key] = value
    return AmiMessage(headers=headers, received_at=at, repeated=repeated)


def norm(text: str, list_action: str | None = None) -> object:
    return normalize(frame(text), "pbx1", list_action)


# --------------------------------------------------------------------------- queue list rows

QUEUE_PARAMS = """
Event: QueueParams
Queue: hotline
Max: 0
Strategy: rrmemory
Calls: 2
Holdtime: 14
TalkTime: 95
Completed: 31
Abandoned: 4
ServiceLevel: 20
ServicelevelPerf: 83.9
ServicelevelPerf2: 80.6
Weight: 0
ActionID: ccops-7
"""

QUEUE_MEMBER_ROW = """
Event: QueueMember
Queue: hotline
Name: Agent One
Location: Local/agent1@agents/n
StateInterface: PJSIP/6001
Membership: dynamic
Penalty: 0
CallsTaken: 12
LastCall: 1767225500
LastPause: 1767225000
LoginTime: 1767220000
InCall: 0
Status: 1
Paused: 1
PausedReason: meal
Wrapuptime: 0
ActionID: ccops-7
"""


def test_queue_params_with_action_id_last() -> None:
    ev = norm(QUEUE_PARAMS, "QueueStatus")
    assert ev == QueueParamsItem(
        pbx="pbx1",
        at=AT,
        queue="hotline",
        strategy="rrmemory",
        max_callers=0,
        calls=2,
        service_level=20,
        ast_holdtime=14,
        ast_talktime=95,
        ast_completed=31,
        ast_abandoned=4,
        weight=0,
    )


def test_queue_member_row_uses_name_and_location() -> None:
    ev = norm(QUEUE_MEMBER_ROW, "QueueStatus")
    assert isinstance(ev, QueueMemberItem)
    assert ev.interface == "Local/agent1@agents/n"
    assert ev.name == "Agent One"
    assert ev.state_interface == "PJSIP/6001"
    assert ev.membership == "dynamic"
    assert ev.calls_taken == 12
    assert ev.last_call == 1767225500
    assert ev.status is DeviceState.NOT_INUSE
    assert ev.paused is True
    assert ev.paused_reason == "meal"
    assert ev.in_call is False


def test_queue_entry_unknown_placeholder_becomes_empty() -> None:
    ev = norm(
        """
        Event: QueueEntry
        Queue: hotline
        Position: 1
        Channel: PJSIP/carrier-a-00000007
        Uniqueid: 1767225590.14
        CallerIDNum: unknown
        CallerIDName: unknown
        ConnectedLineNum: unknown
        ConnectedLineName: unknown
        Wait: 10
        Priority: 0
        ActionID: ccops-7
        """,
        "QueueStatus",
    )
    assert ev == QueueEntryItem(
        pbx="pbx1",
        at=AT,
        queue="hotline",
        uniqueid="1767225590.14",
        channel="PJSIP/carrier-a-00000007",
        position=1,
        caller_num="",
        caller_name="",
        wait=10,
    )


# --------------------------------------------------------------------------- queue live events


def test_caller_join_with_channel_placeholder() -> None:
    ev = norm(
        """
        Event: QueueCallerJoin
        Privilege: agent,all
        Channel: PJSIP/carrier-a-00000007
        ChannelState: 4
        ChannelStateDesc: Ring
        CallerIDNum: 13800138000
        CallerIDName: <unknown>
        ConnectedLineNum: <unknown>
        ConnectedLineName: <unknown>
        Language: en
        AccountCode:
        Context: inbound
        Exten: 95598
        Priority: 3
        Uniqueid: 1767225590.14
        Linkedid: 1767225590.14
        Queue: hotline
        Position: 3
        Count: 3
        """
    )
    assert ev == QueueCallerJoin(
        pbx="pbx1",
        at=AT,
        queue="hotline",
        uniqueid="1767225590.14",
        channel="PJSIP/carrier-a-00000007",
        position=3,
        count=3,
        caller_num="13800138000",
        caller_name="",
    )


def test_caller_leave_and_abandon() -> None:
    leave = norm(
        """
        Event: QueueCallerLeave
        Privilege: agent,all
        Channel: PJSIP/carrier-a-00000007
        Uniqueid: 1767225590.14
        Queue: hotline
        Count: 1
        Position: 2
        """
    )
    assert leave == QueueCallerLeave(
        pbx="pbx1", at=AT, queue="hotline", uniqueid="1767225590.14", position=2, count=1
    )
    abandon = norm(
        """
        Event: QueueCallerAbandon
        Privilege: agent,all
        Channel: PJSIP/carrier-a-00000007
        Uniqueid: 1767225590.14
        Queue: hotline
        Position: 2
        OriginalPosition: 4
        HoldTime: 37
        """
    )
    assert abandon == QueueCallerAbandon(
        pbx="pbx1",
        at=AT,
        queue="hotline",
        uniqueid="1767225590.14",
        position=2,
        original_position=4,
        hold_time=37,
    )


AGENT_HEAD = """
Privilege: agent,all
Channel: PJSIP/carrier-a-00000007
ChannelState: 6
ChannelStateDesc: Up
CallerIDNum: 13800138000
CallerIDName: <unknown>
Uniqueid: 1767225590.14
Linkedid: 1767225590.14
DestChannel: Local/agent1@agents-00000003;1
DestChannelState: 5
DestChannelStateDesc: Ringing
DestUniqueid: 1767225592.17
DestLinkedid: 1767225590.14
Queue: hotline
MemberName: Agent One
Interface: Local/agent1@agents/n
"""


def test_agent_events() -> None:
    called = norm("Event: AgentCalled\n" + AGENT_HEAD)
    assert called == AgentCalled(
        pbx="pbx1",
        at=AT,
        queue="hotline",
        interface="Local/agent1@agents/n",
        member_name="Agent One",
        uniqueid="1767225590.14",
        dest_channel="Local/agent1@agents-00000003;1",
    )
    rna = norm("Event: AgentRingNoAnswer\n" + AGENT_HEAD + "RingTime: 15000\n")
    assert isinstance(rna, AgentRingNoAnswer)
    assert rna.ring_time == 15000
    connect = norm("Event: AgentConnect\n" + AGENT_HEAD + "RingTime: 3\nHoldTime: 12\n")
    assert isinstance(connect, AgentConnect)
    assert (connect.hold_time, connect.ring_time) == (12, 3)
    assert connect.dest_channel == "Local/agent1@agents-00000003;1"
    complete = norm(
        "Event: AgentComplete\n" + AGENT_HEAD + "HoldTime: 12\nTalkTime: 95\nReason: caller\n"
    )
    assert isinstance(complete, AgentComplete)
    assert (complete.hold_time, complete.talk_time, complete.reason) == (12, 95, "caller")
    dump = norm("Event: AgentDump\n" + AGENT_HEAD)
    assert isinstance(dump, AgentDump)
    assert dump.interface == "Local/agent1@agents/n"


MEMBER_EVENT_BODY = """
Privilege: agent,all
Queue: hotline
MemberName: Agent One
Interface: Local/agent1@agents/n
StateInterface: PJSIP/6001
Membership: dynamic
Penalty: 2
CallsTaken: 12
LastCall: 1767225500
LastPause: 1767225000
LoginTime: 1767220000
InCall: 1
Status: 2
Paused: 0
PausedReason:
Ringinuse: 0
Wrapuptime: 15
"""


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("QueueMemberStatus", MemberChange.STATUS),
        ("QueueMemberAdded", MemberChange.ADDED),
        ("QueueMemberRemoved", MemberChange.REMOVED),
        ("QueueMemberPause", MemberChange.PAUSE),
        ("QueueMemberPenalty", MemberChange.PENALTY),
        ("QueueMemberRinginuse", MemberChange.RINGINUSE),
    ],
)
def test_member_events_use_membername_and_interface(name: str, change: MemberChange) -> None:
    ev = norm(f"Event: {name}\n" + MEMBER_EVENT_BODY)
    assert isinstance(ev, QueueMemberUpdate)
    assert ev.change is change
    assert ev.interface == "Local/agent1@agents/n"
    assert ev.name == "Agent One"
    assert ev.penalty == 2
    assert ev.in_call is True
    assert ev.status is DeviceState.INUSE
    assert ev.paused is False
    assert ev.paused_reason == ""
    assert ev.wrapup_time == 15


def test_member_pause_with_reason() -> None:
    body = MEMBER_EVENT_BODY.replace("Paused: 0", "Paused: 1").replace(
        "PausedReason:", "PausedReason: training"
    )
    ev = norm("Event: QueueMemberPause\n" + body)
    assert isinstance(ev, QueueMemberUpdate)
    assert ev.paused is True
    assert ev.paused_reason == "training"


# --------------------------------------------------------------------------- channels


def test_newchannel_newstate_hangup() -> None:
    new = norm(
        """
        Event: Newchannel
        Privilege: call,all
        Channel: PJSIP/carrier-a-00000007
        ChannelState: 0
        ChannelStateDesc: Down
        CallerIDNum: 13800138000
        CallerIDName: <unknown>
        ConnectedLineNum: <unknown>
        ConnectedLineName: <unknown>
        Language: en
        AccountCode:
        Context: inbound
        Exten: 95598
        Priority: 1
        Uniqueid: 1767225590.14
        Linkedid: 1767225590.14
        """
    )
    assert new == ChannelNew(
        pbx="pbx1",
        at=AT,
        channel="PJSIP/carrier-a-00000007",
        uniqueid="1767225590.14",
        linkedid="1767225590.14",
        state="Down",
        caller_num="13800138000",
        caller_name="",
        context="inbound",
        exten="95598",
    )
    state = norm(
        """
        Event: Newstate
        Channel: PJSIP/carrier-a-00000007
        ChannelState: 6
        ChannelStateDesc: Up
        Uniqueid: 1767225590.14
        """
    )
    assert state == ChannelStateChange(
        pbx="pbx1", at=AT, channel="PJSIP/carrier-a-00000007", uniqueid="1767225590.14", state="Up"
    )
    hangup = norm(
        """
        Event: Hangup
        Privilege: call,all
        Channel: PJSIP/carrier-a-00000007
        Uniqueid: 1767225590.14
        Cause: 16
        Cause-txt: Normal Clearing
        """
    )
    assert hangup == ChannelHangup(
        pbx="pbx1",
        at=AT,
        channel="PJSIP/carrier-a-00000007",
        uniqueid="1767225590.14",
        cause=16,
        cause_txt="Normal Clearing",
    )


def test_hold_unhold() -> None:
    body = "Channel: PJSIP/6001-00000012\nUniqueid: 1767225601.20\nMusicClass: default\n"
    hold = norm("Event: Hold\nPrivilege: call,all\n" + body)
    unhold = norm("Event: Unhold\nPrivilege: call,all\n" + body)
    assert hold == ChannelHold(
        pbx="pbx1", at=AT, channel="PJSIP/6001-00000012", uniqueid="1767225601.20", on_hold=True
    )
    assert isinstance(unhold, ChannelHold)
    assert unhold.on_hold is False


def test_transfers() -> None:
    blind = norm(
        """
        Event: BlindTransfer
        Result: Success
        TransfererChannel: PJSIP/6001-00000012
        TransfererUniqueid: 1767225601.20
        TransfereeChannel: PJSIP/carrier-a-00000007
        TransfereeUniqueid: 1767225590.14
        IsExternal: No
        Context: agents
        Extension: 6002
        """
    )
    assert blind == Transfer(
        pbx="pbx1",
        at=AT,
        kind="blind",
        uniqueid="1767225601.20",
        transferee_uniqueid="1767225590.14",
        result="Success",
    )
    attended = norm(
        """
        Event: AttendedTransfer
        Result: Success
        OrigTransfererChannel: PJSIP/6001-00000012
        OrigTransfererUniqueid: 1767225601.20
        SecondTransfererChannel: PJSIP/6001-00000013
        SecondTransfererUniqueid: 1767225620.22
        DestType: Bridge
        TransfereeUniqueid: 1767225590.14
        """
    )
    assert isinstance(attended, Transfer)
    assert (attended.kind, attended.uniqueid, attended.transferee_uniqueid) == (
        "attended",
        "1767225601.20",
        "1767225590.14",
    )


def test_core_show_channel_action_id_second_and_hms_duration() -> None:
    ev = norm(
        """
        Event: CoreShowChannel
        ActionID: ccops-9
        Channel: PJSIP/carrier-b-0000001a
        ChannelState: 6
        ChannelStateDesc: Up
        CallerIDNum: 13900139000
        CallerIDName: <unknown>
        ConnectedLineNum: <unknown>
        ConnectedLineName: <unknown>
        Language: en
        AccountCode:
        Context: inbound
        Exten: 95598
        Priority: 4
        Uniqueid: 1767225500.3
        Linkedid: 1767225500.3
        Application: Queue
        ApplicationData: hotline
        Duration: 01:02:05
        BridgeId:
        """,
        "CoreShowChannels",
    )
    assert ev == ChannelItem(
        pbx="pbx1",
        at=AT,
        channel="PJSIP/carrier-b-0000001a",
        uniqueid="1767225500.3",
        linkedid="1767225500.3",
        state="Up",
        caller_num="13900139000",
        caller_name="",
        context="inbound",
        exten="95598",
        application="Queue",
        duration=3725,
        bridge_id="",
    )


# --------------------------------------------------------------------------- endpoints


def test_peer_status_strips_technology() -> None:
    ev = norm(
        """
        Event: PeerStatus
        Privilege: system,all
        ChannelType: PJSIP
        Peer: PJSIP/carrier-b
        PeerStatus: Unreachable
        """
    )
    assert ev == PeerStatus(pbx="pbx1", at=AT, endpoint="carrier-b", status="Unreachable")


def test_contact_status() -> None:
    ev = norm(
        """
        Event: ContactStatus
        Privilege: system,all
        URI: sip:203.0.113.7:5060
        ContactStatus: Unreachable
        AOR: carrier-b
        EndpointName: carrier-b
        RoundtripUsec: 0
        """
    )
    assert ev == ContactStatus(
        pbx="pbx1",
        at=AT,
        aor="carrier-b",
        uri="sip:203.0.113.7:5060",
        endpoint="carrier-b",
        status="Unreachable",
        rtt_usec=0,
    )


def test_registry() -> None:
    ev = norm(
        """
        Event: Registry
        Privilege: system,all
        ChannelType: PJSIP
        Username: sip:ccops@203.0.113.7:5060
        Domain: sip:203.0.113.7:5060
        Status: Rejected
        """
    )
    assert ev == RegistryStatus(
        pbx="pbx1",
        at=AT,
        username="sip:ccops@203.0.113.7:5060",
        domain="sip:203.0.113.7:5060",
        status="Rejected",
    )


def test_endpoint_list_contacts_trailing_comma() -> None:
    ev = norm(
        """
        Event: EndpointList
        ActionID: ccops-3
        ObjectType: endpoint
        ObjectName: carrier-a
        Transport: transport-udp
        Aor: carrier-a
        Auths:
        OutboundAuths: carrier-a-auth
        Contacts: carrier-a/sip:198.51.100.2:5060,
        DeviceState: Not in use
        ActiveChannels: 2
        """,
        "PJSIPShowEndpoints",
    )
    assert ev == EndpointItem(
        pbx="pbx1",
        at=AT,
        endpoint="carrier-a",
        transport="transport-udp",
        aor="carrier-a",
        outbound_auths="carrier-a-auth",
        contacts=("carrier-a/sip:198.51.100.2:5060",),
        device_state="Not in use",
        active_channels=2,
    )


def test_endpoint_list_without_contacts() -> None:
    ev = norm(
        "Event: EndpointList\nActionID: x\nObjectName: 6003\nContacts:\nDeviceState: Unavailable\n"
    )
    assert isinstance(ev, EndpointItem)
    assert ev.contacts == ()
    assert ev.active_channels == 0


def test_contact_list_row_is_dynamic() -> None:
    ev = norm(
        """
        Event: ContactList
        ActionID: ccops-4
        ObjectType: contact
        ObjectName: 6001;@4f1e0c2d8a7b
        ViaAddr: 192.0.2.10
        ViaPort: 5060
        QualifyTimeout: 3.000000
        CallId: 1d2f3a
        RegServer:
        PruneOnBoot: false
        Path:
        Endpoint: 6001
        AuthenticateQualify: false
        Uri: sip:6001@192.0.2.10:5060
        QualifyFrequency: 60
        UserAgent: Linphone/5
        ExpirationTime: 1767229200
        OutboundProxy:
        Status: Reachable
        RoundtripUsec: 1834
        Qualify2xxOnly: false
        """,
        "PJSIPShowContacts",
    )
    assert ev == ContactItem(
        pbx="pbx1",
        at=AT,
        aor="6001",
        uri="sip:6001@192.0.2.10:5060",
        endpoint="6001",
        status="Reachable",
        rtt_usec=1834,
        dynamic=True,
    )


def test_contact_status_detail_static_and_not_qualified() -> None:
    ev = norm(
        """
        Event: ContactStatusDetail
        ActionID: ccops-5
        AOR: carrier-a
        URI: sip:198.51.100.2:5060
        Status: NonQualified
        RoundtripUsec: N/A
        EndpointName: carrier-a
        RegExpire: 0
        """,
        "PJSIPShowEndpoint",
    )
    assert isinstance(ev, ContactItem)
    assert ev.dynamic is False
    assert ev.rtt_usec == 0
    assert ev.status == "NonQualified"


def test_outbound_registration_never_carries_the_password() -> None:
    msg = frame(
        """
        Event: OutboundRegistrationDetail
        ActionID: ccops-6
        ObjectType: registration
        ObjectName: carrier-b-reg
        ServerUri: sip:203.0.113.7:5060
        ClientUri: sip:ccops@203.0.113.7:5060
        OutboundAuth: carrier-b-auth
        Password: s3cr3t-Trunk!
        Endpoint: carrier-b
        Status: Registered
        NextReg: 3585
        """
    )
    ev = normalize(msg, "pbx1", "PJSIPShowRegistrationsOutbound")
    assert ev == RegistrationItem(
        pbx="pbx1",
        at=AT,
        registration="carrier-b-reg",
        server_uri="sip:203.0.113.7:5060",
        client_uri="sip:ccops@203.0.113.7:5060",
        status="Registered",
        next_reg=3585,
        endpoint="carrier-b",
    )
    assert "s3cr3t" not in repr(ev)


def test_auth_detail_is_not_an_event() -> None:
    ev = norm(
        """
        Event: AuthDetail
        ActionID: ccops-6
        ObjectType: auth
        ObjectName: carrier-b-auth
        Username: ccops
        Password: s3cr3t-Trunk!
        """,
        "PJSIPShowRegistrationsOutbound",
    )
    assert ev is None


def test_device_state_live_and_as_list_row() -> None:
    live = norm(
        "Event: DeviceStateChange\nPrivilege: call,all\nDevice: PJSIP/carrier-b\n"
        "State: UNAVAILABLE\n"
    )
    row = norm(
        "Event: DeviceStateChange\nDevice: PJSIP/carrier-b\nState: UNAVAILABLE\nActionID: d1\n",
        "DeviceStateList",
    )
    expected = DeviceStateChanged(pbx="pbx1", at=AT, device="PJSIP/carrier-b", state="UNAVAILABLE")
    assert live == expected
    assert row == expected


# --------------------------------------------------------------------------- AstDB


def test_db_get_response() -> None:
    ev = norm(
        "Event: DBGetResponse\nFamily: ccops\nKey: overflow/hotline\nVal: 1\nActionID: db-1\n",
        "DBGet",
    )
    assert ev == DbEntry(pbx="pbx1", at=AT, family="ccops", key="overflow/hotline", value="1")


def test_db_get_tree_response_splits_the_path() -> None:
    ev = norm(
        "Event: DBGetTreeResponse\nKey: /ccops/night/95598\nVal: on\nActionID: db-2\n",
        "DBGetTree",
    )
    assert ev == DbEntry(pbx="pbx1", at=AT, family="ccops", key="night/95598", value="on")


def test_db_get_tree_bad_path() -> None:
    with pytest.raises(NormalizeError) as err:
        norm("Event: DBGetTreeResponse\nKey: /ccops\nVal: 1\n", "DBGetTree")
    assert (err.value.event, err.value.field) == ("DBGetTreeResponse", "Key")


# --------------------------------------------------------------------------- system events


def test_reload_shutdown() -> None:
    assert norm("Event: Reload\nPrivilege: system,all\nModule: app_queue.so\nStatus: 2\n") == (
        PbxReloaded(pbx="pbx1", at=AT, module="app_queue.so")
    )
    assert norm("Event: Shutdown\nPrivilege: system,all\nShutdown: Cleanly\nRestart: True\n") == (
        PbxShutdown(pbx="pbx1", at=AT, shutdown="Cleanly", restart=True)
    )


def test_user_event_fields_without_standard_headers_and_with_repeats() -> None:
    ev = norm(
        """
        Event: UserEvent
        Privilege: user,all
        Channel: PJSIP/6001-00000020
        ChannelState: 6
        ChannelStateDesc: Up
        CallerIDNum: 6001
        CallerIDName: Agent One
        Context: ccops-page
        Exten: s
        Priority: 5
        Uniqueid: ccops-page-42
        Linkedid: ccops-page-42
        UserEvent: CcopsPageAck
        Page: 42
        Digit: 1
        Digit: 9
        """
    )
    assert isinstance(ev, UserEvent)
    assert ev.name == "CcopsPageAck"
    assert ev.fields == (
        ("Channel", "PJSIP/6001-00000020"),
        ("Uniqueid", "ccops-page-42"),
        ("Linkedid", "ccops-page-42"),
        ("Page", "42"),
        ("Digit", "1"),
        ("Digit", "9"),
    )
    assert ev.get("Page") == "42"


def test_originate_response_failure_and_success() -> None:
    fail = norm(
        """
        Event: OriginateResponse
        Privilege: call,all
        ActionID: ops-17
        Response: Failure
        Channel: PJSIP/9999
        Context: ccops-page
        Exten: s
        Application:
        Data:
        Reason: 0
        Uniqueid: <unknown>
        CallerIDNum: <unknown>
        CallerIDName: <unknown>
        """
    )
    assert fail == OriginateResult(
        pbx="pbx1", at=AT, action_id="ops-17", success=False, reason=0, channel="PJSIP/9999"
    )
    ok = norm(
        "Event: OriginateResponse\nActionID: ops-18\nResponse: Success\nChannel: PJSIP/6001\n"
        "Reason: 4\nUniqueid: ccops-page-42\n"
    )
    assert isinstance(ok, OriginateResult)
    assert (ok.success, ok.reason, ok.uniqueid) == (True, 4, "ccops-page-42")


# --------------------------------------------------------------------------- unknown / noise


@pytest.mark.parametrize(
    "text",
    [
        "Event: VarSet\nChannel: Local/agent1@agents-00000003;1\nVariable: QUEUENAME\nValue: x\n",
        "Event: TestEvent\nType: StateChange\nState: CallIDChange\nState: CallIDChange\n",
        "Event: RTCPSent\nChannel: PJSIP/carrier-a-00000007\n",
        "Event: QueueStatusComplete\nEventList: Complete\nListItems: 4\nActionID: x\n",
        "Response: Success\nActionID: x\nMessage: Pong\n",
        "Response: Error\nActionID: y\nMessage: Permission denied\n",
    ],
)
def test_unknown_events_and_responses_are_none(text: str) -> None:
    assert norm(text) is None


def test_duplicate_headers_keep_the_first_value() -> None:
    ev = norm(
        "Event: QueueCallerLeave\nQueue: hotline\nUniqueid: 1.1\nPosition: 1\nPosition: 7\n"
        "Count: 0\n"
    )
    assert isinstance(ev, QueueCallerLeave)
    assert ev.position == 1


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("text", "event", "field"),
    [
        ("Event: QueueCallerJoin\nUniqueid: 1.1\nPosition: 1\n", "QueueCallerJoin", "Queue"),
        (
            "Event: QueueCallerJoin\nQueue: q\nUniqueid: 1.1\nPosition: x1\n",
            "QueueCallerJoin",
            "Position",
        ),
        (
            "Event: QueueCallerJoin\nQueue:\nUniqueid: 1.1\nPosition: 1\n",
            "QueueCallerJoin",
            "Queue",
        ),
        (
            "Event: AgentConnect\nQueue: q\nInterface: PJSIP/1\nUniqueid: 1\nHoldTime: 1.5\n",
            "AgentConnect",
            "HoldTime",
        ),
        (
            "Event: QueueMemberStatus\nQueue: q\nInterface: PJSIP/1\nStatus: 12\n",
            "QueueMemberStatus",
            "Status",
        ),
        (
            "Event: QueueMemberStatus\nQueue: q\nInterface: PJSIP/1\nPaused: maybe\n",
            "QueueMemberStatus",
            "Paused",
        ),
        ("Event: QueueMember\nQueue: q\nName: a\n", "QueueMember", "Location"),
        (
            "Event: QueueMember\nQueue: q\nLocation: PJSIP/1\nCallsTaken: many\n",
            "QueueMember",
            "CallsTaken",
        ),
        ("Event: Hangup\nChannel: PJSIP/x-1\n", "Hangup", "Uniqueid"),
        ("Event: PeerStatus\nPeer: PJSIP/\nPeerStatus: Reachable\n", "PeerStatus", "Peer"),
        (
            "Event: CoreShowChannel\nChannel: c\nUniqueid: u\nDuration: 1:2\n",
            "CoreShowChannel",
            "Duration",
        ),
        ("Event: Registry\nUsername: u\nStatus: Registered\n", "Registry", "Domain"),
        ("Event: UserEvent\nPrivilege: user,all\n", "UserEvent", "UserEvent"),
        ("Event: Shutdown\nShutdown: Cleanly\nRestart: perhaps\n", "Shutdown", "Restart"),
    ],
)
def test_malformed_known_events_raise_normalize_error(text: str, event: str, field: str) -> None:
    with pytest.raises(NormalizeError) as err:
        norm(text)
    assert err.value.event == event
    assert err.value.field == field
    assert event in str(err.value) and field in str(err.value)


def test_every_handled_event_survives_garbage_with_only_normalize_error() -> None:
    """Whatever a frame holds, a handled event gives an event or a NormalizeError."""
    junk_values = ["", "x", "-", "1:2:3:4", "<unknown>", "\x00", "9" * 50]
    for name in sorted(HANDLED_EVENTS):
        for junk in junk_values:
            headers = {"Event": name}
            for key in (
                "Queue",
                "Uniqueid",
                "Interface",
                "Location",
                "Position",
                "Count",
                "Status",
                "Paused",
                "InCall",
                "Channel",
                "Peer",
                "PeerStatus",
                "URI",
                "Uri",
                "ContactStatus",
                "Domain",
                "ObjectName",
                "Key",
                "Family",
                "Device",
                "State",
                "UserEvent",
                "Duration",
                "HoldTime",
                "Restart",
                "Reason",
                "ExpirationTime",
                "TransfererUniqueid",
                "OrigTransfererUniqueid",
                "Contacts",
                "Val",
            ):
                headers[key] = junk
            with contextlib.suppress(NormalizeError):
                normalize(AmiMessage(headers=headers), "pbx1", None)
