"""The KPI engine's internal bookkeeping: intervals, the rolling window, per-PBX live facts.

Kept apart from :mod:`ccops.core.kpi` so the engine module reads as event handling only.
Plain ``__slots__`` classes rather than dataclasses: these are touched for every queue
event, and attribute access on slotted classes is the cheapest Python offers.
Nothing here is public API; the engine exposes records and snapshots instead.
"""

from __future__ import annotations

from collections import deque

from ccops.core.kpi_agents import AgentFacts
from ccops.core.kpi_records import AgentCounters, QueueCounters

WAITING, LEFT, ABANDONED, DECIDED = 0, 1, 2, 3
"""Phases of a caller we are following: in the queue; left without an abandon (outcome
pending); ``QueueCallerAbandon`` seen (abandon or queue timeout, pending: see
:meth:`ccops.core.kpi.KpiEngine`); outcome booked, only the trailing Leave/Hangup to swallow."""


class QueueCfg:
    __slots__ = ("max_wait", "short_abandon", "sl_target", "sl_threshold")

    def __init__(
        self, sl_threshold: int, sl_target: float, short_abandon: int, max_wait: int | None = None
    ) -> None:
        self.sl_threshold = sl_threshold
        self.sl_target = sl_target
        self.short_abandon = short_abandon
        self.max_wait = max_wait  # the dialplan's Queue() timeout, when configured


class Bucket:
    """One queue interval: its counters and whether it closed / needs saving again."""

    __slots__ = ("closed", "counters", "dirty", "end", "short_abandon", "sl_threshold", "start")

    def __init__(self, start: float, end: float, cfg: QueueCfg) -> None:
        self.start = start
        self.end = end
        self.sl_threshold = cfg.sl_threshold
        self.short_abandon = cfg.short_abandon
        self.counters = QueueCounters()
        self.closed = False
        self.dirty = False


class AgentBucket:
    __slots__ = ("closed", "counters", "dirty", "end", "start")

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end
        self.counters = AgentCounters()
        self.closed = False
        self.dirty = False


class Rolling:
    """A sliding window of counters: fixed slots plus running totals (exact to one slot)."""

    __slots__ = ("slot_s", "slots", "total", "window_s")

    def __init__(self, window_s: float, slot_s: float) -> None:
        self.window_s = window_s
        self.slot_s = slot_s
        self.slots: deque[tuple[float, QueueCounters]] = deque()
        self.total = QueueCounters()

    def slot(self, t: float, now: float) -> QueueCounters | None:
        """The slot holding moment ``t``; None if ``t`` already fell out of the window."""
        start = t - (t % self.slot_s)
        slots = self.slots
        if slots:
            last_start, last = slots[-1]
            if last_start == start:
                return last
            if start < last_start:
                if start + self.slot_s <= now - self.window_s:
                    return None
                for i in range(len(slots) - 1, -1, -1):
                    s, c = slots[i]
                    if s == start:
                        return c
                    if s < start:
                        fresh = QueueCounters()
                        slots.insert(i + 1, (start, fresh))
                        return fresh
                fresh = QueueCounters()
                slots.appendleft((start, fresh))
                return fresh
        elif start + self.slot_s <= now - self.window_s:
            return None
        fresh = QueueCounters()
        slots.append((start, fresh))
        return fresh

    def expire(self, now: float) -> None:
        horizon = now - self.window_s
        slots = self.slots
        while slots and slots[0][0] + self.slot_s <= horizon:
            self.total.subtract(slots.popleft()[1])

    def max_wait(self) -> float:
        return max((c.max_wait for _, c in self.slots), default=0.0)


class QueueStats:
    __slots__ = ("buckets", "cfg", "cur", "name", "rolling")

    def __init__(self, name: str, cfg: QueueCfg, rolling: Rolling) -> None:
        self.name = name
        self.cfg = cfg
        self.buckets: dict[float, Bucket] = {}
        self.cur: Bucket | None = None
        self.rolling = rolling


class Sink:
    """Where one PBX's numbers go in one mode (production or drill)."""

    __slots__ = ("agent_buckets", "agent_cur", "pbx", "production", "queues")

    def __init__(self, pbx: str, production: bool) -> None:
        self.pbx = pbx
        self.production = production
        self.queues: dict[str, QueueStats] = {}
        self.agent_buckets: dict[str, dict[float, AgentBucket]] = {}  # interface → start →
        self.agent_cur: dict[str, AgentBucket] = {}  # each agent's latest interval


class Caller:
    __slots__ = ("hold", "join_at", "left_at", "phase", "queue")

    def __init__(self, queue: str, join_at: float | None, phase: int) -> None:
        self.queue = queue
        self.join_at = join_at
        self.phase = phase
        self.left_at = 0.0
        self.hold = 0.0  # Asterisk's HoldTime of a pending QueueCallerAbandon


class Call:
    __slots__ = ("connect_at", "hungup_at", "interface", "queue", "transferred")

    def __init__(self, queue: str, interface: str, connect_at: float) -> None:
        self.queue = queue
        self.interface = interface
        self.connect_at = connect_at
        self.transferred = False
        self.hungup_at: float | None = None


class Pbx:
    """Live facts about one PBX (callers, calls, agents) and the sink its numbers go to."""

    __slots__ = (
        "agents",
        "callers",
        "calls",
        "devices",
        "name",
        "pending_abandons",
        "pending_leaves",
        "ringing",
        "seen_callers",
        "seen_members",
        "sink",
        "sync_epoch",
        "watermark",
    )

    def __init__(self, name: str, sink: Sink) -> None:
        self.name = name
        self.sink = sink
        self.callers: dict[str, Caller] = {}
        self.pending_leaves: dict[str, None] = {}  # insertion-ordered by leave time
        self.pending_abandons: dict[str, None] = {}  # abandon or timeout? (by abandon time)
        self.calls: dict[str, Call] = {}
        self.agents: dict[str, AgentFacts] = {}
        self.devices: dict[str, str] = {}  # device/channel prefix → member interface
        self.ringing: dict[str, set[str]] = {}  # caller uniqueid → interfaces ringing
        self.watermark = 0.0  # latest event time seen from this PBX (its stream's clock)
        self.sync_epoch: int | None = None
        self.seen_callers: set[str] = set()
        self.seen_members: set[tuple[str, str]] = set()
