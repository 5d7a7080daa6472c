"""Alert engine: hysteresis, hold-off, cooldown, glob scopes, acknowledgement, missing
scopes and unknown values, all on a fake clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ccops.config import AlertRule, default_alert_rules
from ccops.core.alerts import AlertEngine, Sample, UnknownAlertError
from ccops.core.clock import FakeClock


def rule(**kw: Any) -> AlertRule:
    base: dict[str, Any] = {
        "name": "r",
        "metric": "waiting",
        "op": ">=",
        "raise_at": 10,
        "clear_at": 5,
        "cooldown_seconds": 0,
    }
    base.update(kw)
    return AlertRule(**base)


def run(
    engine: AlertEngine,
    clock: FakeClock,
    values: Sequence[float | None],
    *,
    metric: str = "waiting",
    scope: str = "main:hotline",
    step: float = 1.0,
) -> list[tuple[int, str, float]]:
    """Feed one value per step; return (step index, kind, value) of every change."""
    out: list[tuple[int, str, float]] = []
    for i, v in enumerate(values):
        for ch in engine.evaluate([Sample(metric, scope, v)]):
            out.append((i, ch.kind, ch.alert.value))
        clock.advance(step)
    return out


def test_hysteresis_raises_at_one_level_and_clears_at_another() -> None:
    clock = FakeClock()
    engine = AlertEngine([rule()], clock)
    changes = run(engine, clock, [3, 9, 10, 7, 6, 6, 5, 8, 10])
    assert [(i, k) for i, k, _ in changes] == [
        (2, "raised"),
        (3, "updated"),  # 7: inside the band, still active, value refreshed
        (4, "updated"),
        (6, "cleared"),  # 5 ≤ clear_at
        (8, "raised"),
    ]
    assert changes[2][2] == 6 and changes[3][2] == 5


def test_no_update_change_when_the_value_does_not_move() -> None:
    clock = FakeClock()
    engine = AlertEngine([rule()], clock)
    assert [k for _, k, _ in run(engine, clock, [12, 12, 12])] == ["raised"]


def test_less_than_rules_clear_at_or_above_clear_at() -> None:
    clock = FakeClock()
    engine = AlertEngine(
        [rule(name="no-agents", metric="agents_available", op="<=", raise_at=0, clear_at=1)],
        clock,
    )
    changes = run(engine, clock, [2, 0, 0.5, 1], metric="agents_available")
    assert [(i, k) for i, k, _ in changes] == [(1, "raised"), (2, "updated"), (3, "cleared")]


def test_clear_at_defaults_to_raise_at() -> None:
    clock = FakeClock()
    engine = AlertEngine([rule(op=">", raise_at=10, clear_at=None)], clock)
    changes = run(engine, clock, [11, 10.5, 10])
    assert [(i, k) for i, k, _ in changes] == [(0, "raised"), (1, "updated"), (2, "cleared")]


def test_for_seconds_needs_the_condition_to_hold_continuously() -> None:
    clock = FakeClock()
    engine = AlertEngine(
        [
            rule(
                name="sl",
                metric="service_level",
                op="<",
                raise_at=0.6,
                clear_at=0.7,
                for_seconds=60,
            )
        ],
        clock,
    )
    values = [0.5] * 30 + [0.65] + [0.5] * 61
    changes = run(engine, clock, values, metric="service_level")
    # 0.65 is not < 0.6: the count restarts at step 31 and completes 60 s later
    assert changes == [(91, "raised", 0.5)]


def test_cooldown_blocks_re_raising_the_same_rule_and_scope() -> None:
    clock = FakeClock()
    engine = AlertEngine([rule(cooldown_seconds=120)], clock)
    changes = run(engine, clock, [12, 4] + [12] * 150, step=1)
    kinds = [(i, k) for i, k, _ in changes]
    assert kinds[:2] == [(0, "raised"), (1, "cleared")]
    assert kinds[2] == (121, "raised")  # 120 s after the clear at step 1, still high


def test_cooldown_is_per_scope() -> None:
    clock = FakeClock()
    engine = AlertEngine([rule(cooldown_seconds=600)], clock)
    engine.evaluate([Sample("waiting", "main:a", 12)])
    engine.evaluate([Sample("waiting", "main:a", 1)])
    raised = engine.evaluate([Sample("waiting", "main:a", 12), Sample("waiting", "main:b", 12)])
    assert [(c.kind, c.alert.scope) for c in raised] == [("raised", "main:b")]


@pytest.mark.parametrize(
    ("pattern", "scope", "matches"),
    [
        ("*", "main:hotline", True),
        ("hotline", "main:hotline", True),  # the name part alone
        ("main:hot*", "main:hotline", True),
        ("branch:*", "main:hotline", False),
        ("carrier-?", "main:carrier-a", True),
        ("carrier-?", "main:carrier-ab", False),
        ("main", "main", True),  # PBX-level samples (link_up)
        ("Hotline", "main:hotline", False),  # case-sensitive, like queue names in Asterisk
    ],
)
def test_scope_globs(pattern: str, scope: str, matches: bool) -> None:
    clock = FakeClock()
    engine = AlertEngine([rule(scope=pattern)], clock)
    assert bool(engine.evaluate([Sample("waiting", scope, 99)])) is matches


def test_samples_of_other_metrics_do_not_trigger() -> None:
    engine = AlertEngine([rule()], FakeClock())
    assert engine.evaluate([Sample("longest_wait", "main:hotline", 999)]) == []


def test_unknown_value_changes_nothing() -> None:
    clock = FakeClock()
    engine = AlertEngine([rule(for_seconds=10)], clock)
    changes = run(engine, clock, [12, None, 12, None, float("nan")] + [12] * 10)
    assert changes == [(10, "raised", 12)]  # the count was not reset by unknowns
    assert run(engine, clock, [None, None, None]) == []
    assert len(engine.active()) == 1


def test_a_scope_that_disappears_clears_after_the_missing_window() -> None:
    clock = FakeClock()
    engine = AlertEngine([rule()], clock, missing_after_s=300)
    engine.evaluate([Sample("waiting", "main:gone", 20), Sample("waiting", "main:kept", 20)])
    for _ in range(299):
        clock.advance(1)
        assert engine.evaluate([Sample("waiting", "main:kept", 20)]) == []
    clock.advance(1)
    changes = engine.evaluate([Sample("waiting", "main:kept", 20)])
    assert [(c.kind, c.alert.scope, c.alert.cleared_reason) for c in changes] == [
        ("cleared", "main:gone", "scope_missing")
    ]
    assert [a.scope for a in engine.active()] == ["main:kept"]


def test_acknowledge_records_operator_and_keeps_the_alert_active() -> None:
    clock = FakeClock()
    engine = AlertEngine([rule()], clock)
    (raised,) = engine.evaluate([Sample("waiting", "main:hotline", 12)])
    clock.advance(5)
    ack = engine.acknowledge(raised.alert.id, "alice")
    assert ack.kind == "updated"
    assert (ack.alert.acknowledged_by, ack.alert.acknowledged_at) == ("alice", clock.now())
    (active,) = engine.active()
    assert active.acknowledged_by == "alice" and active.active
    (cleared,) = engine.evaluate([Sample("waiting", "main:hotline", 0)])
    assert cleared.alert.acknowledged_by == "alice" and cleared.alert.cleared_at == clock.now()
    with pytest.raises(UnknownAlertError):
        engine.acknowledge(raised.alert.id, "alice")
    with pytest.raises(UnknownAlertError):
        engine.acknowledge("nope", "bob")


def test_alert_record_and_rendered_message() -> None:
    clock = FakeClock()
    engine = AlertEngine(
        [
            rule(
                name="sl",
                metric="service_level",
                op="<",
                raise_at=0.6,
                clear_at=0.7,
                severity="critical",
                message="SL on {name} ({pbx}) is {value}, below {threshold}",
            )
        ],
        clock,
    )
    (ch,) = engine.evaluate([Sample("service_level", "main:hotline", 0.523)])
    a = ch.alert
    assert (a.rule, a.scope, a.metric, a.severity, a.value, a.threshold) == (
        "sl",
        "main:hotline",
        "service_level",
        "critical",
        0.523,
        0.6,
    )
    assert a.raised_at == clock.now() and a.cleared_at is None
    assert a.message == "SL on hotline (main) is 52.3%, below 60.0%"


def test_bad_templates_do_not_crash_and_are_reported() -> None:
    engine = AlertEngine([rule(message="oops {nope} {")], FakeClock())
    (ch,) = engine.evaluate([Sample("waiting", "main:q", 11)])
    assert ch.alert.message == "q: waiting 11 (>= 10)"
    assert any("bad message template" in p for p in engine.problems)


def test_rules_with_clear_at_on_the_wrong_side_are_reported() -> None:
    engine = AlertEngine([rule(op=">", raise_at=10, clear_at=15)], FakeClock())
    assert any("wrong side" in p for p in engine.problems)


def test_active_is_ordered_by_severity_then_age() -> None:
    clock = FakeClock()
    rules = [
        rule(name="w", severity="warning"),
        rule(name="c", severity="critical", metric="longest_wait"),
    ]
    engine = AlertEngine(rules, clock)
    engine.evaluate([Sample("waiting", "main:a", 20)])
    clock.advance(1)
    engine.evaluate([Sample("longest_wait", "main:a", 20)])
    assert [a.rule for a in engine.active()] == ["c", "w"]


def test_default_rules_behave_as_intended() -> None:
    clock = FakeClock()
    engine = AlertEngine(default_alert_rules(), clock)
    assert engine.problems == []
    trunk = run(engine, clock, [1, 0, 0, 1], metric="trunk_reachable", scope="main:carrier-a")
    assert [(i, k) for i, k, _ in trunk] == [(1, "raised"), (3, "cleared")]
    link = run(engine, clock, [0] * 7 + [1], metric="link_up", scope="main")
    assert [(i, k) for i, k, _ in link] == [(5, "raised"), (7, "cleared")]  # for_seconds=5
