"""Runtime state of the simulated PBX: channels, bridges, queues, members, trunks.

Plain mutable objects owned by :class:`ccops.sim.engine.Engine`; nothing here emits events.
A channel caches its AMI snapshot text (one per header prefix) because the same snapshot is
repeated in many events (AgentCalled carries two) and rebuilding it dominates the cost of an
event at surge rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccops.sim.centre import AgentSpec, DeskSpec, QueueSpec, TrunkSpec
    from ccops.sim.clockwork import Timer

STATE_DESC = {
    0: "Down",
    1: "Rsrvd",
    2: "OffHook",
    3: "Dialing",
    4: "Ring",
    5: "Ringing",
    6: "Up",
    7: "Busy",
    8: "Dialing Offhook",
    9: "Pre-ring",
}
DOWN, RING, RINGING, UP = 0, 4, 5, 6

# Device states: numeric (QueueMember Status) and text (DeviceStateChange State).
DEV_UNKNOWN, DEV_NOT_INUSE, DEV_INUSE, DEV_BUSY, DEV_INVALID = 0, 1, 2, 3, 4
DEV_UNAVAILABLE, DEV_RINGING, DEV_RINGINUSE, DEV_ONHOLD = 5, 6, 7, 8
DEVSTATE_TEXT = {
    DEV_UNKNOWN: "UNKNOWN",
    DEV_NOT_INUSE: "NOT_INUSE",
    DEV_INUSE: "INUSE",
    DEV_BUSY: "BUSY",
    DEV_INVALID: "INVALID",
    DEV_UNAVAILABLE: "UNAVAILABLE",
    DEV_RINGING: "RINGING",
    DEV_RINGINUSE: "RINGINUSE",
    DEV_ONHOLD: "ONHOLD",
}
DEVSTATE_PJSIP = {
    DEV_UNKNOWN: "Unknown",
    DEV_NOT_INUSE: "Not in use",
    DEV_INUSE: "In use",
    DEV_BUSY: "Busy",
    DEV_INVALID: "Invalid",
    DEV_UNAVAILABLE: "Unavailable",
    DEV_RINGING: "Ringing",
    DEV_RINGINUSE: "Ring+Inuse",
    DEV_ONHOLD: "On Hold",
}


def _cid(value: str) -> str:
    return value or "<unknown>"


@dataclass(eq=False, slots=True)
class Channel:
    """One channel, with the fields of an Asterisk channel snapshot."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    state: int = DOWN
    priority: int = 1
    cid_num: str = ""
    cid_name: str = ""
    conn_num: str = ""
    conn_name: str = ""
    language: str = "en"
    accountcode: str = ""
    app: str = ""
    appdata: str = ""
    created: float = 0.0
    bridge: Bridge | None = None
    trunk: str | None = None
    device: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    alive: bool = True
    _cache: dict[str, str] = field(default_factory=dict)

    def touch(self) -> None:
        """Forget cached snapshots after any change of a snapshot field."""
        self._cache.clear()

    def snapshot(self, prefix: str = "") -> str:
        """The channel-snapshot header block, in Asterisk 22's order."""
        text = self._cache.get(prefix)
        if text is None:
            p = prefix
            text = (
                f"{p}Channel: {self.name}\r\n"
                f"{p}ChannelState: {self.state}\r\n"
                f"{p}ChannelStateDesc: {STATE_DESC.get(self.state, 'Unknown')}\r\n"
                f"{p}CallerIDNum: {_cid(self.cid_num)}\r\n"
                f"{p}CallerIDName: {_cid(self.cid_name)}\r\n"
                f"{p}ConnectedLineNum: {_cid(self.conn_num)}\r\n"
                f"{p}ConnectedLineName: {_cid(self.conn_name)}\r\n"
                f"{p}Language: {self.language}\r\n"
                f"{p}AccountCode: {self.accountcode}\r\n"
                f"{p}Context: {self.context}\r\n"
                f"{p}Exten: {self.exten}\r\n"
                f"{p}Priority: {self.priority}\r\n"
                f"{p}Uniqueid: {self.uniqueid}\r\n"
                f"{p}Linkedid: {self.linkedid}\r\n"
            )
            self._cache[prefix] = text
        return text


