"""Raw AMI messages → typed core events: the one place that knows Asterisk's spelling.

Everything Asterisk 22 does inconsistently is absorbed here (see
``shared/asterisk-22-notes.md``): the same queue member is ``Name``/``Location`` in the
``QueueMember`` list row and ``MemberName``/``Interface`` in ``QueueMember…`` events; caller
ID placeholders are ``<unknown>`` in channel events but ``unknown`` in ``QueueEntry``;
``PeerStatus`` names ``PJSIP/carrier-b``; ``EndpointList.Contacts`` ends with a comma;
``CoreShowChannel.Duration`` is ``HH:MM:SS``; registration details come with the auth
password in clear nearby, which never makes it into an event.

Contract of :func:`normalize`:

* an event we do not use (``VarSet``, ``TestEvent``, ``RTCPSent``, list ``…Complete``
  markers, responses…) → ``None``: the caller counts it;
* a known event that is malformed (required header missing or empty, a number that is not
  one) → :class:`NormalizeError` naming the event and the header: the caller counts it;
* never any other exception, whatever the frame holds.

It runs on every frame at surge rates, so dispatch is one dict lookup on the event name,
headers are read with plain ``dict`` lookups, and numbers are converted with ``int()``
directly; only when a conversion fails does the slow path work out which header was bad.
"""

from __future__ import annotations

from collections.abc import Callable

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
    Event,
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
    Transfer,
    UserEvent,
)
from ccops.pbx.message import AmiMessage

__all__ = ["HANDLED_EVENTS", "NormalizeError", "normalize"]


class NormalizeError(ValueError):
    """A known event that cannot be understood. ``event`` and ``field`` say where."""

    def __init__(self, event: str, field: str, problem: str) -> None:
        super().__init__(f"{event}: {field}: {problem}" if field else f"{event}: {problem}")
        self.event = event
        self.field = field
        self.problem = problem


class _Empty(Exception):
    """A required header is present but empty (raised inside handlers, mapped to
    :class:`NormalizeError` by the dispatcher, which knows the event name)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _empty(name: str) -> str:
    raise _Empty(name)


# --------------------------------------------------------------------------- small converters

_CID_PLACEHOLDERS = frozenset({"<unknown>", "unknown", "<Unknown>", "Unknown"})

_DEVICE_STATES: dict[str, DeviceState] = {str(int(s)): s for s in DeviceState}

_TRUE = frozenset({"1", "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On"})
_FALSE = frozenset({"0", "false", "False", "FALSE", "no", "No", "NO", "off", "Off", ""})


def _cid(value: str | None) -> str:
    """Caller ID with Asterisk's placeholders (``<unknown>``, ``unknown``) turned into ''."""
    if not value or value in _CID_PLACEHOLDERS:
        return ""
    return value


def _flag(value: str | None, event: str, name: str) -> bool:
    if value is None or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise NormalizeError(event, name, f"not a boolean: {_show(value)}")


def _status(value: str | None, event: str) -> DeviceState:
    if not value:
        return DeviceState.UNKNOWN
    state = _DEVICE_STATES.get(value)
    if state is None:
        raise NormalizeError(event, "Status", f"not a device state (0-8): {_show(value)}")
    return state


