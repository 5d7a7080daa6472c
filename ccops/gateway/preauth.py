"""A cap on SSH connections that have not authenticated yet, in all and per address.

Why: every accepted TCP connection costs the gateway a key exchange and a slot until
``login_timeout``; a few hundred silent connections would otherwise keep real operators
waiting. The cap is checked when the TCP connection is made, before the SSH version is
sent, so a refused connection costs nothing but the accept. The per-address cap is lower
than the total so that one noisy address (a scanner, a broken script) cannot take the
slots a supervisor's laptop needs; a flood from many addresses fills the total cap until
``login_timeout`` frees it, which is the limit of what a single process can do about it.

Refusals are counted and logged at most once per :data:`LOG_EVERY_S` seconds (with the
count since), so a flood cannot flood the log too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

LOG_EVERY_S = 10.0


class PreAuthLimiter:
    """Slots for connections between TCP accept and the end of authentication."""

    def __init__(
        self,
        total: int,
        per_address: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.per_address = per_address
        self._clock = clock
        self._by_addr: dict[str, int] = {}
        self.pending = 0
        self.refused = 0
        self._refused_unlogged = 0
        self._logged_at: float | None = None

    def held(self, addr: str) -> int:
        return self._by_addr.get(addr, 0)

    def admit(self, addr: str) -> bool:
        """Take a slot for a new connection from ``addr``; False (counted) when over a cap."""
        if self.pending >= self.total or self.held(addr) >= self.per_address:
            self.refused += 1
            self._refused_unlogged += 1
            self._log_refusal(addr)
            return False
        self.pending += 1
        self._by_addr[addr] = self.held(addr) + 1
        return True

    def release(self, addr: str) -> None:
        """The connection authenticated or went away: its slot is free."""
        held = self.held(addr)
        if held <= 0:
            return
        self.pending -= 1
        if held == 1:
            del self._by_addr[addr]
        else:
            self._by_addr[addr] = held - 1

    def _log_refusal(self, addr: str) -> None:
        now = self._clock()
        if self._logged_at is not None and now - self._logged_at < LOG_EVERY_S:
            return
        self._logged_at = now
        log.warning(
            "ssh: refused %d connection(s) before authentication (latest from %s): %d "
            "unauthenticated now (cap %d, %d per address); %d refused since start",
            self._refused_unlogged, addr, self.pending, self.total, self.per_address,
            self.refused,
        )
        self._refused_unlogged = 0
