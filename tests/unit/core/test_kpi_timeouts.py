"""Queue timeout vs abandon, in the event orders real Asterisk 22.10.1 produces.

Measured on the tier (tests/integration, tests/data/asterisk22/stream.ami.gz): both a
caller hanging up and the ``Queue()`` timeout expiring send ``QueueCallerAbandon``
(``HoldTime`` = the wait) then ``QueueCallerLeave``. After a real abandon the caller's
``Hangup`` arrives ~1 ms later (the channel was already gone); after a timeout the channel
goes on in the dialplan (the tier plays a goodbye, Hangup 0.9 s later) or joins an overflow
queue. Driven with a fake clock; times are seconds after T0.
"""

from __future__ import annotations

from typing import Any

import pytest

from ccops.config import KpiConfig, QueueKpiConfig
from ccops.core.clock import FakeClock
from ccops.core.events import (
    AgentConnect,
    ChannelHangup,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
)
from ccops.core.kpi import KpiEngine

T0 = 1_767_225_600.0


class Pbx:
    """Plays one PBX's AMI story (typed events) into an engine."""

    def __init__(self, engine: KpiEngine, clock: FakeClock) -> None:
        self.e = engine
        self.clock = clock

    def at(self, t: float) -> float:
        return T0 + t

    def join(self, t: float, uid: str, queue: str = "hotline") -> None:
        self.e.apply(
            QueueCallerJoin(pbx="main", at=self.at(t), queue=queue, uniqueid=uid,
                            channel=f"PJSIP/carrier-a-{uid}", position=1, count=1)
        )

    def abandon_event(self, t: float, uid: str, hold: int, queue: str = "hotline") -> None:
        self.e.apply(
            QueueCallerAbandon(pbx="main", at=self.at(t), queue=queue, uniqueid=uid,
                               position=1, original_position=1, hold_time=hold)
        )

    def leave(self, t: float, uid: str, queue: str = "hotline") -> None:
        self.e.apply(
            QueueCallerLeave(pbx="main", at=self.at(t), queue=queue, uniqueid=uid,
                             position=1, count=0)
        )

    def hangup(self, t: float, uid: str, cause: int = 16) -> None:
        self.e.apply(
            ChannelHangup(pbx="main", at=self.at(t), channel=f"PJSIP/carrier-a-{uid}",
                          uniqueid=uid, cause=cause)
        )

    def noise(self, t: float) -> None:
        """Any other event the engine follows: the PBX's stream moving on."""
        self.e.apply(ChannelHangup(pbx="main", at=self.at(t), channel="Local/x;1", uniqueid="n"))

    def connect(self, t: float, uid: str, hold: int) -> None:
        self.e.apply(
            AgentConnect(pbx="main", at=self.at(t), queue="hotline", interface="Local/a1",
                         member_name="a1", uniqueid=uid, hold_time=hold)
        )

    def real_abandon(self, t: float, uid: str, hold: int, queue: str = "hotline") -> None:
        """The caller hangs up: Abandon, Leave and Hangup (cause 0 over PJSIP) together."""
        self.join(t, uid, queue)
        self.abandon_event(t + hold, uid, hold, queue)
        self.leave(t + hold, uid, queue)
        self.hangup(t + hold + 0.001, uid, cause=0)

    def real_timeout(self, t: float, uid: str, wait: int, goodbye: float = 0.9) -> None:
        """Queue() times out: Abandon, Leave, the dialplan plays goodbye, then hangs up."""
        self.join(t, uid)
        self.abandon_event(t + wait, uid, wait)
        self.leave(t + wait, uid)
        self.hangup(t + wait + goodbye, uid)

    def tick(self, t: float) -> None:
        self.clock.advance(self.at(t) - self.clock.now())
        self.e.tick(self.clock.now())

    def today(self, queue: str = "hotline") -> dict[str, Any]:
        result: dict[str, Any] = self.e.snapshot("main")["queues"][queue]["today"]
        return result


def make(**cfg: Any) -> Pbx:
    clock = FakeClock(T0)
    return Pbx(KpiEngine(KpiConfig(**cfg), clock), clock)


