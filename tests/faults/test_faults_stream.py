"""Stream faults (research matrix F2a–F2f, F6a): bad bytes and bad handlers cost one frame
or one call, counted, never the connection; an overlong line costs a reconnect, not memory."""

from __future__ import annotations

import asyncio
import logging
import time
import tracemalloc

import pytest
from fake_ami import Action, FakeAmi, FakeConn, event, response
from link_harness import running_link, wait_until

from ccops.core.events import LinkState
from ccops.pbx.message import AmiMessage

pytestmark = pytest.mark.timeout(30)

LIVE = LinkState.LIVE


async def test_f2a_binary_junk_between_events_is_counted_and_skipped(ami: FakeAmi) -> None:
    async with running_link(ami.port) as (link, rec):
        await link.wait_for_state(LIVE, timeout=3)
        conn = ami.connections[0]
        conn.send(event("QueueCallerJoin", Queue="a"))
        conn.send(b"\x00\xff\xfe\x80 binary \x81\x82\r\n\r\n")
        conn.send(b"a line without any colon\r\n\r\n")
        conn.send(event("QueueCallerJoin", Queue="b"))
        await wait_until(lambda: len(rec.events("QueueCallerJoin")) == 2)
        assert [m.get("Queue") for m in rec.events("QueueCallerJoin")] == ["a", "b"]
        assert link.counters.malformed == 2
        assert link.counters.connections == 1
        assert link.status.state == LIVE


