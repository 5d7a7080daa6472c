"""Paging policy, with no I/O: who is dialled how, what is refused, how often, and the record.

Why apart from the daemon's pager: the rules that keep a console from harassing the on-call
engineer or dialling 112 by itself must be testable to the second with a fake clock and must
not depend on a PBX being there. :mod:`ccops.daemon.pager` does the AMI side and asks this
module before every call.

Rules:

* the **deny-list** (``paging.deny_numbers``, with outside-line prefixes) is checked for
  every number a page could dial *before* the first action is sent: one emergency number
  anywhere in the plan refuses the whole page, with the number and the rule named;
* **rate limits** count calls placed (every Originate, retries included) in a sliding
  window, per person and in total; a call over the limit is not placed;
* **retries**: up to ``max_attempts`` calls per page, alternating the person's numbers
  (extension, then mobile, ...), waiting ``retry_backoff_s · 2^(n-1)`` (capped) between.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ccops.config import OnCallPerson, PagingConfig, denied_number
from ccops.core.clock import Clock

#: ``OriginateResponse`` ``Reason`` codes (Asterisk's AST_CONTROL_* values) as words.
ORIGINATE_REASONS: dict[int, str] = {
    0: "no channel could be created (unknown number, endpoint or trunk down)",
    1: "hung up before answer",
    3: "rang out, no answer",
    4: "answered",
    5: "busy",
    8: "congestion (network or carrier refused)",
}


def originate_reason(reason: int) -> str:
    """Words for an ``OriginateResponse`` reason code."""
    return ORIGINATE_REASONS.get(reason, f"failed (reason {reason})")


class PageOutcome(enum.StrEnum):
    """How a page ended."""

    ACKNOWLEDGED = "acknowledged"  # someone answered and pressed 1
    NOT_ACKNOWLEDGED = "not_acknowledged"  # answered at least once, never pressed 1
    FAILED = "failed"  # never answered (unreachable, no answer, busy, link trouble)
    REFUSED = "refused"  # never dialled: unknown person, deny-list, rate limit


class AttemptOutcome(enum.StrEnum):
    ACKNOWLEDGED = "acknowledged"
    NO_ACK = "no_ack"  # answered; another key, no key, or hung up
    FAILED = "failed"  # Originate failed (reason given)
    UNKNOWN = "unknown"  # the AMI link dropped: the call may or may not be ringing


@dataclass(frozen=True, slots=True)
class PageTarget:
    """One way to reach a person: what kind, the number, and the AMI dial string."""

    kind: str  # "extension" | "mobile"
    number: str
    channel: str


@dataclass(slots=True)
class PageAttempt:
    """One call placed for a page."""

    n: int
    target: PageTarget
    started_at: float
    channel_id: str
    answered_at: float | None = None
    ended_at: float | None = None
    outcome: AttemptOutcome | None = None
    reason: str = ""
    digit: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "kind": self.target.kind, "number": self.target.number,
            "channel": self.target.channel, "started_at": self.started_at,
            "channel_id": self.channel_id, "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "outcome": self.outcome.value if self.outcome else None,
            "reason": self.reason, "digit": self.digit,
        }  # fmt: skip


@dataclass(slots=True)
class PageResult:
    """A whole page: who, why, every call placed, and how it ended."""

    page_id: str
    person: str
    ref: str
    message: str
    requested_at: float
    outcome: PageOutcome | None = None
    detail: str = ""
    acknowledged_at: float | None = None
    digit: str = ""
    attempts: list[PageAttempt] = field(default_factory=list)
    pbx: str = ""
    simulated: bool = False  # placed on the simulated PBX (a drill): not a real page

    @property
    def acknowledged(self) -> bool:
        return self.outcome is PageOutcome.ACKNOWLEDGED

    def as_dict(self) -> dict[str, Any]:
        return {
            "page_id": self.page_id, "person": self.person, "ref": self.ref,
            "message": self.message, "requested_at": self.requested_at,
            "outcome": self.outcome.value if self.outcome else None,
            "detail": self.detail, "acknowledged_at": self.acknowledged_at,
            "digit": self.digit, "attempts": [a.as_dict() for a in self.attempts],
            "pbx": self.pbx, "simulated": self.simulated,
        }  # fmt: skip


class PagingRefused(Exception):
    """A page that must not be placed; the message says exactly why."""


def targets(person: OnCallPerson, config: PagingConfig) -> list[PageTarget]:
    """The person's numbers as dial strings, in the configured order."""
    out: list[PageTarget] = []
    if person.extension is not None:
        out.append(PageTarget("extension", person.extension,
                              config.extension_channel.format(extension=person.extension)))
    if person.mobile is not None:
        number = "".join(ch for ch in person.mobile if ch.isdigit() or ch == "+")
        trunk = person.trunk or config.trunk or ""
        out.append(PageTarget("mobile", number,
                              config.mobile_channel.format(number=number, trunk=trunk)))
    if config.order == "mobile_first":
        out.reverse()
    return out


