"""AMI actions of the simulated PBX: replies, list shapes and errors as Asterisk 22 gives them.

Each handler gets the running :class:`Boot` (engine and friends), the calling session's
permissions and the parsed action, and returns the bytes to send back; events an action
causes go through the engine's bus. Reply texts are Asterisk's own (``apps/app_queue.c``,
``main/manager.c``, ``main/db.c``, ``res/res_pjsip*``), because consoles match on them.

Where list items put their ActionID follows note 2: last header in app_queue items and
``DBGetResponse``, second header in PJSIP items, ``CoreShowChannel`` and
``DeviceStateChange`` list items.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ccops.sim import endpoint_detail
from ccops.sim.engine import VERSION
from ccops.sim.model import DEVSTATE_PJSIP, DEVSTATE_TEXT, Channel, Member, Queue
from ccops.sim.originate import OriginateRequest, future_callback
from ccops.sim.wire import (
    Action,
    EventClass,
    encode_headers,
    error,
    is_true,
    list_complete,
    list_start,
    privilege,
    response,
    success,
)

if TYPE_CHECKING:
    from ccops.sim.server import Boot

SYSTEM = int(EventClass.SYSTEM)
CALL = int(EventClass.CALL)
AGENT = int(EventClass.AGENT)
USER = int(EventClass.USER)
CONFIG = int(EventClass.CONFIG)
REPORTING = int(EventClass.REPORTING)
COMMAND = int(EventClass.COMMAND)
ORIGINATE = int(EventClass.ORIGINATE)

Reply = bytes | Awaitable[bytes]


@dataclass
class Caller:
    """What an action may know about the session that sent it."""

    username: str
    write_perm: int
    send_events: int


Handler = Callable[["Boot", Caller, Action], Reply]


@dataclass(frozen=True)
class ActionDef:
    name: str
    authority: int
    synopsis: str
    handler: Handler


def _id_last(aid: str) -> str:
    return f"ActionID: {aid}\r\n" if aid else ""


def _id_second(event: str, aid: str) -> str:
    return f"Event: {event}\r\n" + (f"ActionID: {aid}\r\n" if aid else "")


# ---------------------------------------------------------------------- queues


def _queue_params(q: Queue, aid: str) -> str:
    sl = 100.0 * q.completed_in_sl / q.completed if q.completed else 0.0
    total = q.completed + q.abandoned
    sl2 = 100.0 * (q.completed_in_sl + q.abandoned_in_sl) / total if total else 0.0
    return (
        f"Event: QueueParams\r\nQueue: {q.name}\r\nMax: 0\r\nStrategy: {q.spec.strategy}\r\n"
        f"Calls: {len(q.waiting)}\r\nHoldtime: {q.holdtime}\r\nTalkTime: {q.talktime}\r\n"
        f"Completed: {q.completed}\r\nAbandoned: {q.abandoned}\r\n"
        f"ServiceLevel: {q.spec.servicelevel}\r\nServicelevelPerf: {sl:2.1f}\r\n"
        f"ServicelevelPerf2: {sl2:2.1f}\r\nWeight: {q.spec.weight}\r\n{_id_last(aid)}\r\n"
    )


def _queue_member(m: Member, aid: str) -> str:
    return (
        f"Event: QueueMember\r\nQueue: {m.queue.name}\r\nName: {m.name}\r\n"
        f"Location: {m.interface}\r\nStateInterface: {m.state_interface}\r\n"
        f"Membership: {'dynamic' if m.dynamic else 'static'}\r\nPenalty: {m.penalty}\r\n"
        f"CallsTaken: {m.calls}\r\nLastCall: {m.last_call}\r\nLastPause: {m.last_pause}\r\n"
        f"LoginTime: {m.login_time}\r\nInCall: {1 if m.in_call else 0}\r\n"
        f"Status: {m.agent.device_state}\r\nPaused: {1 if m.paused else 0}\r\n"
        f"PausedReason: {m.paused_reason}\r\nWrapuptime: {m.wrapuptime}\r\n{_id_last(aid)}\r\n"
    )


def queue_status(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    qfilter, mfilter = action.get("Queue"), action.get("Member")
    parts = [list_start(aid, "Queue status will follow").decode()]
    count = 0
    now = e.sched.now
    for q in e.queues.values():
        if qfilter and q.name != qfilter:
            continue
        parts.append(_queue_params(q, aid))
        count += 1
        for m in q.members.values():
            if mfilter and mfilter not in (m.interface, m.name):
                continue
            parts.append(_queue_member(m, aid))
            count += 1
        for pos, w in enumerate(q.waiting, 1):
            c = w.call.caller
            parts.append(
                f"Event: QueueEntry\r\nQueue: {q.name}\r\nPosition: {pos}\r\n"
                f"Channel: {c.name}\r\nUniqueid: {c.uniqueid}\r\n"
                f"CallerIDNum: {c.cid_num or 'unknown'}\r\n"
                f"CallerIDName: {c.cid_name or 'unknown'}\r\n"
                f"ConnectedLineNum: {c.conn_num or 'unknown'}\r\n"
                f"ConnectedLineName: {c.conn_name or 'unknown'}\r\n"
                f"Wait: {int(now - w.joined)}\r\nPriority: 0\r\n{_id_last(aid)}\r\n"
            )
            count += 1
    return "".join(parts).encode() + list_complete("QueueStatusComplete", aid, count)


def queue_summary(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    qfilter = action.get("Queue")
    parts = [list_start(aid, "Queue summary will follow").decode()]
    count = 0
    now = e.sched.now
    for q in e.queues.values():
        if qfilter and q.name != qfilter:
            continue
        logged = avail = 0
        for m in q.members.values():
            status = m.agent.device_state
            if status in (4, 5):
                continue
            logged += 1
            if status in (0, 1) and not m.paused and not m.in_call:
                avail += 1
        longest = int(max((now - w.joined for w in q.waiting), default=0))
        parts.append(
            f"Event: QueueSummary\r\nQueue: {q.name}\r\nLoggedIn: {logged}\r\n"
            f"Available: {avail}\r\nCallers: {len(q.waiting)}\r\nHoldTime: {q.holdtime}\r\n"
            f"TalkTime: {q.talktime}\r\nLongestHoldTime: {longest}\r\n{_id_last(aid)}\r\n"
        )
        count += 1
    return "".join(parts).encode() + list_complete("QueueSummaryComplete", aid, count)


def queue_pause(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    interface, paused_s = action.get("Interface"), action.get("Paused")
    if not interface or not paused_s:
        return error(aid, "Need 'Interface' and 'Paused' parameters.")
    paused = is_true(paused_s)
    qname, reason = action.get("Queue"), action.get("Reason")
    members = [m for m in e.members_for_interface(interface) if not qname or m.queue.name == qname]
    if not members:
        return error(aid, "Interface not found")
    for m in members:
        e.pause(m, paused, reason)
    return success(
        aid, "Interface paused successfully" if paused else "Interface unpaused successfully"
    )


def queue_add(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    qname, interface = action.get("Queue"), action.get("Interface")
    if not qname:
        return error(aid, "'Queue' not specified.")
    if not interface:
        return error(aid, "'Interface' not specified.")
    queue = e.queues.get(qname)
    if queue is None:
        return error(aid, "Unable to add interface to queue: No such queue")
    if interface in queue.members:
        return error(aid, "Unable to add interface: Already there")
    penalty_s = action.get("Penalty")
    penalty = int(penalty_s) if penalty_s.strip().lstrip("-").isdigit() else 0
    paused = is_true(action.get("Paused"))
    e.add_member(
        queue,
        interface,
        name=action.get("MemberName"),
        penalty=max(0, penalty),
        paused=paused,
        reason=action.get("Reason"),
        state_interface=action.get("StateInterface"),
    )
    return success(aid, "Added interface to queue")


def queue_remove(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    qname, interface = action.get("Queue"), action.get("Interface")
    if not qname or not interface:
        return error(aid, "Need 'Queue' and 'Interface' parameters.")
    queue = e.queues.get(qname)
    if queue is None:
        return error(aid, "Unable to remove interface from queue: No such queue")
    member = queue.members.get(interface)
    if member is None:
        return error(aid, "Unable to remove interface: Not there")
    if not member.dynamic:
        return error(aid, "Member not dynamic")
    e.remove_member(member)
    return success(aid, "Removed interface from queue")


def queue_penalty(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    interface, penalty_s = action.get("Interface"), action.get("Penalty")
    if not interface or not penalty_s:
        return error(aid, "Need 'Interface' and 'Penalty' parameters.")
    qname = action.get("Queue")
    try:
        penalty = int(penalty_s)
    except ValueError:
        penalty = -1
    members = [m for m in e.members_for_interface(interface) if not qname or m.queue.name == qname]
    if penalty < 0 or not members or (qname and qname not in e.queues):
        return error(aid, "Invalid interface, queuename or penalty")
    for m in members:
        e.set_penalty(m, penalty)
    return success(aid, "Interface penalty set successfully")


# ---------------------------------------------------------------------- pjsip


def _endpoints(boot: Boot) -> list[tuple[str, str, str, str, str, int, str]]:
    """(name, aor, auths, outbound_auths, contacts, devstate, active) sorted by name."""
    e = boot.engine
    rows = []
    for t in e.trunks.values():
        active = "".join(f"{c.name}," for c in e.channels.values() if c.trunk == t.name)
        rows.append(
            (
                t.name,
                t.name,
                "",
                f"{t.name}-auth" if t.spec.registers else "",
                f"{t.name}/{t.spec.uri},",
                e.device_states.get(f"PJSIP/{t.name}", 0),
                active,
            )
        )
    for d in e.desks.values():
        contact = f"{d.spec.name}/{_desk_uri(d.spec.name, d.spec.address)}," if d.registered else ""
        rows.append(
            (
                d.spec.name,
                d.spec.name,
                f"{d.spec.name}-auth",
                "",
                contact,
                e.device_states.get(f"PJSIP/{d.spec.name}", 0),
                "",
            )
        )
    return sorted(rows)


def _desk_uri(name: str, address: str) -> str:
    return f"sip:{name}@{address};ob"


def pjsip_show_endpoints(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    rows = _endpoints(boot)
    if not rows:
        return error(aid, "No endpoints found\n")
    parts = [list_start(aid, "A listing of Endpoints follows, presented as EndpointList events")]
    for name, aor, auths, oauths, contacts, state, active in rows:
        parts.append(
            (
                f"{_id_second('EndpointList', aid)}ObjectType: endpoint\r\nObjectName: {name}\r\n"
                f"Transport: transport-udp\r\nAor: {aor}\r\nAuths: {auths}\r\n"
                f"OutboundAuths: {oauths}\r\nContacts: {contacts}\r\n"
                f"DeviceState: {DEVSTATE_PJSIP.get(state, 'Unknown')}\r\n"
                f"ActiveChannels: {active}\r\n\r\n"
            ).encode()
        )
    parts.append(list_complete("EndpointListComplete", aid, len(rows)))
    return b"".join(parts)


def pjsip_show_endpoint(boot: Boot, who: Caller, action: Action) -> bytes:
    """One endpoint's detail (trunk contacts with status and RTT): see endpoint_detail."""
    return endpoint_detail.pjsip_show_endpoint(
        boot.engine, action.get("Endpoint"), action.action_id
    )


