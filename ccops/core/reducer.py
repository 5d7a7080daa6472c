"""The reducer: ``apply(state, event) → changes``, deterministic and free of I/O.

Why it mutates in place: copying a PBX's state for every event cannot reach the tens of
thousands of events a second a surge produces. What purity buys is kept: the reducer reads
nothing but its arguments and its settings (no clock, no I/O, no randomness), so the same
events applied to the same starting state always give the same state (the tests replay a
stream twice and compare :meth:`~ccops.core.model.PbxState.as_dict`). Time comes only from
events (``event.at``) or from the ``now`` passed to :meth:`Reducer.expire`.

``apply`` returns the keys of what changed, so the publisher can coalesce deltas:

* ``("link",)``: link / sync / reload information;
* ``("pbx",)``: everything may have changed (after a sync sweep): send a snapshot;
* ``("queue", q)``, ``("member", q, interface)``, ``("trunk", name)`` (an endpoint that
  is a trunk), ``("endpoint", name)`` (one that is not), ``("registration", name)``,
  ``("channel", uniqueid)``, ``("flag", family, key)``.

Sync is mark-and-sweep: ``SyncBegin`` starts a new generation (``state.mark``); every
snapshot row and every live event stamps what it touches with it; ``SyncEnd`` removes, in
the domains it confirms only, whatever was not stamped. After a sync the model is exactly
what Asterisk reported, plus what live events created meanwhile.

Nothing here raises on odd input: a leave for a caller we never saw, a SyncEnd for another
epoch, a complete for a call we do not know are counted in ``state.anomalies``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ccops.config import KpiConfig, PbxConfig, TrunkConfig
from ccops.core.derive import member_state
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
    DeviceStateChanged,
    EndpointItem,
    Event,
    LinkStateChanged,
    MemberChange,
    OriginateResult,
    PageResponse,
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
    SyncBegin,
    SyncDomain,
    SyncEnd,
    Transfer,
    UserEvent,
)
from ccops.core.model import (
    ACW,
    Caller,
    Channel,
    Contact,
    Endpoint,
    Member,
    PbxState,
    Queue,
    Registration,
    RoutingFlag,
    Transition,
)

Change = tuple[str, ...]
LINK: Change = ("link",)
PBX: Change = ("pbx",)
_NONE: tuple[Change, ...] = ()

_SUPERVISOR_EVENTS = frozenset({LinkStateChanged, SyncBegin, SyncEnd})

# "Not in use" (EndpointList) and "NOT_INUSE" (DeviceStateChange) mean the same thing.
_DEVICE_STATE_TEXT = {
    "not in use": "NOT_INUSE",
    "in use": "INUSE",
    "busy": "BUSY",
    "invalid": "INVALID",
    "unavailable": "UNAVAILABLE",
    "ringing": "RINGING",
    "ring+inuse": "RINGINUSE",
    "ring+in use": "RINGINUSE",
    "on hold": "ONHOLD",
    "unknown": "UNKNOWN",
}
_DEVICE_DOWN = frozenset({"UNAVAILABLE", "INVALID"})
_DEVICE_UP = frozenset({"NOT_INUSE", "INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})


def _device_state(text: str) -> str:
    return _DEVICE_STATE_TEXT.get(text.lower()) or text.upper().replace(" ", "_")


def _pjsip_endpoint_of_channel(name: str) -> str:
    """``PJSIP/carrier-b-0000001a`` → ``carrier-b``; '' for other technologies."""
    if not name.startswith("PJSIP/"):
        return ""
    return name[6:].rpartition("-")[0]


def _device_of_channel(name: str) -> str:
    """``PJSIP/6001-00000012`` → ``PJSIP/6001`` (the device a member's interface names)."""
    head, sep, _ = name.rpartition("-")
    return head if sep else name


def _uri_key(uri: str) -> str:
    """A URI reduced for matching: no <>, scheme, params or trailing slash; lower case."""
    uri = uri.strip().strip("<>").lower()
    for scheme in ("sips:", "sip:"):
        if uri.startswith(scheme):
            uri = uri[len(scheme) :]
            break
    return uri.split(";", 1)[0].split("?", 1)[0].rstrip("/")


def _host_key(uri: str) -> str:
    """The ``host[:port]`` of a SIP URI, for matching a registration to a trunk's contact."""
    return _uri_key(uri).rpartition("@")[2]


def _same_host(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    # one side without a port matches the other's host
    ha, _, pa = a.partition(":")
    hb, _, pb = b.partition(":")
    return ha == hb and (not pa or not pb)


class Reducer:
    """Applies events to one PBX's :class:`PbxState`.

    Settings (never changed by events): the PBX name, the configured trunks with their
    capacity, and the wrap-up time per queue (queues.conf ``wrapuptime`` is not in
    ``QueueParams``, so it is configuration here: ``queue_wrapup[queue]``, else
    ``default_wrapup``; a member's non-zero ``Wrapuptime`` wins over both).

    Trunk rule: if ``trunks`` is non-empty, an endpoint is a trunk exactly when it is
    listed there (capacity from the config). Otherwise it is a trunk when it has an outbound
    registration, or a static contact (``contact=`` in pjsip.conf: listed by
    ``PJSIPShowEndpoints`` but not by ``PJSIPShowContacts``, note 22, or reported with no
    expiry); desk phones, whose contacts are registered (dynamic), are not trunks.
    """

    def __init__(
        self,
        pbx: str,
        *,
        trunks: Sequence[TrunkConfig] = (),
        default_wrapup: int = 0,
        queue_wrapup: Mapping[str, int] | None = None,
        simulated: bool = False,
    ) -> None:
        self.pbx = pbx
        self.simulated = simulated
        self._capacity: dict[str, int] = {t.name: t.capacity for t in trunks}
        self._default_wrapup = default_wrapup
        self._queue_wrapup: dict[str, int] = dict(queue_wrapup or {})
        handlers: dict[type[Any], Callable[[PbxState, Any], Sequence[Change]]] = {
            LinkStateChanged: self._link,
            SyncBegin: self._sync_begin,
            SyncEnd: self._sync_end,
            QueueParamsItem: self._queue_params,
            QueueMemberItem: self._member_row,
            QueueEntryItem: self._queue_entry,
            EndpointItem: self._endpoint_row,
            ContactItem: self._contact_row,
            RegistrationItem: self._registration_row,
            ChannelItem: self._channel_row,
            DbEntry: self._db_entry,
            QueueCallerJoin: self._join,
            QueueCallerLeave: self._leave,
            QueueCallerAbandon: self._abandon,
            AgentCalled: self._called,
            AgentRingNoAnswer: self._ring_over,
            AgentDump: self._ring_over,
            AgentConnect: self._connect,
            AgentComplete: self._complete,
            QueueMemberUpdate: self._member_update,
            ChannelNew: self._newchannel,
            ChannelStateChange: self._newstate,
            ChannelHangup: self._hangup,
            ChannelHold: self._hold,
            PeerStatus: self._peer_status,
            ContactStatus: self._contact_status,
            RegistryStatus: self._registry,
            DeviceStateChanged: self._device_state_changed,
            PbxReloaded: self._reloaded,
            PbxShutdown: self._shutdown,
            Transfer: self._nothing,
            UserEvent: self._nothing,
            PageResponse: self._nothing,
            OriginateResult: self._nothing,
        }
        self._handlers = handlers

    @classmethod
    def from_config(
        cls,
        pbx: PbxConfig,
        kpi: KpiConfig | None = None,
        queue_wrapup: Mapping[str, int] | None = None,
    ) -> Reducer:
        return cls(
            pbx.name,
            trunks=pbx.trunks,
            default_wrapup=kpi.default_wrapup if kpi is not None else 0,
            queue_wrapup=queue_wrapup,
            simulated=pbx.simulated,
        )

    def new_state(self) -> PbxState:
        state = PbxState(name=self.pbx)
        state.link.simulated = self.simulated
        return state

    # ------------------------------------------------------------------ entry points

    def apply(self, state: PbxState, event: Event) -> Sequence[Change]:
        """Apply one event; return what changed (empty if nothing did)."""
        if event.pbx != state.name:
            state.count("event_for_other_pbx")
            return _NONE
        kind = type(event)
        handler = self._handlers.get(kind)
        if handler is None:
            state.count("unhandled_event")
            return _NONE
        if kind not in _SUPERVISOR_EVENTS and event.at > state.link.last_event_at:
            state.link.last_event_at = event.at
        try:
            changes = handler(state, event)
        except Exception as exc:  # a reducer bug must not stop ingest: count it, resend all
            state.count(f"reducer_error:{kind.__name__}")
            state.last_error = f"{kind.__name__}: {type(exc).__name__}: {exc}"[:300]
            changes = (PBX,)
        if changes:
            state.version += 1
        return changes

    def apply_all(self, state: PbxState, events: Iterable[Event]) -> set[Change]:
        """Apply events in order; the union of their changes."""
        out: set[Change] = set()
        for event in events:
            out.update(self.apply(state, event))
        return out

    def expire(self, state: PbxState, now: float) -> Sequence[Change]:
        """End wrap-ups that ran out by ``now`` (no event announces that). Call it on a
        timer; deterministic because ``now`` is an argument."""
        changes: list[Change] = []
        for q in state.queues.values():
            for m in q.members.values():
                expired = m.state == ACW and 0 < m.wrapup_until <= now and not m.paused
                if expired and self._refresh(m, now, since=m.wrapup_until):
                    changes.append(("member", q.name, m.interface))
        if changes:
            state.version += 1
        return changes

    # ------------------------------------------------------------------ helpers: queues

    def _queue(self, state: PbxState, name: str) -> Queue:
        q = state.queues.get(name)
        if q is None:
            q = Queue(name=name, wrapup_time=self._queue_wrapup.get(name, self._default_wrapup))
            state.queues[name] = q
        q.mark = state.mark
        return q

    def _member(self, state: PbxState, q: Queue, interface: str, name: str, at: float) -> Member:
        m = q.members.get(interface)
        if m is None:
            m = Member(interface=interface, name=name, state_since=at)
            q.members[interface] = m
        elif name and not m.name:
            m.name = name
        m.mark = state.mark
        return m

    def _refresh(self, m: Member, at: float, since: float | None = None) -> bool:
        """Recompute the member's domain state at ``at``; True if it changed."""
        new = member_state(m, at)
        if new == m.state:
            return False
        m.state = new
        if since is None:
            # a wrap-up that shows only once a stale device status clears started at the
            # end of the call, not when the status event came
            in_wrapup = new == ACW and m.call_ended_at and m.wrapup_until > at
            since = m.call_ended_at if in_wrapup else at
        m.state_since = since
        return True

    def _wrapup_secs(self, q: Queue, m: Member) -> int:
        return m.wrapup_time or q.wrapup_time

    @staticmethod
    def _engage(state: PbxState, uniqueid: str, queue: str, interface: str) -> None:
        entry = state.engaged.get(uniqueid)
        if entry is None:
            state.engaged[uniqueid] = {(queue, interface)}
        else:
            entry.add((queue, interface))

    @staticmethod
    def _disengage(state: PbxState, uniqueid: str, queue: str, interface: str) -> None:
        entry = state.engaged.get(uniqueid)
        if entry is not None:
            entry.discard((queue, interface))
            if not entry:
                del state.engaged[uniqueid]

    def _stop_ringing(
        self, state: PbxState, uniqueid: str, at: float, except_for: tuple[str, str] | None = None
    ) -> list[Change]:
        """Every member still ringing for ``uniqueid`` stops (the caller left, was answered
        elsewhere or hung up)."""
        entry = state.engaged.get(uniqueid)
        if not entry:
            return []
        changes: list[Change] = []
        keep: set[tuple[str, str]] = set()
        for qname, iface in sorted(entry):
            q = state.queues.get(qname)
            m = q.members.get(iface) if q is not None else None
            if m is None:
                continue
            if (qname, iface) != except_for and m.ringing_uniqueid == uniqueid:
                self._clear_ringing(m)
                self._refresh(m, at)
                changes.append(("member", qname, iface))
            if m.ringing_uniqueid == uniqueid or m.current_uniqueid == uniqueid:
                keep.add((qname, iface))
        if keep:
            state.engaged[uniqueid] = keep
        else:
            del state.engaged[uniqueid]
        return changes

    @staticmethod
    def _clear_ringing(m: Member) -> None:
        m.ringing_uniqueid = ""
        m.ringing_caller = ""
        m.ringing_since = 0.0

    def _end_call(self, q: Queue, m: Member, at: float) -> None:
        m.current_uniqueid = ""
        m.current_caller = ""
        m.current_channel = ""
        m.call_started_at = 0.0
        m.in_call = False
        m.on_hold = False
        m.hold_since = 0.0
        m.call_ended_at = at
        secs = self._wrapup_secs(q, m)
        m.wrapup_until = at + secs if secs > 0 else 0.0

    @staticmethod
    def _renumber_after(q: Queue, position: int) -> None:
        for c in q.callers.values():
            if c.position > position:
                c.position -= 1

    def _caller_id(self, state: PbxState, q: Queue | None, uniqueid: str) -> str:
        if q is not None:
            c = q.callers.get(uniqueid)
            if c is not None:
                return c.caller_num or c.caller_name
        ch = state.channels.get(uniqueid)
        if ch is not None:
            return ch.caller_num or ch.caller_name
        return ""

    # ------------------------------------------------------------------ link and sync

    def _link(self, state: PbxState, e: LinkStateChanged) -> Sequence[Change]:
        link = state.link
        if e.state is not link.state or not link.since:
            link.since = e.at
        link.state = e.state
        link.detail = e.detail
        link.next_retry_at = e.next_retry_at
        if e.epoch:
            link.epoch = e.epoch
        if e.host:
            link.host = e.host
        if e.port:
            link.port = e.port
        if e.asterisk_version:
            link.asterisk_version = e.asterisk_version
        return (LINK,)

    def _sync_begin(self, state: PbxState, e: SyncBegin) -> Sequence[Change]:
        state.epoch = e.epoch
        state.mark += 1
        state.syncing = True
        return (LINK,)

    def _sync_end(self, state: PbxState, e: SyncEnd) -> Sequence[Change]:
        if not state.syncing or e.epoch != state.epoch:
            state.count("sync_end_without_begin")
            return _NONE
        state.syncing = False
        state.synced_at = e.at
        state.sync_failed = tuple(e.failed)
        mark = state.mark
        done = e.confirmed
        if SyncDomain.QUEUES in done:
            self._sweep_queues(state, mark)
        if SyncDomain.ENDPOINTS in done:
            self._sweep_endpoints(state, mark, e.at)
        if SyncDomain.REGISTRATIONS in done:
            for name in [n for n, r in state.registrations.items() if r.mark != mark]:
                del state.registrations[name]
        if SyncDomain.CHANNELS in done:
            for uid in [u for u, ch in state.channels.items() if ch.mark != mark]:
                del state.channels[uid]
            self._recount_channels(state)
        if SyncDomain.FLAGS in done:
            for key in [k for k, f in state.flags.items() if f.mark != mark]:
                del state.flags[key]
        self._relink_registrations(state, e.at)
        for ep in state.endpoints.values():
            self._classify(ep)
        return (PBX,)

    def _sweep_queues(self, state: PbxState, mark: int) -> None:
        for name in [n for n, q in state.queues.items() if q.mark != mark]:
            del state.queues[name]
        for q in state.queues.values():
            for iface in [i for i, m in q.members.items() if m.mark != mark]:
                del q.members[iface]
            gone = [u for u, c in q.callers.items() if c.mark != mark]
            for uid in gone:
                del q.callers[uid]
            if gone:
                ordered = sorted(q.callers.values(), key=lambda c: (c.position, c.joined_at))
                for i, c in enumerate(ordered, start=1):
                    c.position = i
        # rebuild the member index from what survived
        state.engaged.clear()
        for q in state.queues.values():
            for m in q.members.values():
                if m.ringing_uniqueid:
                    self._engage(state, m.ringing_uniqueid, q.name, m.interface)
                if m.current_uniqueid:
                    self._engage(state, m.current_uniqueid, q.name, m.interface)

    def _sweep_endpoints(self, state: PbxState, mark: int, at: float) -> None:
        for name in [n for n, ep in state.endpoints.items() if ep.mark != mark]:
            del state.endpoints[name]
        for ep in state.endpoints.values():
            for uri in [u for u, c in ep.contacts.items() if c.mark != mark]:
                del ep.contacts[uri]
            for c in ep.contacts.values():
                # listed with the endpoint but not by PJSIPShowContacts: static (note 22)
                if c.dynamic is None:
                    c.dynamic = False
            reach = self._contacts_reach(ep)
            if reach is not None:
                self._set_reachable(ep, reach, at, "sync")

    # ------------------------------------------------------------------ queue snapshot rows

    def _queue_params(self, state: PbxState, e: QueueParamsItem) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        q.strategy = e.strategy
        p = q.params
        p.max_callers = e.max_callers
        p.calls = e.calls
        p.service_level = e.service_level
        p.ast_holdtime = e.ast_holdtime
        p.ast_talktime = e.ast_talktime
        p.ast_completed = e.ast_completed
        p.ast_abandoned = e.ast_abandoned
        p.weight = e.weight
        return (("queue", q.name),)

    def _member_row(self, state: PbxState, e: QueueMemberItem) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        new = e.interface not in q.members
        m = self._member(state, q, e.interface, e.name, e.at)
        self._copy_member_fields(m, e, snapshot=True)
        if not e.in_call and m.current_uniqueid:
            # the snapshot says the call we thought was going on is over
            state.count("snapshot_ended_call")
            self._disengage(state, m.current_uniqueid, q.name, m.interface)
            self._end_call(q, m, e.at)
        if new and not e.in_call and e.last_call > 0:
            secs = self._wrapup_secs(q, m)
            if secs > 0 and e.last_call + secs > e.at:
                m.call_ended_at = float(e.last_call)
                m.wrapup_until = float(e.last_call + secs)
        changed = self._refresh(m, e.at)
        if new or changed:
            # best knowledge of when the state began
            if m.paused and m.paused_since:
                m.state_since = m.paused_since
            elif m.state == ACW and m.call_ended_at:
                m.state_since = m.call_ended_at
        return (("queue", q.name), ("member", q.name, m.interface))

    def _copy_member_fields(
        self, m: Member, e: QueueMemberItem | QueueMemberUpdate, *, snapshot: bool
    ) -> None:
        if e.name:
            m.name = e.name
        m.state_interface = e.state_interface
        m.membership = e.membership
        m.penalty = e.penalty
        m.calls_taken = e.calls_taken
        m.last_call = e.last_call
        m.last_pause = e.last_pause
        m.login_time = e.login_time
        m.in_call = e.in_call
        m.status = e.status
        m.wrapup_time = e.wrapup_time
        if e.paused:
            if not m.paused:
                # live: our clock; snapshot: when Asterisk says the pause began
                m.paused_since = float(e.last_pause) if snapshot and e.last_pause else e.at
            m.paused = True
            m.paused_reason = e.paused_reason
        else:
            m.paused = False
            m.paused_reason = ""
            m.paused_since = 0.0

    def _queue_entry(self, state: PbxState, e: QueueEntryItem) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        c = q.callers.get(e.uniqueid)
        if c is None:
            c = Caller(
                uniqueid=e.uniqueid,
                channel=e.channel,
                position=e.position,
                joined_at=e.at - e.wait,
                caller_num=e.caller_num,
                caller_name=e.caller_name,
            )
            q.callers[e.uniqueid] = c
        else:
            c.position = e.position
            c.channel = e.channel or c.channel
            c.caller_num = e.caller_num or c.caller_num
            c.caller_name = e.caller_name or c.caller_name
        c.mark = state.mark
        return (("queue", q.name),)

    # ------------------------------------------------------------------ queue live events

    def _join(self, state: PbxState, e: QueueCallerJoin) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        c = q.callers.get(e.uniqueid)
        if c is not None:
            state.count("join_duplicate")
            c.position = e.position
        else:
            # a higher-priority caller can be placed ahead of others: they move back
            for other in q.callers.values():
                if other.position >= e.position:
                    other.position += 1
            c = Caller(
                uniqueid=e.uniqueid,
                channel=e.channel,
                position=e.position,
                joined_at=e.at,
                caller_num=e.caller_num,
                caller_name=e.caller_name,
            )
            q.callers[e.uniqueid] = c
        c.mark = state.mark
        return (("queue", q.name),)

    def _leave(self, state: PbxState, e: QueueCallerLeave) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        c = q.callers.pop(e.uniqueid, None)
        if c is None:
            state.count("leave_unknown_caller")
        else:
            self._renumber_after(q, c.position)
        changes: list[Change] = [("queue", q.name)]
        # whoever still rings for this caller stops; an answering member's AgentConnect
        # follows right after (note 17: Leave comes before AgentConnect)
        changes.extend(self._stop_ringing(state, e.uniqueid, e.at))
        return changes

    def _abandon(self, state: PbxState, e: QueueCallerAbandon) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        c = q.callers.get(e.uniqueid)
        if c is None:
            state.count("abandon_unknown_caller")
        else:
            c.abandoned = True
        changes: list[Change] = [("queue", q.name)]
        changes.extend(self._stop_ringing(state, e.uniqueid, e.at))
        return changes

    def _called(self, state: PbxState, e: AgentCalled) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        if e.interface not in q.members:
            state.count("called_unknown_member")
        m = self._member(state, q, e.interface, e.member_name, e.at)
        if m.ringing_uniqueid and m.ringing_uniqueid != e.uniqueid:
            self._disengage(state, m.ringing_uniqueid, q.name, m.interface)
        m.ringing_uniqueid = e.uniqueid
        m.ringing_caller = self._caller_id(state, q, e.uniqueid)
        m.ringing_since = e.at
        self._engage(state, e.uniqueid, q.name, m.interface)
        self._refresh(m, e.at)
        return (("member", q.name, m.interface),)

    def _ring_over(self, state: PbxState, e: AgentRingNoAnswer | AgentDump) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        m = self._member(state, q, e.interface, e.member_name, e.at)
        if m.ringing_uniqueid == e.uniqueid:
            self._clear_ringing(m)
            if m.current_uniqueid != e.uniqueid:
                self._disengage(state, e.uniqueid, q.name, m.interface)
        else:
            state.count("ring_end_not_ringing")
        self._refresh(m, e.at)
        return (("member", q.name, m.interface),)

    def _connect(self, state: PbxState, e: AgentConnect) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        if e.interface not in q.members:
            state.count("connect_unknown_member")
        m = self._member(state, q, e.interface, e.member_name, e.at)
        caller = m.ringing_caller if m.ringing_uniqueid == e.uniqueid else ""
        changes: list[Change] = self._stop_ringing(
            state, e.uniqueid, e.at, except_for=(q.name, m.interface)
        )
        if m.ringing_uniqueid and m.ringing_uniqueid != e.uniqueid:
            self._disengage(state, m.ringing_uniqueid, q.name, m.interface)
        self._clear_ringing(m)
        if m.current_uniqueid and m.current_uniqueid != e.uniqueid:
            state.count("connect_while_on_call")
            self._disengage(state, m.current_uniqueid, q.name, m.interface)
        m.current_uniqueid = e.uniqueid
        m.current_caller = caller or self._caller_id(state, None, e.uniqueid)
        m.current_channel = e.dest_channel
        m.call_started_at = e.at
        m.in_call = True
        m.on_hold = False
        m.hold_since = 0.0
        m.wrapup_until = 0.0
        self._engage(state, e.uniqueid, q.name, m.interface)
        self._refresh(m, e.at)
        changes.append(("member", q.name, m.interface))
        return changes

    def _complete(self, state: PbxState, e: AgentComplete) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        m = self._member(state, q, e.interface, e.member_name, e.at)
        if m.current_uniqueid and m.current_uniqueid != e.uniqueid:
            state.count("complete_other_call")
            return (("member", q.name, m.interface),)
        if not m.current_uniqueid:
            state.count("complete_unknown_call")
        self._disengage(state, e.uniqueid, q.name, m.interface)
        self._end_call(q, m, e.at)
        self._refresh(m, e.at)
        return (("member", q.name, m.interface),)

    def _member_update(self, state: PbxState, e: QueueMemberUpdate) -> Sequence[Change]:
        q = self._queue(state, e.queue)
        key: Change = ("member", q.name, e.interface)
        if e.change is MemberChange.REMOVED:
            m = q.members.pop(e.interface, None)
            if m is None:
                state.count("remove_unknown_member")
            else:
                for uid in (m.ringing_uniqueid, m.current_uniqueid):
                    if uid:
                        self._disengage(state, uid, q.name, m.interface)
            return (("queue", q.name), key)
        if e.change is MemberChange.ADDED and e.interface in q.members:
            state.count("add_existing_member")
        m = self._member(state, q, e.interface, e.name, e.at)
        self._copy_member_fields(m, e, snapshot=False)
        self._refresh(m, e.at)
        return (key,)

    # ------------------------------------------------------------------ channels

    def _count_channel(self, state: PbxState, endpoint: str, delta: int) -> Change | None:
        if not endpoint:
            return None
        n = state.channel_counts.get(endpoint, 0) + delta
        if n > 0:
            state.channel_counts[endpoint] = n
        else:
            state.channel_counts.pop(endpoint, None)
            n = 0
        ep = state.endpoints.get(endpoint)
        if ep is None:
            return None
        ep.channels_in_use = n
        return self._ep_key(ep)

    def _recount_channels(self, state: PbxState) -> None:
        counts: dict[str, int] = {}
        for ch in state.channels.values():
            if ch.endpoint:
                counts[ch.endpoint] = counts.get(ch.endpoint, 0) + 1
        state.channel_counts = counts
        for ep in state.endpoints.values():
            ep.channels_in_use = counts.get(ep.name, 0)

    def _add_channel(
        self, state: PbxState, e: ChannelNew | ChannelItem, created_at: float
    ) -> list[Change]:
        changes: list[Change] = [("channel", e.uniqueid)]
        ch = state.channels.get(e.uniqueid)
        if ch is None:
            ch = Channel(
                uniqueid=e.uniqueid,
                name=e.channel,
                created_at=created_at,
                endpoint=_pjsip_endpoint_of_channel(e.channel),
            )
            state.channels[e.uniqueid] = ch
            key = self._count_channel(state, ch.endpoint, +1)
            if key is not None:
                changes.append(key)
        elif ch.name != e.channel:
            # renamed (masquerade): move its count to the new endpoint
            for key_or_none in (
                self._count_channel(state, ch.endpoint, -1),
                self._count_channel(state, _pjsip_endpoint_of_channel(e.channel), +1),
            ):
                if key_or_none is not None:
                    changes.append(key_or_none)
            ch.name = e.channel
            ch.endpoint = _pjsip_endpoint_of_channel(e.channel)
        ch.state = e.state
        ch.linkedid = e.linkedid
        ch.caller_num = e.caller_num
        ch.caller_name = e.caller_name
        ch.context = e.context
        ch.exten = e.exten
        ch.mark = state.mark
        return changes

    def _channel_row(self, state: PbxState, e: ChannelItem) -> Sequence[Change]:
        return self._add_channel(state, e, e.at - e.duration)

    def _newchannel(self, state: PbxState, e: ChannelNew) -> Sequence[Change]:
        if e.uniqueid in state.channels:
            state.count("newchannel_duplicate")
        return self._add_channel(state, e, e.at)

    def _newstate(self, state: PbxState, e: ChannelStateChange) -> Sequence[Change]:
        ch = state.channels.get(e.uniqueid)
        changes: list[Change] = [("channel", e.uniqueid)]
        if ch is None:
            # a channel older than our link (a sync will fill in the rest)
            ch = Channel(
                uniqueid=e.uniqueid,
                name=e.channel,
                created_at=e.at,
                endpoint=_pjsip_endpoint_of_channel(e.channel),
            )
            state.channels[e.uniqueid] = ch
            key = self._count_channel(state, ch.endpoint, +1)
            if key is not None:
                changes.append(key)
        ch.state = e.state
        ch.mark = state.mark
        return changes

    def _hangup(self, state: PbxState, e: ChannelHangup) -> Sequence[Change]:
        uid = e.uniqueid
        changes: list[Change] = []
        ch = state.channels.pop(uid, None)
        if ch is not None:
            changes.append(("channel", uid))
            key = self._count_channel(state, ch.endpoint, -1)
            if key is not None:
                changes.append(key)
        for q in state.queues.values():
            c = q.callers.pop(uid, None)
            if c is not None:
                # Asterisk sends Leave before Hangup; a caller still listed means we missed it
                state.count("hangup_removed_caller")
                self._renumber_after(q, c.position)
                changes.append(("queue", q.name))
        entry = state.engaged.pop(uid, None)
        if entry:
            for qname, iface in sorted(entry):
                q2 = state.queues.get(qname)
                m = q2.members.get(iface) if q2 is not None else None
                if q2 is None or m is None:
                    continue
                if m.ringing_uniqueid == uid:
                    self._clear_ringing(m)
                if m.current_uniqueid == uid:
                    state.count("hangup_ended_call")  # AgentComplete normally comes first
                    self._end_call(q2, m, e.at)
                self._refresh(m, e.at)
                changes.append(("member", qname, iface))
        return changes

    def _hold(self, state: PbxState, e: ChannelHold) -> Sequence[Change]:
        """Hold/Unhold on the agent's channel (its device is the member's interface or
        state interface, or it is the channel AgentConnect named) or on the call itself."""
        ch = state.channels.get(e.uniqueid)
        if ch is not None:
            ch.mark = state.mark
        device = _device_of_channel(e.channel)
        changes: list[Change] = []
        for uid, entry in state.engaged.items():
            for qname, iface in sorted(entry) if len(entry) > 1 else entry:
                q = state.queues.get(qname)
                m = q.members.get(iface) if q is not None else None
                if m is None or m.current_uniqueid != uid:
                    continue
                if not (
                    uid == e.uniqueid
                    or e.channel == m.current_channel
                    or device == m.interface
                    or (m.state_interface and device == m.state_interface)
                ):
                    continue
                if m.on_hold != e.on_hold:
                    m.on_hold = e.on_hold
                    m.hold_since = e.at if e.on_hold else 0.0
                    self._refresh(m, e.at)
                    changes.append(("member", qname, iface))
        return changes

    # ------------------------------------------------------------------ endpoints

    def _ep_key(self, ep: Endpoint) -> Change:
        return ("trunk", ep.name) if ep.is_trunk else ("endpoint", ep.name)

    def _endpoint(self, state: PbxState, name: str) -> Endpoint:
        ep = state.endpoints.get(name)
        if ep is None:
            ep = Endpoint(name=name, channels_in_use=state.channel_counts.get(name, 0))
            state.endpoints[name] = ep
            self._classify(ep)
        ep.mark = state.mark
        return ep

    def _endpoint_for_aor(self, state: PbxState, aor: str) -> str:
        """The endpoint whose AOR list names ``aor``; by convention, else the AOR's name."""
        if aor in state.endpoints:
            return aor
        for name in sorted(state.endpoints):
            if aor in state.endpoints[name].aor.split(","):
                return name
        return aor

    def _classify(self, ep: Endpoint) -> None:
        if self._capacity:
            ep.is_trunk = ep.name in self._capacity
            ep.capacity = self._capacity.get(ep.name)
        else:
            ep.is_trunk = bool(ep.registration) or any(
                c.dynamic is False for c in ep.contacts.values()
            )
            ep.capacity = None

    @staticmethod
    def _contacts_reach(ep: Endpoint) -> bool | None:
        """Reachable if any contact is; unreachable if some are and none is; else unknown."""
        seen_down = False
        for c in ep.contacts.values():
            if c.status == "Reachable":
                return True
            if c.status == "Unreachable":
                seen_down = True
        return False if seen_down else None

    def _set_reachable(self, ep: Endpoint, value: bool | None, at: float, cause: str) -> None:
        if value is not None and value != ep.reachable:
            ep.reachable = value
            ep.last_change = at
        self._update_up(ep, at, cause)

    @staticmethod
    def _update_up(ep: Endpoint, at: float, cause: str) -> None:
        """``up`` = reachable (when known) and registered (when it registers); a flip is
        recorded in the bounded history."""
        reg = ep.registration_status
        if ep.reachable is False or (reg and reg != "Registered"):
            up: bool | None = False
        elif ep.reachable is True or reg == "Registered":
            up = True
        else:
            up = None
        if up is not None and up != ep.up:
            ep.up = up
            ep.last_change = at
            ep.history.append(Transition(at=at, up=up, cause=cause))

    def _contact(self, state: PbxState, ep: Endpoint, aor: str, uri: str) -> Contact:
        c = ep.contacts.get(uri)
        if c is None:
            c = Contact(aor=aor, uri=uri)
            ep.contacts[uri] = c
        elif aor and not c.aor:
            c.aor = aor
        c.mark = state.mark
        return c

    def _endpoint_row(self, state: PbxState, e: EndpointItem) -> Sequence[Change]:
        ep = self._endpoint(state, e.endpoint)
        ep.transport = e.transport
        ep.aor = e.aor
        ep.outbound_auths = e.outbound_auths
        ep.reported_channels = e.active_channels
        new_state = _device_state(e.device_state) if e.device_state else ep.device_state
        if new_state != ep.device_state:
            ep.device_state = new_state
            ep.last_change = e.at
        for entry in e.contacts:
            aor, sep, uri = entry.partition("/")
            if not sep:
                aor, uri = ep.aor.split(",")[0], entry
            self._contact(state, ep, aor, uri)
        reach = self._contacts_reach(ep)
        if reach is None and ep.device_state in _DEVICE_DOWN:
            reach = False
        self._set_reachable(ep, reach, e.at, "PJSIPShowEndpoints")
        self._classify(ep)
        return (self._ep_key(ep),)

    def _contact_row(self, state: PbxState, e: ContactItem) -> Sequence[Change]:
        ep = self._endpoint(state, e.endpoint or self._endpoint_for_aor(state, e.aor))
        c = self._contact(state, ep, e.aor, e.uri)
        if e.status and e.status != c.status:
            c.status = e.status
            c.since = e.at
        c.rtt_usec = e.rtt_usec
        if e.dynamic is not None:
            c.dynamic = e.dynamic
        elif c.dynamic is None:
            c.dynamic = True  # listed by PJSIPShowContacts, which lists registered ones only
        self._set_reachable(ep, self._contacts_reach(ep), e.at, f"contact {e.status}")
        self._classify(ep)
        return (self._ep_key(ep),)

    def _peer_status(self, state: PbxState, e: PeerStatus) -> Sequence[Change]:
        ep = self._endpoint(state, e.endpoint)
        ep.peer_status = e.status
        if e.status in ("Reachable", "Registered"):
            value: bool | None = True
        elif e.status in ("Unreachable", "Unregistered", "Rejected"):
            value = False
        else:
            value = None  # Lagged: still reachable, just slow
        self._set_reachable(ep, value, e.at, f"PeerStatus {e.status}")
        return (self._ep_key(ep),)

    def _contact_status(self, state: PbxState, e: ContactStatus) -> Sequence[Change]:
        ep = self._endpoint(state, e.endpoint or self._endpoint_for_aor(state, e.aor))
        if e.status == "Removed":
            if ep.contacts.pop(e.uri, None) is None:
                state.count("remove_unknown_contact")
        else:
            c = self._contact(state, ep, e.aor, e.uri)
            # Created/Updated say the contact changed, not whether it answers qualify
            qualify = e.status not in ("Created", "Updated") or not c.status
            if qualify and e.status != c.status:
                c.status = e.status
                c.since = e.at
            if e.rtt_usec:
                c.rtt_usec = e.rtt_usec
            elif e.status == "Unreachable":
                c.rtt_usec = 0
        self._set_reachable(ep, self._contacts_reach(ep), e.at, f"ContactStatus {e.status}")
        self._classify(ep)
        return (self._ep_key(ep),)

    def _device_state_changed(self, state: PbxState, e: DeviceStateChanged) -> Sequence[Change]:
        if not e.device.startswith("PJSIP/"):
            return _NONE  # Queue:, Custom:, Local/... are not endpoints
        ep = self._endpoint(state, e.device[6:])
        new_state = _device_state(e.state)
        if new_state != ep.device_state:
            ep.device_state = new_state
            ep.last_change = e.at
        if new_state in _DEVICE_DOWN:
            value: bool | None = False
        elif new_state in _DEVICE_UP:
            value = True
        else:
            value = None
        self._set_reachable(ep, value, e.at, f"DeviceState {new_state}")
        return (self._ep_key(ep),)

    # ------------------------------------------------------------------ registrations

    def _registration_row(self, state: PbxState, e: RegistrationItem) -> Sequence[Change]:
        r = state.registrations.get(e.registration)
        if r is None:
            r = Registration(name=e.registration)
            state.registrations[e.registration] = r
        r.server_uri = e.server_uri
        r.client_uri = e.client_uri
        r.next_reg_at = e.at + e.next_reg if e.next_reg > 0 else 0.0
        if e.status != r.status:
            r.status = e.status
            r.since = e.at
        r.mark = state.mark
        return self._link_registration(state, r, e.endpoint, e.at)

    def _find_registration(self, state: PbxState, domain: str, username: str) -> Registration:
        server = _uri_key(domain)
        client = _uri_key(username)
        for name in sorted(state.registrations):
            r = state.registrations[name]
            if _uri_key(r.server_uri) == server or (client and _uri_key(r.client_uri) == client):
                return r
        host = _host_key(domain)
        for name in sorted(state.registrations):
            r = state.registrations[name]
            if _same_host(_host_key(r.server_uri), host):
                return r
        r = Registration(name=server or domain, server_uri=domain, client_uri=username)
        state.registrations[r.name] = r
        return r

    def _registry(self, state: PbxState, e: RegistryStatus) -> Sequence[Change]:
        r = self._find_registration(state, e.domain, e.username)
        if e.status != r.status:
            r.status = e.status
            r.since = e.at
        r.mark = state.mark
        return self._link_registration(state, r, "", e.at)

    def _registration_endpoint(self, state: PbxState, r: Registration, hint: str) -> str:
        """The endpoint a registration belongs to: the ``Endpoint`` Asterisk names; else an
        endpoint of the same name; else a trunk whose contact is on the registrar's host."""
        if hint:
            return hint
        if r.endpoint:
            return r.endpoint
        if r.name in state.endpoints or r.name in self._capacity:
            return r.name
        host = _host_key(r.server_uri)
        for name in sorted(state.endpoints):
            for c in state.endpoints[name].contacts.values():
                if _same_host(_host_key(c.uri), host):
                    return name
        return ""

    def _link_registration(
        self, state: PbxState, r: Registration, hint: str, at: float
    ) -> list[Change]:
        changes: list[Change] = [("registration", r.name)]
        name = self._registration_endpoint(state, r, hint)
        if r.endpoint and r.endpoint != name:
            old = state.endpoints.get(r.endpoint)
            if old is not None and old.registration == r.name:
                old.registration = ""
                old.registration_status = ""
                self._classify(old)
                changes.append(self._ep_key(old))
        r.endpoint = name
        if name:
            ep = self._endpoint(state, name)
            ep.registration = r.name
            if ep.registration_status != r.status:
                ep.registration_status = r.status
                ep.last_change = at
            self._classify(ep)
            self._update_up(ep, at, f"Registration {r.status}")
            changes.append(self._ep_key(ep))
        return changes

    def _relink_registrations(self, state: PbxState, at: float) -> None:
        for ep in state.endpoints.values():
            if ep.registration and ep.registration not in state.registrations:
                ep.registration = ""
                ep.registration_status = ""
        for name in sorted(state.registrations):
            r = state.registrations[name]
            if not r.endpoint or r.endpoint not in state.endpoints:
                r.endpoint = ""
                self._link_registration(state, r, "", at)

    # ------------------------------------------------------------------ flags, system

    def _db_entry(self, state: PbxState, e: DbEntry) -> Sequence[Change]:
        key = (e.family, e.key)
        if e.value is None:
            state.flags.pop(key, None)
        else:
            flag = state.flags.get(key)
            if flag is None:
                flag = RoutingFlag(family=e.family, key=e.key, value=e.value, read_at=e.at)
                state.flags[key] = flag
            flag.value = e.value
            flag.read_at = e.at
            flag.mark = state.mark
        return (("flag", e.family, e.key),)

    def _reloaded(self, state: PbxState, e: PbxReloaded) -> Sequence[Change]:
        # nothing structural: the link supervisor answers a Reload with a full resync
        state.link.last_reload_at = e.at
        return (LINK,)

    def _shutdown(self, state: PbxState, e: PbxShutdown) -> Sequence[Change]:
        state.link.last_shutdown_at = e.at
        state.link.last_shutdown = e.shutdown + (" (restart)" if e.restart else "")
        return (LINK,)

    def _nothing(self, state: PbxState, e: Event) -> Sequence[Change]:
        """Events the model does not hold (transfers, user events, originate results: the
        KPI engine and the playbooks consume them)."""
        return _NONE
