"""Connection-level faults (research matrix F1a, F1c, F3b, F4a/b, F5a–e, plus an
unreachable PBX at start): each asserts a clear state and detail, the counters, the
reconnect policy, and that nothing hangs."""

from __future__ import annotations

import asyncio
import time

import pytest
from fake_ami import Action, FakeAmi, FakeConn, blackhole_listener, event, refused_port
from link_harness import Recorder, running_link, wait_until

from ccops.core.clock import FakeClock
from ccops.core.events import LinkState
from ccops.pbx.backoff import Backoff
from ccops.pbx.link import AmiNotConnected

pytestmark = pytest.mark.timeout(20)

DOWN = LinkState.DOWN
LIVE = LinkState.LIVE


def live_count(rec: Recorder) -> int:
    return len(rec.states_named(LIVE))


async def test_f1a_socket_closed_mid_event_reconnects_and_drops_the_half(ami: FakeAmi) -> None:
    async with running_link(ami.port) as (link, rec):
        await wait_until(lambda: live_count(rec) == 1)
        conn = ami.connections[0]
        conn.send(event("QueueCallerJoin", Queue="q", Position="1"))
        conn.send(b"Event: QueueCallerLeave\r\nQueue: q\r\nPosi")  # half an event
        await conn.drain()
        conn.close()
        await wait_until(lambda: bool(rec.states_named(DOWN)))
        down = rec.states_named(DOWN)[0]
        assert down.detail == "connection closed by the PBX"
        assert down.next_retry_at is not None and down.next_retry_at > down.since
        await wait_until(lambda: live_count(rec) == 2)
        assert link.epoch == 2
        ami.connections[1].send(event("QueueCallerLeave", Queue="q", Position="9"))
        await wait_until(lambda: bool(rec.events("QueueCallerLeave")))
        assert [m.get("Position") for m in rec.events("QueueCallerLeave")] == ["9"]
        assert [m.get("Position") for m in rec.events("QueueCallerJoin")] == ["1"]
        counters = link.counters
        assert counters.reconnects == 1 and counters.connections == 2
        assert counters.malformed == 0  # a half frame at disconnect is not a bad frame


async def test_f1c_no_fully_booted_is_not_needed() -> None:
    async with FakeAmi(fully_booted=False) as ami, running_link(ami.port) as (link, rec):
        await wait_until(lambda: live_count(rec) == 1)
        pong = await link.action("Ping")
        assert pong.get("Ping") == "Pong"
        ami.connections[0].close()
        await wait_until(lambda: live_count(rec) == 2)
        assert (await link.action("Ping")).get("Ping") == "Pong"


async def test_f3b_silent_peer_is_detected_by_ping_and_replaced(ami: FakeAmi) -> None:
    def ping(conn: FakeConn, act: Action) -> None:
        if conn.index > 0:  # the first connection goes silent (half-open TCP)
            ami.ping_handler(conn, act)

    ami.handlers["Ping"] = ping
    started = time.monotonic()
    async with running_link(ami.port, ping_interval=0.1, ping_timeout=0.2) as (link, rec):
        await wait_until(lambda: bool(rec.states_named(DOWN)), timeout=3)
        down = rec.states_named(DOWN)[0]
        assert down.detail.startswith("no answer to Ping within 0.2 s")
        assert time.monotonic() - started < 2.0  # interval + timeout, not "never"
        assert link.counters.ping_timeouts == 1
        await wait_until(lambda: live_count(rec) == 2)
        assert link.pending_actions <= 1  # at most the ping in flight, nothing leaked


async def test_f3b_late_pong_during_a_surge_does_not_kill_a_talking_link(ami: FakeAmi) -> None:
    ami.handlers["Ping"] = lambda conn, act: None  # pings are never answered...
    async with running_link(ami.port, ping_interval=0.05, ping_timeout=0.1) as (link, rec):
        await wait_until(lambda: live_count(rec) == 1)
        conn = ami.connections[0]
        for i in range(40):  # ...but events keep flowing
            conn.send(event("Newstate", Uniqueid=str(i)))
            await asyncio.sleep(0.02)
        assert link.counters.pings_late >= 1
        assert link.counters.ping_timeouts == 0
        assert not rec.states_named(DOWN)


