"""Raw AMI frames → normalize → reducer: one answered and one abandoned call, with the noise
Asterisk 22 really sends around them (Local channel halves, VarSet, TestEvent with a
repeated header, MOH, RTCP)."""

from __future__ import annotations

from ccops.core.clock import FakeClock
from ccops.core.events import SyncBegin, SyncEnd
from ccops.core.reducer import Reducer
from ccops.pbx.message import AmiMessage
from ccops.pbx.normalize import NormalizeError, normalize

PBX = "pbx1"


def parse(text: str, at: float) -> AmiMessage:
    headers: dict[str, str] = {}
    repeated: list[tuple[str, str]] = []
    for line in text.strip().splitlines():
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if key in headers:
            repeated.append((key, value))
        else:
            headers[key] = value
    return AmiMessage(headers=headers, received_at=at, repeated=repeated)


def chan(event: str, name: str, uid: str, state: str = "Up", extra: str = "") -> str:
    return (
        f"Event: {event}\nPrivilege: call,all\nChannel: {name}\nChannelState: 6\n"
        f"ChannelStateDesc: {state}\nCallerIDNum: 13800138000\nCallerIDName: <unknown>\n"
        f"ConnectedLineNum: <unknown>\nConnectedLineName: <unknown>\nLanguage: en\n"
        f"AccountCode:\nContext: inbound\nExten: 95598\nPriority: 1\nUniqueid: {uid}\n"
        f"Linkedid: 1767225590.14\n{extra}"
    )


CALLER = "PJSIP/carrier-a-00000007"
UID = "1767225590.14"
L1, L1_UID = "Local/agent1@agents-00000003;1", "1767225592.17"
L2, L2_UID = "Local/agent1@agents-00000003;2", "1767225592.18"
AGENT_IDS = (
    f"Uniqueid: {UID}\nDestChannel: {L1}\nDestUniqueid: {L1_UID}\nQueue: hotline\n"
    "MemberName: Agent One\nInterface: Local/agent1@agents/n\n"
)
MEMBER = (
    "Queue: hotline\nMemberName: Agent One\nInterface: Local/agent1@agents/n\n"
    "StateInterface: PJSIP/6001\nMembership: dynamic\nPenalty: 0\nCallsTaken: {calls}\n"
    "LastCall: 0\nLastPause: 0\nLoginTime: 1767220000\nInCall: {in_call}\nStatus: {status}\n"
    "Paused: 0\nPausedReason:\nRinginuse: 0\nWrapuptime: 0\n"
)

