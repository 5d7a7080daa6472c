"""The life of one inbound call, as app_queue and the tier's dialplan would play it.

Dialplan mirrored (``tests/integration/asterisk_conf/extensions.conf``): ``from-carrier``
sends the DID to ``inbound,<queue>``, which answers, raises ``UserEvent(CcopsInbound)``,
honours the AstDB routing flags (overflow, night, forced route, emergency announcement;
:mod:`ccops.sim.routing`) and runs ``Queue()`` with a wait limit. Callers that time out
go to the queue's ``overflow_to`` queue (a sim feature standing in for a production
dialplan), otherwise hear goodbye and hang up.

Event order per caller follows note 17: an abandon is QueueCallerAbandon, QueueCallerLeave,
Hangup; an answer is DialEnd, QueueCallerLeave, AgentConnect, ... AgentComplete, Hangup; a
queue timeout is QueueCallerAbandon, QueueCallerLeave with the caller's channel still up
(goodbye then Hangup 1.5 s later, or a join of the overflow queue), as Asterisk 22 does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from ccops.sim.model import (
    DEV_INUSE,
    DEV_NOT_INUSE,
    RING,
    RINGING,
    UP,
    Agent,
    Call,
    Member,
    Offer,
    Queue,
    Waiting,
)
from ccops.sim.routing import NIGHT_PROMPT, plan_route

if TYPE_CHECKING:
    from ccops.sim.engine import Engine

SHORT_ABANDON_S = 5.0
#: Asterisk sends RTCP every 5 s per RTP stream; at noise 1 (the default, "modest") the sim
#: sends one in four of them, at noise 4 all of them.
RTCP_INTERVAL = 5.0


class CallFlow:
    """Arrivals, queueing, ringing, talking and hanging up, on top of :class:`Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.e = engine
        #: Calls in progress, in arrival order (a dict, so iteration is reproducible).
        self.calls: dict[Call, None] = {}
        #: Multipliers the traffic model may change (surge drills, firehose).
        self.talk_scale = 1.0
        self.patience_scale = 1.0
        self.answer_scale = 1.0
        #: Called when an agent with a pending pause becomes idle (set by the traffic model).
        self.on_pause_due: Callable[[Agent, str, float], None] | None = None
        engine.on_agent_free = self.agent_free

    # ------------------------------------------------------------------ arrival

    def arrive(self, queue_name: str) -> Call | None:
        """A call for ``queue_name``'s DID reaches the PBX; None if every trunk is full."""
        e = self.e
        trunk = self._pick_trunk()
        qspec = e.queues[queue_name].spec
        e.stats.queue(queue_name).offered += 1
        if trunk is None:
            e.stats.blocked += 1
            return None
        num, name = self._caller_id()
        caller = e.new_channel(
            e.pjsip_channel_name(trunk),
            context="from-carrier",
            exten=qspec.did,
            state=RING,
            cid_num=num,
            cid_name=name,
            trunk=trunk,
            device=f"PJSIP/{trunk}",
        )
        call = Call(caller=caller, trunk=trunk, arrived=e.sched.now)
        self.calls[call] = None
        port = 10000 + 2 * (e.rng.randrange(5000))
        e.test_event(
            "RTP_PORT_ALLOCATED", "res_rtp_asterisk.c", "rtp_allocate_transport", f"Port: {port}"
        )
        e.test_event(
            "CallIDChange",
            "channel_internal_api.c",
            "ast_channel_callid_set",
            f"State: CallIDChange\r\nChannel: {caller.name}\r\n"
            f"CallID: [C-{e.new_callid():08x}]\r\nPriorCallID: ",
        )
        e.newexten(caller, "Goto", f"inbound,{queue_name},1")
        e.goto(caller, "inbound", queue_name)
        e.newexten(caller, "Answer", "", priority=1)
        e.set_state(caller, UP)
        e.newexten(caller, "UserEvent", f"CcopsInbound,Queue: {queue_name},Trunk: {trunk}", 2)
        e.user_event(caller, "CcopsInbound", [("Queue", queue_name), ("Trunk", trunk)])
        # Routing toggles, as config/asterisk/extensions_ccops.conf applies them.
        overflow_to = {name: q.spec.overflow_to for name, q in e.queues.items()}
        plan = plan_route(e.astdb, overflow_to, qspec.did, queue_name)
        for step in plan.steps:
            fields = [("Kind", step.kind), ("Target", step.target),
                      ("Destination", step.destination)]
            e.newexten(caller, "UserEvent", "CcopsRouting," + ",".join(
                f"{k}: {v}" for k, v in fields), 3)
            e.user_event(caller, "CcopsRouting", fields)
        if plan.overflowed_from is not None:
            e.stats.queue(plan.overflowed_from).overflowed += 1
        self._start_rtcp(call)
        if plan.queue is None:  # night: the closed-office prompt, then hang up
            e.newexten(caller, "Playback", NIGHT_PROMPT, 2)
            call.end_timer = e.sched.call_later(plan.delay, self._hangup_after_goodbye, call)
            return call
        e.newexten(caller, "Set", f"TARGET={plan.queue}", 4)
        e.varset(caller, "TARGET", plan.queue)
        if plan.delay > 0:  # an emergency announcement plays before the caller queues
            e.newexten(caller, "Playback", plan.steps[0].destination, 2)
            call.end_timer = e.sched.call_later(
                plan.delay, self._join_after_announcement, call, plan.queue
            )
            return call
        self.join(call, e.queues[plan.queue])
        return call

    def _join_after_announcement(self, call: Call, queue_name: str) -> None:
        if call.done or call not in self.calls:
            return
        call.end_timer = None
        self.join(call, self.e.queues[queue_name])

    def _pick_trunk(self) -> str | None:
        e = self.e
        usable = [t for t in e.trunks.values() if t.really_up and t.channels < t.spec.capacity]
        if not usable:
            return None
        total = sum(t.spec.share for t in usable)
        if total <= 0:
            return usable[0].name
        x = e.rng.random() * total
        for t in usable:
            x -= t.spec.share
            if x <= 0:
                return t.name
        return usable[-1].name

    def _caller_id(self) -> tuple[str, str]:
        r = self.e.rng
        prefix = r.choice(("0151", "0160", "0170", "0176", "030", "040", "089", "0221"))
        number = f"{prefix}{r.randrange(1_000_000, 9_999_999)}"
        if r.random() < 0.25:
            first = r.choice(("Maria", "Jan", "Wei", "Fatma", "Lukas", "Zoë", "Ömer", "Anne"))
            last = r.choice(("Schmidt", "Yılmaz", "Wang", "Becker", "Kowalski", "Müller"))
            return number, f"{first} {last}"
        return number, ""

    # ------------------------------------------------------------------ queueing

    def join(self, call: Call, queue: Queue) -> None:
        e = self.e
        caller = call.caller
        call.queue_name = queue.name
        e.newexten(caller, "Queue", f"{queue.name},,,,{int(queue.spec.maxwait)}", 6)
        waiting = Waiting(
            call=call,
            queue=queue,
            joined=e.sched.now,
            original_position=len(queue.waiting) + 1,
        )
        queue.waiting.append(waiting)
        call.waiting = waiting
        call.queue_joined = e.sched.now
        pos = len(queue.waiting)
        e.caller_event("QueueCallerJoin", caller, queue, f"Position: {pos}\r\nCount: {pos}\r\n")
        e.moh_start(caller)
        e.update_queue_devices(queue)
        if queue.spec.announce_frequency > 0:
            waiting.announce = e.sched.call_later(
                queue.spec.announce_frequency, self._announce, waiting
            )
        waiting.patience = e.sched.call_later(self._patience(queue), self.abandon, waiting)
        waiting.timeout = e.sched.call_later(queue.spec.maxwait, self.timeout, waiting)
        self.dispatch()

    def _patience(self, queue: Queue) -> float:
        r = self.e.rng
        if r.random() < queue.spec.short_abandon_share:
            return r.uniform(0.5, SHORT_ABANDON_S) * self.patience_scale
        return r.expovariate(1.0 / queue.spec.patience_mean) * self.patience_scale + 2.0

    def _leave(self, waiting: Waiting) -> int:
        """Take a caller out of its queue; returns the position it had."""
        queue = waiting.queue
        pos = queue.position(waiting)
        queue.waiting.remove(waiting)
        for timer in (waiting.patience, waiting.timeout, waiting.retry, waiting.announce):
            if timer is not None:
                timer.cancel()
        waiting.call.waiting = None
        self.e.caller_event(
            "QueueCallerLeave",
            waiting.call.caller,
            queue,
            f"Position: {pos}\r\nCount: {len(queue.waiting)}\r\n",
        )
        self.e.update_queue_devices(queue)
        return pos

    def _announce(self, waiting: Waiting) -> None:
        """Position announcement: MOH stops and restarts around it (note 18)."""
        e = self.e
        if waiting.call.waiting is not waiting:
            return
        queue, caller = waiting.queue, waiting.call.caller
        waiting.announce = e.sched.call_later(
            queue.spec.announce_frequency, self._announce, waiting
        )
        if waiting.offer is not None:
            return
        pos = queue.position(waiting)
        e.moh_stop(caller)
        if pos == 1:
            e.test_event(
                "PLAYBACK",
                "file.c",
                "ast_streamfile",
                f"Message: queue-youarenext\r\nChannel: {caller.name}",
            )
        else:
            e.test_event(
                "PLAYBACK",
                "file.c",
                "ast_streamfile",
                f"Message: queue-thereare\r\nChannel: {caller.name}",
            )
            e.test_event(
                "SAYNUM",
                "say.c",
                "say_number_full",
                f"Message: saying number {pos}\r\nNumber: {pos}\r\nChannel: {caller.name}",
            )
        e.moh_start(caller)

    def abandon(self, waiting: Waiting) -> None:
        """The caller hangs up while waiting (Abandon, Leave, Hangup)."""
        e = self.e
        call, queue = waiting.call, waiting.queue
        if call.waiting is not waiting:
            return
        held = e.sched.now - waiting.joined
        caller = call.caller
        e.hangup_request(caller)
        if waiting.offer is not None:
            self._cancel_offer(waiting, "CANCEL")
        e.moh_stop(caller)
        pos = queue.position(waiting)
        e.caller_event(
            "QueueCallerAbandon",
            caller,
            queue,
            f"Position: {pos}\r\nOriginalPosition: {waiting.original_position}\r\n"
            f"HoldTime: {int(held)}\r\n",
        )
        queue.abandoned += 1
        if held <= queue.spec.servicelevel:
            queue.abandoned_in_sl += 1
        counters = e.stats.queue(queue.name)
        counters.abandoned += 1
        if held <= SHORT_ABANDON_S:
            counters.short_abandoned += 1
        self._leave(waiting)
        self._finish(call, 16)

    def timeout(self, waiting: Waiting) -> None:
        """Queue() wait limit reached, then overflow or goodbye.

        As Asterisk 22 does (app_queue's record_abandoned on timeout; measured on the
        tier): QueueCallerAbandon with HoldTime = the wait, QueueCallerLeave, and the
        caller's channel stays up; QueueParams' Abandoned counts it too.
        """
        e = self.e
        call, queue = waiting.call, waiting.queue
        if call.waiting is not waiting:
            return
        if waiting.offer is not None:
            self._cancel_offer(waiting, "CANCEL")
        e.moh_stop(call.caller)
        held = e.sched.now - waiting.joined
        e.caller_event(
            "QueueCallerAbandon",
            call.caller,
            queue,
            f"Position: {queue.position(waiting)}\r\n"
            f"OriginalPosition: {waiting.original_position}\r\nHoldTime: {int(held)}\r\n",
        )
        queue.abandoned += 1
        if held <= queue.spec.servicelevel:
            queue.abandoned_in_sl += 1
        self._leave(waiting)
        e.stats.queue(queue.name).timeouts += 1
        e.varset(call.caller, "QUEUESTATUS", "TIMEOUT")
        e.newexten(call.caller, "NoOp", f"left {queue.name}: TIMEOUT", 7)
        target = queue.spec.overflow_to
        if target is not None and target in e.queues and not call.overflowed:
            call.overflowed = True
            e.stats.queue(queue.name).overflowed += 1
            self.join(call, e.queues[target])
            return
        self._goodbye(call)

    def _goodbye(self, call: Call) -> None:
        e = self.e
        e.newexten(call.caller, "Playback", "vm-goodbye", 8)
        e.test_event(
            "PLAYBACK",
            "file.c",
            "ast_streamfile",
            f"Message: vm-goodbye\r\nChannel: {call.caller.name}",
        )
        call.end_timer = e.sched.call_later(1.5, self._hangup_after_goodbye, call)

    def _hangup_after_goodbye(self, call: Call) -> None:
        self.e.newexten(call.caller, "Hangup", "", 9)
        self._finish(call, 16, soft=True)

    # ------------------------------------------------------------------ distribution

    def dispatch(self) -> None:
        """Offer waiting callers to free members, heaviest queue first (autofill)."""
        e = self.e
        if not any(self._free(a) for a in e.agents.values()):
            return
        for queue in sorted(e.queues.values(), key=lambda q: -q.spec.weight):
            for waiting in list(queue.waiting):
                if waiting.offer is not None or waiting.retry is not None:
                    continue
                member = self._pick(queue)
                if member is None:
                    break
                self._offer(waiting, member)

    def _free(self, agent: Agent) -> bool:
        return agent.call is None and agent.ringing is None and agent.device_state == DEV_NOT_INUSE

    def _pick(self, queue: Queue) -> Member | None:
        now = self.e.sched.now
        candidates = [
            m
            for m in queue.members.values()
            if not m.paused
            and self._free(m.agent)
            and now >= m.agent.last_call_end + queue.spec.wrapuptime
        ]
        if not candidates:
            return None
        best = min(m.penalty for m in candidates)
        candidates = [m for m in candidates if m.penalty == best]
        strategy = queue.spec.strategy
        if strategy in ("leastrecent", "ringall"):
            return min(candidates, key=lambda m: m.last_call)
        if strategy == "fewestcalls":
            return min(candidates, key=lambda m: m.calls)
        if strategy in ("random", "wrandom"):
            return self.e.rng.choice(candidates)
        order = list(queue.members.values())
        start = queue.rr_next % max(1, len(order))
        for i in range(len(order)):
            m = order[(start + i) % len(order)]
            if m in candidates:
                queue.rr_next = order.index(m) + 1
                return m
        return candidates[0]

    def _offer(self, waiting: Waiting, member: Member) -> None:
        """Ring one member: two Local halves, ringing on ;1 (the agent's device stays
        NOT_INUSE until the ;2 half answers, as the tier's Local members do)."""
        e = self.e
        call, caller, agent = waiting.call, waiting.call.caller, member.agent
        exten = agent.spec.id
        n1, n2 = e.local_pair_names(exten, "agents")
        qspec = waiting.queue.spec
        l1 = e.new_channel(
            n1,
            context="agents",
            exten=caller.exten,
            cid_num=qspec.did,
            conn_num=caller.cid_num,
            conn_name=caller.cid_name,
            linkedid=caller.linkedid,
        )
        l2 = e.new_channel(
            n2,
            context="agents",
            exten=exten,
            state=RING,
            cid_num=caller.cid_num,
            cid_name=caller.cid_name,
            conn_num=qspec.did,
            linkedid=caller.linkedid,
        )
        agent.ringing = call
        offer = Offer(member=member, local1=l1, local2=l2, started=e.sched.now)
        waiting.offer = offer
        call.ring_started = e.sched.now
        e.newexten(l1, "AppQueue", "(Outgoing Line)")
        e.new_callerid(l1)
        e.new_callerid(l2)
        e.new_connected_line(l2)
        e.local_bridge(l1, l2)
        e.newexten(l2, "Ringing", "", 1)
        e.set_state(l1, RINGING)
        e.new_connected_line(l1)
        r = e.rng
        lo, hi = agent.spec.answer_delay
        delay = r.uniform(lo, hi) * self.answer_scale
        e.newexten(l2, "Wait", f"{delay:.0f}", 2)
        e.agent_event("AgentCalled", caller, l1, member, "")
        e.dial_begin(caller, l1, f"{exten}@agents/n")
        e.dial_state(caller, l1, "RINGING")
        for m in e.memberships(agent):
            e.update_queue_devices(m.queue)
        if r.random() < agent.spec.ring_no_answer or delay >= qspec.ring_timeout:
            offer.timer = e.sched.call_later(qspec.ring_timeout, self._ring_no_answer, waiting)
        else:
            offer.timer = e.sched.call_later(delay, self._answer, waiting)

    def _cancel_offer(self, waiting: Waiting, status: str) -> Offer | None:
        e = self.e
        offer = waiting.offer
        if offer is None:
            return None
        waiting.offer = None
        if offer.timer is not None:
            offer.timer.cancel()
        e.dial_end(waiting.call.caller, offer.local1, status)
        self._drop_offer_legs(offer)
        e.sched.call_later(0.0, self.dispatch)
        return offer

    def _drop_offer_legs(self, offer: Offer) -> None:
        e = self.e
        e.hangup_request(offer.local1, 16)
        e.hangup(offer.local1, 16)
        e.soft_hangup_request(offer.local2, 16)
        e.hangup(offer.local2, 16)
        agent = offer.member.agent
        agent.ringing = None
        for m in e.memberships(agent):
            e.update_queue_devices(m.queue)

    def _ring_no_answer(self, waiting: Waiting) -> None:
        e = self.e
        offer = waiting.offer
        if offer is None or waiting.call.waiting is not waiting:
            return
        ring_time = int(e.sched.now - offer.started)
        e.agent_event(
            "AgentRingNoAnswer",
            waiting.call.caller,
            offer.local1,
            offer.member,
            f"RingTime: {ring_time}\r\n",
        )
        waiting.offer = None
        offer.timer = None
        e.dial_end(waiting.call.caller, offer.local1, "NOANSWER")
        self._drop_offer_legs(offer)
        waiting.retry = e.sched.call_later(waiting.queue.spec.retry, self._retry, waiting)

    def _retry(self, waiting: Waiting) -> None:
        waiting.retry = None
        self.dispatch()

    # ------------------------------------------------------------------ connected

    def _answer(self, waiting: Waiting) -> None:
        e = self.e
        offer = waiting.offer
        call, queue = waiting.call, waiting.queue
        if offer is None or call.waiting is not waiting:
            return
        caller, l1, l2, member = call.caller, offer.local1, offer.local2, offer.member
        agent = member.agent
        waiting.offer = None
        e.newexten(l2, "Answer", "", 3)
        e.set_state(l2, UP)
        agent.ringing = None
        agent.call = call
        e.set_agent_device(agent, DEV_INUSE)
        e.set_state(l1, UP)
        e.dial_end(caller, l1, "ANSWER")
        e.moh_stop(caller)
        held = e.sched.now - waiting.joined
        ring_time = int(e.sched.now - offer.started)
        self._leave(waiting)
        e.varset(caller, "QEHOLDTIME", str(int(held)), 0.5)
        e.varset(caller, "QEORIGINALPOS", str(waiting.original_position), 0.5)
        for var, value in (
            ("MEMBERINTERFACE", member.interface),
            ("MEMBERNAME", member.name),
            ("MEMBERCALLS", str(member.calls)),
            ("MEMBERPENALTY", str(member.penalty)),
        ):
            e.varset(caller, var, value, 0.3)
        e.agent_event(
            "AgentConnect",
            caller,
            l1,
            member,
            f"HoldTime: {int(held)}\r\nRingTime: {ring_time}\r\n",
        )
        queue.holdtime = (3 * queue.holdtime + int(held)) // 4
        if held <= queue.spec.servicelevel:
            queue.completed_in_sl += 1
        e.stats.queue(queue.name).answered += 1
        call.connected_at = e.sched.now
        call.agent_channel, call.agent_peer, call.member = l1, l2, member
        member.in_call = True
        bridge = e.bridge_create()
        call.bridge = bridge
        e.bridge_enter(bridge, l1)
        e.bridge_enter(bridge, caller)
        self._plan_talk(call, queue)
        e.newexten(
            l2,
            "Wait",
            f"{max(0.0, (call.end_timer.when if call.end_timer else 0) - e.sched.now):.0f}",
            4,
        )

    def _plan_talk(self, call: Call, queue: Queue) -> None:
        e, r = self.e, self.e.rng
        spec = queue.spec
        talk = spec.talk_median * math.exp(r.gauss(0.0, spec.talk_sigma)) * self.talk_scale
        talk = max(8.0 * self.talk_scale, talk)
        centre = e.centre
        roll = r.random()
        if roll < centre.transfer_share and len(e.queues) > 1:
            call.end_timer = e.sched.call_later(talk * 0.4, self._transfer, call)
            return
        if r.random() < centre.hold_share:
            start = talk * r.uniform(0.2, 0.6)
            e.sched.call_later(start, self._hold, call, r.uniform(15.0, 60.0))
        by_agent = r.random() < centre.agent_hangup_share
        call.end_timer = e.sched.call_later(
            talk, self._end, call, "agent" if by_agent else "caller"
        )

    def _hold(self, call: Call, duration: float) -> None:
        e = self.e
        if call.done or call.agent_channel is None or call.on_hold:
            return
        call.on_hold = True
        e.hold(call.agent_channel)
        e.moh_start(call.caller)
        e.sched.call_later(duration, self._unhold, call)

    def _unhold(self, call: Call) -> None:
        e = self.e
        if call.done or call.agent_channel is None or not call.on_hold:
            return
        call.on_hold = False
        e.unhold(call.agent_channel)
        e.moh_stop(call.caller)

    def _transfer(self, call: Call) -> None:
        """The agent blind-transfers the caller to another queue's entry point."""
        e = self.e
        if call.done or call.member is None or call.agent_channel is None:
            return
        others = [q for q in e.queues if q != call.member.queue.name]
        target = e.rng.choice(others)
        bridge = call.bridge
        l1 = call.agent_channel
        if call.on_hold:
            self._unhold(call)
        e.bus.emit(
            "BlindTransfer",
            2,
            f"Result: Success\r\n{l1.snapshot('Transferer')}"
            f"{call.caller.snapshot('Transferee')}"
            f"{bridge.snapshot() if bridge is not None else ''}"
            f"IsExternal: No\r\nContext: inbound\r\nExtension: {target}\r\n",
        )
        e.stats.queue(call.member.queue.name).transferred += 1
        self._release_agent(call, "transfer")
        caller = call.caller
        e.goto(caller, "inbound", target)
        e.newexten(caller, "Answer", "", 1)
        call.overflowed = False
        self.join(call, e.queues[target])

    def _end(self, call: Call, who: str) -> None:
        e = self.e
        if call.done or call.member is None:
            return
        if call.on_hold:
            self._unhold(call)
        if who == "caller":
            e.hangup_request(call.caller)
            self._release_agent(call, "caller")
            self._finish(call, 16)
        else:
            if call.agent_peer is not None:
                e.newexten(call.agent_peer, "Hangup", "", 5)
            self._release_agent(call, "agent")
            e.varset(call.caller, "QUEUESTATUS", "CONTINUE", 0.5)
            e.newexten(call.caller, "NoOp", f"left {call.queue_name}: CONTINUE", 7)
            self._goodbye(call)

    def _release_agent(self, call: Call, reason: str) -> None:
        """AgentComplete and the agent's legs going away; the agent enters wrap-up.

        Order as recorded from Asterisk 22: for ``agent`` the ;2 half asks to hang up,
        AgentComplete, ;2 and ;1 hang up, then the caller leaves the bridge; for
        ``caller`` AgentComplete, the caller and ;1 leave the bridge, ;1 and ;2 hang up.
        """
        e = self.e
        member, l1, l2 = call.member, call.agent_channel, call.agent_peer
        if member is None or l1 is None or l2 is None:
            return
        bridge = call.bridge
        caller = call.caller
        if reason == "agent":
            e.soft_hangup_request(l2, 16)
            e.hangup_request(l1, 16)
        talk = int(e.sched.now - call.connected_at)
        hold = int(call.connected_at - call.queue_joined)
        e.agent_event(
            "AgentComplete",
            caller,
            l1,
            member,
            f"HoldTime: {hold}\r\nTalkTime: {talk}\r\nReason: {reason}\r\n",
        )
        queue = member.queue
        queue.talktime = (3 * queue.talktime + talk) // 4
        queue.completed += 1
        if reason == "agent":
            e.hangup(l2, 16)
            if bridge is not None:
                e.bridge_leave(bridge, l1)
            e.hangup(l1, 16)
            if bridge is not None:
                e.bridge_leave(bridge, caller)
        else:
            if bridge is not None:
                e.bridge_leave(bridge, caller)
                e.bridge_leave(bridge, l1)
            e.hangup(l1, 16)
            e.hangup(l2, 16)
        if bridge is not None:
            e.bridge_destroy(bridge)
            call.bridge = None
        call.member = call.agent_channel = call.agent_peer = None
        agent = member.agent
        agent.call = None
        member.in_call = False
        member.calls += 1
        wall = int(e.sched.wall())
        for m in e.memberships(agent):
            m.last_call = wall  # shared_lastcall = yes
        agent.last_call_end = e.sched.now
        e.set_agent_device(agent, DEV_NOT_INUSE)
        self.agent_free(agent)
        longest = max((m.queue.spec.wrapuptime for m in e.memberships(agent)), default=0)
        if longest:
            e.sched.call_later(longest + 0.01, self.dispatch)

    def agent_free(self, agent: Agent) -> None:
        """Something about this agent changed that may let a caller through."""
        if agent.pause_pending is not None and agent.call is None and agent.ringing is None:
            reason, minutes = agent.pause_pending
            agent.pause_pending = None
            hook = self.on_pause_due
            if hook is not None:
                hook(agent, reason, minutes)
                return
        self.e.sched.call_later(0.0, self.dispatch)

    # ------------------------------------------------------------------ teardown

    def hangup_channel(self, name: str) -> bool:
        """The AMI ``Hangup`` action: end whatever this channel is part of."""
        e = self.e
        chan = e.channels.get(name)
        if chan is None:
            return False
        for call in list(self.calls):
            if call.done:
                continue
            if chan is call.caller:
                if call.waiting is not None:
                    self.abandon(call.waiting)
                elif call.member is not None:
                    self._end(call, "caller")
                else:
                    self._finish(call, 16)
                return True
            if chan is call.agent_channel or chan is call.agent_peer:
                self._end(call, "agent")
                return True
            waiting = call.waiting
            if (
                waiting is not None
                and waiting.offer is not None
                and chan
                in (
                    waiting.offer.local1,
                    waiting.offer.local2,
                )
            ):
                self._cancel_offer(waiting, "CANCEL")
                return True
        e.hangup_request(chan, 16)
        e.hangup(chan, 16)
        return True

    def _finish(self, call: Call, cause: int, *, soft: bool = False) -> None:
        if call.done:
            return
        call.done = True
        for timer in call.noise_timers:
            timer.cancel()
        if call.end_timer is not None:
            call.end_timer.cancel()
        if soft:
            self.e.soft_hangup_request(call.caller, cause)
        self.e.hangup(call.caller, cause)
        self.calls.pop(call, None)

    def drop_trunk_calls(self, trunk: str) -> int:
        """A carrier failure cuts every call on it (cause 38)."""
        e = self.e
        dropped = 0
        for call in [c for c in self.calls if c.trunk == trunk and not c.done]:
            dropped += 1
            if call.waiting is not None:
                waiting = call.waiting
                if waiting.offer is not None:
                    self._cancel_offer(waiting, "CANCEL")
                e.moh_stop(call.caller)
                pos = waiting.queue.position(waiting)
                e.caller_event(
                    "QueueCallerAbandon",
                    call.caller,
                    waiting.queue,
                    f"Position: {pos}\r\nOriginalPosition: {waiting.original_position}\r\n"
                    f"HoldTime: {int(e.sched.now - waiting.joined)}\r\n",
                )
                waiting.queue.abandoned += 1
                e.stats.queue(waiting.queue.name).abandoned += 1
                self._leave(waiting)
            elif call.member is not None:
                if call.bridge is not None:
                    e.bridge_leave(call.bridge, call.caller)
                self._release_agent(call, "caller")
            self._finish(call, 38)
        e.stats.dropped_on_trunk_failure += dropped
        return dropped

    # ------------------------------------------------------------------ noise

    def _start_rtcp(self, call: Call) -> None:
        e = self.e
        if e.noise <= 0:
            return
        first = e.noise_rng.uniform(1.0, self._rtcp_every())
        call.noise_timers.append(e.sched.call_later(first, self._rtcp, call))

    def _rtcp_every(self) -> float:
        return RTCP_INTERVAL * 4.0 / min(4.0, max(self.e.noise, 0.01))

    def _rtcp(self, call: Call) -> None:
        e = self.e
        if call.done:
            return
        e.rtcp_sent(call.caller)
        call.noise_timers = [
            t for t in call.noise_timers if not t.cancelled and t.when > e.sched.now
        ]
        call.noise_timers.append(e.sched.call_later(self._rtcp_every(), self._rtcp, call))
