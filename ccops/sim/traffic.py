"""The traffic model: who calls when, when agents pause, how trunks and registrations behave.

All randomness comes from the engine's seeded ``random.Random`` and all time from the
virtual scheduler, so a seed reproduces the same day. The knobs drills need (surge, trunk
failure, walk-out, rejected registration, firehose) are plain methods; the scenario runner
and ``SimulatedPbx`` call them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ccops.sim.calls import CallFlow
from ccops.sim.centre import DAILY_PROFILE
from ccops.sim.clockwork import Timer
from ccops.sim.engine import Engine
from ccops.sim.model import Agent, Registration, Trunk


@dataclass
class Firehose:
    """Massive arrivals with short calls: a load generator, not a believable day."""

    calls_per_second: float


class TrafficModel:
    """Drives arrivals, agent behaviour, qualify and registration on one engine."""

    def __init__(
        self,
        engine: Engine,
        flow: CallFlow,
        *,
        profile: str = "daily",
        rate_scale: float = 1.0,
        utc_offset_hours: float | None = None,
        agent_pauses: bool = True,
    ) -> None:
        self.e = engine
        self.flow = flow
        self.profile = profile
        self.rate_scale = rate_scale
        self.utc_offset_hours = utc_offset_hours
        self.agent_pauses = agent_pauses
        self.surge_factor = 1.0
        #: Per-queue surges (a drill's "×3 on the surge queue"), on top of surge_factor.
        self.queue_surge: dict[str, float] = {}
        self._queue_surge_end: dict[str, Timer] = {}
        self.firehose: Firehose | None = None
        self._surge_end: Timer | None = None
        self._arrivals: dict[str, Timer] = {}
        self._auto_paused: dict[str, str] = {}
        flow.on_pause_due = self._apply_pause

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        e = self.e
        for name in e.queues:
            self._schedule_arrival(name)
        if self.agent_pauses:
            for agent in list(e.agents.values()):
                self._schedule_pause(agent)
        for trunk in e.trunks.values():
            first = e.rng.uniform(0.2, 1.0)
            trunk.qualify_timer = e.sched.call_later(first, self._qualify, trunk)
        for reg in e.registrations.values():
            reg.timer = e.sched.call_later(e.rng.uniform(0.5, 2.0), self._register, reg)

    # ------------------------------------------------------------------ arrivals

    def hour_factor(self) -> float:
        if self.profile == "flat":
            return 1.0
        wall = self.e.sched.wall()
        if self.utc_offset_hours is None:
            hour = time.localtime(wall).tm_hour
        else:
            hour = int(((wall / 3600.0) + self.utc_offset_hours) % 24)
        return DAILY_PROFILE[hour]

    def rate(self, queue: str) -> float:
        """Arrivals per second for a queue right now."""
        spec = self.e.queues[queue].spec
        base = spec.calls_per_hour / 3600.0 * self.hour_factor() * self.rate_scale
        rate = base * self.surge_factor * self.queue_surge.get(queue, 1.0)
        if self.firehose is not None:
            total = sum(q.spec.calls_per_hour for q in self.e.queues.values()) or 1.0
            rate += self.firehose.calls_per_second * spec.calls_per_hour / total
        return rate

    def _schedule_arrival(self, queue: str) -> None:
        e = self.e
        old = self._arrivals.pop(queue, None)
        if old is not None:
            old.cancel()
        rate = self.rate(queue)
        boundary = (math.floor(e.sched.wall() / 3600.0) + 1) * 3600.0 - e.sched.epoch
        if rate <= 0:
            self._arrivals[queue] = e.sched.call_at(boundary, self._schedule_arrival, queue)
            return
        when = e.sched.now + e.rng.expovariate(rate)
        if self.profile != "flat" and when > boundary and self.firehose is None:
            # Rates change on the hour; the process is memoryless, so redraw there.
            self._arrivals[queue] = e.sched.call_at(boundary, self._schedule_arrival, queue)
            return
        self._arrivals[queue] = e.sched.call_at(when, self._arrive, queue)

    def _arrive(self, queue: str) -> None:
        self._arrivals.pop(queue, None)
        self.flow.arrive(queue)
        self._schedule_arrival(queue)

    def _reschedule_all(self) -> None:
        for name in self.e.queues:
            self._schedule_arrival(name)

    # ------------------------------------------------------------------ drills

    def surge(
        self, factor: float, duration: float | None = None, *, queue: str | None = None
    ) -> None:
        """Multiply arrival rates by ``factor`` (for ``duration`` seconds, or until reset);
        with ``queue``, only that queue's."""
        if factor <= 0:
            raise ValueError("surge factor must be positive")
        if queue is not None:
            self._queue_surge(queue, factor, duration)
            return
        self.surge_factor = factor
        if self._surge_end is not None:
            self._surge_end.cancel()
            self._surge_end = None
        if duration is not None:
            self._surge_end = self.e.sched.call_later(duration, self.end_global_surge)
        self._reschedule_all()

    def end_surge(self, queue: str | None = None) -> None:
        """End the surge on ``queue``, or every surge (all queues and per queue)."""
        if queue is not None:
            self._end_queue_surge(queue)
            return
        if self._surge_end is not None:
            self._surge_end.cancel()
        self._surge_end = None
        self.surge_factor = 1.0
        for timer in self._queue_surge_end.values():
            timer.cancel()
        self._queue_surge_end.clear()
        self.queue_surge.clear()
        self._reschedule_all()

    def end_global_surge(self) -> None:
        """End the whole-centre surge only (per-queue surges carry on)."""
        self._surge_end = None
        self.surge_factor = 1.0
        self._reschedule_all()

    def _queue_surge(self, queue: str, factor: float, duration: float | None) -> None:
        if queue not in self.e.queues:
            known = ", ".join(sorted(self.e.queues)) or "none"
            raise KeyError(f"no queue {queue!r} (known: {known})")
        old = self._queue_surge_end.pop(queue, None)
        if old is not None:
            old.cancel()
        self.queue_surge[queue] = factor
        if duration is not None:
            self._queue_surge_end[queue] = self.e.sched.call_later(
                duration, self._end_queue_surge, queue
            )
        self._schedule_arrival(queue)

    def _end_queue_surge(self, queue: str) -> None:
        timer = self._queue_surge_end.pop(queue, None)
        if timer is not None:
            timer.cancel()
        if self.queue_surge.pop(queue, None) is not None:
            self._schedule_arrival(queue)

    def start_firehose(self, calls_per_second: float = 1000.0) -> None:
        """Load-generator mode: thousands of short calls a second, no trunk limits."""
        self.firehose = Firehose(calls_per_second=calls_per_second)
        for trunk in self.e.trunks.values():
            trunk.spec = trunk.spec.model_copy(update={"capacity": 1_000_000})
        self.flow.patience_scale = 0.02
        self.flow.talk_scale = 0.05
        self.flow.answer_scale = 0.2
        self._reschedule_all()

    def stop_firehose(self) -> None:
        self.firehose = None
        for trunk in self.e.trunks.values():
            original = next(t for t in self.e.centre.trunks if t.name == trunk.name)
            trunk.spec = original
        self.flow.patience_scale = self.flow.talk_scale = self.flow.answer_scale = 1.0
        self._reschedule_all()

    def trunk_down(self, name: str, *, drop_calls: bool = True) -> int:
        """The carrier stops answering; Asterisk notices at its next qualify."""
        trunk = self._trunk(name)
        trunk.really_up = False
        dropped = self.flow.drop_trunk_calls(name) if drop_calls else 0
        return dropped

    def trunk_up(self, name: str) -> None:
        trunk = self._trunk(name)
        trunk.really_up = True

    def _trunk(self, name: str) -> Trunk:
        trunk = self.e.trunks.get(name)
        if trunk is None:
            known = ", ".join(sorted(self.e.trunks)) or "none"
            raise KeyError(f"no trunk {name!r} (known: {known})")
        return trunk

    def registration_rejected(self, name: str, duration: float | None = None) -> None:
        """The carrier starts refusing our registration (403); a refresh happens now."""
        reg = self.e.registrations.get(name) or self.e.registrations.get(name.removesuffix("-reg"))
        if reg is None:
            known = ", ".join(sorted(self.e.registrations)) or "none"
            raise KeyError(f"no outbound registration for {name!r} (known: {known})")
        reg.rejecting = True
        if reg.timer is not None:
            reg.timer.cancel()
        reg.timer = self.e.sched.call_later(0.2, self._register, reg)
        if duration is not None:
            self.e.sched.call_later(duration, self._stop_rejecting, reg)

    def _stop_rejecting(self, reg: Registration) -> None:
        reg.rejecting = False

    def agent_walkout(
        self,
        count: int,
        *,
        mode: str = "pause",
        reason: str = "walkout",
        duration: float | None = None,
    ) -> list[str]:
        """``count`` working agents stop taking calls (paused, or removed where dynamic)."""
        e = self.e
        working = [a for a in e.agents.values() if any(not m.paused for m in e.memberships(a))]
        chosen = e.rng.sample(working, min(count, len(working)))
        for agent in chosen:
            for member in e.memberships(agent):
                if mode == "logout" and member.dynamic:
                    e.remove_member(member)
                elif not member.paused:
                    e.pause(member, True, reason)
            self._auto_paused.pop(agent.spec.id, None)
            if duration is not None:
                e.sched.call_later(duration, self._walk_back, agent, reason, mode)
        return [a.spec.id for a in chosen]

    def _walk_back(self, agent: Agent, reason: str, mode: str) -> None:
        e = self.e
        if mode == "logout" and agent.spec.dynamic:
            for qname, penalty in agent.spec.queues.items():
                queue = e.queues.get(qname)
                if queue is not None and agent.interface not in queue.members:
                    e.add_member(queue, agent.interface, name=agent.spec.name, penalty=penalty)
        for member in e.memberships(agent):
            if member.paused and member.paused_reason == reason:
                e.pause(member, False)

    # ------------------------------------------------------------------ agent pauses

    def _schedule_pause(self, agent: Agent) -> None:
        e = self.e
        mean = e.centre.pause_every_minutes * 60.0
        agent.pause_timer = e.sched.call_later(
            e.rng.expovariate(1.0 / mean), self._pause_due, agent
        )

    def _pause_due(self, agent: Agent) -> None:
        e = self.e
        if not e.centre.pause_reasons or not e.memberships(agent):
            self._schedule_pause(agent)
            return
        if len(self._auto_paused) >= max(1, len(e.agents) // 4):
            agent.pause_timer = e.sched.call_later(300.0, self._pause_due, agent)
            return
        spec = e.rng.choices(
            e.centre.pause_reasons, weights=[r.weight for r in e.centre.pause_reasons]
        )[0]
        minutes = e.rng.uniform(*spec.minutes)
        if agent.call is None and agent.ringing is None:
            self._apply_pause(agent, spec.reason, minutes)
        else:
            agent.pause_pending = (spec.reason, minutes)

    def _apply_pause(self, agent: Agent, reason: str, minutes: float) -> None:
        e = self.e
        members = [m for m in e.memberships(agent) if not m.paused]
        if not members:
            self._schedule_pause(agent)
            return
        for member in members:
            e.pause(member, True, reason)
        self._auto_paused[agent.spec.id] = reason
        agent.resume_timer = e.sched.call_later(minutes * 60.0, self._resume, agent, reason)

    def _resume(self, agent: Agent, reason: str) -> None:
        e = self.e
        agent.resume_timer = None
        if self._auto_paused.get(agent.spec.id) == reason:
            del self._auto_paused[agent.spec.id]
            for member in e.memberships(agent):
                # Only undo our own pause: a supervisor's pause stays.
                if member.paused and member.paused_reason == reason:
                    e.pause(member, False)
        self._schedule_pause(agent)

    # ------------------------------------------------------------------ trunks

    def _qualify(self, trunk: Trunk) -> None:
        e = self.e
        spec = trunk.spec
        trunk.qualify_timer = e.sched.call_later(spec.qualify_frequency, self._qualify, trunk)
        if trunk.really_up:
            jitter = math.exp(e.rng.gauss(0.0, 0.25))
            trunk.rtt_usec = max(200, int(spec.rtt_usec * jitter))
            e.trunk_reachability(trunk, True)
            e.test_event(
                "AOR_CONTACT_QUALIFY_RESULT",
                "res_pjsip/pjsip_options.c",
                "sip_options_contact_status_notify_task",
                f"Contact: {trunk.name}@@{spec.uri}\r\nStatus: Reachable\r\nRTT: {trunk.rtt_usec}",
            )
        else:
            e.sched.call_later(spec.qualify_timeout, self._qualify_timeout, trunk)

    def _qualify_timeout(self, trunk: Trunk) -> None:
        if trunk.really_up:
            return
        trunk.rtt_usec = 0
        self.e.trunk_reachability(trunk, False)
        self.e.test_event(
            "AOR_CONTACT_QUALIFY_RESULT",
            "res_pjsip/pjsip_options.c",
            "sip_options_contact_status_notify_task",
            f"Contact: {trunk.name}@@{trunk.spec.uri}\r\nStatus: Unreachable\r\nRTT: 0",
        )

    def _register(self, reg: Registration) -> None:
        """One REGISTER transaction and its outcome (note 21)."""
        e = self.e
        spec = reg.trunk.spec
        if not reg.trunk.really_up:
            # The request times out: reported once as Rejected, retried quietly.
            if reg.status != "Rejected":
                e.registry(reg, "Rejected")
            reg.status = "Rejected"
            delay = float(spec.retry_interval)
        elif reg.rejecting:
            if reg.status != "Rejected":
                e.registry(reg, "Rejected")
            reg.status = "Rejected"
            delay = float(spec.forbidden_retry_interval or spec.retry_interval)
        else:
            e.registry(reg, "Registered")
            delay = max(5.0, spec.expiration - 10.0)
        reg.next_reg = e.sched.now + delay
        reg.timer = e.sched.call_later(delay, self._register, reg)

    def force_register(self, reg: Registration) -> None:
        """``PJSIPRegister``: a new REGISTER now."""
        if reg.timer is not None:
            reg.timer.cancel()
        reg.timer = self.e.sched.call_later(0.1, self._register, reg)
