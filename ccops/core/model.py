"""The live model of each PBX: plain mutable, slotted dataclasses.

Why mutable: the reducer (:mod:`ccops.core.reducer`) applies tens of thousands of events a
second in a surge, and copying a PBX's state per event cannot keep up. Ownership is what
keeps this safe: only the reducer mutates these objects, always on the daemon's one event
loop; everyone else reads them between events or works from :meth:`PbxState.as_dict`.

``as_dict()`` is the published shape of the state (the daemon's status API and
``ccops status --json``): stable snake_case keys, times as epoch seconds (floats) or
``None`` when unknown, lists sorted by name/position so two equal states serialise equally.

Every collection is bounded: entities are bounded by what Asterisk reports (and swept on
resync), histories are deques with a ``maxlen``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ccops.core.events import DeviceState, LinkState

# --------------------------------------------------------------------------- agent states

AVAILABLE = "available"
RINGING = "ringing"
ON_CALL = "on_call"
ON_HOLD = "on_hold"
ACW = "acw"
PAUSED = "paused"  # shown as "paused:<reason>" when Asterisk gives a reason
UNAVAILABLE = "unavailable"
LOGGED_OUT = "logged_out"

AGENT_STATES: tuple[str, ...] = (
    AVAILABLE,
    RINGING,
    ON_CALL,
    ON_HOLD,
    ACW,
    PAUSED,
    UNAVAILABLE,
    LOGGED_OUT,
)
"""Base names of the domain agent states (domain.md §4.4); ``paused`` carries a reason."""

TRUNK_HISTORY = 64  # up/down transitions kept per endpoint
NO_MARK = -1  # "never stamped by any sync or live event"


def base_state(state: str) -> str:
    """``paused:meal`` → ``paused``; every other state is its own base."""
    return PAUSED if state.startswith(PAUSED) else state


def _opt(value: float) -> float | None:
    """0 is how the model says "never"; the API says ``None``."""
    return value if value else None


# --------------------------------------------------------------------------- link


@dataclass(slots=True)
class LinkInfo:
    """The AMI link as the supervisor reports it. Anything but LIVE means *stale*: the rest of
    the model is the last thing Asterisk told us, shown with ``since`` and the retry time."""

    state: LinkState = LinkState.CONNECTING
    detail: str = ""
    since: float = 0.0
    next_retry_at: float | None = None
    epoch: int = 0
    last_event_at: float = 0.0
    asterisk_version: str = ""
    host: str = ""
    port: int = 0
    simulated: bool = False
    last_reload_at: float = 0.0
    last_shutdown_at: float = 0.0
    last_shutdown: str = ""  # "Cleanly" / "Uncleanly", with " (restart)" when restarting

    @property
    def stale(self) -> bool:
        return self.state is not LinkState.LIVE

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "stale": self.stale,
            "detail": self.detail,
            "since": _opt(self.since),
            "next_retry_at": self.next_retry_at,
            "epoch": self.epoch,
            "last_event_at": _opt(self.last_event_at),
            "asterisk_version": self.asterisk_version,
            "host": self.host,
            "port": self.port,
            "simulated": self.simulated,
            "last_reload_at": _opt(self.last_reload_at),
            "last_shutdown_at": _opt(self.last_shutdown_at),
            "last_shutdown": self.last_shutdown,
        }


# --------------------------------------------------------------------------- queues


@dataclass(slots=True)
class Caller:
    """A caller waiting in a queue. ``joined_at`` is our clock: the join event's receipt
    time, or for a snapshot row the receipt time minus the wait Asterisk reported."""

    uniqueid: str
    channel: str
    position: int
    joined_at: float
    caller_num: str = ""
    caller_name: str = ""
    abandoned: bool = False  # QueueCallerAbandon seen; the Leave follows
    mark: int = NO_MARK

    def as_dict(self) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid,
            "channel": self.channel,
            "position": self.position,
            "joined_at": self.joined_at,
            "caller_num": self.caller_num,
            "caller_name": self.caller_name,
            "abandoned": self.abandoned,
        }


@dataclass(slots=True)
class Member:
    """A queue member (one interface in one queue) and its domain state (§4.4).

    Asterisk's fields are kept as reported (``status``, ``in_call``, ``paused``…); ``state``
    and ``state_since`` are ours, recomputed by the reducer after every event touching the
    member. ``wrapup_until`` is derived: the end of the last call we saw plus the wrap-up
    time (member ``Wrapuptime`` when non-zero, else the queue's setting).
    """

    interface: str
    name: str = ""
    state_interface: str = ""
    membership: str = "static"
    penalty: int = 0
    calls_taken: int = 0
    last_call: int = 0  # Asterisk's epoch seconds of the last call's end, 0 = never
    last_pause: int = 0
    login_time: int = 0
    in_call: bool = False
    status: DeviceState = DeviceState.UNKNOWN
    paused: bool = False
    paused_reason: str = ""
    paused_since: float = 0.0
    wrapup_time: int = 0  # member override, 0 = queue default
    wrapup_until: float = 0.0
    state: str = AVAILABLE
    state_since: float = 0.0
    ringing_uniqueid: str = ""
    ringing_caller: str = ""
    ringing_since: float = 0.0
    current_uniqueid: str = ""
    current_caller: str = ""
    current_channel: str = ""
    call_started_at: float = 0.0
    call_ended_at: float = 0.0  # our clock, last AgentComplete (or Asterisk's LastCall)
    on_hold: bool = False
    hold_since: float = 0.0
    mark: int = NO_MARK

    @property
    def busy_elsewhere(self) -> bool:
        """Device in use while not on a call from this queue (Status 2, InCall 0)."""
        return (
            not self.in_call
            and not self.current_uniqueid
            and self.status
            in (DeviceState.INUSE, DeviceState.BUSY, DeviceState.RINGINUSE, DeviceState.ONHOLD)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "interface": self.interface,
            "name": self.name,
            "state_interface": self.state_interface,
            "membership": self.membership,
            "penalty": self.penalty,
            "calls_taken": self.calls_taken,
            "last_call": _opt(float(self.last_call)),
            "last_pause": _opt(float(self.last_pause)),
            "login_time": _opt(float(self.login_time)),
            "in_call": self.in_call,
            "device_status": self.status.name.lower(),
            "device_status_code": int(self.status),
            "paused": self.paused,
            "paused_reason": self.paused_reason,
            "paused_since": _opt(self.paused_since) if self.paused else None,
            "wrapup_time": self.wrapup_time,
            "wrapup_until": _opt(self.wrapup_until),
            "state": self.state,
            "state_since": _opt(self.state_since),
            "busy_elsewhere": self.busy_elsewhere,
            "ringing": (
                {
                    "uniqueid": self.ringing_uniqueid,
                    "caller": self.ringing_caller,
                    "since": _opt(self.ringing_since),
                }
                if self.ringing_uniqueid
                else None
            ),
            "current_call": (
                {
                    "uniqueid": self.current_uniqueid,
                    "caller": self.current_caller,
                    "channel": self.current_channel,
                    "started_at": _opt(self.call_started_at),
                    "on_hold": self.on_hold,
                    "hold_since": _opt(self.hold_since) if self.on_hold else None,
                }
                if self.current_uniqueid
                else None
            ),
        }


@dataclass(slots=True)
class QueueParams:
    """``QueueParams`` as Asterisk reports them. The ``ast_*`` figures are Asterisk's own
    moving averages and counters: displayed as "Asterisk says", never used as our KPIs."""

    max_callers: int = 0
    calls: int = 0
    service_level: int = 0
    ast_holdtime: int = 0
    ast_talktime: int = 0
    ast_completed: int = 0
    ast_abandoned: int = 0
    weight: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_callers": self.max_callers,
            "calls": self.calls,
            "service_level": self.service_level,
            "ast_holdtime": self.ast_holdtime,
            "ast_talktime": self.ast_talktime,
            "ast_completed": self.ast_completed,
            "ast_abandoned": self.ast_abandoned,
            "weight": self.weight,
        }


@dataclass(slots=True)
class Queue:
    name: str
    strategy: str = ""
    params: QueueParams = field(default_factory=QueueParams)
    wrapup_time: int = 0  # our setting (queues.conf wrapuptime is not in QueueParams)
    callers: dict[str, Caller] = field(default_factory=dict)  # by uniqueid
    members: dict[str, Member] = field(default_factory=dict)  # by interface
    mark: int = NO_MARK

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "strategy": self.strategy,
            "params": self.params.as_dict(),
            "wrapup_time": self.wrapup_time,
            "waiting": len(self.callers),
            "callers": [
                c.as_dict()
                for c in sorted(self.callers.values(), key=lambda c: (c.position, c.uniqueid))
            ],
            "members": [self.members[k].as_dict() for k in sorted(self.members)],
        }


# --------------------------------------------------------------------------- endpoints


@dataclass(slots=True)
class Contact:
    """One contact of an endpoint's AOR. ``dynamic`` is True for a registered contact, False
    for a static ``contact=`` one, None while we cannot tell."""

    aor: str
    uri: str
    status: str = ""  # Reachable | Unreachable | NonQualified | Unknown | Created
    rtt_usec: int = 0
    dynamic: bool | None = None
    since: float = 0.0  # last status change
    mark: int = NO_MARK

    def as_dict(self) -> dict[str, Any]:
        return {
            "aor": self.aor,
            "uri": self.uri,
            "status": self.status,
            "rtt_usec": self.rtt_usec,
            "dynamic": self.dynamic,
            "since": _opt(self.since),
        }


@dataclass(slots=True)
class Registration:
    """An outbound registration (``OutboundRegistrationDetail`` / ``Registry``)."""

    name: str
    server_uri: str = ""
    client_uri: str = ""
    status: str = ""  # Registered | Unregistered | Rejected | ...
    next_reg_at: float = 0.0  # receipt time + NextReg seconds, 0 = unknown
    endpoint: str = ""  # the endpoint it belongs to, "" if we could not match one
    since: float = 0.0
    mark: int = NO_MARK

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "server_uri": self.server_uri,
            "client_uri": self.client_uri,
            "status": self.status,
            "next_reg_at": _opt(self.next_reg_at),
            "endpoint": self.endpoint,
            "since": _opt(self.since),
        }


@dataclass(slots=True)
class Transition:
    """One up/down flip of an endpoint's reachability."""

    at: float
    up: bool
    cause: str  # the event that decided it: "ContactStatus Unreachable", ...

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at, "up": self.up, "cause": self.cause}