def pjsip_show_contacts(boot: Boot, who: Caller, action: Action) -> bytes:
    """Only registered (dynamic) contacts are listed: static AOR contacts are not (note 22)."""
    e, aid = boot.engine, action.action_id
    desks = [d for d in sorted(e.desks.values(), key=lambda d: d.spec.name) if d.registered]
    if not desks:
        return error(aid, "No Contacts found\n")
    parts = [list_start(aid, "A listing of Contacts follows, presented as ContactList events")]
    for d in desks:
        name = d.spec.name
        uri = _desk_uri(name, d.spec.address)
        digest = hashlib.md5(uri.encode()).hexdigest()
        host, _, port = d.spec.address.partition(":")
        parts.append(
            (
                f"{_id_second('ContactList', aid)}ObjectType: contact\r\n"
                f"ObjectName: {name};@{digest}\r\nViaAddr: {host}\r\n"
                f"QualifyTimeout: 3.000000\r\nQualify2xxOnly: false\r\n"
                f"CallId: {digest[:16]}-ccops-sim\r\nRegServer: \r\nPruneOnBoot: no\r\n"
                f"Path: \r\nEndpoint: {name}\r\nViaPort: {port or 5060}\r\n"
                f"AuthenticateQualify: no\r\nUri: {uri}\r\nQualifyFrequency: 0\r\n"
                f"UserAgent: ccops-sim desk phone\r\n"
                f"ExpirationTime: {int(e.sched.epoch + d.reg_expires)}\r\nOutboundProxy: \r\n"
                f"Status: Unknown\r\nRoundtripUsec: N/A\r\n\r\n"
            ).encode()
        )
    parts.append(list_complete("ContactListComplete", aid, len(desks)))
    return b"".join(parts)


