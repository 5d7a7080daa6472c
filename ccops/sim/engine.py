"""The simulated PBX's state and the primitive operations that change it.

Every primitive emits exactly the AMI events Asterisk 22 emits for that change, with the
same header names and order (see ``/work/shared/asterisk-22-notes.md`` and Asterisk's
``main/manager_channels.c``, ``apps/app_queue.c``, ``res/res_pjsip*``). The call flow
(:mod:`ccops.sim.calls`), the traffic model (:mod:`ccops.sim.traffic`) and the AMI actions
(:mod:`ccops.sim.actions`) are built on these primitives and never format events themselves,
so header order lives in one place.
"""

from __future__ import annotations

import random
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ccops.sim.bus import EventBus
from ccops.sim.centre import AgentSpec, Centre
from ccops.sim.clockwork import Scheduler
from ccops.sim.model import (
    DEV_INUSE,
    DEV_INVALID,
    DEV_NOT_INUSE,
    DEV_RINGING,
    DEV_UNAVAILABLE,
    DEVSTATE_TEXT,
    DOWN,
    Agent,
    Bridge,
    Channel,
    Desk,
    Member,
    Queue,
    Registration,
    Trunk,
)
from ccops.sim.wire import EventClass

CALL = int(EventClass.CALL)
AGENT = int(EventClass.AGENT)
SYSTEM = int(EventClass.SYSTEM)
USER = int(EventClass.USER)
DIALPLAN = int(EventClass.DIALPLAN)
REPORTING = int(EventClass.REPORTING)
DTMF = int(EventClass.DTMF)

CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "No user responding",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
    38: "Network out of order",
}

VERSION = "22.10.1"


@dataclass
class QueueCounters:
    """The simulator's own ground truth per queue, for tests and drill evaluation."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    timeouts: int = 0
    overflowed: int = 0
    transferred: int = 0


@dataclass
class SimStats:
    """What happened since the (re)boot: the sim's truth to compare the console against."""

    blocked: int = 0
    dropped_on_trunk_failure: int = 0
    originates: int = 0
    queues: dict[str, QueueCounters] = field(default_factory=dict)

    def queue(self, name: str) -> QueueCounters:
        counters = self.queues.get(name)
        if counters is None:
            counters = self.queues[name] = QueueCounters()
        return counters


