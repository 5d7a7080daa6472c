"""Typed PBX events: the only language the core speaks.

The AMI edge (:mod:`ccops.pbx.normalize`) turns raw messages into these; the reducer
(:mod:`ccops.core.reducer`) and the KPI engine (:mod:`ccops.core.kpi`) consume them. Keeping
them small, read-only and slotted matters: tens of thousands pass through per second in
a surge.

Every event names the PBX it came from (``pbx``) and the wall-clock second it was received
(``at``): Asterisk's events carry no timestamp unless ``timestampevents`` is set, and the
console measures waits and SLA clocks in its own time anyway.

Three families:

* *link events* (:class:`LinkStateChanged`, :class:`SyncBegin`, :class:`SyncEnd`) come
  from the link supervisor, not from Asterisk;
* *snapshot items* (``…Item``) are rows of list actions run during a sync;
* *live events* mirror Asterisk's unsolicited events one to one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def event(cls: type[_T]) -> type[_T]:
    """Make an event class: a slotted, keyword-only, hashable dataclass, read-only to mypy.

    Events are never modified after construction, and ``mypy --strict`` (CI) rejects any
    assignment to a field (``frozen_default``). At run time they are *not* frozen: a frozen
    dataclass sets every field through ``object.__setattr__`` in ``__init__``, which makes
    constructing one ~2.5× slower, and about one event is built per AMI frame at surge
    rates. ``unsafe_hash`` keeps the hash-by-value a frozen dataclass had (events are
    compared and may be set members).
    """
    return dataclass(slots=True, kw_only=True, unsafe_hash=True)(cls)


# --------------------------------------------------------------------------- enums


class LinkState(enum.StrEnum):
    """Where one AMI link is in its life; anything but LIVE means the model is stale."""

    CONNECTING = "connecting"
    SYNCING = "syncing"
    LIVE = "live"
    DOWN = "down"
    AUTH_FAILED = "auth_failed"
    STOPPED = "stopped"


class DeviceState(enum.IntEnum):
    """Asterisk's numeric device state, as in ``QueueMember`` ``Status:``."""

    UNKNOWN = 0
    NOT_INUSE = 1
    INUSE = 2
    BUSY = 3
    INVALID = 4
    UNAVAILABLE = 5
    RINGING = 6
    RINGINUSE = 7
    ONHOLD = 8


class MemberChange(enum.StrEnum):
    """Which ``QueueMember…`` event a :class:`QueueMemberUpdate` came from."""

    STATUS = "status"
    ADDED = "added"
    REMOVED = "removed"
    PAUSE = "pause"
    PENALTY = "penalty"
    RINGINUSE = "ringinuse"


class SyncDomain(enum.StrEnum):
    """What a full sync can confirm; only confirmed domains are swept."""

    QUEUES = "queues"  # QueueStatus: params, members, entries
    ENDPOINTS = "endpoints"  # PJSIPShowEndpoints (+ contacts)
    REGISTRATIONS = "registrations"  # PJSIPShowRegistrationsOutbound
    CHANNELS = "channels"  # CoreShowChannels
    FLAGS = "flags"  # DBGetTree of the routing family


# --------------------------------------------------------------------------- base


@event
class PbxEvent:
    """Base of every event: which PBX, and when we received it (epoch seconds)."""

    pbx: str
    at: float


# --------------------------------------------------------------------------- link / sync


@event
class LinkStateChanged(PbxEvent):
    state: LinkState
    detail: str = ""  # e.g. "authentication failed: Authentication failed", "ping timeout"
    next_retry_at: float | None = None  # epoch seconds of the next connect attempt
    epoch: int = 0  # bumps on every successful login
    host: str = ""
    port: int = 0
    asterisk_version: str = ""


@event
class SyncBegin(PbxEvent):
    """A full sync starts: entities not confirmed by ``epoch``'s end will be swept."""

    epoch: int


@event
class SyncEnd(PbxEvent):
    """A full sync ended; only the domains in ``confirmed`` are swept."""

    epoch: int
    confirmed: frozenset[SyncDomain]
    failed: tuple[str, ...] = ()  # "PJSIPShowEndpoints: Permission denied", ...


# --------------------------------------------------------------------------- snapshot items


@event
class QueueParamsItem(PbxEvent):
    """``QueueParams`` from QueueStatus. Holdtime/TalkTime are Asterisk's moving averages:
    kept for display as "Asterisk says", never used as ASA/AHT."""

    queue: str
    strategy: str = ""
    max_callers: int = 0
    calls: int = 0
    service_level: int = 0  # seconds threshold configured in queues.conf
    ast_holdtime: int = 0
    ast_talktime: int = 0
    ast_completed: int = 0
    ast_abandoned: int = 0
    weight: int = 0


