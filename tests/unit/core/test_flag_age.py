"""The "flag left on too long" alert: the tracker's samples through the real alert engine
with the shipped default rule, on a fake clock."""

from __future__ import annotations

from ccops.config import RoutingConfig, default_alert_rules
from ccops.core.alerts import AlertChange, AlertEngine
from ccops.core.clock import FakeClock
from ccops.core.flag_age import Expectation, FlagAgeTracker, expectations_from_undos
from ccops.core.model import RoutingFlag
from ccops.store.records import UndoRecord, UndoSpec

FAMILY = "ccops"


class Rig:
    """A PBX's flags, the tracker and the engine, advanced minute by minute."""

    def __init__(self, defaults: dict[str, int] | None = None) -> None:
        self.clock = FakeClock()
        rules = [r for r in default_alert_rules() if r.metric == "routing_flag_overdue"]
        self.engine = AlertEngine(rules, self.clock)
        minutes = RoutingConfig.model_validate({"expected_minutes": defaults or {}})
        self.tracker = FlagAgeTracker(minutes.expected_minutes)
        self.flags: dict[tuple[str, str], RoutingFlag] = {}
        self.live = True

    def set(self, key: str, value: str = "on", family: str = FAMILY) -> None:
        self.flags[(family, key)] = RoutingFlag(family=family, key=key, value=value,
                                                read_at=self.clock.now())

    def clear(self, key: str) -> None:
        self.flags.pop((FAMILY, key), None)

    def tick(self, minutes: float = 0.0) -> list[AlertChange]:
        self.clock.advance(minutes * 60.0)
        samples = self.tracker.samples("main", FAMILY, self.flags, live=self.live,
                                       now=self.clock.now())
        return self.engine.evaluate(samples)


def kinds(changes: list[AlertChange]) -> list[tuple[str, str]]:
    return [(c.kind, c.alert.scope) for c in changes]


def test_default_duration_raises_once_past_due_and_clears_when_off() -> None:
    rig = Rig({"overflow": 30})
    rig.set("overflow/hotline")
    assert rig.tick() == []
    assert rig.tick(29.9) == []  # not yet due
    raised = rig.tick(0.2)
    assert kinds(raised) == [("raised", "main:overflow/hotline")]
    alert = raised[0].alert
    assert alert.rule == "routing-flag-overdue" and alert.value == 1.0
    assert alert.message == "overflow/hotline on main is still on, 1 min past its expected duration"
    # The value moves once a minute, not on every tick.
    assert rig.tick(0.25) == []
    updated = rig.tick(1.0)
    assert kinds(updated) == [("updated", "main:overflow/hotline")]
    assert updated[0].alert.value == 2.0
    rig.clear("overflow/hotline")
    cleared = rig.tick(0.1)
    assert kinds(cleared) == [("cleared", "main:overflow/hotline")]
    assert cleared[0].alert.cleared_reason == "recovered"
    assert rig.engine.active() == []


def test_each_kind_has_its_own_default() -> None:
    rig = Rig({"overflow": 10, "night": 600})
    rig.set("overflow/hotline")
    rig.set("night/4930100")
    assert rig.tick() == []  # first seen now
    assert kinds(rig.tick(11)) == [("raised", "main:overflow/hotline")]
    assert kinds(rig.tick(500)) == [("updated", "main:overflow/hotline")]
    assert {a.scope for a in rig.engine.active()} == {"main:overflow/hotline"}
    changes = rig.tick(100)
    assert ("raised", "main:night/4930100") in kinds(changes)


def test_the_commands_own_duration_and_start_time_win() -> None:
    rig = Rig({"overflow": 600})
    set_at = rig.clock.now() - 20 * 60  # set by a toggle 20 minutes before we started
    rig.tracker.set_expectations(
        {"routing:main:overflow:hotline": Expectation(since=set_at, minutes=15)},
        rig.clock.monotonic(),
    )
    rig.set("overflow/hotline")
    raised = rig.tick()
    assert kinds(raised) == [("raised", "main:overflow/hotline")]
    assert raised[0].alert.value == 5.0


def test_unknown_keys_other_families_and_empty_values_are_ignored() -> None:
    rig = Rig({"overflow": 1})
    rig.set("overflow")  # no target
    rig.set("holiday/4930100")  # not a routing kind
    rig.set("overflow/billing", family="other")
    rig.set("overflow/repairs", value="")
    assert rig.tick(5) == []
    assert rig.tracker.samples("main", FAMILY, rig.flags, live=True, now=rig.clock.now()) == []


def test_a_stale_link_neither_raises_nor_clears() -> None:
    rig = Rig({"overflow": 5})
    rig.set("overflow/hotline")
    rig.tick()
    rig.live = False
    assert rig.tick(10) == []  # would be overdue, but the PBX is not live: unknown
    rig.live = True
    assert kinds(rig.tick()) == [("raised", "main:overflow/hotline")]
    rig.live = False
    rig.clear("overflow/hotline")
    assert rig.tick(1) == []  # gone from a stale model: not trusted to clear
    rig.live = True
    rig.set("overflow/hotline")
    assert kinds(rig.tick()) == [("updated", "main:overflow/hotline")]  # still counting
    assert len(rig.engine.active()) == 1


def test_an_off_flag_is_forgotten_and_a_new_one_starts_counting_again() -> None:
    rig = Rig({"overflow": 5})
    rig.set("overflow/hotline")
    rig.tick()
    assert kinds(rig.tick(6)) == [("raised", "main:overflow/hotline")]
    rig.clear("overflow/hotline")
    assert kinds(rig.tick()) == [("cleared", "main:overflow/hotline")]
    rig.tick(11)  # past forget_after: no more -1 samples
    assert rig.tracker.samples("main", FAMILY, rig.flags, live=True, now=rig.clock.now()) == []
    rig.set("overflow/hotline")
    assert rig.tick() == []
    assert rig.tick(4) == []  # counting from its return, not from the first time
    assert kinds(rig.tick(2)) == [("raised", "main:overflow/hotline")]


def _undo(uid: int, at: float, subject: str, value: str | None,
          minutes: int | None, closed: float | None = None) -> UndoRecord:
    spec = UndoSpec(at=at, operator="ada", pbx="main", subject=subject, action="x", params={},
                    undo_command="y", undo_params={}, value=value,
                    expected_duration_min=minutes)
    return UndoRecord(id=uid, journal_id=uid, spec=spec, closed_at=closed, close_reason=None,
                      closed_by_journal=None)


def test_expectations_from_open_undo_records() -> None:
    subject = "routing:main:overflow:hotline"
    records = [
        _undo(1, 100.0, subject, "on", 30, closed=150.0),  # superseded
        _undo(2, 200.0, subject, "billing", 45),
        _undo(3, 210.0, "pause:main:*:PJSIP/1", None, None),  # not routing
        _undo(4, 50.0, "routing:main:night:4930100", "on", 600),
        _undo(5, 60.0, "routing:main:night:4930100", None, None),  # then cleared
    ]
    assert expectations_from_undos(records) == {subject: Expectation(200.0, 45)}