@dataclass(eq=False, slots=True)
class Bridge:
    """A basic two-party bridge (what app_queue creates when an agent answers)."""

    uniqueid: str
    channels: list[Channel] = field(default_factory=list)

    def snapshot(self, prefix: str = "") -> str:
        p = prefix
        return (
            f"{p}BridgeUniqueid: {self.uniqueid}\r\n"
            f"{p}BridgeType: basic\r\n"
            f"{p}BridgeTechnology: simple_bridge\r\n"
            f"{p}BridgeCreator: <unknown>\r\n"
            f"{p}BridgeName: <unknown>\r\n"
            f"{p}BridgeNumChannels: {len(self.channels)}\r\n"
            f"{p}BridgeVideoSourceMode: none\r\n"
        )


@dataclass(eq=False, slots=True)
class Agent:
    """A person behind a Local member interface; shared by all their queue memberships."""

    spec: AgentSpec
    iface: str = ""
    device_state: int = DEV_NOT_INUSE
    call: Call | None = None
    ringing: Call | None = None
    last_call_end: float = -1e9
    wrapup_until: float = -1e9
    pause_pending: tuple[str, float] | None = None
    resume_timer: Timer | None = None
    pause_timer: Timer | None = None

    @property
    def interface(self) -> str:
        return self.iface or self.spec.interface

    @property
    def device(self) -> str:
        """Device name: a Local interface without its ``/n`` option."""
        iface = self.interface
        if iface.startswith("Local/") and iface.count("/") >= 2:
            return iface.rsplit("/", 1)[0]
        return iface


@dataclass(eq=False, slots=True)
class Member:
    """One agent's membership of one queue (what QueueMember* events describe)."""

    queue: Queue
    agent: Agent
    interface: str
    name: str
    state_interface: str
    penalty: int = 0
    dynamic: bool = False
    paused: bool = False
    paused_reason: str = ""
    calls: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    in_call: bool = False
    ringinuse: bool = False
    wrapuptime: int = 0


@dataclass(eq=False, slots=True)
class Waiting:
    """A caller inside a queue (a QueueEntry)."""

    call: Call
    queue: Queue
    joined: float
    original_position: int
    patience: Timer | None = None
    timeout: Timer | None = None
    retry: Timer | None = None
    announce: Timer | None = None
    offer: Offer | None = None


@dataclass(eq=False, slots=True)
class Offer:
    """An agent being rung for a waiting caller."""

    member: Member
    local1: Channel
    local2: Channel
    started: float
    timer: Timer | None = None


@dataclass(eq=False, slots=True)
class Queue:
    """A queue with Asterisk's running statistics (moving averages, SL counters)."""

    spec: QueueSpec
    members: dict[str, Member] = field(default_factory=dict)
    waiting: list[Waiting] = field(default_factory=list)
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    rr_next: int = 0

    @property
    def name(self) -> str:
        return self.spec.name

    def position(self, waiting: Waiting) -> int:
        return self.waiting.index(waiting) + 1


@dataclass(eq=False, slots=True)
class Call:
    """One inbound call from arrival to last hangup; the traffic model's unit of work."""

    caller: Channel
    trunk: str
    arrived: float
    queue_name: str = ""
    waiting: Waiting | None = None
    agent_channel: Channel | None = None
    agent_peer: Channel | None = None
    member: Member | None = None
    bridge: Bridge | None = None
    connected_at: float = 0.0
    queue_joined: float = 0.0
    ring_started: float = 0.0
    on_hold: bool = False
    end_timer: Timer | None = None
    noise_timers: list[Timer] = field(default_factory=list)
    overflowed: bool = False
    done: bool = False


@dataclass(eq=False, slots=True)
class Trunk:
    """A carrier: reachability as Asterisk sees it (after a qualify) and as it really is."""

    spec: TrunkSpec
    reachable: bool = True
    really_up: bool = True
    rtt_usec: int = 0
    channels: int = 0
    blocked: int = 0
    qualify_timer: Timer | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(eq=False, slots=True)
class Registration:
    """An outbound registration to a carrier."""

    trunk: Trunk
    status: str = "Unregistered"
    rejecting: bool = False
    next_reg: float = 0.0
    timer: Timer | None = None

    @property
    def name(self) -> str:
        return f"{self.trunk.name}-reg"

    @property
    def client_uri(self) -> str:
        s = self.trunk.spec
        return f"sip:{s.register_user}@{s.host}:{s.port}"

    @property
    def server_uri(self) -> str:
        return self.trunk.spec.uri


@dataclass(eq=False, slots=True)
class Desk:
    """A registering desk phone."""

    spec: DeskSpec
    registered: bool = True
    rtt_usec: int = 0
    reg_expires: float = 0.0