@event
class QueueMemberItem(PbxEvent):
    """``QueueMember`` from QueueStatus (``Name`` + ``Location`` in Asterisk's words)."""

    queue: str
    interface: str
    name: str
    state_interface: str = ""
    membership: str = "static"  # static | dynamic | realtime
    penalty: int = 0
    calls_taken: int = 0
    last_call: int = 0  # epoch seconds, 0 = never
    last_pause: int = 0
    login_time: int = 0
    in_call: bool = False
    status: DeviceState = DeviceState.UNKNOWN
    paused: bool = False
    paused_reason: str = ""
    wrapup_time: int = 0  # 0 = queue default


@event
class QueueEntryItem(PbxEvent):
    """``QueueEntry`` (a waiting caller) from QueueStatus; ``wait`` is seconds so far."""

    queue: str
    uniqueid: str
    channel: str
    position: int
    caller_num: str = ""
    caller_name: str = ""
    wait: int = 0


@event
class EndpointItem(PbxEvent):
    """``EndpointList`` from PJSIPShowEndpoints."""

    endpoint: str
    transport: str = ""
    aor: str = ""
    outbound_auths: str = ""
    contacts: tuple[str, ...] = ()  # "aor/uri" entries; Asterisk ends the list with a comma
    device_state: str = ""  # "Not in use", "Unavailable", "In use", ...
    active_channels: int = 0


@event
class ContactItem(PbxEvent):
    """``ContactList``/``ContactStatusDetail``: a contact and its qualify result."""

    aor: str
    uri: str
    endpoint: str = ""
    status: str = ""  # Reachable | Unreachable | NonQualified | Unknown | Created | Removed
    rtt_usec: int = 0
    # True: a registered contact (has an expiry); False: a static ``contact=`` one; None:
    # cannot tell. Used to tell trunks (static contacts) from desk phones (note 22).
    dynamic: bool | None = None


@event
class RegistrationItem(PbxEvent):
    """``OutboundRegistrationDetail`` (never carries the password: normalise drops auth)."""

    registration: str
    server_uri: str = ""
    client_uri: str = ""
    status: str = ""  # Registered | Unregistered | Rejected | ...
    next_reg: int = 0
    endpoint: str = ""


@event
class ChannelItem(PbxEvent):
    """``CoreShowChannel`` from CoreShowChannels."""

    channel: str
    uniqueid: str
    linkedid: str = ""
    state: str = ""  # ChannelStateDesc: Up, Ring, Ringing, ...
    caller_num: str = ""
    caller_name: str = ""
    context: str = ""
    exten: str = ""
    application: str = ""
    duration: int = 0  # seconds
    bridge_id: str = ""


@event
class DbEntry(PbxEvent):
    """A key read back from AstDB (``DBGetResponse``/``DBGetTreeResponse``).

    ``value`` None means the key is absent (DBGet answered "Database entry not found").
    """

    family: str
    key: str
    value: str | None


# --------------------------------------------------------------------------- queue live events


@event
class QueueCallerJoin(PbxEvent):
    queue: str
    uniqueid: str
    channel: str
    position: int
    count: int
    caller_num: str = ""
    caller_name: str = ""


@event
class QueueCallerLeave(PbxEvent):
    """The caller left the queue: answered (AgentConnect follows), abandoned or timed out
    (QueueCallerAbandon came first: Asterisk 22 sends it for both) or exited (neither)."""

    queue: str
    uniqueid: str
    position: int
    count: int


@event
class QueueCallerAbandon(PbxEvent):
    """The caller hung up while waiting *or* the Queue() timeout expired (Asterisk 22 sends
    this for both, HoldTime = the wait); the KPI engine tells them apart."""

    queue: str
    uniqueid: str
    position: int
    original_position: int
    hold_time: int


@event
class AgentCalled(PbxEvent):
    queue: str
    interface: str
    member_name: str
    uniqueid: str  # the caller's
    dest_channel: str = ""


@event
class AgentRingNoAnswer(PbxEvent):
    queue: str
    interface: str
    member_name: str
    uniqueid: str
    ring_time: int = 0  # milliseconds, as Asterisk reports it


@event
class AgentConnect(PbxEvent):
    queue: str
    interface: str
    member_name: str
    uniqueid: str
    hold_time: int  # seconds the caller waited
    ring_time: int = 0
    dest_channel: str = ""


@event
class AgentComplete(PbxEvent):
    queue: str
    interface: str
    member_name: str
    uniqueid: str
    hold_time: int
    talk_time: int
    reason: str = ""  # caller | agent | transfer


@event
class AgentDump(PbxEvent):
    queue: str
    interface: str
    member_name: str
    uniqueid: str


