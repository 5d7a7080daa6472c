"""KPI counters, the plain records they persist as, and the rates derived from them.

Why sums and never averages: an interval's ASA is ``hold_sum / answered``; two half-filled
copies of the same interval (before and after a daemon restart) merge by adding sums, and
"today" is the sum of today's intervals. Averages do not add, which is exactly why
Asterisk's own moving-average ``Holdtime``/``TalkTime`` are useless for reports.

Every call is counted once, in the interval in which its *queue outcome* happened
(answered at ``AgentConnect``, abandoned at ``QueueCallerAbandon``, timed out / exited at
``QueueCallerLeave``); its talk time lands where ``AgentComplete`` happened and its wrap-up
where the wrap-up ended. So per-interval ratios stay consistent (``offered`` is always
``answered + abandoned + short_abandoned + timeouts``) and a call is never counted in two
intervals. Arrivals (``entered``) are counted at ``QueueCallerJoin``, for the arrival rate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from ccops.config import SlFormula

# ----------------------------------------------------------------------------- queue counters


@dataclass(slots=True)
class QueueCounters:
    """Additive counters for one queue over some span (interval, window, day)."""

    entered: int = 0  # callers who joined (by join time): the arrival count
    offered: int = 0  # callers whose outcome fell in the span: the sum of the four below
    answered: int = 0
    answered_within: int = 0  # answered with wait ≤ the SL threshold
    abandoned: int = 0  # hung up while waiting, after more than the short-abandon time
    short_abandoned: int = 0  # hung up within the short-abandon time (≤ N s)
    timeouts: int = 0  # left without abandon or answer: queue timeout, exit key, overflow
    hold_sum: float = 0.0  # Σ wait of answered callers (ASA numerator)
    abandon_wait_sum: float = 0.0  # Σ wait of (non-short) abandoned callers
    max_wait: float = 0.0  # longest wait of an answered or abandoned caller
    completed: int = 0  # AgentComplete seen
    talk_sum: float = 0.0  # Σ TalkTime of completed calls
    wrapup_count: int = 0  # calls whose wrap-up is known (measured or configured)
    wrapup_sum: float = 0.0
    transfers: int = 0  # answered calls that were transferred (once per call)
    transfers_blind: int = 0
    transfers_attended: int = 0
    agent_hold_count: int = 0  # agent put the caller on hold (ChannelHold on its channel)
    agent_hold_sum: float = 0.0

    def merge(self, other: QueueCounters) -> None:
        """Add ``other`` into this (max for ``max_wait``)."""
        for name in _QUEUE_ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.max_wait > self.max_wait:
            self.max_wait = other.max_wait

    def subtract(self, other: QueueCounters) -> None:
        """Remove ``other`` (a slot leaving the rolling window); ``max_wait`` is left alone."""
        for name in _QUEUE_ADDITIVE:
            setattr(self, name, getattr(self, name) - getattr(other, name))

    def is_empty(self) -> bool:
        return all(not getattr(self, name) for name in _QUEUE_FIELDS)


_QUEUE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(QueueCounters))
_QUEUE_ADDITIVE: tuple[str, ...] = tuple(n for n in _QUEUE_FIELDS if n != "max_wait")


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketRecord:
    """One queue's interval as the store keeps it: identity, settings in force, sums.

    Records are *complete totals* for their key ``(pbx, queue, bucket_start, production)``:
    the store upserts them (a late event re-emits the whole interval, never a delta).
    ``sl_threshold``/``short_abandon`` are the thresholds the counts were made with, so a
    later settings change cannot silently reinterpret old intervals.
    """

    pbx: str
    queue: str
    bucket_start: float
    bucket_end: float
    production: bool = True
    sl_threshold: int = 20
    short_abandon: int = 20
    entered: int = 0
    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    timeouts: int = 0
    hold_sum: float = 0.0
    abandon_wait_sum: float = 0.0
    max_wait: float = 0.0
    completed: int = 0
    talk_sum: float = 0.0
    wrapup_count: int = 0
    wrapup_sum: float = 0.0
    transfers: int = 0
    transfers_blind: int = 0
    transfers_attended: int = 0
    agent_hold_count: int = 0
    agent_hold_sum: float = 0.0

    @classmethod
    def from_counters(
        cls,
        c: QueueCounters,
        *,
        pbx: str,
        queue: str,
        bucket_start: float,
        bucket_end: float,
        production: bool,
        sl_threshold: int,
        short_abandon: int,
    ) -> BucketRecord:
        return cls(
            pbx=pbx,
            queue=queue,
            bucket_start=bucket_start,
            bucket_end=bucket_end,
            production=production,
            sl_threshold=sl_threshold,
            short_abandon=short_abandon,
            **{name: getattr(c, name) for name in _QUEUE_FIELDS},
        )

    def counters(self) -> QueueCounters:
        return QueueCounters(**{name: getattr(self, name) for name in _QUEUE_FIELDS})


# ----------------------------------------------------------------------------- agent counters


@dataclass(slots=True)
class AgentCounters:
    """Additive per-agent figures for one interval."""

    calls: int = 0  # queue calls answered (AgentConnect)
    talk_sum: float = 0.0  # Σ TalkTime of completed queue calls (Asterisk's per-call figure)
    hold_count: int = 0
    hold_sum: float = 0.0  # Σ time the agent held the caller (ChannelHold on its channel)
    state_seconds: dict[str, float] = field(default_factory=dict)

    def merge(self, other: AgentCounters) -> None:
        self.calls += other.calls
        self.talk_sum += other.talk_sum
        self.hold_count += other.hold_count
        self.hold_sum += other.hold_sum
        for state, secs in other.state_seconds.items():
            self.state_seconds[state] = self.state_seconds.get(state, 0.0) + secs


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentBucketRecord:
    """One agent's interval as the store keeps it; complete totals, upserted by key
    ``(pbx, interface, bucket_start, production)``."""

    pbx: str
    interface: str
    bucket_start: float
    bucket_end: float
    production: bool = True
    name: str = ""
    calls: int = 0
    talk_sum: float = 0.0
    hold_count: int = 0
    hold_sum: float = 0.0
    state_seconds: Mapping[str, float] = field(default_factory=dict)

    def counters(self) -> AgentCounters:
        return AgentCounters(
            calls=self.calls,
            talk_sum=self.talk_sum,
            hold_count=self.hold_count,
            hold_sum=self.hold_sum,
            state_seconds=dict(self.state_seconds),
        )


# ----------------------------------------------------------------------------- derived rates


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def service_level(c: QueueCounters, formula: SlFormula) -> float | None:
    """Service level as a fraction 0–1, or None when the denominator is empty.

    * ``answered_over_offered`` — answered within T ÷ **all offered** calls (answered,
      abandoned, short abandons and timeouts). The seed's KPI 21 ("÷ all incoming calls");
      every abandon counts against the center (Cisco's "negative").
    * ``answered_over_answered`` — answered within T ÷ answered. Abandons and timeouts are
      ignored entirely; this is what Wazo calls quality of service and flatters a queue
      that loses callers.
    * ``exclude_short_abandons`` (default) — answered within T ÷ (offered − short
      abandons): callers who hung up within the short-abandon time never had a fair chance
      to be served (seed KPI 14 says strip them), everyone else counts (Talkdesk's and
      Cisco's "ignored" short calls).
    """
    if formula == "answered_over_offered":
        return _ratio(c.answered_within, c.offered)
    if formula == "answered_over_answered":
        return _ratio(c.answered_within, c.answered)
    return _ratio(c.answered_within, c.offered - c.short_abandoned)


def aht(c: QueueCounters) -> float | None:
    """Average handle time (KPI 5): average talk + average wrap-up, each over its own count
    (a call's wrap-up may end in a later interval than its talk); None before any call."""
    if c.completed <= 0:
        return None
    avg_wrap = c.wrapup_sum / c.wrapup_count if c.wrapup_count else 0.0
    return c.talk_sum / c.completed + avg_wrap


def queue_metrics(c: QueueCounters, formula: SlFormula) -> dict[str, float | int | None]:
    """The JSON-ready view of counters: counts, then rates (fractions 0–1) and seconds.

    ``abandon_rate`` always strips short abandons (seed KPI 14): abandoned ÷ (offered −
    short abandons). ``aht`` is average talk + average wrap-up (KPI 5); the two averages
    are taken over their own counts because a call's wrap-up may end in a later interval
    than its talk. None wherever a denominator is empty.
    """
    avg_talk = _ratio(c.talk_sum, c.completed)
    avg_wrapup = _ratio(c.wrapup_sum, c.wrapup_count)
    waits_seen = c.answered + c.abandoned + c.short_abandoned
    return {
        "entered": c.entered,
        "offered": c.offered,
        "answered": c.answered,
        "answered_within": c.answered_within,
        "abandoned": c.abandoned,
        "short_abandoned": c.short_abandoned,
        "timeouts": c.timeouts,
        "completed": c.completed,
        "transfers": c.transfers,
        "transfers_blind": c.transfers_blind,
        "transfers_attended": c.transfers_attended,
        "service_level": service_level(c, formula),
        "answer_rate": _ratio(c.answered, c.offered),
        "abandon_rate": _ratio(c.abandoned, c.offered - c.short_abandoned),
        "short_abandon_rate": _ratio(c.short_abandoned, c.offered),
        "timeout_rate": _ratio(c.timeouts, c.offered),
        "transfer_rate": _ratio(c.transfers, c.answered),
        "asa": _ratio(c.hold_sum, c.answered),
        "avg_talk": avg_talk,
        "avg_wrapup": avg_wrapup,
        "aht": aht(c),
        "avg_abandon_wait": _ratio(c.abandon_wait_sum, c.abandoned),
        "agent_hold_per_call": _ratio(c.agent_hold_sum, c.completed),
        "longest_wait": c.max_wait if waits_seen else None,
    }


OCCUPIED_STATES = frozenset({"on_call", "on_hold"})
IDLE_STATES = frozenset({"available", "ringing"})


def agent_metrics(c: AgentCounters) -> dict[str, object]:
    """JSON-ready per-agent view; occupancy per seed KPI 13.

    occupancy = (talk + hold) ÷ (talk + hold + idle), with talk = time ``on_call``,
    hold = time ``on_hold`` and idle = time ``available`` or ``ringing``. After-call work,
    pauses and unavailability are outside both sides of the ratio. ``calls_per_hour`` (KPI
    11) divides queue calls answered by the time logged in (every state but ``unknown``;
    ``logged_out`` time is never booked).
    """
    busy = sum(c.state_seconds.get(s, 0.0) for s in OCCUPIED_STATES)
    idle = sum(c.state_seconds.get(s, 0.0) for s in IDLE_STATES)
    pause_by_reason = {
        (s.split(":", 1)[1] if ":" in s else "unspecified"): v
        for s, v in sorted(c.state_seconds.items())
        if s == "paused" or s.startswith("paused:")
    }
    logged_in = sum(v for s, v in c.state_seconds.items() if s != "unknown")
    return {
        "calls": c.calls,
        "calls_per_hour": _ratio(c.calls * 3600.0, logged_in),  # KPI 11
        "logged_in_time": logged_in,
        "talk_time": c.talk_sum,
        "hold_time": c.hold_sum,
        "holds": c.hold_count,
        "state_seconds": dict(sorted(c.state_seconds.items())),
        "pause_by_reason": pause_by_reason,
        "occupancy": _ratio(busy, busy + idle),
    }
