"""KPI engine, queue side: call outcomes, SL formulas, intervals, day reset, restore,
rolling window, drills and Erlang C, driven by typed events and a fake clock."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccops.config import KpiConfig, QueueKpiConfig
from ccops.core.clock import FakeClock
from ccops.core.events import (
    AgentComplete,
    AgentConnect,
    ChannelHangup,
    ChannelNew,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    Transfer,
)
from ccops.core.kpi import BucketRecord, KpiEngine
from ccops.core.kpi_calendar import KpiCalendar

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, FakeClock's default start; a 15-min boundary


class Feed:
    """Plays call plans into an engine; times are seconds after T0."""

    def __init__(self, engine: KpiEngine, pbx: str = "main") -> None:
        self.e = engine
        self.pbx = pbx

    def join(self, t: float, uid: str, queue: str = "hotline") -> None:
        self.e.apply(
            QueueCallerJoin(
                pbx=self.pbx,
                at=T0 + t,
                queue=queue,
                uniqueid=uid,
                channel=f"PJSIP/trunk-{uid}",
                position=1,
                count=1,
            )
        )

    def leave(self, t: float, uid: str, queue: str = "hotline") -> None:
        self.e.apply(
            QueueCallerLeave(
                pbx=self.pbx, at=T0 + t, queue=queue, uniqueid=uid, position=1, count=0
            )
        )

    def hangup(self, t: float, uid: str) -> None:
        self.e.apply(
            ChannelHangup(pbx=self.pbx, at=T0 + t, channel=f"PJSIP/trunk-{uid}", uniqueid=uid)
        )

    def answered(
        self,
        t: float,
        uid: str,
        hold: int,
        talk: int,
        *,
        agent: str = "PJSIP/agent1",
        queue: str = "hotline",
        complete: bool = True,
        reason: str = "caller",
    ) -> None:
        """Join at t, Leave then AgentConnect at t+hold (note 17's order), complete at +talk."""
        self.join(t, uid, queue)
        self.leave(t + hold, uid, queue)
        self.e.apply(
            AgentConnect(
                pbx=self.pbx,
                at=T0 + t + hold,
                queue=queue,
                interface=agent,
                member_name=agent,
                uniqueid=uid,
                hold_time=hold,
            )
        )
        if complete:
            self.e.apply(
                AgentComplete(
                    pbx=self.pbx,
                    at=T0 + t + hold + talk,
                    queue=queue,
                    interface=agent,
                    member_name=agent,
                    uniqueid=uid,
                    hold_time=hold,
                    talk_time=talk,
                    reason=reason,
                )
            )
            self.hangup(t + hold + talk, uid)

    def abandoned(self, t: float, uid: str, wait: int, queue: str = "hotline") -> None:
        """Join, then QueueCallerAbandon → QueueCallerLeave → Hangup (note 17)."""
        self.join(t, uid, queue)
        self.e.apply(
            QueueCallerAbandon(
                pbx=self.pbx,
                at=T0 + t + wait,
                queue=queue,
                uniqueid=uid,
                position=1,
                original_position=1,
                hold_time=wait,
            )
        )
        self.leave(t + wait, uid, queue)
        self.hangup(t + wait, uid)


def make(clock: FakeClock | None = None, **cfg: Any) -> tuple[KpiEngine, Feed, FakeClock]:
    clock = clock or FakeClock(T0)
    engine = KpiEngine(KpiConfig(**cfg), clock)
    return engine, Feed(engine), clock


def settle(engine: KpiEngine, clock: FakeClock, to: float) -> None:
    """Move the clock to T0+to and let time-driven resolution run."""
    clock.advance(T0 + to - clock.now())
    engine.tick(clock.now())


HOLDS = [5, 10, 15, 20, 25, 30, 40]  # 4 of them within 20 s (≤ counts, like Asterisk)
TALKS = [100, 110, 120, 130, 140, 150, 160]


def play_ten_calls(feed: Feed) -> None:
    """7 answered, 2 abandoned (one short: 20 s; one after 60 s), 1 timed out after 300 s."""
    for i, (hold, talk) in enumerate(zip(HOLDS, TALKS, strict=True)):
        feed.answered(10 + 60 * i, f"a{i}", hold, talk, agent=f"PJSIP/agent{i}")
    feed.abandoned(20, "ab-short", 20)  # exactly the short-abandon time: short (≤)
    feed.abandoned(30, "ab-long", 60)
    feed.join(40, "to")
    feed.leave(340, "to")  # neither abandon nor connect: timeout
    feed.hangup(345, "to")


@pytest.mark.parametrize(
    ("formula", "expected_sl"),
    [
        ("answered_over_offered", 4 / 10),
        ("answered_over_answered", 4 / 7),
        ("exclude_short_abandons", 4 / 9),
    ],
)
def test_ten_call_plan_gives_exact_figures_per_formula(formula: str, expected_sl: float) -> None:
    engine, feed, clock = make(sl_formula=formula, default_wrapup=10)
    play_ten_calls(feed)
    settle(engine, clock, 800)
    q = engine.snapshot("main")["queues"]["hotline"]
    for view in (q["today"], q["current_bucket"], q["rolling"]):
        assert view["entered"] == 10
        assert view["offered"] == 10
        assert view["answered"] == 7
        assert view["answered_within"] == 4
        assert view["abandoned"] == 1
        assert view["short_abandoned"] == 1
        assert view["timeouts"] == 1
        assert view["service_level"] == pytest.approx(expected_sl)
        assert view["asa"] == pytest.approx(sum(HOLDS) / 7)
        assert view["avg_talk"] == pytest.approx(sum(TALKS) / 7)
        assert view["avg_wrapup"] == pytest.approx(10)
        assert view["aht"] == pytest.approx(sum(TALKS) / 7 + 10)
        assert view["abandon_rate"] == pytest.approx(1 / 9)  # short abandons stripped
        assert view["answer_rate"] == pytest.approx(7 / 10)
        assert view["timeout_rate"] == pytest.approx(1 / 10)
        assert view["avg_abandon_wait"] == pytest.approx(60)
        assert view["longest_wait"] == 60  # answered and abandoned waits; not the timeout
        assert view["transfer_rate"] == 0
    assert engine.diagnostics()["anomalies"] == {}


def test_empty_queue_rates_are_none_not_zero_division() -> None:
    engine, feed, _clock = make()
    feed.join(5, "x")
    q = engine.snapshot("main")["queues"]["hotline"]["today"]
    assert q["entered"] == 1 and q["offered"] == 0
    for key in ("service_level", "asa", "aht", "abandon_rate", "longest_wait", "transfer_rate"):
        assert q[key] is None


def test_leave_followed_by_connect_is_answered_even_if_a_tick_falls_between() -> None:
    engine, feed, clock = make()
    feed.join(0, "c1")
    feed.leave(12, "c1")
    settle(engine, clock, 13)  # tick between Leave and AgentConnect: still within grace
    engine.apply(
        AgentConnect(
            pbx="main",
            at=T0 + 12,
            queue="hotline",
            interface="PJSIP/a",
            member_name="a",
            uniqueid="c1",
            hold_time=12,
        )
    )
    settle(engine, clock, 120)
    today = engine.snapshot("main")["queues"]["hotline"]["today"]
    assert (today["answered"], today["timeouts"], today["offered"]) == (1, 0, 1)


def test_leave_after_connect_is_not_a_second_outcome() -> None:
    engine, feed, clock = make()
    feed.join(0, "c1")
    engine.apply(
        AgentConnect(
            pbx="main",
            at=T0 + 9,
            queue="hotline",
            interface="PJSIP/a",
            member_name="a",
            uniqueid="c1",
            hold_time=9,
        )
    )
    feed.leave(9, "c1")  # the reverse of Asterisk 22's order
    settle(engine, clock, 300)
    today = engine.snapshot("main")["queues"]["hotline"]["today"]
    assert (today["offered"], today["answered"], today["timeouts"]) == (1, 1, 0)
    assert engine.diagnostics()["anomalies"] == {"leave_after_connect": 1}


def test_timeout_waits_for_the_stream_to_move_on_not_for_a_lagging_wall_clock() -> None:
    engine, feed, clock = make()
    feed.join(0, "t1")
    feed.leave(100, "t1")
    settle(engine, clock, 110)  # stream still at 100, wall only 10 s later: undecided
    assert engine.snapshot("main")["queues"]["hotline"]["today"]["timeouts"] == 0
    feed.join(106, "other")  # the PBX's stream has moved 6 s (> grace 5 s) past the Leave
    engine.tick(clock.now())
    today = engine.snapshot("main")["queues"]["hotline"]["today"]
    assert today["timeouts"] == 1 and today["answered"] == 0


def test_timeout_resolves_on_a_quiet_stream_after_six_graces() -> None:
    engine, feed, clock = make()
    feed.join(0, "t1")
    feed.leave(100, "t1")
    settle(engine, clock, 129)
    assert engine.snapshot("main")["queues"]["hotline"]["today"]["timeouts"] == 0
    settle(engine, clock, 130)
    assert engine.snapshot("main")["queues"]["hotline"]["today"]["timeouts"] == 1


def test_overflow_to_another_queue_is_an_exit_here_and_an_offer_there() -> None:
    engine, feed, _clock = make()
    feed.join(0, "o1", "hotline")
    feed.leave(60, "o1", "hotline")
    feed.join(60, "o1", "overflow")  # resolves the hotline leave at once
    snap = engine.snapshot("main")["queues"]
    assert snap["hotline"]["today"]["timeouts"] == 1
    assert snap["hotline"]["today"]["offered"] == 1
    assert snap["overflow"]["today"]["entered"] == 1
    assert snap["overflow"]["today"]["offered"] == 0  # still waiting there


def test_abandon_is_counted_once_despite_the_following_leave_and_hangup() -> None:
    engine, feed, clock = make()
    feed.abandoned(0, "x", 45)
    settle(engine, clock, 200)
    today = engine.snapshot("main")["queues"]["hotline"]["today"]
    assert (today["offered"], today["abandoned"], today["timeouts"]) == (1, 1, 0)


def test_per_queue_overrides_change_threshold_and_short_abandon() -> None:
    engine, feed, _clock = make(
        queues={
            "vip": QueueKpiConfig(sl_threshold=10, short_abandon=5),
            "main:sales": QueueKpiConfig(sl_threshold=60),
        }
    )
    feed.answered(0, "v1", 15, 30, queue="vip")  # 15 s: outside vip's 10 s
    feed.abandoned(0, "v2", 8, queue="vip")  # 8 s: not short for vip (5 s)
    feed.answered(0, "s1", 45, 30, queue="sales")  # within sales' 60 s
    feed.answered(0, "h1", 15, 30, queue="hotline")  # default 20 s
    snap = engine.snapshot("main")["queues"]
    assert snap["vip"]["today"]["answered_within"] == 0
    assert snap["vip"]["today"]["abandoned"] == 1 and snap["vip"]["sl_threshold"] == 10
    assert snap["sales"]["today"]["answered_within"] == 1 and snap["sales"]["sl_threshold"] == 60
    assert snap["hotline"]["today"]["answered_within"] == 1


def test_transfer_counted_once_per_answered_call_from_event_or_complete_reason() -> None:
    engine, feed, _clock = make()
    feed.answered(0, "t1", 5, 60, complete=False)
    engine.apply(
        Transfer(
            pbx="main",
            at=T0 + 30,
            kind="blind",
            uniqueid="agentchan",
            transferee_uniqueid="t1",
            result="Success",
        )
    )
    engine.apply(
        AgentComplete(
            pbx="main",
            at=T0 + 65,
            queue="hotline",
            interface="PJSIP/agent1",
            member_name="a",
            uniqueid="t1",
            hold_time=5,
            talk_time=60,
            reason="transfer",
        )
    )
    feed.answered(100, "t2", 5, 60, reason="transfer")  # no Transfer event seen: reason counts
    feed.answered(200, "t3", 5, 60)
    engine.apply(
        Transfer(
            pbx="main",
            at=T0 + 230,
            kind="blind",
            uniqueid="zz",
            transferee_uniqueid="unrelated",
            result="Success",
        )
    )
    today = engine.snapshot("main")["queues"]["hotline"]["today"]
    assert today["transfers"] == 2
    assert today["transfers_blind"] == 1
    assert today["transfer_rate"] == pytest.approx(2 / 3)


def test_outcome_counts_in_the_interval_where_it_happened() -> None:
    engine, feed, clock = make()
    feed.answered(890, "x", 20, 60)  # joins 14:50 into bucket 0, answered at 15:10 → bucket 1
    settle(engine, clock, 1000)
    intervals = engine.snapshot("main")["queues"]["hotline"]["intervals"]
    assert [(i["start"] - T0, i["entered"], i["answered"]) for i in intervals] == [
        (0, 1, 0),
        (900, 0, 1),
    ]
    closed = engine.drain_closed()
    assert [(r.bucket_start - T0, r.entered, r.answered) for r in closed] == [(0, 1, 0)]
    assert closed[0].bucket_end - closed[0].bucket_start == 900


def test_drain_emits_each_closed_interval_once_and_again_after_a_late_change() -> None:
    engine, feed, clock = make()
    feed.join(100, "late")
    feed.leave(890, "late")
    settle(engine, clock, 901)
    first = engine.drain_closed()
    assert [(r.entered, r.timeouts) for r in first] == [(1, 0)]
    assert engine.drain_closed() == []
    engine.tick(T0 + 1000)  # the quiet-stream rule now resolves the Leave at its own time
    again = engine.drain_closed()
    assert [(r.bucket_start - T0, r.entered, r.timeouts) for r in again] == [(0, 1, 1)]


def test_current_records_are_the_open_intervals_with_sums_not_averages() -> None:
    engine, feed, _clock = make()
    feed.answered(0, "a", 10, 100)
    feed.answered(10, "b", 30, 200)
    (rec,) = engine.current_records()
    assert (rec.pbx, rec.queue, rec.production, rec.bucket_start) == ("main", "hotline", True, T0)
    assert (rec.answered, rec.hold_sum, rec.talk_sum, rec.max_wait) == (2, 40.0, 300.0, 30.0)
    assert (rec.sl_threshold, rec.short_abandon) == (20, 20)


def test_restore_after_restart_merges_sums_and_keeps_todays_numbers() -> None:
    engine, feed, clock = make()
    play_ten_calls(feed)
    feed.answered(1000, "b2", 50, 100, agent="PJSIP/agent9")  # lands in the second interval
    settle(engine, clock, 1200)
    before = engine.snapshot("main")["queues"]["hotline"]["today"]
    stored: dict[tuple[str, str, float], BucketRecord] = {}
    for r in engine.drain_closed() + engine.current_records():
        stored[(r.pbx, r.queue, r.bucket_start)] = r

    clock2 = FakeClock(T0 + 1250)  # the daemon restarts; one more call arrives first
    engine2 = KpiEngine(KpiConfig(), clock2)
    feed2 = Feed(engine2)
    feed2.answered(1210, "c3", 5, 20, agent="PJSIP/agent8")
    assert engine2.restore(stored.values()) == 2
    after = engine2.snapshot("main")["queues"]["hotline"]["today"]
    assert after["offered"] == before["offered"] + 1 == 12
    assert after["answered"] == before["answered"] + 1
    assert after["asa"] == pytest.approx((sum(HOLDS) + 50 + 5) / 9)
    assert after["longest_wait"] == 60
    assert engine2.drain_closed() == []  # restored closed interval was already stored
    clock2.advance(1800 - 1250)
    engine2.tick(clock2.now())
    (merged,) = engine2.drain_closed()  # the open interval closes with the full totals
    assert merged.bucket_start == T0 + 900 and merged.answered == 2 and merged.entered == 2


def test_rolling_window_forgets_old_calls_while_today_keeps_them() -> None:
    engine, feed, clock = make(rolling_window_minutes=5)
    feed.answered(0, "old", 30, 60)
    settle(engine, clock, 200)
    assert engine.snapshot("main")["queues"]["hotline"]["rolling"]["answered"] == 1
    feed.answered(400, "new", 2, 60)
    settle(engine, clock, 400 + 90)  # "old" (answered at 30) is now > 5 min ago
    q = engine.snapshot("main")["queues"]["hotline"]
    assert q["rolling"]["answered"] == 1
    assert q["rolling"]["longest_wait"] == 2
    assert q["rolling"]["window_s"] == 300
    assert q["today"]["answered"] == 2


def test_drill_pbx_keeps_separate_statistics() -> None:
    clock = FakeClock(T0)
    engine = KpiEngine(KpiConfig(), clock, production={"drill": False})
    Feed(engine, "drill").answered(0, "d1", 5, 30)
    Feed(engine, "main").answered(0, "p1", 5, 30)
    recs = {r.pbx: r for r in engine.current_records()}
    assert recs["drill"].production is False and recs["main"].production is True
    assert engine.snapshot("drill")["production"] is False
    engine.set_production("main", False)  # a drill starts on the production PBX
    Feed(engine, "main").answered(100, "p2", 5, 30)
    by_mode = {(r.pbx, r.production): r.answered for r in engine.current_records()}
    assert by_mode == {("drill", False): 1, ("main", True): 1, ("main", False): 1}
    assert engine.snapshot("main")["queues"]["hotline"]["today"]["answered"] == 1


def test_erlang_block_from_arrival_rate_and_handle_time() -> None:
    engine, feed, clock = make()
    for i in range(100):  # 100 calls in the hour, answered at once, 180 s talk, no wrap-up
        t = 36 * i
        feed.answered(t, f"e{i}", 0, 180, agent=f"PJSIP/agent{i % 12}", complete=t + 180 <= 3600)
    settle(engine, clock, 3600)
    e = engine.snapshot("main", staffed={"hotline": 6})["queues"]["hotline"]["erlang"]
    assert e["arrival_rate"] == pytest.approx(100)
    assert e["aht"] == pytest.approx(180)
    assert e["traffic"] == pytest.approx(5)
    assert e["required"] == 8  # domain.md §3.3: 80 % in 20 s needs 8
    assert round(e["at_required"]["service_level"] * 100, 1) == 88.0
    assert round(e["at_staffed"]["service_level"] * 100, 1) == 47.4
    assert e["gap"] == 2
    assert engine.staffing_gap("main", "hotline", 6) == 2
    assert engine.staffing_gap("main", "hotline", 9) == -1
    assert engine.staffing_gap("main", "nosuch", 3) is None


def test_erlang_is_unknown_while_warming_up_or_without_handle_time() -> None:
    engine, feed, clock = make()
    feed.join(10, "w")
    assert engine.staffing_gap("main", "hotline", 3) is None
    settle(engine, clock, 600)
    e = engine.snapshot("main")["queues"]["hotline"]["erlang"]
    assert e["arrival_rate"] == pytest.approx(6)  # 1 join in 10 min
    assert e["required"] is None and "handle time" in e["reason"]


def test_overloaded_staffing_is_json_safe() -> None:
    engine, feed, clock = make()
    for i in range(100):
        feed.answered(36 * i, f"e{i}", 0, 180, agent=f"PJSIP/agent{i % 12}")
    settle(engine, clock, 3600)
    snap = engine.snapshot("main", staffed={"hotline": 3})
    json.dumps(snap, allow_nan=False)  # JSON-ready: no inf or NaN anywhere
    e = snap["queues"]["hotline"]["erlang"]
    assert e["at_staffed"] == {
        "agents": 3,
        "service_level": 0.0,
        "asa": None,
        "p_wait": 1.0,
        "occupancy": 1.0,
        "stable": False,
    }


def test_bad_input_is_counted_and_never_raises() -> None:
    engine, feed, _clock = make()
    broken = AgentConnect(
        pbx="main",
        at=T0,
        queue="hotline",
        interface="PJSIP/a",
        member_name="a",
        uniqueid="u",
        hold_time="soon",  # type: ignore[arg-type]
    )
    engine.apply(broken)
    engine.apply(ChannelNew(pbx="main", at=T0, channel="PJSIP/x-1", uniqueid="n"))  # ignored
    feed.answered(10, "ok", 3, 30)
    diag = engine.diagnostics()
    assert diag["errors"] == 1
    assert "AgentConnect from pbx 'main'" in diag["recent_errors"][0]
    assert engine.snapshot("main")["queues"]["hotline"]["today"]["answered"] == 1


def test_wrapup_callback_failure_is_counted_and_falls_back() -> None:
    def boom(pbx: str, queue: str) -> int:
        raise RuntimeError("model not ready")

    clock = FakeClock(T0)
    engine = KpiEngine(KpiConfig(default_wrapup=7), clock, wrapup_for=boom)
    Feed(engine).answered(0, "x", 1, 50)
    clock.advance(100)
    engine.tick(clock.now())
    today = engine.snapshot("main")["queues"]["hotline"]["today"]
    assert today["avg_wrapup"] == 7
    assert engine.diagnostics()["anomalies"]["wrapup_for_failed"] == 1


def test_records_round_trip_through_dicts_for_the_store() -> None:
    engine, feed, _clock = make()
    feed.answered(0, "a", 10, 100)
    (rec,) = engine.current_records()
    again = BucketRecord(**dataclasses.asdict(rec))
    assert again == rec
    assert again.counters().answered == 1


# ----------------------------------------------------------------------------- calendar


def test_day_reset_in_a_non_utc_timezone() -> None:
    # Shanghai is UTC+8; the day resets at 06:00 local = 22:00 UTC the day before
    reset_utc = datetime(2026, 1, 1, 22, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    clock = FakeClock(reset_utc - 120)
    engine = KpiEngine(KpiConfig(timezone="Asia/Shanghai", day_reset="06:00"), clock)
    feed = Feed(engine)
    offset = reset_utc - T0
    feed.answered(offset - 60, "yesterday", 5, 30)  # 05:59 local
    clock.advance(240)
    engine.tick(clock.now())
    feed.answered(offset + 60, "today", 5, 30)  # 06:01 local
    snap = engine.snapshot("main")
    assert snap["day_start"] == reset_utc
    q = snap["queues"]["hotline"]
    assert q["today"]["answered"] == 1
    assert [i["start"] for i in q["intervals"]] == [reset_utc]
    assert q["rolling"]["answered"] == 2  # the rolling window ignores the day reset


def test_buckets_align_to_local_wall_clock_and_are_cut_at_the_day_reset() -> None:
    tz = ZoneInfo("Asia/Kolkata")  # UTC+05:30: local hours start at :30 UTC
    cal = KpiCalendar("Asia/Kolkata", 60, "06:30")
    t = datetime(2026, 1, 5, 6, 10, tzinfo=tz).timestamp()
    start, end = cal.bucket(t)
    assert datetime.fromtimestamp(start, tz).strftime("%H:%M") == "06:00"
    assert datetime.fromtimestamp(end, tz).strftime("%H:%M") == "06:30"  # cut at the reset
    start, end = cal.bucket(t + 30 * 60)  # 06:40
    assert datetime.fromtimestamp(start, tz).strftime("%H:%M") == "06:30"
    assert datetime.fromtimestamp(end, tz).strftime("%H:%M") == "07:00"


def test_daylight_saving_day_is_23_hours_and_buckets_stay_contiguous() -> None:
    ny = ZoneInfo("America/New_York")
    cal = KpiCalendar("America/New_York", 15, "00:00")
    t = datetime(2026, 3, 8, 12, 0, tzinfo=ny).timestamp()  # spring forward at 02:00
    start, end = cal.day(t)
    assert end - start == 23 * 3600
    cursor, n = start, 0
    while cursor < end:
        b_start, b_end = cal.bucket(cursor)
        assert b_start == cursor
        cursor, n = b_end, n + 1
    assert n == 23 * 4
    autumn = datetime(2026, 11, 1, 12, 0, tzinfo=ny).timestamp()
    a_start, a_end = cal.day(autumn)
    assert a_end - a_start == 25 * 3600


def test_a_new_day_starts_from_zero() -> None:
    engine, feed, clock = make()
    feed.answered(0, "d0", 5, 30)
    feed.join(86_390, "straddler")
    settle(engine, clock, 86_400 + 60)
    # day 0's 00:00 interval (one call) and 23:45 interval (the straddler's arrival)
    assert [(r.answered, r.entered) for r in engine.drain_closed()] == [(1, 1), (0, 1)]
    snap = engine.snapshot("main")["queues"]["hotline"]
    assert snap["today"]["offered"] == 0 and snap["intervals"] == []
    feed.abandoned(86_400 + 100, "d1", 30)
    # a caller waiting since before midnight hangs up; no QueueCallerAbandon was seen, so
    # the hangup itself is the abandon (counted as an anomaly), booked today
    feed.hangup(86_400 + 200, "straddler")
    q = engine.snapshot("main")["queues"]["hotline"]
    assert (q["today"]["abandoned"], q["today"]["entered"]) == (2, 1)
    assert engine.diagnostics()["anomalies"] == {"hangup_without_abandon": 1}