async def test_f4a_bad_password_is_reported_and_retried_slowly(ami: FakeAmi) -> None:
    async with running_link(ami.port, secret="wrong", auth_backoff=0.3) as (link, rec):
        await wait_until(lambda: bool(rec.states_named(LinkState.AUTH_FAILED)))
        failed = rec.states_named(LinkState.AUTH_FAILED)[0]
        assert failed.detail == "authentication failed: Authentication failed"
        assert failed.next_retry_at is not None
        assert failed.next_retry_at - failed.since == pytest.approx(0.3, abs=0.05)
        with pytest.raises(AmiNotConnected, match="auth_failed: authentication failed"):
            await link.action("Ping")
        await asyncio.sleep(1.0)
        # ~1 s at one try per 0.3 s: a handful, not panoramisk's "every second forever".
        assert 2 <= len(ami.connections) <= 5
        assert link.counters.auth_failures == len(ami.connections) or (
            link.counters.auth_failures == len(ami.connections) - 1
        )
        assert not rec.states_named(LIVE)


async def test_f4b_bad_password_with_socket_kept_open_is_closed_by_us() -> None:
    async with (
        FakeAmi(close_on_auth_failure=False) as ami,
        running_link(ami.port, secret="wrong") as (_link, rec),
    ):
        await wait_until(lambda: bool(rec.states_named(LinkState.AUTH_FAILED)))
        await asyncio.wait_for(ami.connections[0].closed, 2.0)


async def test_login_never_answered_times_out(ami: FakeAmi) -> None:
    ami.handlers["Login"] = lambda conn, act: None
    async with running_link(ami.port, login_timeout=0.3) as (link, rec):
        await wait_until(lambda: bool(rec.states_named(DOWN)))
        assert rec.states_named(DOWN)[0].detail.endswith("no answer to Login within 0.3 s")
        assert link.pending_actions == 0


async def test_f5a_accept_and_close_storm_backs_off_exponentially() -> None:
    async def slam(conn: FakeConn) -> None:
        conn.close()

    async with (
        FakeAmi(on_accept=slam) as ami,
        running_link(ami.port, backoff_initial=0.05, backoff_max=0.4) as (_link, rec),
    ):
        await asyncio.sleep(1.5)
        attempts = len(ami.connections)
        downs = rec.states_named(DOWN)
    # Stock 1.4 with reconnect_timeout=0.5 made thousands of connections in this time.
    assert 4 <= attempts <= 12
    backoff = Backoff(0.05, 0.4)
    for n, status in enumerate(downs):
        assert status.next_retry_at is not None
        delay = status.next_retry_at - status.since
        assert backoff.ceiling(n) * 0.5 - 1e-6 <= delay <= backoff.ceiling(n) + 1e-6
    assert "before the AMI greeting" in downs[0].detail


async def test_f5b_connection_refused_at_start_is_down_with_reason() -> None:
    port = refused_port()
    async with running_link(port, backoff_initial=0.05, backoff_max=0.2) as (link, rec):
        await wait_until(lambda: len(rec.states_named(DOWN)) >= 3)
        down = rec.states_named(DOWN)[0]
        assert "Connection refused" in down.detail
        assert f"127.0.0.1:{port}" in down.detail
        with pytest.raises(AmiNotConnected, match="Connection refused"):
            await link.action("Ping")
        assert link.counters.connections == 0