STREAM: list[tuple[float, str]] = [
    (0.0, "Event: FullyBooted\nPrivilege: system,all\nStatus: Fully Booted\n"),
    (0.0, "Event: QueueMemberAdded\n" + MEMBER.format(calls=0, in_call=0, status=1)),
    (1.0, chan("Newchannel", CALLER, UID, "Ring")),
    (1.0, chan("VarSet", CALLER, UID, extra="Variable: QUEUENAME\nValue: hotline\n")),
    (
        1.0,
        "Event: TestEvent\nPrivilege: reporting,all\nType: StateChange\n"
        "State: CallIDChange\nState: CallIDChange\n",
    ),
    (1.1, chan("Newstate", CALLER, UID, "Up")),
    (1.2, chan("QueueCallerJoin", CALLER, UID, extra="Queue: hotline\nPosition: 1\nCount: 1\n")),
    (1.2, chan("MusicOnHoldStart", CALLER, UID, extra="Class: default\n")),
    (2.0, chan("Newchannel", L1, L1_UID, "Down")),
    (2.0, chan("Newchannel", L2, L2_UID, "Ring")),
    (2.0, "Event: LocalBridge\nPrivilege: call,all\nLocalOneChannel: " + L1 + "\n"),
    (2.0, chan("AgentCalled", CALLER, UID, extra=AGENT_IDS)),
    (2.1, "Event: QueueMemberStatus\n" + MEMBER.format(calls=0, in_call=0, status=6)),
    (6.0, "Event: RTCPSent\nPrivilege: reporting,all\nChannel: " + CALLER + "\n"),
    (7.0, chan("MusicOnHoldStop", CALLER, UID)),
    (7.0, chan("QueueCallerLeave", CALLER, UID, extra="Queue: hotline\nPosition: 1\nCount: 0\n")),
    (7.0, chan("AgentConnect", CALLER, UID, extra=AGENT_IDS + "RingTime: 5\nHoldTime: 6\n")),
    (7.1, "Event: QueueMemberStatus\n" + MEMBER.format(calls=0, in_call=1, status=2)),
    (40.0, chan("Hold", "PJSIP/6001-00000012", "1767225593.19", extra="MusicClass: default\n")),
    (55.0, chan("Unhold", "PJSIP/6001-00000012", "1767225593.19")),
    (
        97.0,
        chan(
            "AgentComplete",
            CALLER,
            UID,
            extra=AGENT_IDS + "HoldTime: 6\nTalkTime: 90\nReason: caller\n",
        ),
    ),
    (97.0, chan("Hangup", L2, L2_UID, extra="Cause: 16\nCause-txt: Normal Clearing\n")),
    (97.0, chan("Hangup", L1, L1_UID, extra="Cause: 16\nCause-txt: Normal Clearing\n")),
    (97.0, chan("Hangup", CALLER, UID, extra="Cause: 16\nCause-txt: Normal Clearing\n")),
    (97.1, "Event: QueueMemberStatus\n" + MEMBER.format(calls=1, in_call=0, status=1)),
    # an abandoned caller
    (120.0, chan("Newchannel", "PJSIP/carrier-a-00000009", "1767225710.30", "Ring")),
    (
        120.1,
        chan(
            "QueueCallerJoin",
            "PJSIP/carrier-a-00000009",
            "1767225710.30",
            extra="Queue: hotline\nPosition: 1\nCount: 1\n",
        ),
    ),
    (
        150.0,
        chan(
            "QueueCallerAbandon",
            "PJSIP/carrier-a-00000009",
            "1767225710.30",
            extra="Queue: hotline\nPosition: 1\nOriginalPosition: 1\nHoldTime: 30\n",
        ),
    ),
    (
        150.0,
        chan(
            "QueueCallerLeave",
            "PJSIP/carrier-a-00000009",
            "1767225710.30",
            extra="Queue: hotline\nPosition: 1\nCount: 0\n",
        ),
    ),
    (
        150.0,
        chan(
            "Hangup",
            "PJSIP/carrier-a-00000009",
            "1767225710.30",
            extra="Cause: 16\nCause-txt: Normal Clearing\n",
        ),
    ),
    # a broken frame: counted by the caller, the stream goes on
    (151.0, "Event: QueueCallerJoin\nQueue: hotline\nUniqueid: 9.9\nPosition: first\n"),
]


def test_stream_through_normalize_and_reducer() -> None:
    clock = FakeClock()
    base = clock.now()
    reducer = Reducer(PBX, queue_wrapup={"hotline": 30})
    state = reducer.new_state()
    unknown = malformed = 0
    seen_states: list[str] = []
    for offset, text in STREAM:
        try:
            event = normalize(parse(text, base + offset), PBX, None)
        except NormalizeError:
            malformed += 1
            continue
        if event is None:
            unknown += 1
            continue
        reducer.apply(state, event)
        m = state.queues["hotline"].members["Local/agent1@agents/n"]
        if not seen_states or seen_states[-1] != m.state:
            seen_states.append(m.state)
    assert (unknown, malformed) == (7, 1)
    assert seen_states == ["available", "ringing", "on_call", "on_hold", "on_call", "acw"]
    m = state.queues["hotline"].members["Local/agent1@agents/n"]
    assert (m.state_since, m.wrapup_until, m.calls_taken) == (base + 97, base + 127, 1)
    assert state.queues["hotline"].callers == {}
    assert state.channels == {}
    assert state.engaged == {}
    assert state.anomalies == {}
    assert reducer.expire(state, base + 128) == [("member", "hotline", "Local/agent1@agents/n")]
    assert m.state == "available"
    # a sync that confirms nothing sweeps nothing
    before = state.as_dict()["queues"]
    reducer.apply(state, SyncBegin(pbx=PBX, at=base + 200, epoch=2))
    reducer.apply(state, SyncEnd(pbx=PBX, at=base + 201, epoch=2, confirmed=frozenset()))
    assert state.as_dict()["queues"] == before
