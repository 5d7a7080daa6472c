"""The KPI engine: our own queue and agent numbers, computed from events (architecture §3).

Why not Asterisk's counters: its ``Holdtime``/``TalkTime`` are moving averages, its
``Abandoned`` includes timeouts, and everything resets on restart. We follow each caller
through the queue events and count outcomes ourselves, per (PBX, queue) and per interval
(``bucket_minutes``, aligned to the local wall clock), plus "today" since ``day_reset`` and
a rolling window; per agent we keep calls, talk, hold and time in each state.

How a caller's queue outcome is decided (asterisk-22-notes.md note 17):

* ``QueueCallerAbandon`` → abandoned (short if the wait is ≤ ``short_abandon`` s) *or
  timed out*: Asterisk 22 sends the same ``QueueCallerAbandon`` (``HoldTime`` = the wait)
  then ``QueueCallerLeave`` when the ``Queue()`` timeout expires, and the caller's channel
  stays up and goes on in the dialplan (tests/data/asterisk22, measured on the tier). A
  real abandon happens *because* the caller hung up, so that channel's ``Hangup`` follows
  at once (same read, ~1 ms); after a timeout it comes only when the dialplan ends (the
  tier's goodbye prompt: 0.9 s later), or the caller joins another queue (overflow). So:
  a ``Hangup`` within ``abandon_hangup_s`` of the abandon → abandoned; a later one, a join
  elsewhere, or the PBX's stream moving ``abandon_hangup_s`` past it with the channel
  still up (or the wall clock ``abandon_wall_s``) → timeout. A ``HoldTime`` of at least
  the queue's configured ``max_wait`` (:class:`ccops.config.QueueKpiConfig`) is a timeout
  at once (the one case timing cannot tell: a dialplan that hangs up right after
  ``Queue()``). The ``QueueCallerLeave`` that follows is swallowed.
* ``QueueCallerLeave`` then ``AgentConnect`` (Asterisk sends Leave *before* Connect) →
  answered, with Asterisk's ``HoldTime`` as the wait.
* ``QueueCallerLeave`` and neither → timed out / exited (queue timeout, exit key, overflow
  to another queue). Resolved at once by that caller's ``Hangup`` or by it joining another
  queue; otherwise by :meth:`KpiEngine.tick` once the PBX's own stream has moved
  ``leave_grace_s`` past the Leave (so a processing backlog cannot misclassify), or the
  wall clock has moved six times that (a quiet stream).

Each outcome is booked in the interval where it happened (a call that waited across a
boundary counts where it was answered or abandoned); see :mod:`ccops.core.kpi_records`.

Wrap-up (for AHT = talk + wrap-up): *measured* when the agent enters an after-call-work
pause (reason in ``acw_reasons``) within ``acw_detect_s`` of ``AgentComplete`` — from
``AgentComplete`` to the end of that pause; otherwise the *configured* wrap-up: the
member's ``Wrapuptime``, else ``wrapup_for(pbx, queue)``, else ``KpiConfig.default_wrapup``.

Cost: :meth:`KpiEngine.apply` runs for every event. Irrelevant types leave after one dict
lookup; relevant ones do a handful of dict operations. Time-driven work (timeouts, closing
intervals, expiring the rolling window) happens in :meth:`KpiEngine.tick`, which the
daemon calls about once a second.

Persistence: closed intervals come out of :meth:`KpiEngine.drain_closed` (and
:meth:`~KpiEngine.drain_closed_agents`) as complete records to upsert; the open ones from
:meth:`KpiEngine.current_records`; at start the daemon hands today's stored records to
:meth:`KpiEngine.restore`, which merges them (sums add) with anything counted since.

Drills: a PBX marked non-production (``production={"sim": False}`` or
:meth:`KpiEngine.set_production`) books into separate statistics: its records carry
``production=False`` and never mix with production intervals.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ccops.config import KpiConfig, SlFormula
from ccops.core.clock import Clock
from ccops.core.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    ChannelHangup,
    ChannelHold,
    LinkState,
    LinkStateChanged,
    MemberChange,
    PbxEvent,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueEntryItem,
    QueueMemberItem,
    QueueMemberUpdate,
    SyncBegin,
    SyncDomain,
    SyncEnd,
    Transfer,
)
from ccops.core.kpi_agents import (
    ACW,
    DEFAULT_ACW_REASONS,
    LOGGED_OUT,
    AgentFacts,
    channel_device,
    interface_devices,
)
from ccops.core.kpi_calendar import KpiCalendar
from ccops.core.kpi_erlang import erlang_view
from ccops.core.kpi_records import (
    AgentBucketRecord,
    AgentCounters,
    BucketRecord,
    QueueCounters,
    agent_metrics,
    aht,
    queue_metrics,
)
from ccops.core.kpi_state import (
    ABANDONED,
    DECIDED,
    LEFT,
    WAITING,
    AgentBucket,
    Bucket,
    Call,
    Caller,
    Pbx,
    QueueCfg,
    QueueStats,
    Rolling,
    Sink,
)

__all__ = ["AgentBucketRecord", "BucketRecord", "KpiEngine"]

log = logging.getLogger(__name__)

_STALE_CALLER_S = 12 * 3600.0  # a "waiting" caller older than this was lost: forget it
_STALE_CALL_S = 60.0  # an answered call hung up this long without AgentComplete: forget it
_MIN_RATE_WINDOW_S = 300.0  # arrival rate needs this much observation before it means much
_RECENT_ERRORS = 20


# ----------------------------------------------------------------------------- the engine


class KpiEngine:
    """Consumes typed events; answers with snapshots, Erlang C staffing and records."""

    def __init__(
        self,
        config: KpiConfig,
        clock: Clock,
        wrapup_for: Callable[[str, str], int] | None = None,
        *,
        production: Mapping[str, bool] | None = None,
        leave_grace_s: float = 5.0,
        abandon_hangup_s: float = 0.3,
        abandon_wall_s: float = 10.0,
        acw_detect_s: float = 15.0,
        acw_reasons: Iterable[str] = DEFAULT_ACW_REASONS,
    ) -> None:
        if leave_grace_s <= 0 or acw_detect_s < 0:
            raise ValueError("leave_grace_s must be > 0 and acw_detect_s ≥ 0")
        if not 0 < abandon_hangup_s <= abandon_wall_s:
            raise ValueError("need 0 < abandon_hangup_s ≤ abandon_wall_s")
        self.config = config
        self._clock = clock
        self._wrapup_for = wrapup_for
        self._production: dict[str, bool] = dict(production or {})
        self._grace = leave_grace_s
        self._abandon_hangup = abandon_hangup_s
        self._abandon_wall = abandon_wall_s
        self._acw_detect = acw_detect_s
        self._acw_reasons = frozenset(r.strip().lower() for r in acw_reasons)
        self._formula: SlFormula = config.sl_formula
        self.calendar = KpiCalendar(config.timezone, config.bucket_minutes, config.day_reset)
        self._window_s = config.rolling_window_minutes * 60.0
        self._slot_s = max(10.0, self._window_s / 120.0)
        self._started_at = clock.now()
        self._last_tick = self._started_at
        self._pbxs: dict[str, Pbx] = {}
        self._sinks: dict[tuple[str, bool], Sink] = {}
        self._open_q: list[tuple[Sink, QueueStats, Bucket]] = []
        self._open_a: list[tuple[Sink, str, AgentBucket]] = []
        self._dirty_q: list[tuple[Sink, QueueStats, Bucket]] = []
        self._dirty_a: list[tuple[Sink, str, AgentBucket]] = []
        self._day = self.calendar.day(self._started_at)
        self.anomalies: dict[str, int] = {}
        self.errors = 0
        self.recent_errors: deque[str] = deque(maxlen=_RECENT_ERRORS)
        self._handlers: dict[type, Callable[[Pbx, Any], None]] = {
            QueueCallerJoin: self._on_join,
            QueueCallerLeave: self._on_leave,
            QueueCallerAbandon: self._on_abandon,
            AgentCalled: self._on_called,
            AgentRingNoAnswer: self._on_ring_end,
            AgentDump: self._on_ring_end,
            AgentConnect: self._on_connect,
            AgentComplete: self._on_complete,
            QueueMemberUpdate: self._on_member,
            QueueMemberItem: self._on_member_item,
            QueueEntryItem: self._on_entry_item,
            ChannelHangup: self._on_hangup,
            ChannelHold: self._on_hold,
            Transfer: self._on_transfer,
            LinkStateChanged: self._on_link,
            SyncBegin: self._on_sync_begin,
            SyncEnd: self._on_sync_end,
        }

    # ------------------------------------------------------------------ public: ingest

    def apply(self, event: PbxEvent) -> None:
        """Account for one event. Never raises: a handler error is counted and remembered."""
        handler = self._handlers.get(type(event))
        if handler is None:
            return
        pbx = event.pbx
        ps = self._pbxs.get(pbx)
        if ps is None:
            ps = self._new_pbx(pbx)
        at = event.at
        if at > ps.watermark:
            ps.watermark = at
        try:
            handler(ps, event)
        except Exception as exc:  # bad input must never stop ingest
            self.errors += 1
            msg = f"{type(event).__name__} from pbx {pbx!r} at {at}: {exc!r}"
            self.recent_errors.append(msg)
            if self.errors <= 10 or self.errors % 1000 == 0:
                log.warning("KPI engine skipped an event (%d so far): %s", self.errors, msg)

    def tick(self, now: float) -> None:
        """Time-driven work: resolve timeouts, finish wrap-ups, close intervals, expire."""
        if now < self._last_tick:
            now = self._last_tick  # the wall clock stepped back: wait for it
        self._last_tick = now
        for ps in self._pbxs.values():
            self._resolve_abandons(ps, now)
            self._resolve_leaves(ps, now)
            self._sweep_stale(ps, now)
            for a in ps.agents.values():
                if (
                    a.wrap_queue is not None
                    and not a.wrap_measuring
                    and now >= a.wrap_start + self._acw_detect
                ):
                    self._finish_wrap(ps, a, a.wrap_start, measured=False)
                self._account(ps, a, now)
        for sink in self._sinks.values():
            for qs in sink.queues.values():
                qs.rolling.expire(now)
        self._close(now)
        day = self.calendar.day(now)
        if day != self._day:
            self._day = day
            self._prune(day[0] - 86_400.0)

    def set_production(self, pbx: str, production: bool) -> None:
        """Switch a PBX between production and drill statistics from now on."""
        self._production[pbx] = production
        ps = self._pbxs.get(pbx)
        if ps is None or ps.sink.production == production:
            return
        now = self._clock.now()
        for a in ps.agents.values():
            self._account(ps, a, now)
        ps.sink = self._sink(pbx, production)

    # ------------------------------------------------------------------ public: results

    def snapshot(
        self,
        pbx: str,
        *,
        staffed: Mapping[str, int] | None = None,
        intervals: int = 16,
    ) -> dict[str, Any]:
        """JSON-ready figures for one PBX: per queue today/rolling/current/intervals/erlang,
        per agent today. Rates are fractions 0–1 or None; times are seconds.

        ``staffed`` (queue → logged-in, unpaused agents, from the live model) adds the
        predicted service level at that staffing and the gap to what Erlang C requires.
        """
        now = self._clock.now()
        ps = self._pbxs.get(pbx)
        production = self._production.get(pbx, True) if ps is None else ps.sink.production
        out: dict[str, Any] = {
            "pbx": pbx,
            "production": production,
            "generated_at": now,
            "sl_formula": self._formula,
            "day_start": None,
            "queues": {},
            "agents": {},
        }
        if ps is None:
            return out
        sink = ps.sink
        day_start, day_end = self.calendar.day(now)
        out["day_start"] = day_start
        cur_start, cur_end = self.calendar.bucket(now)
        for a in ps.agents.values():
            self._account(ps, a, now)
        for name in sorted(sink.queues):
            qs = sink.queues[name]
            qs.rolling.expire(now)
            today = QueueCounters()
            todays = sorted(
                (b for b in qs.buckets.values() if day_start <= b.start < day_end),
                key=lambda b: b.start,
            )
            for b in todays:
                today.merge(b.counters)
            cur = qs.buckets.get(cur_start)
            rolling = self._rolling_view(qs, now)
            out["queues"][name] = {
                "sl_threshold": qs.cfg.sl_threshold,
                "sl_target": qs.cfg.sl_target,
                "short_abandon": qs.cfg.short_abandon,
                "today": queue_metrics(today, self._formula),
                "rolling": rolling,
                "current_bucket": {
                    "start": cur_start,
                    "end": cur_end,
                    **queue_metrics(cur.counters if cur else QueueCounters(), self._formula),
                },
                "intervals": [
                    {"start": b.start, "end": b.end, **queue_metrics(b.counters, self._formula)}
                    for b in todays[-intervals:]
                ]
                if intervals > 0
                else [],
                "erlang": self._erlang_view(
                    qs, now, None if staffed is None else staffed.get(name)
                ),
            }
        for iface in sorted(ps.agents):
            a = ps.agents[iface]
            total = AgentCounters()
            for start, ab in sink.agent_buckets.get(iface, {}).items():
                if day_start <= start < day_end:
                    total.merge(ab.counters)
            out["agents"][iface] = {
                "name": a.name,
                "state": a.state,
                "since": a.since_state,
                "queues": sorted(a.queues),
                **agent_metrics(total),
            }
        return out

    def staffing_gap(self, pbx: str, queue: str, agents_staffed: int) -> int | None:
        """Agents Erlang C requires minus ``agents_staffed`` (positive: short of agents).

        None when the requirement is unknown (not enough observation, no completed calls
        yet, or an unreachable target) — never a made-up number.
        """
        ps = self._pbxs.get(pbx)
        if ps is None or queue not in ps.sink.queues:
            return None
        qs = ps.sink.queues[queue]
        now = self._clock.now()
        qs.rolling.expire(now)
        view = self._erlang_view(qs, now, agents_staffed)
        gap = view["gap"]
        return gap if isinstance(gap, int) else None

    def drain_closed(self) -> list[BucketRecord]:
        """Queue intervals closed (or changed after closing) since the last drain."""
        out = [self._record(sink, qs, b) for sink, qs, b in self._dirty_q]
        for _, _, b in self._dirty_q:
            b.dirty = False
        self._dirty_q = []
        return out

    def drain_closed_agents(self) -> list[AgentBucketRecord]:
        """Agent intervals closed (or changed after closing) since the last drain."""
        out = [self._agent_record(sink, iface, b) for sink, iface, b in self._dirty_a]
        for _, _, b in self._dirty_a:
            b.dirty = False
        self._dirty_a = []
        return out

    def current_records(self) -> list[BucketRecord]:
        """The still-open queue intervals, as they stand (for periodic crash-safe saving)."""
        return [self._record(sink, qs, b) for sink, qs, b in self._open_q]

    def current_agent_records(self) -> list[AgentBucketRecord]:
        return [self._agent_record(sink, iface, b) for sink, iface, b in self._open_a]

    def restore(self, records: Iterable[BucketRecord | AgentBucketRecord]) -> int:
        """Merge stored intervals back in (call once at start with today's records).

        Sums add to whatever was counted since start, so nothing is lost or doubled. A
        restored interval that was already closed is not re-emitted unless it merged with
        new counts. The rolling window is not rebuilt (it warms up again). Returns the
        number of records merged.
        """
        n = 0
        now = self._clock.now()
        for rec in records:
            sink = self._sink(rec.pbx, rec.production)
            if isinstance(rec, BucketRecord):
                qs = self._queue(sink, rec.queue)
                b = qs.buckets.get(rec.bucket_start)
                fresh = b is None
                if b is None:
                    b = Bucket(rec.bucket_start, rec.bucket_end, qs.cfg)
                    b.sl_threshold = rec.sl_threshold
                    b.short_abandon = rec.short_abandon
                    qs.buckets[rec.bucket_start] = b
                    if rec.bucket_end <= now:
                        b.closed = True
                    else:
                        self._open_q.append((sink, qs, b))
                        if qs.cur is None or b.start > qs.cur.start:
                            qs.cur = b
                b.counters.merge(rec.counters())
                if not fresh and b.closed:
                    self._mark_dirty_q(sink, qs, b)
            else:
                per_agent = sink.agent_buckets.setdefault(rec.interface, {})
                ab = per_agent.get(rec.bucket_start)
                fresh = ab is None
                if ab is None:
                    ab = AgentBucket(rec.bucket_start, rec.bucket_end)
                    per_agent[rec.bucket_start] = ab
                    if rec.bucket_end <= now:
                        ab.closed = True
                    else:
                        self._open_a.append((sink, rec.interface, ab))
                ab.counters.merge(rec.counters())
                if not fresh and ab.closed:
                    self._mark_dirty_a(sink, rec.interface, ab)
            n += 1
        return n

    def diagnostics(self) -> dict[str, Any]:
        """Counts of odd input (by kind), handler errors, and what is being tracked."""
        return {
            "errors": self.errors,
            "recent_errors": list(self.recent_errors),
            "anomalies": dict(sorted(self.anomalies.items())),
            "tracked": {
                name: {
                    "callers": len(ps.callers),
                    "pending_leaves": len(ps.pending_leaves),
                    "pending_abandons": len(ps.pending_abandons),
                    "calls": len(ps.calls),
                    "agents": len(ps.agents),
                }
                for name, ps in sorted(self._pbxs.items())
            },
        }

    # ------------------------------------------------------------------ structure helpers

    def _new_pbx(self, name: str) -> Pbx:
        ps = Pbx(name, self._sink(name, self._production.get(name, True)))
        self._pbxs[name] = ps
        return ps

    def _sink(self, pbx: str, production: bool) -> Sink:
        sink = self._sinks.get((pbx, production))
        if sink is None:
            sink = self._sinks[(pbx, production)] = Sink(pbx, production)
        return sink

    def _queue_cfg(self, pbx: str, queue: str) -> QueueCfg:
        """Settings for one queue: ``KpiConfig.queues["pbx:queue"]``, else ``["queue"]``
        (the same queue name on two PBXs may need different targets), else the defaults."""
        c = self.config
        over = c.queues.get(f"{pbx}:{queue}") or c.queues.get(queue)
        if over is None:
            return QueueCfg(c.sl_threshold, c.sl_target, c.short_abandon)
        return QueueCfg(
            over.sl_threshold if over.sl_threshold is not None else c.sl_threshold,
            over.sl_target if over.sl_target is not None else c.sl_target,
            over.short_abandon if over.short_abandon is not None else c.short_abandon,
            over.max_wait,
        )

    def _queue(self, sink: Sink, name: str) -> QueueStats:
        qs = sink.queues.get(name)
        if qs is None:
            qs = QueueStats(
                name, self._queue_cfg(sink.pbx, name), Rolling(self._window_s, self._slot_s)
            )
            sink.queues[name] = qs
        return qs

    def _bucket(self, sink: Sink, qs: QueueStats, t: float) -> Bucket:
        b = qs.cur
        if b is not None and b.start <= t < b.end:
            if b.closed:
                self._mark_dirty_q(sink, qs, b)
            return b
        start, end = self.calendar.bucket(t)
        b = qs.buckets.get(start)
        if b is None:
            b = qs.buckets[start] = Bucket(start, end, qs.cfg)
            if end <= self._last_tick:
                b.closed = True  # a late event for an interval already closed
            else:
                self._open_q.append((sink, qs, b))
        if qs.cur is None or b.start >= qs.cur.start:
            qs.cur = b
        if b.closed:
            self._mark_dirty_q(sink, qs, b)
        return b

    def _targets(self, sink: Sink, qs: QueueStats, t: float) -> tuple[QueueCounters, ...]:
        """The counters an outcome at ``t`` goes to: its interval, and the rolling window."""
        b = self._bucket(sink, qs, t).counters
        slot = qs.rolling.slot(t, self._last_tick)
        if slot is None:
            return (b,)
        return (b, slot, qs.rolling.total)

    def _agent_bucket(self, sink: Sink, iface: str, t: float) -> AgentBucket:
        ab = sink.agent_cur.get(iface)
        if ab is not None and ab.start <= t < ab.end:
            if ab.closed:
                self._mark_dirty_a(sink, iface, ab)
            return ab
        start, end = self.calendar.bucket(t)
        per_agent = sink.agent_buckets.get(iface)
        if per_agent is None:
            per_agent = sink.agent_buckets[iface] = {}
        ab = per_agent.get(start)
        if ab is None:
            ab = per_agent[start] = AgentBucket(start, end)
            if end <= self._last_tick:
                ab.closed = True
            else:
                self._open_a.append((sink, iface, ab))
        cur = sink.agent_cur.get(iface)
        if cur is None or ab.start >= cur.start:
            sink.agent_cur[iface] = ab
        if ab.closed:
            self._mark_dirty_a(sink, iface, ab)
        return ab

    def _mark_dirty_q(self, sink: Sink, qs: QueueStats, b: Bucket) -> None:
        if not b.dirty:
            b.dirty = True
            self._dirty_q.append((sink, qs, b))

    def _mark_dirty_a(self, sink: Sink, iface: str, b: AgentBucket) -> None:
        if not b.dirty:
            b.dirty = True
            self._dirty_a.append((sink, iface, b))

    def _anomaly(self, kind: str) -> None:
        self.anomalies[kind] = self.anomalies.get(kind, 0) + 1

    # ------------------------------------------------------------------ queue outcomes

    def _book_entered(self, ps: Pbx, queue: str, t: float) -> None:
        sink = ps.sink
        for c in self._targets(sink, self._queue(sink, queue), t):
            c.entered += 1

    def _book_answered(self, ps: Pbx, queue: str, t: float, wait: float) -> None:
        sink = ps.sink
        qs = self._queue(sink, queue)
        within = wait <= qs.cfg.sl_threshold
        for c in self._targets(sink, qs, t):
            c.offered += 1
            c.answered += 1
            if within:
                c.answered_within += 1
            c.hold_sum += wait
            if wait > c.max_wait:
                c.max_wait = wait

    def _book_abandoned(self, ps: Pbx, queue: str, t: float, wait: float) -> None:
        sink = ps.sink
        qs = self._queue(sink, queue)
        short = wait <= qs.cfg.short_abandon
        for c in self._targets(sink, qs, t):
            c.offered += 1
            if short:
                c.short_abandoned += 1
            else:
                c.abandoned += 1
                c.abandon_wait_sum += wait
            if wait > c.max_wait:
                c.max_wait = wait

    def _book_timeout(self, ps: Pbx, queue: str, t: float) -> None:
        sink = ps.sink
        for c in self._targets(sink, self._queue(sink, queue), t):
            c.offered += 1
            c.timeouts += 1

    def _book_transfer(self, ps: Pbx, queue: str, t: float, kind: str) -> None:
        sink = ps.sink
        for c in self._targets(sink, self._queue(sink, queue), t):
            c.transfers += 1
            if kind == "blind":
                c.transfers_blind += 1
            elif kind == "attended":
                c.transfers_attended += 1

    def _book_wrapup(self, ps: Pbx, queue: str, t: float, seconds: float) -> None:
        sink = ps.sink
        for c in self._targets(sink, self._queue(sink, queue), t):
            c.wrapup_count += 1
            c.wrapup_sum += seconds

    # ------------------------------------------------------------------ caller handlers

    def _on_join(self, ps: Pbx, ev: QueueCallerJoin) -> None:
        uid = ev.uniqueid
        c = ps.callers.get(uid)
        if c is not None:
            if c.phase == LEFT:  # left one queue, joined another: overflow/exit
                ps.pending_leaves.pop(uid, None)
                self._book_timeout(ps, c.queue, c.left_at)
            elif c.phase == ABANDONED:  # "abandoned" yet still here: the queue timed out
                ps.pending_abandons.pop(uid, None)
                self._book_timeout(ps, c.queue, c.left_at)
            elif c.phase == WAITING:
                if c.queue == ev.queue:
                    self._anomaly("duplicate_join")
                    return
                self._anomaly("join_without_leave")
                self._book_timeout(ps, c.queue, ev.at)
        self._book_entered(ps, ev.queue, ev.at)
        ps.callers[uid] = Caller(ev.queue, ev.at, WAITING)

    def _on_abandon(self, ps: Pbx, ev: QueueCallerAbandon) -> None:
        uid = ev.uniqueid
        c = ps.callers.get(uid)
        if c is not None and c.phase in (ABANDONED, DECIDED) and c.queue == ev.queue:
            self._anomaly("duplicate_abandon")
            return
        if c is not None and c.phase == LEFT:
            self._anomaly("abandon_after_leave")
            ps.pending_leaves.pop(uid, None)
        elif c is not None and c.phase == ABANDONED:  # still pending in another queue
            ps.pending_abandons.pop(uid, None)
            self._book_timeout(ps, c.queue, c.left_at)
        wait = float(ev.hold_time)
        if wait < 0:
            self._anomaly("negative_hold_time")
            wait = 0.0
        caller = Caller(ev.queue, c.join_at if c else None, ABANDONED)
        caller.left_at = ev.at
        caller.hold = wait
        ps.callers[uid] = caller
        max_wait = self._queue(ps.sink, ev.queue).cfg.max_wait
        if max_wait is not None and wait >= max_wait:
            self._book_timeout(ps, ev.queue, ev.at)  # the configured Queue() timeout
            caller.phase = DECIDED
        else:
            ps.pending_abandons[uid] = None  # the caller's channel will tell (see above)
        self._clear_ringing(ps, uid, ev.at)

    def _on_leave(self, ps: Pbx, ev: QueueCallerLeave) -> None:
        uid = ev.uniqueid
        c = ps.callers.get(uid)
        if c is None:
            call = ps.calls.get(uid)
            if call is not None and call.queue == ev.queue:
                self._anomaly("leave_after_connect")  # other versions' order: already answered
                return
        if c is not None:
            if c.phase == ABANDONED:
                return  # the Leave that always follows an Abandon; the outcome is pending
            if c.phase == DECIDED:
                del ps.callers[uid]  # the Leave that follows an Abandon already decided
                return
            if c.phase == LEFT:
                self._anomaly("duplicate_leave")
                return
            if c.queue != ev.queue:
                self._anomaly("leave_other_queue")
                self._book_timeout(ps, c.queue, ev.at)
                c = None
        if c is None:
            c = ps.callers[uid] = Caller(ev.queue, None, LEFT)
        c.phase = LEFT
        c.left_at = ev.at
        ps.pending_leaves[uid] = None

    def _on_entry_item(self, ps: Pbx, ev: QueueEntryItem) -> None:
        """A caller already waiting when we (re)synced: track it so its wait is known."""
        if ps.sync_epoch is not None:
            # Only a sync's rows decide who is still waiting at SyncEnd; remembering rows
            # seen outside a sync would grow this set for as long as no sync runs.
            ps.seen_callers.add(ev.uniqueid)
        if ev.uniqueid not in ps.callers:
            ps.callers[ev.uniqueid] = Caller(ev.queue, ev.at - max(0, ev.wait), WAITING)

    def _on_hangup(self, ps: Pbx, ev: ChannelHangup) -> None:
        uid = ev.uniqueid
        c = ps.callers.pop(uid, None)
        if c is not None:
            if c.phase == ABANDONED:
                ps.pending_abandons.pop(uid, None)
                self._decide_abandon(ps, c, ev.at)
            elif c.phase == LEFT:
                ps.pending_leaves.pop(uid, None)
                self._book_timeout(ps, c.queue, c.left_at)
            elif c.phase == WAITING:
                self._anomaly("hangup_without_abandon")
                if c.join_at is not None:
                    self._book_abandoned(ps, c.queue, ev.at, max(0.0, ev.at - c.join_at))
        call = ps.calls.get(uid)
        if call is not None:
            call.hungup_at = ev.at
        if uid in ps.ringing:
            self._clear_ringing(ps, uid, ev.at)

    def _decide_abandon(self, ps: Pbx, c: Caller, hangup_at: float | None) -> None:
        """Book a pending ``QueueCallerAbandon``: the caller's hangup came with it (a real
        abandon) or the channel outlived it (a queue timeout; ``hangup_at`` None: still up)."""
        if hangup_at is not None and hangup_at - c.left_at <= self._abandon_hangup:
            self._book_abandoned(ps, c.queue, c.left_at, c.hold)
        else:
            self._book_timeout(ps, c.queue, c.left_at)

    def _resolve_abandons(self, ps: Pbx, now: float) -> None:
        """Abandons whose channel is still up once the stream (or, on a quiet stream, the
        wall clock) has moved past the hangup window: the queue timed out."""
        if not ps.pending_abandons:
            return
        stream_cut = ps.watermark - self._abandon_hangup
        wall_cut = now - self._abandon_wall
        done: list[str] = []
        for uid in ps.pending_abandons:
            c = ps.callers.get(uid)
            if c is None or c.phase != ABANDONED:
                done.append(uid)
                continue
            if c.left_at < stream_cut or c.left_at <= wall_cut:
                self._decide_abandon(ps, c, None)
                c.phase = DECIDED  # kept until its Leave/Hangup, so neither counts again
                done.append(uid)
        for uid in done:
            del ps.pending_abandons[uid]

    def _resolve_leaves(self, ps: Pbx, now: float) -> None:
        if not ps.pending_leaves:
            return
        stream_cut = ps.watermark - self._grace
        wall_cut = now - 6 * self._grace
        done: list[str] = []
        for uid in ps.pending_leaves:
            c = ps.callers.get(uid)
            if c is None or c.phase != LEFT:
                done.append(uid)
                continue
            if c.left_at <= stream_cut or c.left_at <= wall_cut:
                self._book_timeout(ps, c.queue, c.left_at)
                del ps.callers[uid]
                done.append(uid)
        for uid in done:
            del ps.pending_leaves[uid]

    def _sweep_stale(self, ps: Pbx, now: float) -> None:
        """Forget callers and calls whose end we can no longer learn (bounded memory)."""
        if ps.callers:
            stale = [
                uid
                for uid, c in ps.callers.items()
                if c.phase != LEFT
                and (c.join_at if c.join_at is not None else c.left_at) < now - _STALE_CALLER_S
            ]
            for uid in stale:
                del ps.callers[uid]
                self._anomaly("caller_lost")
        if ps.calls:
            gone = [
                uid
                for uid, call in ps.calls.items()
                if (call.hungup_at is not None and call.hungup_at < now - _STALE_CALL_S)
                or call.connect_at < now - _STALE_CALLER_S
            ]
            for uid in gone:
                call = ps.calls.pop(uid)
                self._anomaly("complete_missing")
                a = ps.agents.get(call.interface)
                if a is not None and a.call_uid == uid:
                    self._account(ps, a, now)
                    a.call_uid = None
                    a.on_hold = False
                    a.state = a.derive(now, self._acw_reasons)

    # ------------------------------------------------------------------ agent handlers

    def _agent(self, ps: Pbx, iface: str, name: str, at: float) -> AgentFacts:
        a = ps.agents.get(iface)
        if a is None:
            a = ps.agents[iface] = AgentFacts(iface, name, at)
            for dev in interface_devices(iface, ""):
                ps.devices.setdefault(dev, iface)
        elif name and a.name != name:
            a.name = name
        return a

    def _derive(self, a: AgentFacts, at: float) -> None:
        new = a.derive(at, self._acw_reasons)
        if new != a.state:
            a.state = new
            a.since_state = at

    def _account(self, ps: Pbx, a: AgentFacts, t: float) -> None:
        """Book the agent's time from its cursor up to ``t`` in the state it was in,
        split at interval boundaries and at the end of a derived wrap-up."""
        since = a.since
        if t <= since:
            return
        state = a.state
        sink = ps.sink
        for _ in range(10_000):  # bounded: a week of 1-minute intervals
            if since >= t:
                break
            seg_end = t
            acw_end = a.derived_acw_ends(self._acw_reasons) if state == ACW else None
            if acw_end is not None and acw_end < seg_end:
                seg_end = max(acw_end, since)
            if state != LOGGED_OUT and seg_end > since:
                ab = self._agent_bucket(sink, a.interface, since)
                if ab.end < seg_end:
                    seg_end = ab.end
                secs = ab.counters.state_seconds
                secs[state] = secs.get(state, 0.0) + (seg_end - since)
            since = seg_end
            if acw_end is not None and since >= acw_end:
                new = a.derive(since, self._acw_reasons)
                if new != state:
                    state = new
                    a.state = new
                    a.since_state = since
        a.since = t

    def _clear_ringing(self, ps: Pbx, uid: str, at: float) -> None:
        ifaces = ps.ringing.pop(uid, None)
        if not ifaces:
            return
        for iface in ifaces:
            a = ps.agents.get(iface)
            if a is not None and uid in a.ringing:
                self._account(ps, a, at)
                a.ringing.discard(uid)
                self._derive(a, at)

    def _wrapup_seconds(self, ps: Pbx, a: AgentFacts, queue: str) -> float:
        if a.wrapup_w > 0:
            return float(a.wrapup_w)
        if self._wrapup_for is not None:
            try:
                w = self._wrapup_for(ps.name, queue)
            except Exception as exc:
                self._anomaly("wrapup_for_failed")
                self.recent_errors.append(f"wrapup_for({ps.name!r}, {queue!r}): {exc!r}")
                w = 0
            if w > 0:
                return float(w)
        return float(self.config.default_wrapup)

    def _finish_wrap(self, ps: Pbx, a: AgentFacts, at: float, *, measured: bool) -> None:
        """Book the pending wrap-up: measured up to ``at``, or the configured fallback."""
        queue = a.wrap_queue
        if queue is None:
            return
        a.wrap_queue = None
        if measured:
            self._book_wrapup(ps, queue, at, max(0.0, at - a.wrap_start))
        else:
            self._book_wrapup(ps, queue, a.wrap_start, a.wrap_seconds)
        a.wrap_measuring = False

    def _wrap_progress(self, ps: Pbx, a: AgentFacts, at: float) -> None:
        """After a pause change: start or end measuring after-call work."""
        if a.wrap_queue is None:
            return
        in_acw = a.in_acw_pause(self._acw_reasons)
        if a.wrap_measuring:
            if not in_acw:
                self._finish_wrap(ps, a, at, measured=True)
        elif in_acw:
            if at <= a.wrap_start + self._acw_detect:
                a.wrap_measuring = True
            else:
                self._finish_wrap(ps, a, at, measured=False)
        elif a.paused_everywhere():  # paused for something else: it was not wrap-up
            self._finish_wrap(ps, a, at, measured=False)

    def _agent_moves_on(self, ps: Pbx, a: AgentFacts, at: float) -> None:
        """The agent is offered or takes another call: any wrap-up is over."""
        if a.wrap_queue is not None:
            self._finish_wrap(ps, a, at, measured=a.wrap_measuring)
        a.wrapup_until = 0.0

    def _on_called(self, ps: Pbx, ev: AgentCalled) -> None:
        a = self._agent(ps, ev.interface, ev.member_name, ev.at)
        self._account(ps, a, ev.at)
        self._agent_moves_on(ps, a, ev.at)
        a.ringing.add(ev.uniqueid)
        ps.ringing.setdefault(ev.uniqueid, set()).add(ev.interface)
        self._derive(a, ev.at)

    def _on_ring_end(self, ps: Pbx, ev: AgentRingNoAnswer | AgentDump) -> None:
        a = ps.agents.get(ev.interface)
        if a is None or ev.uniqueid not in a.ringing:
            return
        self._account(ps, a, ev.at)
        a.ringing.discard(ev.uniqueid)
        ringers = ps.ringing.get(ev.uniqueid)
        if ringers is not None:
            ringers.discard(ev.interface)
            if not ringers:
                del ps.ringing[ev.uniqueid]
        self._derive(a, ev.at)

    def _on_connect(self, ps: Pbx, ev: AgentConnect) -> None:
        uid = ev.uniqueid
        c = ps.callers.get(uid)
        if c is not None:
            if c.phase in (ABANDONED, DECIDED):
                self._anomaly("connect_after_abandon")
                return
            del ps.callers[uid]
            ps.pending_leaves.pop(uid, None)
            if c.queue != ev.queue:
                self._anomaly("connect_other_queue")
        old = ps.calls.get(uid)
        if old is not None and old.queue == ev.queue and old.hungup_at is None:
            self._anomaly("duplicate_connect")
            return
        wait = float(ev.hold_time)
        if wait < 0:
            self._anomaly("negative_hold_time")
            wait = 0.0
        self._book_answered(ps, ev.queue, ev.at, wait)
        ps.calls[uid] = Call(ev.queue, ev.interface, ev.at)
        self._clear_ringing(ps, uid, ev.at)
        a = self._agent(ps, ev.interface, ev.member_name, ev.at)
        self._account(ps, a, ev.at)
        self._agent_moves_on(ps, a, ev.at)
        a.call_uid = uid
        a.call_queue = ev.queue
        a.on_hold = False
        self._agent_bucket(ps.sink, a.interface, ev.at).counters.calls += 1
        self._derive(a, ev.at)

    def _on_complete(self, ps: Pbx, ev: AgentComplete) -> None:
        uid = ev.uniqueid
        call = ps.calls.pop(uid, None)
        talk = float(ev.talk_time)
        if talk < 0:
            self._anomaly("negative_talk_time")
            talk = 0.0
        sink = ps.sink
        for c in self._targets(sink, self._queue(sink, ev.queue), ev.at):
            c.completed += 1
            c.talk_sum += talk
        if ev.reason == "transfer" and (call is None or not call.transferred):
            self._book_transfer(ps, ev.queue, ev.at, "")
        a = self._agent(ps, ev.interface, ev.member_name, ev.at)
        self._account(ps, a, ev.at)
        ab = self._agent_bucket(sink, a.interface, ev.at)
        ab.counters.talk_sum += talk
        if a.call_uid == uid:
            if a.on_hold:
                self._end_hold(ps, a, ev.at)
            a.call_uid = None
        if a.wrap_queue is not None:  # two completions without a wrap-up decision
            self._finish_wrap(ps, a, ev.at, measured=a.wrap_measuring)
        w = self._wrapup_seconds(ps, a, ev.queue)
        a.wrap_queue = ev.queue
        a.wrap_start = ev.at
        a.wrap_seconds = w
        a.wrap_measuring = a.in_acw_pause(self._acw_reasons)
        a.wrapup_until = ev.at + w
        self._derive(a, ev.at)

    def _register_devices(self, ps: Pbx, a: AgentFacts, state_interface: str) -> None:
        if state_interface and state_interface != a.state_interface:
            a.state_interface = state_interface
            for dev in interface_devices(a.interface, state_interface):
                ps.devices[dev] = a.interface
                ps.devices[channel_device(dev)] = a.interface

    def _member_facts(
        self,
        ps: Pbx,
        at: float,
        queue: str,
        iface: str,
        name: str,
        state_interface: str,
        *,
        removed: bool,
        paused: bool,
        reason: str,
        status: Any,
        wrapup: int,
        in_call: bool,
    ) -> None:
        a = self._agent(ps, iface, name, at)
        self._account(ps, a, at)
        self._register_devices(ps, a, state_interface)
        if removed:
            a.queues.pop(queue, None)
            if not a.queues and a.wrap_queue is not None:
                self._finish_wrap(ps, a, at, measured=a.wrap_measuring)
        else:
            a.queues[queue] = paused
            if paused:
                a.pause_reason = reason
            a.device = status
            if wrapup > 0:
                a.wrapup_w = wrapup
            if (
                not in_call
                and a.call_uid is not None
                and a.call_queue == queue
                and (at - self._call_start(ps, a) > self._grace)
            ):
                # Asterisk says this member has no call from this queue: we missed the end
                self._anomaly("call_end_missed")
                ps.calls.pop(a.call_uid, None)
                a.call_uid = None
                a.on_hold = False
        self._wrap_progress(ps, a, at)
        self._derive(a, at)

    @staticmethod
    def _call_start(ps: Pbx, a: AgentFacts) -> float:
        call = ps.calls.get(a.call_uid or "")
        return call.connect_at if call is not None else 0.0

    def _on_member(self, ps: Pbx, ev: QueueMemberUpdate) -> None:
        self._member_facts(
            ps,
            ev.at,
            ev.queue,
            ev.interface,
            ev.name,
            ev.state_interface,
            removed=ev.change == MemberChange.REMOVED,
            paused=ev.paused,
            reason=ev.paused_reason,
            status=ev.status,
            wrapup=ev.wrapup_time,
            in_call=True,  # live status events' InCall lags the call events: do not trust it
        )

    def _on_member_item(self, ps: Pbx, ev: QueueMemberItem) -> None:
        ps.seen_members.add((ev.interface, ev.queue))
        self._member_facts(
            ps,
            ev.at,
            ev.queue,
            ev.interface,
            ev.name,
            ev.state_interface,
            removed=False,
            paused=ev.paused,
            reason=ev.paused_reason,
            status=ev.status,
            wrapup=ev.wrapup_time,
            in_call=ev.in_call,
        )

    def _end_hold(self, ps: Pbx, a: AgentFacts, at: float) -> None:
        secs = max(0.0, at - a.hold_since)
        a.on_hold = False
        ab = self._agent_bucket(ps.sink, a.interface, at).counters
        ab.hold_count += 1
        ab.hold_sum += secs
        sink = ps.sink
        for c in self._targets(sink, self._queue(sink, a.call_queue), at):
            c.agent_hold_count += 1
            c.agent_hold_sum += secs

    def _on_hold(self, ps: Pbx, ev: ChannelHold) -> None:
        iface = ps.devices.get(channel_device(ev.channel))
        if iface is None:
            call = ps.calls.get(ev.uniqueid)  # the caller's channel was put on hold
            if call is None:
                return
            iface = call.interface
        a = ps.agents.get(iface)
        if a is None or a.call_uid is None:
            return  # hold outside a queue call: not ours to count
        if ev.on_hold == a.on_hold:
            return
        self._account(ps, a, ev.at)
        if ev.on_hold:
            a.on_hold = True
            a.hold_since = ev.at
        else:
            self._end_hold(ps, a, ev.at)
        self._derive(a, ev.at)

    def _on_transfer(self, ps: Pbx, ev: Transfer) -> None:
        if ev.result and ev.result.lower() not in ("success", "successful"):
            return
        for uid in (ev.transferee_uniqueid, ev.uniqueid):
            call = ps.calls.get(uid) if uid else None
            if call is not None and not call.transferred:
                call.transferred = True
                self._book_transfer(ps, call.queue, ev.at, ev.kind)
                return

    # ------------------------------------------------------------------ link / sync

    def _on_link(self, ps: Pbx, ev: LinkStateChanged) -> None:
        if ev.state == LinkState.SYNCING:
            return  # facts are being re-read; SyncEnd (or LIVE) ends the blind spell
        down = ev.state != LinkState.LIVE
        for a in ps.agents.values():
            if a.link_down != down:
                self._account(ps, a, ev.at)
                a.link_down = down
                self._derive(a, ev.at)

    def _on_sync_begin(self, ps: Pbx, ev: SyncBegin) -> None:
        ps.sync_epoch = ev.epoch
        ps.seen_callers = set()
        ps.seen_members = set()

    def _on_sync_end(self, ps: Pbx, ev: SyncEnd) -> None:
        if ev.epoch != ps.sync_epoch or SyncDomain.QUEUES not in ev.confirmed:
            return
        ps.sync_epoch = None
        lost = [
            uid
            for uid, c in ps.callers.items()
            if c.phase == WAITING and uid not in ps.seen_callers
        ]
        for uid in lost:  # their outcome happened while we were blind: do not guess it
            del ps.callers[uid]
            self._anomaly("caller_outcome_unknown")
        for a in ps.agents.values():
            gone = [q for q in a.queues if (a.interface, q) not in ps.seen_members]
            self._account(ps, a, ev.at)
            for q in gone:
                del a.queues[q]
            a.link_down = False
            self._derive(a, ev.at)
        ps.seen_callers = set()
        ps.seen_members = set()

    # ------------------------------------------------------------------ closing & records

    def _close(self, now: float) -> None:
        still: list[tuple[Sink, QueueStats, Bucket]] = []
        for item in self._open_q:
            b = item[2]
            if b.end <= now:
                b.closed = True
                self._mark_dirty_q(*item)
            else:
                still.append(item)
        self._open_q = still
        still_a: list[tuple[Sink, str, AgentBucket]] = []
        for item_a in self._open_a:
            ab = item_a[2]
            if ab.end <= now:
                ab.closed = True
                self._mark_dirty_a(*item_a)
            else:
                still_a.append(item_a)
        self._open_a = still_a

    def _prune(self, before: float) -> None:
        """Drop drained intervals that ended before ``before`` (keeps yesterday for late
        events and reports): memory stays bounded on a daemon that runs for months."""
        for sink in self._sinks.values():
            for qs in sink.queues.values():
                old = [s for s, b in qs.buckets.items() if b.end <= before and not b.dirty]
                for s in old:
                    del qs.buckets[s]
            for per_agent in sink.agent_buckets.values():
                old_a = [s for s, ab in per_agent.items() if ab.end <= before and not ab.dirty]
                for s in old_a:
                    del per_agent[s]

    def _record(self, sink: Sink, qs: QueueStats, b: Bucket) -> BucketRecord:
        return BucketRecord.from_counters(
            b.counters,
            pbx=sink.pbx,
            queue=qs.name,
            bucket_start=b.start,
            bucket_end=b.end,
            production=sink.production,
            sl_threshold=b.sl_threshold,
            short_abandon=b.short_abandon,
        )

    def _agent_record(self, sink: Sink, iface: str, b: AgentBucket) -> AgentBucketRecord:
        ps = self._pbxs.get(sink.pbx)
        a = ps.agents.get(iface) if ps is not None else None
        c = b.counters
        return AgentBucketRecord(
            pbx=sink.pbx,
            interface=iface,
            bucket_start=b.start,
            bucket_end=b.end,
            production=sink.production,
            name=a.name if a is not None else "",
            calls=c.calls,
            talk_sum=c.talk_sum,
            hold_count=c.hold_count,
            hold_sum=c.hold_sum,
            state_seconds=dict(c.state_seconds),
        )

    # ------------------------------------------------------------------ views

    def _rolling_view(self, qs: QueueStats, now: float) -> dict[str, Any]:
        r = qs.rolling
        total = QueueCounters()
        total.merge(r.total)
        total.max_wait = r.max_wait()
        covered = min(self._window_s, max(0.0, now - self._started_at))
        return {
            "window_s": self._window_s,
            "covered_s": covered,
            **queue_metrics(total, self._formula),
        }

    def _erlang_view(self, qs: QueueStats, now: float, staffed: int | None) -> dict[str, Any]:
        """Arrival rate (joins per hour over the rolling window) and AHT → Erlang C."""
        covered = min(self._window_s, now - self._started_at)
        if covered < min(_MIN_RATE_WINDOW_S, self._window_s):
            return erlang_view(None, None, qs.cfg.sl_target, qs.cfg.sl_threshold, staffed)
        handled = qs.rolling.total
        if handled.completed == 0:  # nothing completed in the window: use today's calls
            day_start, day_end = self.calendar.day(now)
            handled = QueueCounters()
            for b in qs.buckets.values():
                if day_start <= b.start < day_end:
                    handled.merge(b.counters)
        rate = qs.rolling.total.entered * 3600.0 / covered
        return erlang_view(rate, aht(handled), qs.cfg.sl_target, qs.cfg.sl_threshold, staffed)