async def test_f5c_black_holed_connect_times_out_and_stop_is_prompt() -> None:
    listener, fillers, port = blackhole_listener()
    try:
        async with running_link(port, connect_timeout=0.3) as (link, rec):
            await wait_until(lambda: bool(rec.states_named(DOWN)), timeout=3)
            assert rec.states_named(DOWN)[0].detail == (
                f"connect to 127.0.0.1:{port}: no answer within 0.3 s"
            )
            await wait_until(lambda: len(rec.states_named(LinkState.CONNECTING)) >= 2)
            started = time.monotonic()
            await link.stop()  # while connecting: must not wait for the connect
            assert time.monotonic() - started < 0.5
            assert link.status.state == LinkState.STOPPED
    finally:
        for sock in (*fillers, listener):
            sock.close()


async def test_greeting_missing_and_non_ami_peer() -> None:
    async with (
        FakeAmi(greeting=None) as silent,
        running_link(silent.port, login_timeout=0.3) as (_a, rec_a),
    ):
        await wait_until(lambda: bool(rec_a.states_named(DOWN)))
        assert "sent no AMI greeting within 0.3 s" in rec_a.states_named(DOWN)[0].detail
    async with (
        FakeAmi(greeting=b"HTTP/1.1 400 Bad Request\r\n") as web,
        running_link(web.port) as (_b, rec_b),
    ):
        await wait_until(lambda: bool(rec_b.states_named(DOWN)))
        assert "is not an AMI server (it said 'HTTP/1.1 400 Bad Request')" in (
            rec_b.states_named(DOWN)[0].detail
        )


async def test_f5d_shutdown_event_goes_down_and_reconnects(ami: FakeAmi) -> None:
    async with running_link(ami.port) as (link, rec):
        await wait_until(lambda: live_count(rec) == 1)
        ami.connections[0].send(
            event("Shutdown", Privilege="system,all", Shutdown="Cleanly", Restart="True")
        )
        await wait_until(lambda: bool(rec.states_named(DOWN)))
        assert rec.states_named(DOWN)[0].detail == (
            "Asterisk shut down (Shutdown: Cleanly, Restart: True)"
        )
        assert rec.events("Shutdown")  # the consumer hears it too
        await wait_until(lambda: live_count(rec) == 2)
        assert link.epoch == 2


async def test_f5e_stop_during_reconnect_gap_stays_stopped() -> None:
    async def slam(conn: FakeConn) -> None:
        conn.close()

    async with FakeAmi(on_accept=slam) as ami:
        async with running_link(ami.port, backoff_initial=0.4, backoff_max=0.4) as (link, rec):
            await wait_until(lambda: bool(rec.states_named(DOWN)))
            await link.stop()
            seen = len(ami.connections)
        await asyncio.sleep(0.6)  # longer than the pending retry delay
        assert len(ami.connections) == seen == 1
        assert rec.states[-1].state == LinkState.STOPPED


async def test_backoff_resets_after_a_long_session_only() -> None:
    clock = FakeClock()
    accepted = 0

    async def first_three_fail(conn: FakeConn) -> None:
        nonlocal accepted
        accepted += 1
        if accepted <= 3:
            conn.close()
            return
        await conn.serve()

    async with (
        FakeAmi(on_accept=first_three_fail) as ami,
        running_link(ami.port, clock=clock, backoff_initial=0.05, backoff_max=1.0) as (_l, rec),
    ):
        await wait_until(lambda: live_count(rec) == 1)
        ami.connections[3].close()  # a short session: the failure count keeps growing
        await wait_until(lambda: live_count(rec) == 2)
        short = rec.states_named(DOWN)[-1]
        assert short.next_retry_at is not None
        # 3 failed attempts + this one: ceiling(3) = 0.4 s, jittered to [0.2, 0.4].
        assert 0.2 - 1e-9 <= short.next_retry_at - short.since <= 0.4 + 1e-9
        clock.advance(61)  # the second session lasts over a minute
        ami.connections[4].close()
        await wait_until(lambda: live_count(rec) == 3)
        long = rec.states_named(DOWN)[-1]
        assert long.next_retry_at is not None
        assert long.next_retry_at - long.since <= 0.05 + 1e-9  # back to backoff_initial
