"""A synthetic but realistic Asterisk 22 AMI event stream, for benchmarks.

Why synthetic: the recorded real-Asterisk stream (``tests/data/asterisk22/stream.ami``) is
a few minutes of a small test center; a benchmark needs a million events with a known mix.
The mix follows what ``shared/asterisk-22-notes.md`` observed on Asterisk 22 with queues
and Local-channel agents: channel snapshots with the Asterisk 13+ header set, ``Dest…``
prefixed snapshots on Dial/Agent events, ``VarSet`` bursts from ``setqueuevar``,
``MusicOnHoldStart/Stop`` pairs around announcements, ``RTCPSent`` every few seconds and
Debian's ``TestEvent`` noise (some with a duplicated header), UTF-8 caller names.

Nothing here is presented as real data: the stream is labelled synthetic wherever it is
reported.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

CRLF = "\r\n"

_FIRST = ["José", "Müller", "Anaïs", "Zoë", "Łukasz", "Ana", "Marc", "Chloé", "Li", "Søren"]
_LAST = ["García", "Dupont", "Nguyễn", "Östlund", "Martin", "Bernard", "Petit", "Çelik"]
_QUEUES = ["hotline", "billing", "outage", "sales"]


def _msg(pairs: list[tuple[str, str]]) -> str:
    return CRLF.join(f"{k}: {v}" for k, v in pairs) + CRLF + CRLF


def _snapshot(prefix: str, ch: dict[str, str]) -> list[tuple[str, str]]:
    keys = [
        ("Channel", "channel"),
        ("ChannelState", "state"),
        ("ChannelStateDesc", "state_desc"),
        ("CallerIDNum", "cid_num"),
        ("CallerIDName", "cid_name"),
        ("ConnectedLineNum", "conn_num"),
        ("ConnectedLineName", "conn_name"),
        ("Language", "language"),
        ("AccountCode", "account"),
        ("Context", "context"),
        ("Exten", "exten"),
        ("Priority", "priority"),
        ("Uniqueid", "uniqueid"),
        ("Linkedid", "linkedid"),
    ]
    return [(prefix + k, ch[field]) for k, field in keys]


class _Call:
    """One inbound queue call answered (or abandoned) by a Local-channel agent."""

    def __init__(self, rng: random.Random, n: int, t0: float) -> None:
        self.rng = rng
        self.n = n
        uid = f"{t0 + n:.0f}.{n}"
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        number = f"+336{rng.randrange(10**7, 10**8)}"
        self.queue = rng.choice(_QUEUES)
        agent = rng.randrange(1, 40)
        self.agent_iface = f"Local/agent{agent}@agents/n"
        self.agent_name = f"Agent {agent} {rng.choice(_LAST)}"
        self.caller = {
            "channel": f"PJSIP/carrier-a-{n:08x}",
            "state": "4",
            "state_desc": "Ring",
            "cid_num": number,
            "cid_name": name,
            "conn_num": "<unknown>",
            "conn_name": "<unknown>",
            "language": "fr",
            "account": "",
            "context": "from-carrier",
            "exten": "0800123456",
            "priority": "1",
            "uniqueid": uid,
            "linkedid": uid,
        }
        self.local1 = dict(
            self.caller,
            channel=f"Local/agent{agent}@agents-{n:08x};1",
            state="0",
            state_desc="Down",
            cid_num=number,
            context="agents",
            exten=f"agent{agent}",
            uniqueid=f"{uid}1",
        )
        self.local2 = dict(
            self.local1, channel=self.local1["channel"][:-1] + "2", uniqueid=f"{uid}2"
        )

    def events(self) -> Iterator[str]:
        rng = self.rng
        c, a1, a2 = self.caller, self.local1, self.local2
        q = self.queue
        yield _msg([("Event", "Newchannel"), ("Privilege", "call,all"), *_snapshot("", c)])
        for var in ("__FROM_DID", "CHANNEL(language)", "__CALLERNAME"):
            yield _msg(
                [
                    ("Event", "VarSet"),
                    ("Privilege", "dialplan,all"),
                    *_snapshot("", c),
                    ("Variable", var),
                    ("Value", c["cid_name"]),
                ]
            )
        for prio, app in ((1, "Answer"), (2, "Set"), (3, "Queue")):
            yield _msg(
                [
                    ("Event", "Newexten"),
                    ("Privilege", "dialplan,all"),
                    *_snapshot("", c),
                    ("Extension", c["exten"]),
                    ("Application", app),
                    ("AppData", f"{q},t,,,300"),
                ]
            )
            c["priority"] = str(prio + 1)
        c["state"], c["state_desc"] = "6", "Up"
        yield _msg([("Event", "Newstate"), ("Privilege", "call,all"), *_snapshot("", c)])
        yield _msg(
            [
                ("Event", "TestEvent"),
                ("Privilege", "reporting,all"),
                ("Type", "StateChange"),
                ("State", "CallIDChange"),
                ("AppFile", "res_pjsip_session.c"),
                ("State", "CallIDChange"),
                ("CallID", f"{self.n:x}-{rng.randrange(10**9)}"),
            ]
        )
        pos = str(rng.randrange(1, 12))
        yield _msg(
            [
                ("Event", "QueueCallerJoin"),
                ("Privilege", "agent,all"),
                *_snapshot("", c),
                ("Queue", q),
                ("Position", pos),
                ("Count", pos),
            ]
        )
        for _ in range(rng.randrange(1, 4)):
            yield _msg(
                [
                    ("Event", "TestEvent"),
                    ("Privilege", "reporting,all"),
                    ("Type", "StateChange"),
                    *[("State", "PLAYBACK"), ("Message", "queue-thereare"), *_snapshot("", c)][:3],
                ]
            )
            yield _msg(
                [
                    ("Event", "MusicOnHoldStart"),
                    ("Privilege", "call,all"),
                    *_snapshot("", c),
                    ("Class", "default"),
                ]
            )
            yield _msg(
                [
                    ("Event", "RTCPSent"),
                    ("Privilege", "reporting,all"),
                    *_snapshot("", c),
                    ("SSRC", "0x1f2e3d4c"),
                    ("PT", "200(SR)"),
                    ("To", "192.0.2.10:17554"),
                    ("ReportCount", "1"),
                    ("SentNTP", "1767225600.123456"),
                    ("SentRTP", "160"),
                    ("SentPackets", "250"),
                    ("SentOctets", "40000"),
                ]
            )
            yield _msg([("Event", "MusicOnHoldStop"), ("Privilege", "call,all"), *_snapshot("", c)])
        yield _msg([("Event", "Newchannel"), ("Privilege", "call,all"), *_snapshot("", a1)])
        yield _msg([("Event", "Newchannel"), ("Privilege", "call,all"), *_snapshot("", a2)])
        yield _msg(
            [
                ("Event", "TestEvent"),
                ("Privilege", "reporting,all"),
                ("Type", "StateChange"),
                ("State", "RTP allocated"),
                ("AppFile", "res_rtp_asterisk.c"),
                ("Port", str(rng.randrange(10000, 20000, 2))),
            ]
        )
        yield _msg(
            [
                ("Event", "LocalBridge"),
                ("Privilege", "call,all"),
                *_snapshot("LocalOne", a1),
                *_snapshot("LocalTwo", a2),
                ("Context", "agents"),
                ("Exten", "s"),
                ("LocalOptimization", "Yes"),
            ]
        )
        for i in range(6):
            yield _msg(
                [
                    ("Event", "VarSet"),
                    ("Privilege", "dialplan,all"),
                    *_snapshot("", a1),
                    ("Variable", f"QUEUE{['NAME', 'CALLS', 'HOLDTIME', 'SL', 'MAX'][i % 5]}"),
                    ("Value", str(rng.randrange(100))),
                ]
            )
        yield _msg(
            [
                ("Event", "AgentCalled"),
                ("Privilege", "agent,all"),
                *_snapshot("", c),
                *_snapshot("Dest", a1),
                ("Queue", q),
                ("Interface", self.agent_iface),
                ("MemberName", self.agent_name),
            ]
        )
        yield _msg(
            [
                ("Event", "DialBegin"),
                ("Privilege", "call,all"),
                *_snapshot("", c),
                *_snapshot("Dest", a1),
                ("DialString", self.agent_iface),
            ]
        )
        yield _msg(
            [
                ("Event", "QueueMemberStatus"),
                ("Privilege", "agent,all"),
                ("Queue", q),
                ("MemberName", self.agent_name),
                ("Interface", self.agent_iface),
                ("StateInterface", self.agent_iface),
                ("Membership", "dynamic"),
                ("Penalty", "0"),
                ("CallsTaken", str(rng.randrange(60))),
                ("LastCall", "0"),
                ("LastPause", "0"),
                ("LoginTime", "1767225000"),
                ("InCall", "0"),
                ("Status", "6"),
                ("Paused", "0"),
                ("PausedReason", ""),
                ("Ringinuse", "0"),
                ("Wrapuptime", "0"),
            ]
        )
        abandoned = rng.random() < 0.1
        if abandoned:
            yield _msg(
                [
                    ("Event", "QueueCallerAbandon"),
                    ("Privilege", "agent,all"),
                    *_snapshot("", c),
                    ("Queue", q),
                    ("Position", "1"),
                    ("OriginalPosition", pos),
                    ("HoldTime", str(rng.randrange(5, 200))),
                ]
            )
            yield _msg(
                [
                    ("Event", "QueueCallerLeave"),
                    ("Privilege", "agent,all"),
                    *_snapshot("", c),
                    ("Queue", q),
                    ("Position", "1"),
                    ("Count", "0"),
                ]
            )
        else:
            a1["state"], a1["state_desc"] = "6", "Up"
            yield _msg([("Event", "Newstate"), ("Privilege", "call,all"), *_snapshot("", a1)])
            yield _msg(
                [
                    ("Event", "DialEnd"),
                    ("Privilege", "call,all"),
                    *_snapshot("", c),
                    *_snapshot("Dest", a1),
                    ("DialStatus", "ANSWER"),
                ]
            )
            yield _msg(
                [
                    ("Event", "QueueCallerLeave"),
                    ("Privilege", "agent,all"),
                    *_snapshot("", c),
                    ("Queue", q),
                    ("Position", "1"),
                    ("Count", "0"),
                ]
            )
            hold = str(rng.randrange(1, 90))
            yield _msg(
                [
                    ("Event", "AgentConnect"),
                    ("Privilege", "agent,all"),
                    *_snapshot("", c),
                    *_snapshot("Dest", a1),
                    ("Queue", q),
                    ("Interface", self.agent_iface),
                    ("MemberName", self.agent_name),
                    ("HoldTime", hold),
                    ("RingTime", "3"),
                ]
            )
            bridge = f"bridge-{self.n:08x}"
            for ch in (c, a1):
                yield _msg(
                    [
                        ("Event", "BridgeEnter"),
                        ("Privilege", "call,all"),
                        ("BridgeUniqueid", bridge),
                        ("BridgeType", "basic"),
                        ("BridgeTechnology", "simple_bridge"),
                        ("BridgeCreator", "<unknown>"),
                        ("BridgeName", "<unknown>"),
                        ("BridgeNumChannels", "2"),
                        ("BridgeVideoSourceMode", "none"),
                        *_snapshot("", ch),
                    ]
                )
            yield _msg(
                [
                    ("Event", "HangupRequest"),
                    ("Privilege", "call,all"),
                    *_snapshot("", c),
                    ("Cause", "16"),
                ]
            )
            yield _msg(
                [
                    ("Event", "AgentComplete"),
                    ("Privilege", "agent,all"),
                    *_snapshot("", c),
                    *_snapshot("Dest", a1),
                    ("Queue", q),
                    ("Interface", self.agent_iface),
                    ("MemberName", self.agent_name),
                    ("HoldTime", hold),
                    ("TalkTime", str(rng.randrange(20, 600))),
                    ("Reason", "caller"),
                ]
            )
        for ch in (a2, a1, c):
            yield _msg(
                [
                    ("Event", "Hangup"),
                    ("Privilege", "call,all"),
                    *_snapshot("", ch),
                    ("Cause", "16"),
                    ("Cause-txt", "Normal Clearing"),
                ]
            )


def synthetic_events(n_events: int, *, seed: int = 22) -> Iterator[str]:
    """Yield ``n_events`` AMI events (text, each ending in a blank line)."""
    rng = random.Random(seed)
    produced = 0
    call = 0
    while True:
        for event in _Call(rng, call, 1_767_225_600.0).events():
            if produced >= n_events:
                return
            yield event
            produced += 1
        call += 1


def synthetic_stream(n_events: int, *, seed: int = 22) -> bytes:
    """``n_events`` synthetic events as the raw bytes Asterisk would send after login."""
    return "".join(synthetic_events(n_events, seed=seed)).encode("utf-8")
