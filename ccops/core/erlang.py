"""Erlang C: how many agents a queue needs for its arrival rate, handle time and SL target.

Why our own implementation: the textbook formula uses ``A**N / N!``, which overflows a float
at about 170 agents and loses precision well before. Everything here goes through the
Erlang B recursion ``B(0) = 1, B(k) = A·B(k-1) / (k + A·B(k-1))``, which stays in [0, 1] for
any traffic and any number of agents, and then ``C = B / (1 − ρ·(1 − B))`` with ``ρ = A/N``.
So 2 000 agents cost 2 000 multiplications and never an overflow.

Formulas (domain.md §3.3):

* traffic intensity ``A = calls_per_hour × AHT / 3600`` (Erlangs);
* probability of waiting ``P_w = ErlangC(A, N)``;
* service level ``SL(t) = 1 − P_w · exp(−(N − A) · t / AHT)``;
* average speed of answer ``ASA = P_w · AHT / (N − A)``;
* occupancy ``A / N``.

Edge cases never raise: with no traffic nobody waits (SL 1, ASA 0, occupancy 0); with
``N ≤ A`` the queue grows without bound, so every caller waits (``P_w`` 1), the service
level is 0 and the ASA is ``math.inf``. Only meaningless *input* (negative rates, a target
outside (0, 1], traffic with a zero handle time) raises :class:`ErlangError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_MAX_AGENTS = 100_000
"""Search limit of :func:`required_agents`; far above any single queue."""


class ErlangError(ValueError):
    """Input the model cannot mean anything with, or a target no staffing reaches."""


def _check(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ErlangError(f"{name} must be a finite number ≥ 0, got {value!r}")


def traffic_intensity(calls_per_hour: float, aht_s: float) -> float:
    """Offered load in Erlangs: the average number of calls in progress at once."""
    _check("calls_per_hour", calls_per_hour)
    _check("aht_s", aht_s)
    return calls_per_hour * aht_s / 3600.0


def _check_load(traffic: float, agents: int) -> None:
    _check("traffic", traffic)
    if agents < 0:
        raise ErlangError(f"agents must be ≥ 0, got {agents}")


def _check_aht(traffic: float, aht_s: float) -> None:
    _check("aht_s", aht_s)
    if traffic > 0 and aht_s == 0:
        raise ErlangError("aht_s must be > 0 when there is traffic")


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of an ``agents``-server loss system (iterative, overflow-free)."""
    _check_load(traffic, agents)
    b = 1.0
    for k in range(1, agents + 1):
        ab = traffic * b
        b = ab / (k + ab)
    return b


def _c_from_b(traffic: float, agents: int, b: float) -> float:
    return b / (1.0 - (traffic / agents) * (1.0 - b))


def _sl_from_c(traffic: float, agents: int, aht_s: float, threshold_s: float, pw: float) -> float:
    return max(0.0, 1.0 - pw * math.exp(-(agents - traffic) * threshold_s / aht_s))


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that an arriving caller has to wait (``P_w``); 1 when ``N ≤ A``."""
    _check_load(traffic, agents)
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    return _c_from_b(traffic, agents, erlang_b(traffic, agents))


def service_level(traffic: float, agents: int, aht_s: float, threshold_s: float) -> float:
    """Share of callers answered within ``threshold_s`` seconds, as a fraction 0–1."""
    _check("threshold_s", threshold_s)
    _check_aht(traffic, aht_s)
    pw = erlang_c(traffic, agents)
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return _sl_from_c(traffic, agents, aht_s, threshold_s, pw)


def average_speed_of_answer(traffic: float, agents: int, aht_s: float) -> float:
    """Mean wait over all callers (those answered at once count 0); ``inf`` if ``N ≤ A``."""
    _check_aht(traffic, aht_s)
    pw = erlang_c(traffic, agents)
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return pw * aht_s / (agents - traffic)


def occupancy(traffic: float, agents: int) -> float:
    """Share of staffed time spent handling calls; capped at 1 (agents cannot exceed 100 %)."""
    _check_load(traffic, agents)
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    return traffic / agents


@dataclass(frozen=True, slots=True)
class Staffing:
    """Every Erlang C figure for one staffing level (one row of domain.md's worked table)."""

    calls_per_hour: float
    aht_s: float
    agents: int
    traffic: float
    p_wait: float
    service_level: float
    threshold_s: float
    asa: float
    occupancy: float


def staffing(calls_per_hour: float, aht_s: float, agents: int, threshold_s: float) -> Staffing:
    """What ``agents`` agents achieve for this load, from a single Erlang B recursion."""
    a = traffic_intensity(calls_per_hour, aht_s)
    _check_aht(a, aht_s)
    _check("threshold_s", threshold_s)
    pw = erlang_c(a, agents)
    if a == 0:
        sl, asa = 1.0, 0.0
    elif agents <= a:
        sl, asa = 0.0, math.inf
    else:
        sl = _sl_from_c(a, agents, aht_s, threshold_s, pw)
        asa = pw * aht_s / (agents - a)
    return Staffing(
        calls_per_hour=calls_per_hour,
        aht_s=aht_s,
        agents=agents,
        traffic=a,
        p_wait=pw,
        service_level=sl,
        threshold_s=threshold_s,
        asa=asa,
        occupancy=occupancy(a, agents),
    )


def required_agents(
    calls_per_hour: float,
    aht_s: float,
    sl_target: float,
    sl_threshold_s: float,
    max_occupancy: float | None = None,
    *,
    max_agents: int = DEFAULT_MAX_AGENTS,
) -> int:
    """The fewest agents on the phones that reach ``sl_target`` within ``sl_threshold_s``.

    ``max_occupancy`` (0–1], if given, is a second floor: ``A / N ≤ max_occupancy``, because
    agents kept at 95 % occupancy burn out even when the service level looks fine.
    No traffic needs no agents (0). Raises :class:`ErlangError` for meaningless input, or if
    not even ``max_agents`` agents reach the target (e.g. a target of exactly 1.0 with a
    threshold of 0 s, which no finite staffing achieves).

    This is agents *on the phones*: divide by adherence and shrinkage to get heads to
    schedule (domain.md §3.3: 8 on the phones ÷ 0.92 → schedule 9).
    """
    a = traffic_intensity(calls_per_hour, aht_s)
    _check_aht(a, aht_s)
    _check("sl_threshold_s", sl_threshold_s)
    if not (0.0 < sl_target <= 1.0):
        raise ErlangError(f"sl_target must be in (0, 1], got {sl_target!r}")
    if max_occupancy is not None and not (0.0 < max_occupancy <= 1.0):
        raise ErlangError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    if a == 0:
        return 0
    start = math.floor(a) + 1  # the smallest N with N > A: below that the queue never drains
    if max_occupancy is not None:
        start = max(start, math.ceil(a / max_occupancy - 1e-9))
    b = erlang_b(a, start)
    n = start
    while n <= max_agents:
        pw = _c_from_b(a, n, b)
        if _sl_from_c(a, n, aht_s, sl_threshold_s, pw) >= sl_target:
            return n
        n += 1
        ab = a * b
        b = ab / (n + ab)
    raise ErlangError(
        f"no staffing up to {max_agents} agents reaches SL {sl_target:.1%} "
        f"within {sl_threshold_s:g} s for {calls_per_hour:g} calls/h at AHT {aht_s:g} s"
    )