class Engine:
    """State plus event-emitting primitives; one instance per boot of the simulated PBX."""

    def __init__(
        self,
        centre: Centre,
        scheduler: Scheduler,
        bus: EventBus,
        rng: random.Random,
        *,
        noise: float = 1.0,
        test_events: bool = True,
        astdb: dict[str, str] | None = None,
    ) -> None:
        self.centre = centre
        self.sched = scheduler
        self.bus = bus
        self.rng = rng
        self.noise_rng = random.Random(rng.random())
        self.noise = noise
        self.test_events = test_events
        self.stats = SimStats()
        # AstDB survives restarts (it is a file in Asterisk): the owner passes it in.
        self.astdb: dict[str, str] = astdb if astdb is not None else {}
        self.channels: dict[str, Channel] = {}
        self._uniq = 0
        self._chan_seq = 0
        self._local_seq = 0
        self._bridge_seq = 0
        self._callid = 0
        self.boot_wall = scheduler.wall()
        self.reload_wall = self.boot_wall
        self.device_states: dict[str, int] = {}
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.trunks: dict[str, Trunk] = {}
        self.registrations: dict[str, Registration] = {}
        self.desks: dict[str, Desk] = {}
        self._by_interface: dict[str, Agent] = {}
        self.on_agent_free: Callable[[Agent], None] | None = None
        self.problems: Counter[str] = Counter()
        self._build()

    # ------------------------------------------------------------------ setup

    def _build(self) -> None:
        from ccops.sim.model import Queue as QueueState

        now = int(self.sched.wall())
        for spec in self.centre.queues:
            self.queues[spec.name] = QueueState(spec=spec)
        for aspec in self.centre.agents:
            agent = Agent(spec=aspec)
            self.agents[aspec.id] = agent
            self._by_interface[agent.interface.lower()] = agent
            self.device_states[agent.device] = DEV_NOT_INUSE
            for qname, penalty in aspec.queues.items():
                self._add_membership(agent, self.queues[qname], penalty, aspec.dynamic, now)
        for tspec in self.centre.trunks:
            trunk = Trunk(spec=tspec, rtt_usec=tspec.rtt_usec)
            self.trunks[tspec.name] = trunk
            self.device_states[f"PJSIP/{tspec.name}"] = DEV_NOT_INUSE
            if tspec.registers:
                self.registrations[tspec.name] = Registration(trunk=trunk)
        for dspec in self.centre.desks:
            self.desks[dspec.name] = Desk(
                spec=dspec,
                registered=dspec.registered,
                rtt_usec=0,
                reg_expires=self.sched.now + 3600,
            )
            self.device_states[f"PJSIP/{dspec.name}"] = (
                DEV_NOT_INUSE if dspec.registered else DEV_UNAVAILABLE
            )
        for queue in self.queues.values():
            self.device_states[f"Queue:{queue.name}"] = DEV_NOT_INUSE
            self.device_states[f"Queue:{queue.name}_avail"] = (
                DEV_NOT_INUSE if queue.members else DEV_INUSE
            )
        for key, value in self.astdb.items():
            if key.startswith("/CustomDevstate/"):
                self.device_states["Custom:" + key.split("/", 2)[2]] = _devstate_number(value)

    def _add_membership(
        self, agent: Agent, queue: Queue, penalty: int, dynamic: bool, login: int
    ) -> Member:
        member = Member(
            queue=queue,
            agent=agent,
            interface=agent.spec.interface,
            name=agent.spec.name,
            state_interface=agent.spec.interface,
            penalty=penalty,
            dynamic=dynamic,
            login_time=login,
        )
        queue.members[member.interface] = member
        return member

    # ------------------------------------------------------------------ ids

    def new_uniqueid(self) -> str:
        self._uniq += 1
        return f"{int(self.sched.wall())}.{self._uniq}"

    def new_callid(self) -> int:
        self._callid += 1
        return self._callid

    def new_bridge(self) -> Bridge:
        self._bridge_seq += 1
        r = self.rng.getrandbits(64)
        uid = f"{r >> 32:08x}-{(r >> 16) & 0xFFFF:04x}-4{r & 0xFFF:03x}-a{self._bridge_seq:015x}"
        return Bridge(uniqueid=uid[:36])

    # ------------------------------------------------------------------ channels

    def new_channel(
        self,
        name: str,
        *,
        context: str,
        exten: str,
        state: int = DOWN,
        cid_num: str = "",
        cid_name: str = "",
        conn_num: str = "",
        conn_name: str = "",
        linkedid: str | None = None,
        uniqueid: str | None = None,
        trunk: str | None = None,
        device: str | None = None,
        emit: bool = True,
    ) -> Channel:
        uid = uniqueid or self.new_uniqueid()
        chan = Channel(
            name=name,
            uniqueid=uid,
            linkedid=linkedid or uid,
            context=context,
            exten=exten,
            state=state,
            cid_num=cid_num,
            cid_name=cid_name,
            conn_num=conn_num,
            conn_name=conn_name,
            created=self.sched.now,
            trunk=trunk,
            device=device,
        )
        self.channels[name] = chan
        if emit:
            self.bus.emit("Newchannel", CALL, chan.snapshot())
        if trunk is not None:
            t = self.trunks[trunk]
            t.channels += 1
            if t.channels == 1 and t.reachable:
                self.set_device_state(f"PJSIP/{trunk}", DEV_INUSE)
        return chan

    def pjsip_channel_name(self, endpoint: str) -> str:
        self._chan_seq += 1
        return f"PJSIP/{endpoint}-{self._chan_seq:08x}"

    def local_pair_names(self, exten: str, context: str) -> tuple[str, str]:
        self._local_seq += 1
        base = f"Local/{exten}@{context}-{self._local_seq:08x}"
        return base + ";1", base + ";2"

    def set_state(self, chan: Channel, state: int) -> None:
        if chan.state == state or not chan.alive:
            return
        chan.state = state
        chan.touch()
        self.bus.emit("Newstate", CALL, chan.snapshot())

    def goto(self, chan: Channel, context: str, exten: str, priority: int = 1) -> None:
        chan.context, chan.exten, chan.priority = context, exten, priority
        chan.touch()

    def newexten(self, chan: Channel, app: str, data: str, priority: int | None = None) -> None:
        """Move to a dialplan step; emits Newexten (class dialplan) when noise is on."""
        if priority is not None:
            chan.priority = priority
            chan.touch()
        chan.app, chan.appdata = app, data
        if self.noise > 0 and self.bus.wants(DIALPLAN):
            self.bus.emit(
                "Newexten",
                DIALPLAN,
                f"{chan.snapshot()}Extension: {chan.exten}\r\n"
                f"Application: {app}\r\nAppData: {data}\r\n",
            )

    def varset(self, chan: Channel, name: str, value: str, chance: float = 1.0) -> None:
        chan.variables[name] = value
        if self.noise <= 0 or not self.bus.wants(DIALPLAN):
            return
        if chance < 1.0 and self.noise_rng.random() > chance * self.noise:
            return
        self.bus.emit(
            "VarSet", DIALPLAN, f"{chan.snapshot()}Variable: {name}\r\nValue: {value}\r\n"
        )

    def hangup(self, chan: Channel, cause: int = 16) -> None:
        if not chan.alive:
            return
        chan.alive = False
        self.bus.emit(
            "Hangup",
            CALL,
            f"{chan.snapshot()}Cause: {cause}\r\nCause-txt: {CAUSE_TEXT.get(cause, 'Unknown')}\r\n",
        )
        self.channels.pop(chan.name, None)
        if chan.trunk is not None:
            endpoint = chan.trunk
            self.test_event(
                "SESSION_DESTROYING",
                "res_pjsip_session.c",
                "session_destructor",
                f"Endpoint: {endpoint}\r\nAOR: <none>\r\nContact: <none>",
            )
            self.test_event(
                "SESSION_DESTROYED",
                "res_pjsip_session.c",
                "session_destructor",
                f"Endpoint: {endpoint}",
            )
            t = self.trunks.get(endpoint)
            if t is not None:
                t.channels = max(0, t.channels - 1)
                if t.channels == 0 and t.reachable:
                    self.set_device_state(f"PJSIP/{endpoint}", DEV_NOT_INUSE)

    def hangup_request(self, chan: Channel, cause: int | None = None) -> None:
        """HangupRequest: the far end hung up (a BYE carries no cause here)."""
        tail = f"Cause: {cause}\r\n" if cause is not None else ""
        self.bus.emit("HangupRequest", CALL, f"{chan.snapshot()}{tail}")

    def soft_hangup_request(self, chan: Channel, cause: int = 16) -> None:
        """SoftHangupRequest: the dialplan (or a bridge peer) ends this channel."""
        self.bus.emit("SoftHangupRequest", CALL, f"{chan.snapshot()}Cause: {cause}\r\n")

    def new_callerid(self, chan: Channel) -> None:
        self.bus.emit(
            "NewCallerid",
            CALL,
            f"{chan.snapshot()}CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n",
        )

    def new_connected_line(self, chan: Channel) -> None:
        self.bus.emit("NewConnectedLine", CALL, chan.snapshot())

    def dial_state(self, caller: Channel, dest: Channel, status: str) -> None:
        self.bus.emit(
            "DialState",
            CALL,
            f"{caller.snapshot()}{dest.snapshot('Dest')}DialStatus: {status}\r\n",
        )

    def moh_start(self, chan: Channel) -> None:
        self.bus.emit("MusicOnHoldStart", CALL, f"{chan.snapshot()}Class: default\r\n")

    def moh_stop(self, chan: Channel) -> None:
        self.bus.emit("MusicOnHoldStop", CALL, chan.snapshot())

    def hold(self, chan: Channel) -> None:
        self.bus.emit("Hold", CALL, f"{chan.snapshot()}MusicClass: default\r\n")

    def unhold(self, chan: Channel) -> None:
        self.bus.emit("Unhold", CALL, chan.snapshot())

    def user_event(self, chan: Channel | None, name: str, fields: list[tuple[str, str]]) -> None:
        body = "".join(f"{k}: {v}\r\n" for k, v in fields)
        snap = chan.snapshot() if chan is not None else ""
        self.bus.emit("UserEvent", USER, f"{snap}UserEvent: {name}\r\n{body}")

    def dtmf(self, chan: Channel, digit: str) -> None:
        if not self.bus.wants(DTMF):
            return
        snap = chan.snapshot()
        self.bus.emit("DTMFBegin", DTMF, f"{snap}Digit: {digit}\r\nDirection: Received\r\n")
        self.bus.emit(
            "DTMFEnd",
            DTMF,
            f"{snap}Digit: {digit}\r\nDurationMs: 120\r\nDirection: Received\r\n",
        )

    def dial_begin(self, caller: Channel, dest: Channel, dialstring: str) -> None:
        self.bus.emit(
            "DialBegin",
            CALL,
            f"{caller.snapshot()}{dest.snapshot('Dest')}DialString: {dialstring}\r\n",
        )

    def dial_end(self, caller: Channel, dest: Channel, status: str) -> None:
        self.bus.emit(
            "DialEnd",
            CALL,
            f"{caller.snapshot()}{dest.snapshot('Dest')}DialStatus: {status}\r\n",
        )

    def local_bridge(self, one: Channel, two: Channel) -> None:
        self.bus.emit(
            "LocalBridge",
            CALL,
            f"{one.snapshot('LocalOne')}{two.snapshot('LocalTwo')}"
            f"Context: {two.context}\r\nExten: {two.exten}\r\nLocalOptimization: No\r\n",
        )

    # ------------------------------------------------------------------ bridges

    def bridge_create(self) -> Bridge:
        bridge = self.new_bridge()
        self.bus.emit("BridgeCreate", CALL, bridge.snapshot())
        return bridge

    def bridge_enter(self, bridge: Bridge, chan: Channel) -> None:
        bridge.channels.append(chan)
        chan.bridge = bridge
        self.bus.emit("BridgeEnter", CALL, f"{bridge.snapshot()}{chan.snapshot()}")

    def bridge_leave(self, bridge: Bridge, chan: Channel) -> None:
        if chan not in bridge.channels:
            return
        bridge.channels.remove(chan)
        chan.bridge = None
        self.bus.emit("BridgeLeave", CALL, f"{bridge.snapshot()}{chan.snapshot()}")

    def bridge_destroy(self, bridge: Bridge) -> None:
        for chan in list(bridge.channels):
            self.bridge_leave(bridge, chan)
        self.bus.emit("BridgeDestroy", CALL, bridge.snapshot())

    # ------------------------------------------------------------------ devices

    def set_device_state(self, device: str, state: int) -> None:
        if self.device_states.get(device) == state:
            return
        self.device_states[device] = state
        self.bus.emit(
            "DeviceStateChange", CALL, f"Device: {device}\r\nState: {DEVSTATE_TEXT[state]}\r\n"
        )

    def set_agent_device(self, agent: Agent, state: int) -> None:
        """Device state of an agent's Local interface, and the QueueMemberStatus it causes."""
        if agent.device_state == state:
            return
        agent.device_state = state
        self.set_device_state(agent.device, state)
        for member in self.memberships(agent):
            self.member_event("QueueMemberStatus", member)
        for member in self.memberships(agent):
            self.update_queue_devices(member.queue)

    def memberships(self, agent: Agent) -> list[Member]:
        out = []
        for queue in self.queues.values():
            member = queue.members.get(agent.interface)
            if member is not None:
                out.append(member)
        return out

    # ------------------------------------------------------------------ queue devices

    def update_queue_devices(self, queue: Queue) -> None:
        """app_queue's own devices: ``Queue:<q>`` rings while callers wait, and
        ``Queue:<q>_avail`` is NOT_INUSE while some member could take a call."""
        self.set_device_state(
            f"Queue:{queue.name}", DEV_RINGING if queue.waiting else DEV_NOT_INUSE
        )
        free = any(
            not m.paused and m.agent.device_state in (0, DEV_NOT_INUSE)
            for m in queue.members.values()
        )
        self.set_device_state(f"Queue:{queue.name}_avail", DEV_NOT_INUSE if free else DEV_INUSE)

    # ------------------------------------------------------------------ queue events

    def member_headers(self, m: Member) -> str:
        membership = "dynamic" if m.dynamic else "static"
        return (
            f"Queue: {m.queue.name}\r\n"
            f"MemberName: {m.name}\r\n"
            f"Interface: {m.interface}\r\n"
            f"StateInterface: {m.state_interface}\r\n"
            f"Membership: {membership}\r\n"
            f"Penalty: {m.penalty}\r\n"
            f"CallsTaken: {m.calls}\r\n"
            f"LastCall: {m.last_call}\r\n"
            f"LastPause: {m.last_pause}\r\n"
            f"LoginTime: {m.login_time}\r\n"
            f"InCall: {1 if m.in_call else 0}\r\n"
            f"Status: {m.agent.device_state}\r\n"
            f"Paused: {1 if m.paused else 0}\r\n"
            f"PausedReason: {m.paused_reason}\r\n"
            f"Ringinuse: {1 if m.ringinuse else 0}\r\n"
            f"Wrapuptime: {m.wrapuptime}\r\n"
        )

    def member_event(self, event: str, member: Member) -> None:
        self.bus.emit(event, AGENT, self.member_headers(member))

    def agent_event(self, event: str, caller: Channel, dest: Channel, m: Member, tail: str) -> None:
        self.bus.emit(
            event,
            AGENT,
            f"{caller.snapshot()}{dest.snapshot('Dest')}Queue: {m.queue.name}\r\n"
            f"Interface: {m.interface}\r\nMemberName: {m.name}\r\n{tail}",
        )

    def caller_event(self, event: str, chan: Channel, queue: Queue, tail: str) -> None:
        self.bus.emit(event, AGENT, f"{chan.snapshot()}Queue: {queue.name}\r\n{tail}")

    # ------------------------------------------------------------------ membership ops

    def pause(self, member: Member, paused: bool, reason: str = "") -> None:
        member.paused = paused
        member.paused_reason = reason if paused else ""
        if paused:
            member.last_pause = int(self.sched.wall())
        self.member_event("QueueMemberPause", member)
        self.update_queue_devices(member.queue)
        if not paused and self.on_agent_free is not None:
            self.on_agent_free(member.agent)

    def add_member(
        self,
        queue: Queue,
        interface: str,
        *,
        name: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        state_interface: str = "",
    ) -> Member:
        agent = self.agent_for_interface(interface)
        if agent is None:
            agent = self._new_agent(interface, name or interface)
        member = Member(
            queue=queue,
            agent=agent,
            interface=interface,
            name=name or interface,
            state_interface=state_interface or interface,
            penalty=penalty,
            dynamic=True,
            paused=paused,
            paused_reason=reason if paused else "",
            login_time=int(self.sched.wall()),
            in_call=False,
        )
        if paused:
            member.last_pause = member.login_time
        queue.members[interface] = member
        self.member_event("QueueMemberAdded", member)
        if self.on_agent_free is not None:
            self.on_agent_free(agent)
        return member

    def remove_member(self, member: Member) -> None:
        member.queue.members.pop(member.interface, None)
        self.member_event("QueueMemberRemoved", member)

    def set_penalty(self, member: Member, penalty: int) -> None:
        member.penalty = penalty
        self.member_event("QueueMemberPenalty", member)

    def agent_for_interface(self, interface: str) -> Agent | None:
        return self._by_interface.get(interface.lower())

    def _new_agent(self, interface: str, name: str) -> Agent:
        """An agent first seen through QueueAdd.

        ``Local/<x>@agents/n`` reaches the tier's answering agent dialplan, so it behaves
        like any agent; any other interface has no device the sim can ring and shows as
        INVALID (Status 4), as Asterisk reports a device it cannot resolve.
        """
        match = re.fullmatch(r"Local/([A-Za-z0-9_-]+)@agents/n", interface)
        if match:
            spec = AgentSpec(id=match.group(1), name=name, queues={"_": 0})
            agent = Agent(spec=spec)
            state = DEV_NOT_INUSE
        else:
            spec = AgentSpec(id="external", name=name, queues={"_": 0}, ring_no_answer=1.0)
            agent = Agent(spec=spec, iface=interface)
            state = DEV_INVALID
        agent.device_state = self.device_states.get(agent.device, state)
        self.device_states.setdefault(agent.device, agent.device_state)
        self.agents[interface] = agent
        self._by_interface[interface.lower()] = agent
        return agent

    def members_for_interface(self, interface: str) -> list[Member]:
        low = interface.lower()
        return [
            m
            for q in self.queues.values()
            for m in q.members.values()
            if m.interface.lower() == low
        ]

    # ------------------------------------------------------------------ trunks

    def trunk_reachability(self, trunk: Trunk, reachable: bool) -> None:
        """PeerStatus, then ContactStatus, then DeviceStateChange (note 20's order)."""
        if trunk.reachable == reachable:
            return
        trunk.reachable = reachable
        name = trunk.name
        word = "Reachable" if reachable else "Unreachable"
        rtt = trunk.rtt_usec if reachable else 0
        self.bus.emit(
            "PeerStatus",
            SYSTEM,
            f"ChannelType: PJSIP\r\nPeer: PJSIP/{name}\r\nPeerStatus: {word}\r\n",
        )
        self.bus.emit(
            "ContactStatus",
            SYSTEM,
            f"URI: {trunk.spec.uri}\r\nContactStatus: {word}\r\nAOR: {name}\r\n"
            f"EndpointName: {name}\r\nRoundtripUsec: {rtt}\r\n",
        )
        state = DEV_UNAVAILABLE
        if reachable:
            state = DEV_INUSE if trunk.channels else DEV_NOT_INUSE
        self.set_device_state(f"PJSIP/{name}", state)
        if self.test_events:
            self.test_event(
                "AOR_CONTACT_UPDATE",
                "res_pjsip/pjsip_options.c",
                "sip_options_contact_status_notify_task",
                f"Contact: {name}@@{trunk.spec.uri}\r\nStatus: {word}",
            )

    def registry(self, reg: Registration, status: str) -> None:
        reg.status = status
        self.bus.emit(
            "Registry",
            SYSTEM,
            f"ChannelType: PJSIP\r\nUsername: {reg.client_uri}\r\nDomain: {reg.server_uri}\r\n"
            f"Status: {status}\r\n",
        )

    # ------------------------------------------------------------------ noise

    def test_event(self, state: str, appfile: str, function: str, data: str) -> None:
        """A TEST_FRAMEWORK event as Debian's build emits them (note 23)."""
        if not self.test_events or not self.bus.wants(REPORTING):
            return
        line = 1000 + (sum(map(ord, function)) % 4000)
        self.bus.emit(
            "TestEvent",
            REPORTING,
            f"Type: StateChange\r\nState: {state}\r\nAppFile: {appfile}\r\n"
            f"AppFunction: {function}\r\nAppLine: {line}\r\n{data}\r\n",
        )

    def rtcp_sent(self, chan: Channel) -> None:
        if self.noise <= 0 or not chan.alive or not self.bus.wants(REPORTING):
            return
        r = self.noise_rng
        ssrc = zlib.crc32(chan.uniqueid.encode())
        wall = self.sched.wall()
        age = max(1, int(self.sched.now - chan.created))
        self.bus.emit(
            "RTCPSent",
            REPORTING,
            f"{chan.snapshot()}To: 127.0.0.1:{10000 + (ssrc % 10000) * 2 + 1}\r\n"
            f"From: 127.0.0.1:{20000 + (ssrc % 9000) * 2 + 1}\r\n"
            f"MES: {r.uniform(80.0, 93.0):.1f}\r\n"
            f"SSRC: 0x{ssrc:08x}\r\nPT: 200(SR)\r\nReportCount: 0\r\n"
            f"SentNTP: {int(wall)}.{int((wall % 1) * 1e6):06d}\r\n"
            f"SentRTP: {age * 8000}\r\nSentPackets: {age * 50}\r\nSentOctets: {age * 8000}\r\n",
        )

    def stats_processed(self) -> int:
        """Calls that reached the PBX since boot (CoreStatus CoreProcessedCalls)."""
        return sum(q.offered for q in self.stats.queues.values()) - self.stats.blocked

    # ------------------------------------------------------------------ system events

    def fully_booted_body(self) -> str:
        wall = self.sched.wall()
        return (
            f"Status: Fully Booted\r\nUptime: {int(wall - self.boot_wall)}\r\n"
            f"LastReload: {int(wall - self.reload_wall)}\r\n"
        )

    def reload(self, module: str = "") -> None:
        self.reload_wall = self.sched.wall()
        self.bus.emit("Reload", SYSTEM, f"Module: {module or 'All'}\r\nStatus: 0\r\n")

    def shutdown(self) -> None:
        how = "Uncleanly" if self.channels else "Cleanly"
        self.bus.emit("Shutdown", SYSTEM, f"Shutdown: {how}\r\nRestart: True\r\n")


def _devstate_number(text: str) -> int:
    for number, name in DEVSTATE_TEXT.items():
        if name == text.strip().upper():
            return number
    return 0
