"""Erlang C against domain.md §3.3's worked table, and its edge cases."""

from __future__ import annotations

import math

import pytest

from ccops.core import erlang
from ccops.core.erlang import ErlangError, required_agents, staffing

# domain.md §3.3: 100 calls in the peak hour, AHT 180 s (A = 5 E), SL threshold 20 s
WORKED_TABLE = [
    # agents, SL(20 s) %, ASA s, occupancy %
    (6, 47.4, 105.8, 83),
    (7, 74.0, 29.2, 71),
    (8, 88.0, 10.0, 62),
    (9, 94.8, 3.6, 56),
]


@pytest.mark.parametrize(("agents", "sl_pct", "asa_s", "occ_pct"), WORKED_TABLE)
def test_worked_table_100_calls_per_hour(
    agents: int, sl_pct: float, asa_s: float, occ_pct: int
) -> None:
    s = staffing(100, 180, agents, 20)
    assert s.traffic == pytest.approx(5.0)
    assert round(s.service_level * 100, 1) == sl_pct
    assert round(s.asa, 1) == asa_s
    assert round(s.occupancy * 100) == occ_pct


def test_worked_example_60_calls_per_hour() -> None:
    five = staffing(60, 180, 5, 20)
    assert five.traffic == pytest.approx(3.0)
    assert round(five.service_level * 100, 1) == 81.1
    assert round(five.asa, 1) == 21.3
    assert round(staffing(60, 180, 6, 20).service_level * 100, 1) == 92.9


def test_required_agents_matches_the_table() -> None:
    # 80 % in 20 s: 7 agents give 74.0 %, 8 give 88.0 % → 8
    assert required_agents(100, 180, 0.80, 20) == 8
    assert required_agents(100, 180, 0.74, 20) == 7  # 74.0 % rounds up past 0.74
    assert required_agents(100, 180, 0.90, 20) == 9
    assert required_agents(60, 180, 0.80, 20) == 5
    assert required_agents(60, 180, 0.90, 20) == 6


def test_required_agents_respects_max_occupancy() -> None:
    # 8 agents meet 80 %/20 s at 62.5 % occupancy; a 60 % ceiling needs ceil(5/0.6) = 9
    assert required_agents(100, 180, 0.80, 20, max_occupancy=0.6) == 9
    assert required_agents(100, 180, 0.80, 20, max_occupancy=0.9) == 8
    # exactly representable: 5 / 0.5 = 10 must not become 11 through rounding
    assert required_agents(100, 180, 0.5, 20, max_occupancy=0.5) == 10


def test_zero_traffic_needs_nobody_and_waits_for_nothing() -> None:
    assert required_agents(0, 180, 0.8, 20) == 0
    assert erlang.erlang_c(0.0, 0) == 0.0
    assert erlang.service_level(0.0, 0, 180, 20) == 1.0
    assert erlang.average_speed_of_answer(0.0, 3, 180) == 0.0
    assert erlang.occupancy(0.0, 0) == 0.0
    s = staffing(0, 0, 0, 20)  # no calls, no handle time: still meaningful
    assert (s.service_level, s.asa, s.occupancy) == (1.0, 0.0, 0.0)


@pytest.mark.parametrize("agents", [0, 3, 5])
def test_overloaded_queue_gives_zero_sl_and_infinite_asa_without_raising(agents: int) -> None:
    a = 5.0  # N ≤ A: the queue never drains
    assert erlang.erlang_c(a, agents) == 1.0
    assert erlang.service_level(a, agents, 180, 20) == 0.0
    assert erlang.average_speed_of_answer(a, agents, 180) == math.inf
    assert erlang.occupancy(a, agents) == 1.0


def test_large_centers_do_not_overflow() -> None:
    # 4 000 calls/h at 300 s = 333 E: factorials of 340 overflow a float, the recursion not
    n = required_agents(4000, 300, 0.8, 20)
    assert 333 < n < 400
    s = staffing(4000, 300, n, 20)
    assert s.service_level >= 0.8
    assert staffing(4000, 300, n - 1, 20).service_level < 0.8
    assert 0.0 < erlang.erlang_b(1500.0, 1600) < 1.0
    assert math.isfinite(erlang.erlang_c(1500.0, 1600))


def test_erlang_b_recursion_matches_the_closed_form_for_small_cases() -> None:
    a, n = 2.5, 4
    closed = (a**n / math.factorial(n)) / sum(a**k / math.factorial(k) for k in range(n + 1))
    assert erlang.erlang_b(a, n) == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((-1, 180, 0.8, 20), {}),
        ((100, -5, 0.8, 20), {}),
        ((100, 180, 0.0, 20), {}),
        ((100, 180, 1.2, 20), {}),
        ((100, 180, 0.8, -1), {}),
        ((100, 180, 0.8, 20), {"max_occupancy": 0.0}),
        ((float("nan"), 180, 0.8, 20), {}),
    ],
)
def test_meaningless_input_raises_a_clear_error(
    args: tuple[float, float, float, float], kwargs: dict[str, float]
) -> None:
    with pytest.raises(ErlangError):
        required_agents(*args, **kwargs)  # type: ignore[arg-type]


def test_traffic_with_zero_handle_time_is_rejected() -> None:
    with pytest.raises(ErlangError, match="aht_s"):
        erlang.service_level(2.0, 3, 0, 20)


def test_unreachable_target_within_the_limit_raises() -> None:
    with pytest.raises(ErlangError, match="no staffing up to 12"):
        required_agents(100, 180, 0.999, 20, max_agents=12)