@dataclass(slots=True)
class Endpoint:
    """A PJSIP endpoint: a trunk or a desk phone.

    Trunk rule (see :func:`ccops.core.reducer.Reducer`): with trunks configured for the PBX,
    exactly those; otherwise an endpoint with an outbound registration or a static contact.
    ``reachable`` is None while nothing says either way (no qualify, no events yet).
    """

    name: str
    is_trunk: bool = False
    capacity: int | None = None  # from TrunkConfig; None = not configured
    transport: str = ""
    aor: str = ""
    outbound_auths: str = ""
    contacts: dict[str, Contact] = field(default_factory=dict)  # by URI
    reachable: bool | None = None
    up: bool | None = None  # reachable and (if it registers) registered; None = unknown
    peer_status: str = ""
    device_state: str = ""  # NOT_INUSE | INUSE | BUSY | UNAVAILABLE | RINGING | ... (upper)
    registration: str = ""  # name of the matched Registration, "" if none
    registration_status: str = ""
    channels_in_use: int = 0  # our count of live PJSIP/<name>-… channels
    reported_channels: int = 0  # ActiveChannels from the last PJSIPShowEndpoints
    last_change: float = 0.0
    history: deque[Transition] = field(default_factory=lambda: deque(maxlen=TRUNK_HISTORY))
    mark: int = NO_MARK

    @property
    def usage(self) -> float | None:
        """Channels in use over capacity, None when no capacity is configured."""
        if not self.capacity:
            return None
        return self.channels_in_use / self.capacity

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "is_trunk": self.is_trunk,
            "capacity": self.capacity,
            "channels_in_use": self.channels_in_use,
            "reported_channels": self.reported_channels,
            "usage": self.usage,
            "reachable": self.reachable,
            "up": self.up,
            "peer_status": self.peer_status,
            "device_state": self.device_state,
            "registration": self.registration or None,
            "registration_status": self.registration_status,
            "transport": self.transport,
            "aor": self.aor,
            "outbound_auths": self.outbound_auths,
            "contacts": [self.contacts[k].as_dict() for k in sorted(self.contacts)],
            "last_change": _opt(self.last_change),
            "history": [t.as_dict() for t in self.history],
        }


