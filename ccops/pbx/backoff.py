"""Reconnect delays: exponential, capped, jittered.

panoramisk 1.4 retries at a fixed ``int()``-truncated interval (0.5 s became 0: thousands
of connections per second against a dead port, research F5a). Exponential backoff keeps a
dead or restarting PBX from being hammered; jitter keeps many consoles that lost the same
PBX at the same moment from reconnecting in lock-step.
"""

from __future__ import annotations

import random

_MAX_EXPONENT = 32  # 2**32 × any sane initial delay is far past any cap


class Backoff:
    """``delay(n) = min(maximum, initial · 2**n) · uniform(1 - jitter, 1)``."""

    def __init__(
        self,
        initial: float,
        maximum: float,
        *,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or maximum <= 0:
            raise ValueError(f"backoff delays must be positive (initial={initial}, max={maximum})")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {jitter}")
        self.initial = initial
        self.maximum = max(maximum, initial)
        self.jitter = jitter
        self._rng = rng or random.Random()

    def ceiling(self, failures: int) -> float:
        """The un-jittered delay after ``failures`` consecutive failures."""
        exponent = min(max(failures, 0), _MAX_EXPONENT)
        return min(self.maximum, self.initial * 2.0**exponent)

    def delay(self, failures: int) -> float:
        """A jittered delay in ``[ceiling·(1 - jitter), ceiling]``."""
        ceiling = self.ceiling(failures)
        if not self.jitter:
            return ceiling
        return ceiling * self._rng.uniform(1.0 - self.jitter, 1.0)