def pjsip_show_aors(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    rows: list[tuple[str, str, float, int]] = []
    for t in e.trunks.values():
        rows.append((t.name, f"{t.name}/{t.spec.uri},", t.spec.qualify_frequency, 0))
    for d in e.desks.values():
        contact = f"{d.spec.name}/{_desk_uri(d.spec.name, d.spec.address)}," if d.registered else ""
        rows.append((d.spec.name, contact, 0, 1))
    rows.sort()
    parts = [list_start(aid, "A listing of Aors follows, presented as AorList events")]
    for name, contacts, qualify, max_contacts in rows:
        parts.append(
            (
                f"{_id_second('AorList', aid)}ObjectType: aor\r\nObjectName: {name}\r\n"
                f"MinimumExpiration: 60\r\nDefaultExpiration: 3600\r\n"
                f"QualifyTimeout: 3.000000\r\nQualify2xxOnly: false\r\nMailboxes: \r\n"
                f"SupportPath: false\r\nRemoveUnavailable: false\r\nVoicemailExtension: \r\n"
                f"MaxContacts: {max_contacts}\r\nAuthenticateQualify: false\r\n"
                f"Contacts: {contacts}\r\nMaximumExpiration: 7200\r\n"
                f"QualifyFrequency: {int(qualify)}\r\n"
                f"RemoveExisting: {'true' if max_contacts else 'false'}\r\nOutboundProxy: \r\n\r\n"
            ).encode()
        )
    parts.append(list_complete("AorListComplete", aid, len(rows)))
    return b"".join(parts)


def pjsip_show_registrations(boot: Boot, who: Caller, action: Action) -> bytes:
    """OutboundRegistrationDetail + AuthDetail per registration; the password is in clear
    exactly as Asterisk prints it (note 9), so consoles must learn not to show it."""
    e, aid = boot.engine, action.action_id
    parts = [list_start(aid, "Following are Events for each Outbound registration")]
    registered = not_registered = 0
    for reg in sorted(e.registrations.values(), key=lambda r: r.name):
        s = reg.trunk.spec
        if reg.status == "Registered":
            registered += 1
        else:
            not_registered += 1
        next_reg = max(0, int(reg.next_reg - e.sched.now))
        parts.append(
            (
                f"{_id_second('OutboundRegistrationDetail', aid)}ObjectType: registration\r\n"
                f"ObjectName: {reg.name}\r\nMaxRetries: 1000000\r\nClientUri: {reg.client_uri}\r\n"
                f"SecurityNegotiation: no\r\nAuthRejectionPermanent: true\r\n"
                f"ServerUri: {reg.server_uri}\r\nMaxRandomInitialDelay: 10\r\n"
                f"SupportPath: false\r\nRetryInterval: {s.retry_interval}\r\n"
                f"ContactHeaderParams: \r\nExpiration: {s.expiration}\r\n"
                f"Transport: transport-udp\r\nLine: true\r\nContactUser: {s.contact_user}\r\n"
                f"Endpoint: {reg.trunk.name}\r\nUserAgent: \r\n"
                f"ForbiddenRetryInterval: {s.forbidden_retry_interval}\r\n"
                f"OutboundAuth: {reg.trunk.name}-auth\r\nOutboundProxy: \r\n"
                f"FatalRetryInterval: 0\r\nSupportOutbound: no\r\n"
                f"Status: {reg.status}\r\nNextReg: {next_reg}\r\n\r\n"
            ).encode()
        )
        parts.append(
            (
                f"{_id_second('AuthDetail', aid)}ObjectType: auth\r\n"
                f"ObjectName: {reg.trunk.name}-auth\r\nOauthSecret: \r\nPasswordDigest: \r\n"
                f"SupportedAlgorithmsUas: MD5\r\nRefreshToken: \r\n"
                f"Username: {s.register_user}\r\nMd5Cred: \r\nRealm: {reg.trunk.name}\r\n"
                f"AuthType: userpass\r\nPassword: {reg.trunk.name}-sim-password\r\n"
                f"SupportedAlgorithmsUac: MD5\r\nNonceLifetime: 32\r\nOauthClientid: \r\n\r\n"
            ).encode()
        )
    parts.append(
        list_complete(
            "OutboundRegistrationDetailComplete",
            aid,
            registered + not_registered,
            [("Registered", str(registered)), ("NotRegistered", str(not_registered))],
        )
    )
    return b"".join(parts)


def pjsip_register(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    name = action.get("Registration")
    if not name:
        return error(aid, "Registration parameter missing.")
    reg = next((r for r in boot.engine.registrations.values() if r.name == name), None)
    if reg is None:
        return error(aid, f"Unable to retrieve registration entry {name}\n")
    boot.traffic.force_register(reg)
    return success(aid, "Reregistration sent")


# ---------------------------------------------------------------------- channels


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}:{s % 60:02d}"


def core_show_channels(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    chans: list[Channel] = sorted(e.channels.values(), key=lambda c: c.created)
    parts = [list_start(aid, "Channels will follow")]
    for c in chans:
        bridge = c.bridge.uniqueid if c.bridge is not None else ""
        parts.append(
            (
                f"{_id_second('CoreShowChannel', aid)}{c.snapshot()}Application: {c.app}\r\n"
                f"ApplicationData: {c.appdata}\r\n"
                f"Duration: {_duration(e.sched.now - c.created)}\r\n"
                f"BridgeId: {bridge}\r\n\r\n"
            ).encode()
        )
    parts.append(list_complete("CoreShowChannelsComplete", aid, len(chans)))
    return b"".join(parts)


def hangup(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    name = action.get("Channel")
    if not name:
        return error(aid, "No channel specified")
    if not boot.flow.hangup_channel(name):
        return error(aid, "No such channel")
    return success(aid, "Channel Hungup")


def device_state_list(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    parts = [list_start(aid, "Device State Changes will follow")]
    items = sorted(e.device_states.items())
    for device, state in items:
        parts.append(
            (
                f"{_id_second('DeviceStateChange', aid)}Device: {device}\r\n"
                f"State: {DEVSTATE_TEXT.get(state, 'UNKNOWN')}\r\n\r\n"
            ).encode()
        )
    parts.append(list_complete("DeviceStateListComplete", aid, len(items)))
    return b"".join(parts)


# ---------------------------------------------------------------------- astdb


def _db_key(family: str, key: str) -> str:
    return f"/{family.strip('/')}/{key.strip('/')}" if key else f"/{family.strip('/')}"


def db_get(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    family, key = action.get("Family"), action.get("Key")
    if not family:
        return error(aid, "No family specified.")
    if not key:
        return error(aid, "No key specified.")
    value = boot.engine.astdb.get(_db_key(family, key))
    if value is None:
        return error(aid, "Database entry not found")
    item = (
        f"Event: DBGetResponse\r\nFamily: {family}\r\nKey: {key}\r\nVal: {value}\r\n"
        f"{_id_last(aid)}\r\n"
    )
    return (
        list_start(aid, "Result will follow")
        + item.encode()
        + list_complete("DBGetComplete", aid, 1)
    )


def db_get_tree(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    family, key = action.get("Family"), action.get("Key")
    prefix = _db_key(family, key) if family else "/"
    items = []
    for full, value in sorted(boot.engine.astdb.items()):
        if prefix != "/" and full != prefix and not full.startswith(prefix.rstrip("/") + "/"):
            continue
        items.append(
            f"Event: DBGetTreeResponse\r\nKey: {full}\r\nVal: {value}\r\n{_id_last(aid)}\r\n"
        )
    return (
        list_start(aid, "Result will follow")
        + "".join(items).encode()
        + list_complete("DBGetTreeComplete", aid, len(items))
    )


def db_put(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    family, key = action.get("Family"), action.get("Key")
    if not family:
        return error(aid, "No family specified")
    if not key:
        return error(aid, "No key specified")
    boot.engine.astdb[_db_key(family, key)] = action.get("Val")
    return success(aid, "Updated database successfully")


def db_del(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    family, key = action.get("Family"), action.get("Key")
    if not family:
        return error(aid, "No family specified.")
    if not key:
        return error(aid, "No key specified.")
    if boot.engine.astdb.pop(_db_key(family, key), None) is None:
        return error(aid, "Database entry could not be deleted")
    return success(aid, "Key deleted successfully")


def db_del_tree(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    family, key = action.get("Family"), action.get("Key")
    if not family:
        return error(aid, "No family specified.")
    prefix = _db_key(family, key)
    db = boot.engine.astdb
    doomed = [k for k in db if k == prefix or k.startswith(prefix + "/")]
    if not doomed:
        return error(aid, "Database entry not found")
    for k in doomed:
        del db[k]
    return success(aid, "Key tree deleted successfully")


# ---------------------------------------------------------------------- variables


def _devstate_arg(variable: str) -> str | None:
    up = variable.upper()
    if up.startswith("DEVICE_STATE(") and variable.endswith(")"):
        return variable[len("DEVICE_STATE(") : -1]
    return None


def setvar(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    variable, value, chan = action.get("Variable"), action.get("Value"), action.get("Channel")
    if not variable:
        return error(aid, "No variable specified")
    channel = None
    if chan:
        channel = e.channels.get(chan)
        if channel is None:
            return error(aid, "No such channel")
    device = _devstate_arg(variable)
    if device is not None:
        if not device.lower().startswith("custom:"):
            return error(aid, "Failed to set variable.")
        state = _devstate_from_text(value)
        e.astdb[f"/CustomDevstate/{device[7:]}"] = DEVSTATE_TEXT[state]
        e.set_device_state("Custom:" + device[7:], state)
    elif channel is not None:
        e.varset(channel, variable, value)
    else:
        boot.globals[variable] = value
    return success(aid, "Variable Set")


def _devstate_from_text(text: str) -> int:
    wanted = text.strip().upper()
    for number, name in DEVSTATE_TEXT.items():
        if name == wanted:
            return number
    return 0


def getvar(boot: Boot, who: Caller, action: Action) -> bytes:
    e, aid = boot.engine, action.action_id
    variable, chan = action.get("Variable"), action.get("Channel")
    if not variable:
        return error(aid, "No variable specified")
    channel = None
    if chan:
        channel = e.channels.get(chan)
        if channel is None:
            return error(aid, "No such channel")
    device = _devstate_arg(variable)
    up = variable.upper()
    if device is not None:
        if device.lower().startswith("custom:"):
            device = "Custom:" + device[7:]
        value = DEVSTATE_TEXT.get(e.device_states.get(device, 0), "UNKNOWN")
    elif up.startswith("DB(") and variable.endswith(")"):
        value = e.astdb.get("/" + variable[3:-1].strip("/"), "")
    elif channel is not None:
        value = channel.variables.get(variable, "")
    else:
        value = boot.globals.get(variable, "")
    return response("Success", aid, None, extra=[("Variable", variable), ("Value", value)])


# ---------------------------------------------------------------------- system


def user_event(boot: Boot, who: Caller, action: Action) -> bytes:
    name = action.get("UserEvent")
    body = "".join(
        f"{k}: {v}\r\n" for k, v in action.headers if k.lower() not in ("userevent", "action")
    )
    boot.engine.bus.emit("UserEvent", USER, f"UserEvent: {name}\r\n{body}")
    return success(action.action_id, "Event Sent")


def reload(boot: Boot, who: Caller, action: Action) -> bytes:
    aid = action.action_id
    module = action.get("Module")
    known = (
        "",
        "app_queue",
        "app_queue.so",
        "res_pjsip",
        "res_pjsip.so",
        "manager",
        "chan_pjsip",
        "chan_pjsip.so",
        "pbx_config",
        "pbx_config.so",
    )
    if module not in known:
        return error(aid, "No such module")
    boot.engine.reload(module)
    return success(aid, "Module Reloaded.")


def core_settings(boot: Boot, who: Caller, action: Action) -> bytes:
    return response(
        "Success",
        action.action_id,
        None,
        extra=[
            ("AMIversion", "11.0.0"),
            ("AsteriskVersion", VERSION),
            ("SystemName", ""),
            ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", "asterisk"),
            ("CoreRunGroup", "asterisk"),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "No"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        ],
    )


def core_status(boot: Boot, who: Caller, action: Action) -> bytes:
    e = boot.engine
    boot_t = time.gmtime(e.boot_wall)
    reload_t = time.gmtime(e.reload_wall)
    return response(
        "Success",
        action.action_id,
        None,
        extra=[
            ("CoreStartupDate", time.strftime("%Y-%m-%d", boot_t)),
            ("CoreStartupTime", time.strftime("%H:%M:%S", boot_t)),
            ("CoreReloadDate", time.strftime("%Y-%m-%d", reload_t)),
            ("CoreReloadTime", time.strftime("%H:%M:%S", reload_t)),
            ("CoreCurrentCalls", str(len(boot.flow.calls))),
            ("CoreProcessedCalls", str(e.stats_processed())),
        ],
    )


def command(boot: Boot, who: Caller, action: Action) -> bytes:
    text = " ".join(action.get("Command").split())
    lines = _cli(boot, text)
    head = response("Success", action.action_id, "Command output follows").rstrip(b"\r\n")
    body = "".join(f"Output: {line}\r\n" for line in lines)
    return head + b"\r\n" + body.encode() + b"\r\n"


def _cli(boot: Boot, text: str) -> list[str]:
    e = boot.engine
    if text == "core show version":
        return [
            f"Asterisk {VERSION} (SIMULATED by ccops) built by ccops-sim @ localhost "
            "on a x86_64 running Linux"
        ]
    if text == "core show uptime":
        up = int(e.sched.wall() - e.boot_wall)
        return [
            f"System uptime: {up} seconds",
            f"Last reload: {int(e.sched.wall() - e.reload_wall)} seconds",
        ]
    if text in ("core show channels", "core show channels count"):
        n = len(e.channels)
        calls = len(boot.flow.calls)
        return [f"{n} active channels", f"{calls} active calls"]
    if text.startswith("queue show"):
        out = []
        for q in e.queues.values():
            out.append(
                f"{q.name} has {len(q.waiting)} calls (max unlimited) in '{q.spec.strategy}' "
                f"strategy ({q.holdtime}s holdtime, {q.talktime}s talktime), W:{q.spec.weight}, "
                f"C:{q.completed}, A:{q.abandoned}, SL:0.0% within {q.spec.servicelevel}s"
            )
        return out
    return [f"No such command '{text}' (type 'core show help {text}' for other possible commands)"]


# ---------------------------------------------------------------------- originate


def originate(boot: Boot, who: Caller, action: Action) -> Reply:
    aid = action.action_id
    channel = action.get("Channel")
    if not channel:
        return error(aid, "Channel not specified")
    if "/" not in channel:
        return error(aid, "Invalid channel")
    priority = action.get("Priority") or "1"
    timeout_s = action.get("Timeout")
    try:
        timeout_ms = int(timeout_s) if timeout_s else 30000
    except ValueError:
        return error(aid, "Invalid timeout")
    if action.get("Exten") and not priority.isdigit():
        return error(aid, "Invalid priority")
    variables: dict[str, str] = {}
    for raw in action.all("Variable"):
        for part in raw.split(","):
            key, sep, value = part.partition("=")
            if sep and key.strip():
                variables[key.strip()] = value
    req = OriginateRequest(
        channel=channel,
        action_id=aid,
        context=action.get("Context"),
        exten=action.get("Exten"),
        priority=priority,
        application=action.get("Application"),
        data=action.get("Data"),
        timeout_ms=max(1, timeout_ms),
        callerid=action.get("CallerID"),
        variables=variables,
        channel_id=action.get("ChannelId"),
        other_channel_id=action.get("OtherChannelId"),
    )
    if is_true(action.get("Async")):
        boot.originator.start(req)
        return success(aid, "Originate successfully queued")
    return _originate_sync(boot, req, aid)


async def _originate_sync(boot: Boot, req: OriginateRequest, aid: str) -> bytes:
    fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    boot.originator.start(req, future_callback(fut))
    ok = await fut
    return success(aid, "Originate successfully queued") if ok else error(aid, "Originate failed")


# ---------------------------------------------------------------------- misc


def ping(boot: Boot, who: Caller, action: Action) -> bytes:
    wall = boot.engine.sched.wall()
    return response(
        "Success", action.action_id, None, extra=[("Ping", "Pong"), ("Timestamp", f"{wall:.6f}")]
    )


def list_commands(boot: Boot, who: Caller, action: Action) -> bytes:
    lines = []
    for d in ACTIONS.values():
        if d.authority == 0 or who.write_perm & d.authority:
            priv = privilege(d.authority).removesuffix(",all") if d.authority else "<none>"
            lines.append((d.name, f"{d.synopsis} (Priv: {priv})"))
    return response("Success", action.action_id, None, extra=lines)


def _table(*defs: ActionDef) -> dict[str, ActionDef]:
    return {d.name.lower(): d for d in defs}


ACTIONS: dict[str, ActionDef] = _table(
    ActionDef("Ping", 0, "Keepalive command.", ping),
    ActionDef("ListCommands", 0, "List available manager commands.", list_commands),
    ActionDef("QueueStatus", 0, "Show queue status.", queue_status),
    ActionDef("QueueSummary", 0, "Show queue summary.", queue_summary),
    ActionDef("QueuePause", AGENT, "Makes a queue member temporarily unavailable.", queue_pause),
    ActionDef("QueueAdd", AGENT, "Add interface to queue.", queue_add),
    ActionDef("QueueRemove", AGENT, "Remove interface from queue.", queue_remove),
    ActionDef("QueuePenalty", AGENT, "Set the penalty for a queue member.", queue_penalty),
    ActionDef("PJSIPShowEndpoints", SYSTEM, "Lists PJSIP endpoints.", pjsip_show_endpoints),
    ActionDef("PJSIPShowEndpoint", SYSTEM, "Detail listing of an endpoint and its objects.",
              pjsip_show_endpoint),
    ActionDef("PJSIPShowContacts", SYSTEM, "Lists PJSIP Contacts.", pjsip_show_contacts),
    ActionDef("PJSIPShowAors", SYSTEM, "Lists PJSIP AORs.", pjsip_show_aors),
    ActionDef(
        "PJSIPShowRegistrationsOutbound",
        SYSTEM,
        "Lists PJSIP outbound registrations.",
        pjsip_show_registrations,
    ),
    ActionDef("PJSIPRegister", SYSTEM, "Register an outbound registration.", pjsip_register),
    ActionDef(
        "CoreShowChannels",
        SYSTEM | REPORTING,
        "List currently active channels.",
        core_show_channels,
    ),
    ActionDef("Hangup", SYSTEM | CALL, "Hangup channel.", hangup),
    ActionDef(
        "DeviceStateList",
        CALL | REPORTING,
        "List the current known device states.",
        device_state_list,
    ),
    ActionDef("DBGet", SYSTEM | REPORTING, "Get DB Entry.", db_get),
    ActionDef(
        "DBGetTree",
        SYSTEM | REPORTING,
        "Get DB entries, optionally at a particular family/key",
        db_get_tree,
    ),
    ActionDef("DBPut", SYSTEM, "Put DB entry.", db_put),
    ActionDef("DBDel", SYSTEM, "Delete DB entry.", db_del),
    ActionDef("DBDelTree", SYSTEM, "Delete DB Tree.", db_del_tree),
    ActionDef("Setvar", CALL, "Sets a channel variable or function value.", setvar),
    ActionDef("Getvar", CALL | REPORTING, "Gets a channel variable or function value.", getvar),
    ActionDef("UserEvent", USER, "Send an arbitrary event.", user_event),
    ActionDef("Reload", SYSTEM | CONFIG, "Send a reload event.", reload),
    ActionDef(
        "CoreSettings", SYSTEM | REPORTING, "Show PBX core settings (version etc).", core_settings
    ),
    ActionDef("CoreStatus", SYSTEM | REPORTING, "Show PBX core status variables.", core_status),
    ActionDef("Command", COMMAND, "Execute Asterisk CLI Command.", command),
    ActionDef("Originate", ORIGINATE, "Originate a call.", originate),
)

# Handled by the session itself (authentication and connection state), listed for
# ListCommands and the permission check.
SESSION_ACTIONS = ("login", "logoff", "challenge", "events")


def invalid(action_name: str, aid: str) -> bytes:
    return error(
        aid,
        f"Invalid/unknown command: {action_name}. Use Action: ListCommands to show available "
        "commands.",
    )


__all__ = ["ACTIONS", "SESSION_ACTIONS", "ActionDef", "Caller", "encode_headers", "invalid"]