def check_denied(plan: list[PageTarget], config: PagingConfig) -> None:
    """Refuse the page if any number in it reaches a deny-listed (emergency) number."""
    for target in plan:
        hit = denied_number(target.number, config.deny_numbers, config.outside_line_prefixes)
        if hit is not None:
            raise PagingRefused(
                f"{target.kind} {target.number!r} reaches emergency number {hit}: ccops never "
                "dials emergency numbers (paging.deny_numbers); call it yourself if needed"
            )


def target_for_attempt(plan: list[PageTarget], n: int) -> PageTarget:
    """Attempt ``n`` (from 1) cycles through the person's numbers."""
    return plan[(n - 1) % len(plan)]


def backoff(config: PagingConfig, n: int) -> float:
    """Seconds to wait after attempt ``n`` before attempt ``n + 1``."""
    return float(min(config.retry_backoff_max_s, config.retry_backoff_s * 2.0 ** max(0, n - 1)))


#: Extra seconds, beyond the ring timeout, to wait for ``OriginateResponse``.
ORIGINATE_GRACE_S = 15.0


def longest_page(config: PagingConfig) -> float:
    """Upper bound of one page's duration in seconds (every call rings out or is answered
    and waits for its verdict, plus the backoffs): a client awaiting ``page_person`` needs
    at least this timeout."""
    per_call = config.ring_timeout_s + ORIGINATE_GRACE_S + config.ack_timeout_s
    waits = sum(backoff(config, n) for n in range(1, config.max_attempts))
    return config.max_attempts * per_call + waits


class RateLimiter:
    """Calls placed per person and in total within a sliding window (monotonic time)."""

    def __init__(self, config: PagingConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._all: deque[float] = deque()
        self._by_person: dict[str, deque[float]] = {}

    def _trim(self, calls: deque[float], now: float) -> None:
        horizon = now - self.config.rate_window_s
        while calls and calls[0] <= horizon:
            calls.popleft()

    def check(self, person: str) -> None:
        """Raise :class:`PagingRefused` when one more call to ``person`` is over a limit."""
        now = self.clock.monotonic()
        window = self.config.rate_window_s
        self._trim(self._all, now)
        mine = self._by_person.setdefault(person, deque())
        self._trim(mine, now)
        if len(mine) >= self.config.max_calls_per_person:
            wait = mine[0] + window - now
            raise PagingRefused(
                f"rate limit: {len(mine)} calls to {person} in the last {window:g} s "
                f"(paging.max_calls_per_person = {self.config.max_calls_per_person}); "
                f"next call possible in {wait:.0f} s"
            )
        if len(self._all) >= self.config.max_calls_total:
            wait = self._all[0] + window - now
            raise PagingRefused(
                f"rate limit: {len(self._all)} paging calls in the last {window:g} s "
                f"(paging.max_calls_total = {self.config.max_calls_total}); "
                f"next call possible in {wait:.0f} s"
            )

    def record(self, person: str) -> None:
        """Count one call placed to ``person``."""
        now = self.clock.monotonic()
        self._all.append(now)
        self._by_person.setdefault(person, deque()).append(now)


__all__ = [
    "ORIGINATE_GRACE_S",
    "ORIGINATE_REASONS",
    "AttemptOutcome",
    "PageAttempt",
    "PageOutcome",
    "PageResult",
    "PageTarget",
    "PagingRefused",
    "RateLimiter",
    "backoff",
    "check_denied",
    "longest_page",
    "originate_reason",
    "target_for_attempt",
    "targets",
]