@event
class QueueMemberUpdate(PbxEvent):
    """Any of QueueMemberStatus/Added/Removed/Pause/Penalty/Ringinuse.

    Asterisk names the member ``MemberName`` + ``Interface`` in these events (``Name`` +
    ``Location`` in the list); normalisation hides that difference.
    """

    change: MemberChange
    queue: str
    interface: str
    name: str
    state_interface: str = ""
    membership: str = "static"
    penalty: int = 0
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    in_call: bool = False
    status: DeviceState = DeviceState.UNKNOWN
    paused: bool = False
    paused_reason: str = ""
    wrapup_time: int = 0


# --------------------------------------------------------------------------- channels


@event
class ChannelNew(PbxEvent):
    channel: str
    uniqueid: str
    linkedid: str = ""
    state: str = ""
    caller_num: str = ""
    caller_name: str = ""
    context: str = ""
    exten: str = ""


@event
class ChannelStateChange(PbxEvent):
    channel: str
    uniqueid: str
    state: str


@event
class ChannelHangup(PbxEvent):
    channel: str
    uniqueid: str
    cause: int = 0
    cause_txt: str = ""


@event
class ChannelHold(PbxEvent):
    """``Hold``/``Unhold``: feeds agent hold time (KPI 6)."""

    channel: str
    uniqueid: str
    on_hold: bool


@event
class Transfer(PbxEvent):
    """``BlindTransfer``/``AttendedTransfer``, counted for the transfer rate (KPI 19)."""

    kind: str  # blind | attended
    uniqueid: str  # transferer channel's uniqueid
    transferee_uniqueid: str = ""
    result: str = ""


# --------------------------------------------------------------------------- endpoints / trunks


@event
class PeerStatus(PbxEvent):
    """``PeerStatus`` (``Peer: PJSIP/carrier-b``); ``endpoint`` has the tech prefix removed."""

    endpoint: str
    status: str  # Reachable | Unreachable | Registered | Unregistered | Rejected | Lagged


@event
class ContactStatus(PbxEvent):
    aor: str
    uri: str
    endpoint: str
    status: str  # Reachable | Unreachable | Created | Removed | Updated | NonQualified
    rtt_usec: int = 0


@event
class RegistryStatus(PbxEvent):
    """``Registry``: outbound registration state (a timeout is reported as Rejected)."""

    username: str
    domain: str
    status: str


@event
class DeviceStateChanged(PbxEvent):
    device: str  # PJSIP/carrier-b, Custom:ccops-overflow-hotline, Queue:hotline_avail, ...
    state: str  # NOT_INUSE | INUSE | BUSY | UNAVAILABLE | RINGING | ONHOLD | UNKNOWN ...


# --------------------------------------------------------------------------- system


@event
class PbxReloaded(PbxEvent):
    """``Reload``: configuration may have changed; the link triggers a full resync."""

    module: str = ""


@event
class PbxShutdown(PbxEvent):
    shutdown: str = ""  # Cleanly | Uncleanly
    restart: bool = False


@event
class UserEvent(PbxEvent):
    """A dialplan ``UserEvent`` (keypad acknowledgements of pages come back this way)."""

    name: str
    fields: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def get(self, key: str, default: str = "") -> str:
        for k, v in self.fields:
            if k == key:
                return v
        return default


@event
class PageResponse(PbxEvent):
    """The paging dialplan's verdict on a call it answered (``config/asterisk/
    extensions_ccops_page.conf``): ``UserEvent: CcopsPageAck`` (the callee pressed 1) or
    ``CcopsPageNoAck`` (another key, no key, or hung up). Matched to the page by
    ``page_id`` (the Originate's ``CCOPS_PAGE_ID`` variable)."""

    page_id: str
    acknowledged: bool
    digit: str = ""
    reason: str = ""  # NoAck: "digit", "timeout" or "hangup"
    uniqueid: str = ""
    channel: str = ""


@event
class OriginateResult(PbxEvent):
    """``OriginateResponse``. Broadcast to every session with the originator's ActionID:
    only the link that owns ``action_id`` may act on it."""

    action_id: str
    success: bool
    reason: int = 0
    uniqueid: str = ""
    channel: str = ""


Event = (
    LinkStateChanged
    | SyncBegin
    | SyncEnd
    | QueueParamsItem
    | QueueMemberItem
    | QueueEntryItem
    | EndpointItem
    | ContactItem
    | RegistrationItem
    | ChannelItem
    | DbEntry
    | QueueCallerJoin
    | QueueCallerLeave
    | QueueCallerAbandon
    | AgentCalled
    | AgentRingNoAnswer
    | AgentConnect
    | AgentComplete
    | AgentDump
    | QueueMemberUpdate
    | ChannelNew
    | ChannelStateChange
    | ChannelHangup
    | ChannelHold
    | Transfer
    | PeerStatus
    | ContactStatus
    | RegistryStatus
    | DeviceStateChanged
    | PbxReloaded
    | PbxShutdown
    | UserEvent
    | PageResponse
    | OriginateResult
)
"""Every event the core understands."""
