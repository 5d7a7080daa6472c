"""Slow down repeated login failures from one address.

Why a growing delay rather than a ban: a ban list is a denial-of-service lever (lock out a
supervisor's VPN address by failing on purpose), while a delay that doubles with each
failure (capped) makes key guessing pointless and costs a legitimate operator with a
wrong key only a second or two. Counts are kept per address and forgotten after a quiet
period; the table is bounded so a scan from many addresses cannot grow memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_ADDRESSES = 4096


@dataclass(slots=True)
class _Record:
    failures: int
    last: float


class FailureThrottle:
    """Per-address failure counts and the delay to impose on the next refusal."""

    def __init__(
        self,
        initial: float,
        maximum: float,
        forget_after: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.forget_after = forget_after
        self._clock = clock
        self._max = max_addresses
        self._by_addr: OrderedDict[str, _Record] = OrderedDict()
        self.total_failures = 0

    def failures(self, addr: str) -> int:
        rec = self._current(addr)
        return rec.failures if rec else 0

    def _current(self, addr: str) -> _Record | None:
        rec = self._by_addr.get(addr)
        if rec is not None and self._clock() - rec.last > self.forget_after:
            del self._by_addr[addr]
            return None
        return rec

    def record_failure(self, addr: str) -> float:
        """Count one failure; the delay (seconds) to wait before answering it."""
        self.total_failures += 1
        now = self._clock()
        rec = self._current(addr)
        if rec is None:
            rec = _Record(0, now)
            self._by_addr[addr] = rec
            while len(self._by_addr) > self._max:
                self._by_addr.popitem(last=False)
        rec.failures += 1
        rec.last = now
        self._by_addr.move_to_end(addr)
        return float(min(self.maximum, self.initial * 2.0 ** (rec.failures - 1)))

    def record_success(self, addr: str) -> None:
        self._by_addr.pop(addr, None)