def _show(value: str) -> str:
    """A header value for an error message, cut short (frames can be huge)."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _duration(value: str | None) -> int:
    """``HH:MM:SS`` (CoreShowChannel) or plain seconds → seconds; ValueError if neither."""
    if not value:
        return 0
    if ":" not in value:
        return int(value)
    parts = value.split(":")
    if len(parts) != 3:
        raise ValueError(value)
    hours, minutes, seconds = (int(p) for p in parts)
    return hours * 3600 + minutes * 60 + seconds


def _rtt(value: str | None) -> int:
    """RoundtripUsec: a number, or ``N/A`` / empty for a contact never qualified."""
    if not value or not value[0].isdigit():
        return 0
    return int(value)


def _tech_name(peer: str) -> str:
    """``PJSIP/carrier-b`` → ``carrier-b`` (the name as PJSIP config spells it)."""
    _, sep, rest = peer.partition("/")
    return rest if sep else peer


# --------------------------------------------------------------------------- handlers
#
# Each handler takes (headers, pbx, received_at, msg, list_action) and returns an event or
# None. Required headers are read with ``h["X"] or _empty("X")`` (KeyError / _Empty are
# mapped to NormalizeError by the dispatcher); optional ones with ``get``.

_Handler = Callable[[dict[str, str], str, float, AmiMessage, str | None], Event | None]


def _queue_params(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return QueueParamsItem(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        strategy=g("Strategy", ""),
        max_callers=int(g("Max") or 0),
        calls=int(g("Calls") or 0),
        service_level=int(g("ServiceLevel") or 0),
        ast_holdtime=int(g("Holdtime") or 0),
        ast_talktime=int(g("TalkTime") or 0),
        ast_completed=int(g("Completed") or 0),
        ast_abandoned=int(g("Abandoned") or 0),
        weight=int(g("Weight") or 0),
    )


def _queue_member_row(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return QueueMemberItem(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        interface=h["Location"] or _empty("Location"),
        name=g("Name", ""),
        state_interface=g("StateInterface", ""),
        membership=g("Membership") or "static",
        penalty=int(g("Penalty") or 0),
        calls_taken=int(g("CallsTaken") or 0),
        last_call=int(g("LastCall") or 0),
        last_pause=int(g("LastPause") or 0),
        login_time=int(g("LoginTime") or 0),
        in_call=_flag(g("InCall"), "QueueMember", "InCall"),
        status=_status(g("Status"), "QueueMember"),
        paused=_flag(g("Paused"), "QueueMember", "Paused"),
        paused_reason=g("PausedReason", ""),
        wrapup_time=int(g("Wrapuptime") or 0),
    )


def _member_update(change: MemberChange, event: str) -> _Handler:
    def handler(
        h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
    ) -> Event | None:
        g = h.get
        return QueueMemberUpdate(
            pbx=pbx,
            at=at,
            change=change,
            queue=h["Queue"] or _empty("Queue"),
            interface=h["Interface"] or _empty("Interface"),
            name=g("MemberName", ""),
            state_interface=g("StateInterface", ""),
            membership=g("Membership") or "static",
            penalty=int(g("Penalty") or 0),
            calls_taken=int(g("CallsTaken") or 0),
            last_call=int(g("LastCall") or 0),
            last_pause=int(g("LastPause") or 0),
            login_time=int(g("LoginTime") or 0),
            in_call=_flag(g("InCall"), event, "InCall"),
            status=_status(g("Status"), event),
            paused=_flag(g("Paused"), event, "Paused"),
            paused_reason=g("PausedReason", ""),
            wrapup_time=int(g("Wrapuptime") or 0),
        )

    return handler


def _queue_entry(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return QueueEntryItem(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        channel=g("Channel", ""),
        position=int(h["Position"]),
        caller_num=_cid(g("CallerIDNum")),
        caller_name=_cid(g("CallerIDName")),
        wait=int(g("Wait") or 0),
    )


def _caller_join(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return QueueCallerJoin(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        channel=g("Channel", ""),
        position=int(h["Position"]),
        count=int(g("Count") or 0),
        caller_num=_cid(g("CallerIDNum")),
        caller_name=_cid(g("CallerIDName")),
    )


def _caller_leave(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return QueueCallerLeave(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        position=int(g("Position") or 0),
        count=int(g("Count") or 0),
    )


def _caller_abandon(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return QueueCallerAbandon(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        position=int(g("Position") or 0),
        original_position=int(g("OriginalPosition") or 0),
        hold_time=int(g("HoldTime") or 0),
    )


def _agent_called(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return AgentCalled(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        interface=h["Interface"] or _empty("Interface"),
        member_name=h.get("MemberName", ""),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        dest_channel=h.get("DestChannel", ""),
    )


def _agent_rna(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return AgentRingNoAnswer(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        interface=h["Interface"] or _empty("Interface"),
        member_name=h.get("MemberName", ""),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        ring_time=int(h.get("RingTime") or 0),
    )


def _agent_connect(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return AgentConnect(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        interface=h["Interface"] or _empty("Interface"),
        member_name=g("MemberName", ""),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        hold_time=int(g("HoldTime") or 0),
        ring_time=int(g("RingTime") or 0),
        dest_channel=g("DestChannel", ""),
    )


def _agent_complete(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return AgentComplete(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        interface=h["Interface"] or _empty("Interface"),
        member_name=g("MemberName", ""),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        hold_time=int(g("HoldTime") or 0),
        talk_time=int(g("TalkTime") or 0),
        reason=g("Reason", ""),
    )


def _agent_dump(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return AgentDump(
        pbx=pbx,
        at=at,
        queue=h["Queue"] or _empty("Queue"),
        interface=h["Interface"] or _empty("Interface"),
        member_name=h.get("MemberName", ""),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
    )


def _newchannel(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return ChannelNew(
        pbx=pbx,
        at=at,
        channel=h["Channel"] or _empty("Channel"),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        linkedid=g("Linkedid", ""),
        state=g("ChannelStateDesc", ""),
        caller_num=_cid(g("CallerIDNum")),
        caller_name=_cid(g("CallerIDName")),
        context=g("Context", ""),
        exten=g("Exten", ""),
    )


def _newstate(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return ChannelStateChange(
        pbx=pbx,
        at=at,
        channel=h["Channel"] or _empty("Channel"),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        state=h.get("ChannelStateDesc", ""),
    )


def _hangup(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return ChannelHangup(
        pbx=pbx,
        at=at,
        channel=h["Channel"] or _empty("Channel"),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        cause=int(h.get("Cause") or 0),
        cause_txt=h.get("Cause-txt", ""),
    )


def _hold(on_hold: bool) -> _Handler:
    def handler(
        h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
    ) -> Event | None:
        return ChannelHold(
            pbx=pbx,
            at=at,
            channel=h["Channel"] or _empty("Channel"),
            uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
            on_hold=on_hold,
        )

    return handler


def _blind_transfer(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return Transfer(
        pbx=pbx,
        at=at,
        kind="blind",
        uniqueid=h["TransfererUniqueid"] or _empty("TransfererUniqueid"),
        transferee_uniqueid=h.get("TransfereeUniqueid", ""),
        result=h.get("Result", ""),
    )


def _attended_transfer(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return Transfer(
        pbx=pbx,
        at=at,
        kind="attended",
        uniqueid=h["OrigTransfererUniqueid"] or _empty("OrigTransfererUniqueid"),
        transferee_uniqueid=h.get("TransfereeUniqueid", ""),
        result=h.get("Result", ""),
    )


def _peer_status(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return PeerStatus(
        pbx=pbx,
        at=at,
        endpoint=_tech_name(h["Peer"] or _empty("Peer")) or _empty("Peer"),
        status=h["PeerStatus"] or _empty("PeerStatus"),
    )


def _contact_status(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return ContactStatus(
        pbx=pbx,
        at=at,
        aor=h.get("AOR", ""),
        uri=h["URI"] or _empty("URI"),
        endpoint=h.get("EndpointName", ""),
        status=h["ContactStatus"] or _empty("ContactStatus"),
        rtt_usec=_rtt(h.get("RoundtripUsec")),
    )


def _contact_list(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    """``ContactList`` (PJSIPShowContacts): only registered contacts are listed (note 22);
    the AOR is the part of ``ObjectName`` (``aor;@hash``) before ``;@``."""
    expires = h.get("ExpirationTime")
    return ContactItem(
        pbx=pbx,
        at=at,
        aor=h.get("ObjectName", "").partition(";@")[0],
        uri=h["Uri"] or _empty("Uri"),
        endpoint=h.get("Endpoint", ""),
        status=h.get("Status", ""),
        rtt_usec=_rtt(h.get("RoundtripUsec")),
        dynamic=int(expires) > 0 if expires else True,
    )


def _contact_detail(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    """``ContactStatusDetail`` (PJSIPShowEndpoint/Aors): static and registered contacts;
    ``RegExpire`` is 0 for a static one."""
    expires = h.get("RegExpire")
    return ContactItem(
        pbx=pbx,
        at=at,
        aor=h.get("AOR", ""),
        uri=h["URI"] or _empty("URI"),
        endpoint=h.get("EndpointName", ""),
        status=h.get("Status", ""),
        rtt_usec=_rtt(h.get("RoundtripUsec")),
        dynamic=int(expires) > 0 if expires else None,
    )


def _endpoint_list(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    contacts = h.get("Contacts", "")
    return EndpointItem(
        pbx=pbx,
        at=at,
        endpoint=h["ObjectName"] or _empty("ObjectName"),
        transport=h.get("Transport", ""),
        aor=h.get("Aor", ""),
        outbound_auths=h.get("OutboundAuths", ""),
        contacts=tuple(c for c in contacts.split(",") if c) if contacts else (),
        device_state=h.get("DeviceState", ""),
        active_channels=int(h.get("ActiveChannels") or 0),
    )


def _registration_detail(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    """Only the fields we use are copied: whatever auth detail travels nearby (``Password``
    in ``AuthDetail``, note 9) never reaches an event."""
    return RegistrationItem(
        pbx=pbx,
        at=at,
        registration=h["ObjectName"] or _empty("ObjectName"),
        server_uri=h.get("ServerUri", ""),
        client_uri=h.get("ClientUri", ""),
        status=h.get("Status", ""),
        next_reg=int(h.get("NextReg") or 0),
        endpoint=h.get("Endpoint", ""),
    )


def _registry(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return RegistryStatus(
        pbx=pbx,
        at=at,
        username=h.get("Username", ""),
        domain=h["Domain"] or _empty("Domain"),
        status=h["Status"] or _empty("Status"),
    )


def _core_show_channel(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    g = h.get
    return ChannelItem(
        pbx=pbx,
        at=at,
        channel=h["Channel"] or _empty("Channel"),
        uniqueid=h["Uniqueid"] or _empty("Uniqueid"),
        linkedid=g("Linkedid", ""),
        state=g("ChannelStateDesc", ""),
        caller_num=_cid(g("CallerIDNum")),
        caller_name=_cid(g("CallerIDName")),
        context=g("Context", ""),
        exten=g("Exten", ""),
        application=g("Application", ""),
        duration=_duration(g("Duration")),
        bridge_id=g("BridgeId", ""),
    )


def _db_get(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return DbEntry(
        pbx=pbx,
        at=at,
        family=h["Family"] or _empty("Family"),
        key=h["Key"] or _empty("Key"),
        value=h.get("Val", ""),
    )


def _db_get_tree(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    """``DBGetTreeResponse`` gives the full path in ``Key`` (``/ccops/overflow/sales``):
    family is its first segment, key the rest (a ``Family`` header, if any, wins)."""
    path = h["Key"] or _empty("Key")
    family = h.get("Family", "")
    if family:
        prefix = "/" + family + "/"
        key = path[len(prefix) :] if path.startswith(prefix) else path.lstrip("/")
    else:
        family, sep, key = path.lstrip("/").partition("/")
        if not sep or not family or not key:
            raise NormalizeError("DBGetTreeResponse", "Key", f"not /family/key: {_show(path)}")
    if not key:
        raise NormalizeError("DBGetTreeResponse", "Key", f"no key in {_show(path)}")
    return DbEntry(pbx=pbx, at=at, family=family, key=key, value=h.get("Val", ""))


def _device_state(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    """Live or a ``DeviceStateList`` row (same name, note 3): the same fact either way."""
    return DeviceStateChanged(
        pbx=pbx,
        at=at,
        device=h["Device"] or _empty("Device"),
        state=h["State"] or _empty("State"),
    )


def _reload(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return PbxReloaded(pbx=pbx, at=at, module=h.get("Module", ""))


def _shutdown(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    return PbxShutdown(
        pbx=pbx,
        at=at,
        shutdown=h.get("Shutdown", ""),
        restart=_flag(h.get("Restart"), "Shutdown", "Restart"),
    )


_PROTOCOL_HEADERS = frozenset(
    {"Event", "Privilege", "UserEvent", "ActionID", "SystemName", "Timestamp"}
)
# Channel-snapshot headers that describe the channel rather than identify the call; the
# identifying ones (Channel, Uniqueid, Linkedid) are kept, since a page acknowledgement is
# matched to the call we originated by them.
_SNAPSHOT_HEADERS = frozenset(
    {
        "ChannelState",
        "ChannelStateDesc",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Language",
        "AccountCode",
        "Context",
        "Exten",
        "Priority",
    }
)
_USEREVENT_DROP = _PROTOCOL_HEADERS | _SNAPSHOT_HEADERS


def _user_event(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    """The dialplan's own fields, in order (repeats included), minus AMI protocol headers
    and descriptive channel-snapshot headers."""
    name = h["UserEvent"]
    if name in PAGE_EVENTS and (h.get("PageId") or h.get("CCOPS_PAGE_ID")):
        return _page_response(h, pbx, at, name)
    fields = [(k, v) for k, v in h.items() if k not in _USEREVENT_DROP]
    fields.extend((k, v) for k, v in msg.repeated if k not in _USEREVENT_DROP)
    return UserEvent(
        pbx=pbx, at=at, name=h["UserEvent"] or _empty("UserEvent"), fields=tuple(fields)
    )


#: The paging dialplan's UserEvents (config/asterisk/extensions_ccops_page.conf).
PAGE_ACK_EVENT = "CcopsPageAck"
PAGE_NOACK_EVENT = "CcopsPageNoAck"
PAGE_EVENTS = frozenset({PAGE_ACK_EVENT, PAGE_NOACK_EVENT})


def _page_response(h: dict[str, str], pbx: str, at: float, name: str) -> Event:
    """A page verdict. The shipped dialplan sends ``PageId``; a dialplan that echoes the
    channel variable (the simulator does) sends ``CCOPS_PAGE_ID``: both are accepted
    (without either it cannot be matched to a page and stays a plain ``UserEvent``). An
    acknowledgement is only one with digit 1, whatever the event is called."""
    page_id = h.get("PageId") or h.get("CCOPS_PAGE_ID") or ""
    digit = h.get("Digit", "").strip()
    return PageResponse(
        pbx=pbx,
        at=at,
        page_id=page_id,
        acknowledged=name == PAGE_ACK_EVENT and digit == "1",
        digit=digit,
        reason=h.get("Reason", ""),
        uniqueid=h.get("Uniqueid", ""),
        channel=h.get("Channel", ""),
    )


def _originate_response(
    h: dict[str, str], pbx: str, at: float, msg: AmiMessage, ctx: str | None
) -> Event | None:
    """Broadcast to every session (note 6): the ActionID is kept so only its owner acts."""
    uniqueid = h.get("Uniqueid", "")
    return OriginateResult(
        pbx=pbx,
        at=at,
        action_id=h.get("ActionID", ""),
        success=h.get("Response", "") == "Success",
        reason=int(h.get("Reason") or 0),
        uniqueid="" if uniqueid in _CID_PLACEHOLDERS else uniqueid,
        channel=h.get("Channel", ""),
    )


_HANDLERS: dict[str, _Handler] = {
    # snapshot rows
    "QueueParams": _queue_params,
    "QueueMember": _queue_member_row,
    "QueueEntry": _queue_entry,
    "EndpointList": _endpoint_list,
    "ContactList": _contact_list,
    "ContactStatusDetail": _contact_detail,
    "OutboundRegistrationDetail": _registration_detail,
    "CoreShowChannel": _core_show_channel,
    "DBGetResponse": _db_get,
    "DBGetTreeResponse": _db_get_tree,
    # queue
    "QueueCallerJoin": _caller_join,
    "QueueCallerLeave": _caller_leave,
    "QueueCallerAbandon": _caller_abandon,
    "AgentCalled": _agent_called,
    "AgentRingNoAnswer": _agent_rna,
    "AgentConnect": _agent_connect,
    "AgentComplete": _agent_complete,
    "AgentDump": _agent_dump,
    "QueueMemberStatus": _member_update(MemberChange.STATUS, "QueueMemberStatus"),
    "QueueMemberAdded": _member_update(MemberChange.ADDED, "QueueMemberAdded"),
    "QueueMemberRemoved": _member_update(MemberChange.REMOVED, "QueueMemberRemoved"),
    "QueueMemberPause": _member_update(MemberChange.PAUSE, "QueueMemberPause"),
    "QueueMemberPenalty": _member_update(MemberChange.PENALTY, "QueueMemberPenalty"),
    "QueueMemberRinginuse": _member_update(MemberChange.RINGINUSE, "QueueMemberRinginuse"),
    # channels
    "Newchannel": _newchannel,
    "Newstate": _newstate,
    "Hangup": _hangup,
    "Hold": _hold(True),
    "Unhold": _hold(False),
    "BlindTransfer": _blind_transfer,
    "AttendedTransfer": _attended_transfer,
    # endpoints / trunks
    "PeerStatus": _peer_status,
    "ContactStatus": _contact_status,
    "Registry": _registry,
    "DeviceStateChange": _device_state,
    # system
    "Reload": _reload,
    "Shutdown": _shutdown,
    "UserEvent": _user_event,
    "OriginateResponse": _originate_response,
}

HANDLED_EVENTS: frozenset[str] = frozenset(_HANDLERS)
"""AMI event names :func:`normalize` turns into core events (everything else → None)."""

# Numeric headers per event, used only to name the culprit when int() fails.
_NUMERIC: dict[str, tuple[str, ...]] = {
    "QueueParams": (
        "Max",
        "Calls",
        "ServiceLevel",
        "Holdtime",
        "TalkTime",
        "Completed",
        "Abandoned",
        "Weight",
    ),
    "QueueMember": ("Penalty", "CallsTaken", "LastCall", "LastPause", "LoginTime", "Wrapuptime"),
    "QueueEntry": ("Position", "Wait"),
    "EndpointList": ("ActiveChannels",),
    "ContactList": ("ExpirationTime", "RoundtripUsec"),
    "ContactStatusDetail": ("RegExpire", "RoundtripUsec"),
    "ContactStatus": ("RoundtripUsec",),
    "OutboundRegistrationDetail": ("NextReg",),
    "CoreShowChannel": ("Duration",),
    "QueueCallerJoin": ("Position", "Count"),
    "QueueCallerLeave": ("Position", "Count"),
    "QueueCallerAbandon": ("Position", "OriginalPosition", "HoldTime"),
    "AgentRingNoAnswer": ("RingTime",),
    "AgentConnect": ("HoldTime", "RingTime"),
    "AgentComplete": ("HoldTime", "TalkTime"),
    "Hangup": ("Cause",),
    "OriginateResponse": ("Reason",),
}
for _name in HANDLED_EVENTS:
    if _name.startswith("QueueMember") and _name != "QueueMember":
        _NUMERIC[_name] = _NUMERIC["QueueMember"]


def _bad_number(event: str, h: dict[str, str], exc: ValueError) -> NormalizeError:
    """Slow path: find which numeric header did not parse."""
    for name in _NUMERIC.get(event, ()):
        value = h.get(name)
        if not value:
            continue
        try:
            if name == "Duration":
                _duration(value)
            elif name == "RoundtripUsec":
                _rtt(value)
            else:
                int(value)
        except ValueError:
            return NormalizeError(event, name, f"not a number: {_show(value)}")
    return NormalizeError(event, "", f"bad value: {exc}")


def normalize(msg: AmiMessage, pbx: str, list_action: str | None) -> Event | None:
    """One AMI message → one core event, or None if the core has no use for it.

    ``list_action`` is the action whose list this message belongs to (matched by ActionID
    by the caller; None for unsolicited events). Rows are recognised by their event name,
    which is unambiguous except ``DeviceStateChange`` (a ``DeviceStateList`` row or a live
    change, note 3): both mean "this device is now in this state", so they map alike.
    Responses and list ``…Complete`` markers return None: list bookkeeping is the caller's.

    Raises :class:`NormalizeError` (only) for a known event it cannot understand.
    """
    headers = msg.headers
    name = headers.get("Event")
    if name is None:
        return None
    handler = _HANDLERS.get(name)
    if handler is None:
        return None
    try:
        return handler(headers, pbx, msg.received_at, msg, list_action)
    except NormalizeError:
        raise
    except KeyError as exc:
        field = str(exc.args[0]) if exc.args else ""
        raise NormalizeError(name, field, "missing") from None
    except _Empty as exc:
        raise NormalizeError(name, exc.field, "empty") from None
    except ValueError as exc:
        raise _bad_number(name, headers, exc) from None
    except Exception as exc:  # never let one frame take the pipeline down
        raise NormalizeError(name, "", f"unexpected {type(exc).__name__}: {exc}") from None