def outcome(today: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (today["offered"], today["answered"], today["abandoned"],
            today["short_abandoned"], today["timeouts"])


def test_caller_hanging_up_is_an_abandon() -> None:
    pbx = make()
    pbx.real_abandon(0, "c1", 45)
    pbx.tick(120)
    assert outcome(pbx.today()) == (1, 0, 1, 0, 0)
    assert pbx.today()["avg_abandon_wait"] == pytest.approx(45)
    assert pbx.e.diagnostics()["anomalies"] == {}


def test_queue_timeout_reported_as_abandon_is_a_timeout() -> None:
    pbx = make()
    pbx.real_timeout(0, "t1", 40)
    pbx.tick(120)
    today = pbx.today()
    assert outcome(today) == (1, 0, 0, 0, 1)
    assert today["abandon_rate"] == 0 and today["timeout_rate"] == 1
    assert pbx.e.diagnostics()["anomalies"] == {}
    assert pbx.e.diagnostics()["tracked"]["main"] == {
        "callers": 0, "pending_leaves": 0, "pending_abandons": 0, "calls": 0, "agents": 0}


def test_timeout_is_decided_while_the_channel_is_still_up() -> None:
    """The dialplan keeps the caller (voicemail, IVR): the stream moving on decides."""
    pbx = make()
    pbx.join(0, "t1")
    pbx.abandon_event(30, "t1", 30)
    pbx.leave(30, "t1")
    pbx.tick(30.1)  # a tick right after: the hangup window is still open
    assert pbx.today()["offered"] == 0
    pbx.noise(30.5)  # the PBX's stream is past the window and t1 is still up
    pbx.tick(30.6)
    assert outcome(pbx.today()) == (1, 0, 0, 0, 1)
    pbx.hangup(95, "t1")  # voicemail done much later: not a second outcome
    pbx.tick(100)
    assert outcome(pbx.today()) == (1, 0, 0, 0, 1)
    assert pbx.e.diagnostics()["tracked"]["main"]["callers"] == 0


def test_timeout_on_a_quiet_stream_is_decided_by_the_wall_clock() -> None:
    pbx = make()
    pbx.join(0, "t1")
    pbx.abandon_event(30, "t1", 30)
    pbx.leave(30, "t1")
    pbx.tick(39.9)  # no other event at all: wait the wall-clock window (10 s)
    assert pbx.today()["offered"] == 0
    pbx.tick(40)
    assert outcome(pbx.today()) == (1, 0, 0, 0, 1)


def test_a_tick_between_abandon_and_its_hangup_does_not_misclassify() -> None:
    """Abandon and Leave in one TCP read, the Hangup in the next one: still an abandon."""
    pbx = make()
    pbx.join(0, "a1")
    pbx.abandon_event(12, "a1", 12)
    pbx.leave(12, "a1")
    pbx.tick(12.05)
    pbx.hangup(12.1, "a1", cause=0)
    pbx.tick(60)
    assert outcome(pbx.today()) == (1, 0, 0, 1, 0)  # 12 s ≤ 20 s: a short abandon


def test_timeout_then_overflow_queue_is_a_timeout_here_and_an_offer_there() -> None:
    pbx = make()
    pbx.join(0, "o1", "hotline")
    pbx.abandon_event(40, "o1", 40, "hotline")
    pbx.leave(40, "o1", "hotline")
    pbx.join(40.01, "o1", "billing")  # the dialplan's next priority: Queue(billing)
    pbx.abandon_event(70, "o1", 30, "billing")  # the caller gives up in billing
    pbx.leave(70, "o1", "billing")
    pbx.hangup(70, "o1", cause=0)
    pbx.tick(200)
    assert outcome(pbx.today("hotline")) == (1, 0, 0, 0, 1)
    assert outcome(pbx.today("billing")) == (1, 0, 1, 0, 0)
    assert pbx.today("billing")["entered"] == 1


def test_configured_max_wait_makes_an_immediate_hangup_a_timeout() -> None:
    """A dialplan that hangs up right after Queue(): timing cannot tell, max_wait can."""
    pbx = make(queues={"hotline": QueueKpiConfig(max_wait=40)})
    pbx.real_timeout(0, "t1", 40, goodbye=0.0)
    pbx.real_abandon(0, "a1", 25)  # below the configured timeout: a real abandon
    pbx.tick(120)
    assert outcome(pbx.today()) == (2, 0, 1, 0, 1)
    assert pbx.e.diagnostics()["tracked"]["main"]["callers"] == 0


def test_known_plan_offered_is_answered_plus_abandons_plus_timeouts() -> None:
    pbx = make(short_abandon=5)
    for i in range(4):
        uid = f"ans{i}"
        pbx.join(i, uid)
        pbx.leave(i + 3, uid)
        pbx.connect(i + 3, uid, 3)
    pbx.real_abandon(10, "short", 2)
    pbx.real_abandon(11, "long1", 9)
    pbx.real_abandon(12, "long2", 15)
    for i in range(3):
        pbx.real_timeout(20 + i, f"to{i}", 30)
    pbx.tick(300)
    today = pbx.today()
    assert outcome(today) == (10, 4, 2, 1, 3)
    assert today["entered"] == 10
    assert today["offered"] == (
        today["answered"] + today["abandoned"] + today["short_abandoned"] + today["timeouts"]
    )
    assert pbx.e.diagnostics()["anomalies"] == {}


def test_duplicate_abandon_and_connect_after_abandon_are_anomalies_not_outcomes() -> None:
    pbx = make()
    pbx.join(0, "x")
    pbx.abandon_event(10, "x", 10)
    pbx.abandon_event(10, "x", 10)
    pbx.connect(10, "x", 10)
    pbx.leave(10, "x")
    pbx.hangup(10, "x", cause=0)
    pbx.tick(60)
    assert outcome(pbx.today()) == (1, 0, 0, 1, 0)
    assert pbx.e.diagnostics()["anomalies"] == {
        "duplicate_abandon": 1, "connect_after_abandon": 1}


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="abandon_hangup_s"):
        KpiEngine(KpiConfig(), FakeClock(T0), abandon_hangup_s=0)
    with pytest.raises(ValueError, match="abandon_hangup_s"):
        KpiEngine(KpiConfig(), FakeClock(T0), abandon_hangup_s=5, abandon_wall_s=1)
