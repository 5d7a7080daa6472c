"""Virtual time for the simulator: a timer heap that runs as fast or as slow as it is told.

Why a scheduler of its own instead of ``loop.call_later``: the traffic model must give the
same event sequence for the same seed however fast it runs. Every timer fires at its
*scheduled* virtual time (``now`` is set to it while the callback runs), so the model never
sees wall-clock jitter. A real-time driver (in :mod:`ccops.sim.server`) maps virtual time to
the event loop's clock with a speed factor; tests instead call :meth:`Scheduler.run_until`
through ``SimulatedPbx.advance`` and never sleep.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any


class Timer:
    """A scheduled callback; :meth:`cancel` makes it a no-op without searching the heap."""

    __slots__ = ("args", "cancelled", "fn", "gen", "when")

    def __init__(
        self, when: float, fn: Callable[..., Any], args: tuple[Any, ...], gen: int
    ) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.gen = gen
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Timers keyed by virtual seconds since the simulated PBX booted.

    ``epoch`` is the wall-clock second that virtual time 0 corresponds to; ``wall()`` is what
    the PBX reports as "now" (Ping timestamps, Uniqueids, LastCall...).
    """

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch
        self.now = 0.0
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = 0
        self.on_earlier: Callable[[], None] | None = None
        self.fired = 0
        #: Timers belong to one boot of the PBX; persistent ones (generation -1, used by the
        #: scenario runner) outlive a restart.
        self.generation = 0

    def wall(self) -> float:
        return self.epoch + self.now

    def call_at(
        self, when: float, fn: Callable[..., Any], *args: Any, persistent: bool = False
    ) -> Timer:
        when = max(when, self.now)
        timer = Timer(when, fn, args, -1 if persistent else self.generation)
        self._seq += 1
        head = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (when, self._seq, timer))
        if self.on_earlier is not None and (head is None or when < head):
            self.on_earlier()
        return timer

    def call_later(
        self, delay: float, fn: Callable[..., Any], *args: Any, persistent: bool = False
    ) -> Timer:
        return self.call_at(self.now + max(0.0, delay), fn, *args, persistent=persistent)

    def next_time(self) -> float | None:
        heap = self._heap
        while heap and (heap[0][2].cancelled or (0 <= heap[0][2].gen != self.generation)):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_until(self, until: float, budget: int | None = None) -> int:
        """Fire every timer due at or before ``until`` (at most ``budget``); return the count.

        When everything due has run, ``now`` moves to ``until``: idle time passes too.
        """
        fired = 0
        heap = self._heap
        while heap:
            when, _, timer = heap[0]
            if when > until:
                break
            if budget is not None and fired >= budget:
                return fired
            heapq.heappop(heap)
            if timer.cancelled or (timer.gen >= 0 and timer.gen != self.generation):
                continue
            if when > self.now:
                self.now = when
            fired += 1
            timer.fn(*timer.args)
        if until > self.now:
            self.now = until
        self.fired += fired
        return fired

    def new_generation(self) -> None:
        """Forget every non-persistent timer: a PBX restart loses everything in memory."""
        self.generation += 1
        for _, _, timer in self._heap:
            if timer.gen >= 0:
                timer.cancelled = True

    def __len__(self) -> int:
        return len(self._heap)