# --------------------------------------------------------------------------- channels, flags


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    state: str = ""
    linkedid: str = ""
    caller_num: str = ""
    caller_name: str = ""
    context: str = ""
    exten: str = ""
    created_at: float = 0.0
    endpoint: str = ""  # "carrier-b" for PJSIP/carrier-b-0000001a, else ""
    mark: int = NO_MARK

    def as_dict(self) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid,
            "name": self.name,
            "state": self.state,
            "linkedid": self.linkedid,
            "caller_num": self.caller_num,
            "caller_name": self.caller_name,
            "context": self.context,
            "exten": self.exten,
            "created_at": _opt(self.created_at),
            "endpoint": self.endpoint,
        }


@dataclass(slots=True)
class RoutingFlag:
    """A routing key as read back from AstDB: what the PBX now says, not what we asked."""

    family: str
    key: str
    value: str
    read_at: float
    mark: int = NO_MARK

    def as_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "key": self.key,
            "value": self.value,
            "read_at": self.read_at,
        }


# --------------------------------------------------------------------------- PBX and center


@dataclass(slots=True)
class PbxState:
    """Everything known about one PBX.

    ``version`` grows by one for every event that changed something. ``epoch`` is the epoch
    of the last ``SyncBegin``; ``mark`` is the sync generation every entity touched since is
    stamped with (one per ``SyncBegin``, even if the supervisor reuses an epoch), so the
    ``SyncEnd`` sweep removes exactly what neither the snapshot nor a live event confirmed.
    ``engaged`` is an
    index (caller uniqueid → (queue, interface) of members ringing for or talking to it) so
    a Hangup or Leave does not scan every member; it is rebuilt after each queue sync.
    """

    name: str
    link: LinkInfo = field(default_factory=LinkInfo)
    queues: dict[str, Queue] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    registrations: dict[str, Registration] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)  # by uniqueid
    flags: dict[tuple[str, str], RoutingFlag] = field(default_factory=dict)
    channel_counts: dict[str, int] = field(default_factory=dict)  # endpoint → live channels
    engaged: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    anomalies: dict[str, int] = field(default_factory=dict)
    last_error: str = ""  # the last reducer failure (a bug), for diagnosis
    version: int = 0
    epoch: int = 0
    mark: int = 0  # sync generation entities are stamped with (grows on every SyncBegin)
    syncing: bool = False
    synced_at: float = 0.0
    sync_failed: tuple[str, ...] = ()

    def count(self, anomaly: str) -> None:
        """Count an event the model could not make sense of (never an exception)."""
        self.anomalies[anomaly] = self.anomalies.get(anomaly, 0) + 1

    def trunks(self) -> list[Endpoint]:
        return [self.endpoints[k] for k in sorted(self.endpoints) if self.endpoints[k].is_trunk]

    def as_dict(self, *, channels: bool = True) -> dict[str, Any]:
        """The published state. ``channels=False`` leaves out the (possibly long) channel
        list but keeps the count."""
        eps = [self.endpoints[k] for k in sorted(self.endpoints)]
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "epoch": self.epoch,
            "syncing": self.syncing,
            "synced_at": _opt(self.synced_at),
            "sync_failed": list(self.sync_failed),
            "link": self.link.as_dict(),
            "queues": [self.queues[k].as_dict() for k in sorted(self.queues)],
            "trunks": [e.as_dict() for e in eps if e.is_trunk],
            "endpoints": [e.as_dict() for e in eps if not e.is_trunk],
            "registrations": [self.registrations[k].as_dict() for k in sorted(self.registrations)],
            "flags": [self.flags[k].as_dict() for k in sorted(self.flags)],
            "channel_count": len(self.channels),
            "anomalies": dict(sorted(self.anomalies.items())),
            "last_error": self.last_error,
        }
        if channels:
            out["channels"] = [self.channels[k].as_dict() for k in sorted(self.channels)]
        return out


@dataclass(slots=True)
class CenterState:
    """All PBXs of the center, by name."""

    pbxs: dict[str, PbxState] = field(default_factory=dict)

    def as_dict(self, *, channels: bool = True) -> dict[str, Any]:
        return {"pbxs": [self.pbxs[k].as_dict(channels=channels) for k in sorted(self.pbxs)]}