async def test_f2b_utf8_split_across_reads_and_latin1_bytes(ami: FakeAmi) -> None:
    async with running_link(ami.port) as (link, rec):
        await link.wait_for_state(LIVE, timeout=3)
        conn = ami.connections[0]
        data = event("Newchannel", CallerIDName="José Müller", Uniqueid="1.1")
        cut = data.index("é".encode()) + 1  # between the two bytes of é
        conn.send(data[:cut])
        await conn.drain()
        await asyncio.sleep(0.05)  # a separate TCP read
        conn.send(data[cut:])
        conn.send(b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\nUniqueid: 1.2\r\n\r\n")
        await wait_until(lambda: len(rec.events("Newchannel")) == 2)
        first, second = rec.events("Newchannel")
        assert first.get("CallerIDName") == "José Müller"
        # Not UTF-8: visibly replaced, never silently deleted (1.4 gave "Jos").
        assert second.get("CallerIDName") == "Jos\ufffd"
        assert link.counters.bytes > 0


async def test_f2c_messages_glued_by_one_crlf_are_split_and_counted(ami: FakeAmi) -> None:
    def ping(conn: FakeConn, act: Action) -> None:
        # An event and our response glued together by a single CRLF.
        glued = event("Hold", Channel="PJSIP/a-1")[:-2] + response(act, Ping="Pong")
        conn.send(glued)

    ami.handlers["Ping"] = ping
    async with running_link(ami.port) as (link, rec):
        await link.wait_for_state(LIVE, timeout=3)
        conn = ami.connections[0]
        conn.send(
            b"Event: QueueCallerJoin\r\nQueue: a\r\nEvent: QueueCallerLeave\r\nQueue: a\r\n\r\n"
        )
        conn.send(event("Hangup", Uniqueid="9"))
        await wait_until(lambda: bool(rec.events("Hangup")))
        names = [m.event for m, _ in rec.messages if m.event != "FullyBooted"]
        assert names == ["QueueCallerJoin", "QueueCallerLeave", "Hangup"]
        pong = await link.action("Ping")
        assert pong.get("Ping") == "Pong"
        assert rec.events("Hold")
        assert link.counters.malformed == 2
        assert link.counters.connections == 1


async def test_f2d_duplicate_empty_and_nospace_headers_and_legacy_command(
    ami: FakeAmi,
) -> None:
    def command(conn: FakeConn, act: Action) -> None:
        conn.send(
            "Response: Follows\r\nPrivilege: Command\r\n"
            f"ActionID: {act.action_id}\r\n"
            "Channel              Location             State\nPJSIP/a-1 s@ctx:1 Up\n"
            "1 active channel\n--END COMMAND--\r\n\r\n"
        )

    ami.handlers["Command"] = command
    async with running_link(ami.port, drop_events=frozenset()) as (link, rec):
        await link.wait_for_state(LIVE, timeout=3)
        ami.connections[0].send(
            b"Event: TestEvent\r\nState: CallIDChange\r\nAccountCode: \r\n"
            b"State: CallIDChange\r\nKey:value\r\n\r\n"
        )
        await wait_until(lambda: bool(rec.events("TestEvent")))
        msg = rec.events("TestEvent")[0]
        assert msg.all_values("State") == ["CallIDChange", "CallIDChange"]
        assert msg.get("AccountCode") == "" and "AccountCode" in msg.headers
        assert msg.get("Key") == "value"
        out = await link.action("Command", {"Command": "core show channels"})
        assert out.all_values("Output") == [
            "Channel              Location             State",
            "PJSIP/a-1 s@ctx:1 Up",
            "1 active channel",
        ]
        assert link.counters.malformed == 0


async def test_f2e_bare_lf_framing_never_becomes_a_garbage_event(ami: FakeAmi) -> None:
    async with running_link(ami.port, max_message_bytes=64 * 1024) as (link, rec):
        await link.wait_for_state(LIVE, timeout=3)
        conn = ami.connections[0]
        lf_event = b"Event: Newstate\nChannel: PJSIP/a-1\nUniqueid: 1\n\n"
        conn.send(lf_event * 2000)  # ~100 KB with no CRLF CRLF: never a frame
        await wait_until(lambda: link.counters.overflow_aborts == 1)
        await wait_until(lambda: len(rec.states_named(LIVE)) == 2)
        assert not rec.events("Newstate")
        assert not [m for m, _ in rec.messages if m.event.startswith("Newstate\n")]


async def test_f2f_overlong_line_aborts_at_the_cap_without_growing_memory(ami: FakeAmi) -> None:
    cap = 1024 * 1024

    async def flood(conn: FakeConn) -> int:
        chunk = b"X" * (256 * 1024)
        sent = 0
        try:
            while sent < 64 * 1024 * 1024:
                conn.send(chunk)
                await conn.writer.drain()
                sent += len(chunk)
        except ConnectionError:
            pass
        return sent

    async with running_link(ami.port, max_message_bytes=cap) as (link, rec):
        await link.wait_for_state(LIVE, timeout=3)
        conn = ami.connections[0]
        conn.send(b"Event: Newstate\r\nChannel: ")  # an event that never ends
        tracemalloc.start()
        try:
            started = time.monotonic()
            sent = await asyncio.wait_for(flood(conn), 10)
            await wait_until(lambda: link.counters.overflow_aborts == 1, timeout=5)
            elapsed = time.monotonic() - started
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        down = rec.states_named(LinkState.DOWN)[0]
        assert down.detail.startswith(f"a message grew past {cap} bytes")
        assert sent < 64 * 1024 * 1024  # the flood was cut off by our abort
        assert elapsed < 3.0  # 1.4: 8.6 s of CPU for 64 MB, loop frozen
        assert peak < 8 * 1024 * 1024  # bounded by the cap, not by the flood
        await wait_until(lambda: len(rec.states_named(LIVE)) == 2)
        assert link.counters.malformed == 0


async def test_f6a_handler_exceptions_are_counted_and_the_stream_continues(
    ami: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(msg: AmiMessage, list_name: str | None) -> None:
        if msg.event == "UserEvent":
            raise RuntimeError("handler bug")

    async with running_link(ami.port) as (link, rec):
        rec.hook = boom
        await link.wait_for_state(LIVE, timeout=3)
        conn = ami.connections[0]
        caplog.set_level(logging.ERROR, logger="ccops.pbx.link")
        for i in range(5):
            conn.send(event("UserEvent", UserEvent="boom") + event("Hangup", Uniqueid=str(i)))
        await wait_until(lambda: len(rec.events("Hangup")) == 5)
        assert [m.get("Uniqueid") for m in rec.events("Hangup")] == [str(i) for i in range(5)]
        assert link.counters.callback_errors == 5
        assert link.counters.connections == 1
        errors = [r for r in caplog.records if "on_message raised" in r.getMessage()]
        assert len(errors) == 1  # rate-limited: one line per 10 s, not one per event
        assert "UserEvent" in errors[0].getMessage()


async def test_f6a_handler_raising_on_list_items_still_completes_the_list(
    ami: FakeAmi,
) -> None:
    from fake_ami import list_reply

    ami.handlers["CoreShowChannels"] = lambda conn, act: conn.send(
        list_reply(
            act,
            "CoreShowChannel",
            [{"Channel": f"PJSIP/a-{i}"} for i in range(3)],
            "CoreShowChannelsComplete",
        )
    )

    def boom(msg: AmiMessage, list_name: str | None) -> None:
        if list_name == "CoreShowChannels":
            raise ValueError("bad row")

    async with running_link(ami.port) as (link, rec):
        rec.hook = boom
        await link.wait_for_state(LIVE, timeout=3)
        result = await link.list_action("CoreShowChannels")
        assert len(result.items) == 3
        assert link.counters.callback_errors == 3
        assert link.counters.list_items == 3
