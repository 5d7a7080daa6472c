"""Virtual time: order, cancellation, generations (what a PBX restart forgets)."""

from __future__ import annotations

from ccops.sim.clockwork import Scheduler


def test_timers_fire_in_time_order_at_their_own_time() -> None:
    sched = Scheduler(epoch=1000.0)
    seen: list[tuple[str, float]] = []
    sched.call_later(5, lambda: seen.append(("b", sched.now)))
    sched.call_later(1, lambda: seen.append(("a", sched.now)))
    sched.call_later(5, lambda: seen.append(("c", sched.now)))
    assert sched.run_until(10) == 3
    assert seen == [("a", 1.0), ("b", 5.0), ("c", 5.0)]
    assert sched.now == 10.0 and sched.wall() == 1010.0


def test_cancel_budget_and_generations() -> None:
    sched = Scheduler(epoch=0.0)
    seen: list[str] = []
    t = sched.call_later(1, seen.append, "cancelled")
    t.cancel()
    for i in range(5):
        sched.call_later(2, seen.append, f"n{i}")
    sched.call_later(3, seen.append, "kept", persistent=True)
    sched.call_later(3, seen.append, "lost")
    assert sched.run_until(2, budget=2) == 2
    assert sched.now == 2.0
    sched.run_until(2)
    sched.new_generation()
    sched.run_until(5)
    assert seen == ["n0", "n1", "n2", "n3", "n4", "kept"]


def test_on_earlier_is_told_about_a_new_head() -> None:
    sched = Scheduler(epoch=0.0)
    calls: list[int] = []
    sched.on_earlier = lambda: calls.append(1)
    sched.call_later(10, lambda: None)
    sched.call_later(20, lambda: None)
    sched.call_later(5, lambda: None)
    assert len(calls) == 2
