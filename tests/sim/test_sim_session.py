"""AMI session behaviour of the simulator: greeting, login, masks, errors, robustness."""

from __future__ import annotations

import asyncio
import hashlib
import time

from sim_ami import AmiClient, Connect

from ccops.core.clock import FakeClock
from ccops.sim import SimulatedPbx, SimUser


async def test_greeting_and_login_success_sends_fully_booted(sim: SimulatedPbx) -> None:
    client = await AmiClient.open(sim.port)
    assert client.greeting == "Asterisk Call Manager/11.0.0\r\n"
    reply = await client.login()
    assert reply.headers == [
        ("Response", "Success"),
        ("ActionID", reply.action_id),
        ("Message", "Authentication accepted"),
    ]
    booted = await client.until(lambda m: m.event == "FullyBooted")
    assert booted.names() == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
    assert booted.get("Privilege") == "system,all"
    assert booted.get("Status") == "Fully Booted"
    await client.close()


async def test_no_fully_booted_without_system_in_mask(connect: Connect) -> None:
    client = await connect(events="call,agent")
    assert not [m for m in await client.drain() if m.event == "FullyBooted"]


async def test_wrong_secret_is_refused_after_a_delay_then_closed() -> None:
    pbx = SimulatedPbx(realtime=False, clock=FakeClock(), profile="flat")
    await pbx.start()
    try:
        client = await AmiClient.open(pbx.port)
        started = time.monotonic()
        reply = await client.login(secret="wrong")
        assert time.monotonic() - started >= 0.9  # Asterisk sleeps 1 s on a failure
        assert reply.response == "Error"
        assert reply.get("Message") == "Authentication failed"
        assert await client.next(timeout=2) is None  # connection closed
        assert pbx.counters.auth_failures == 1
    finally:
        await pbx.stop()


async def test_unknown_user_is_refused(connect: Connect) -> None:
    client = await connect(login=False)
    reply = await client.login(username="nobody")
    assert reply.get("Message") == "Authentication failed"


async def test_md5_challenge_login(connect: Connect) -> None:
    client = await connect(login=False)
    challenge = await client.action("Challenge", AuthType="md5")
    code = challenge.get("Challenge")
    assert code.isdigit()
    key = hashlib.md5((code + "ccops-sim").encode()).hexdigest()
    reply = await client.action("Login", AuthType="md5", Username="ccops", Key=key)
    assert reply.get("Message") == "Authentication accepted"


async def test_actions_before_login_are_denied(connect: Connect) -> None:
    client = await connect(login=False)
    reply = await client.action("QueueStatus")
    assert (reply.response, reply.get("Message")) == ("Error", "Permission denied")


async def test_ping_and_unknown_action(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    pong = await client.action("Ping")
    assert pong.names() == ["Response", "ActionID", "Ping", "Timestamp"]
    assert pong.get("Ping") == "Pong"
    assert abs(float(pong.get("Timestamp")) - sim.sched.wall()) < 1.0
    bad = await client.action("Queues")
    assert bad.response == "Error"
    assert bad.get("Message") == (
        "Invalid/unknown command: Queues. Use Action: ListCommands to show available commands."
    )
    missing = await client.send_raw(b"ActionID: x1\r\nFoo: bar\r\n\r\n")
    assert missing is None
    reply = await client.response("x1")
    assert reply.get("Message") == "Missing action in request"


async def test_already_authenticated_and_logoff(connect: Connect) -> None:
    client = await connect()
    again = await client.login()
    assert again.get("Message") == "Already authenticated"
    bye = await client.action("Logoff")
    assert (bye.response, bye.get("Message")) == ("Goodbye", "Thanks for all the fish.")
    await client.drain()
    assert await client.next(timeout=1) is None


async def test_event_mask_filters_classes(connect: Connect, sim: SimulatedPbx) -> None:
    agent_only = await connect(events="agent")
    off = await connect(events="off")
    everything = await connect()
    await sim.advance(600)
    got_agent = await agent_only.drain()
    got_off = await off.drain()
    got_all = await everything.drain()
    assert got_agent and all("agent" in m.get("Privilege") for m in got_agent if m.event)
    assert not [m for m in got_off if m.event]
    classes = {m.get("Privilege").split(",")[0] for m in got_all if m.event}
    assert {"call", "agent", "system", "dialplan", "reporting", "user"} <= classes
    # Events action switches the mask at run time and answers in Asterisk's shape.
    reply = await off.action("Events", EventMask="call")
    assert reply.names() == ["Response", "ActionID", "Events"]
    assert reply.get("Events") == "On"
    await sim.advance(120)
    now_call = [m for m in await off.drain() if m.event]
    assert now_call and all(m.get("Privilege") == "call,all" for m in now_call)


async def test_read_permission_limits_events_and_write_permission_limits_actions() -> None:
    monitor = SimUser("monitor", "mon", read=2 | 32 | 1 | 64, write=512)  # no dialplan
    pbx = SimulatedPbx(realtime=False, clock=FakeClock(), profile="flat", users=[monitor])
    await pbx.start()
    try:
        client = await AmiClient.open(pbx.port)
        await client.login("monitor", "mon")
        await pbx.advance(300)
        events = [m for m in await client.drain() if m.event]
        assert events
        assert not [m for m in events if m.event in ("VarSet", "Newexten", "RTCPSent")]
        denied = await client.action("PJSIPShowEndpoints")
        assert (denied.response, denied.get("Message")) == ("Error", "Permission denied")
        allowed = await client.action("CoreShowChannels")  # system|reporting
        assert allowed.response == "Success"
        queue = await client.action("QueueSummary")  # needs no write class
        assert queue.response == "Success"
    finally:
        await pbx.stop()


async def test_every_session_gets_the_events(connect: Connect, sim: SimulatedPbx) -> None:
    clients = [await connect() for _ in range(3)]
    await sim.advance(300)
    seen = []
    for client in clients:
        seen.append([(m.event, m.get("Uniqueid")) for m in await client.drain() if m.event])
    # Each login got its own FullyBooted; everything else is the same stream for all.
    streams = [[x for x in one if x[0] != "FullyBooted"] for one in seen]
    assert len(streams[0]) > 100
    assert streams[0] == streams[1] == streams[2]


async def test_garbage_and_overlong_lines_do_not_disturb_others(
    connect: Connect, sim: SimulatedPbx
) -> None:
    victim = await connect()
    vandal = await connect()
    await vandal.send_raw(b"\x00\xff\xfe garbage without colon\r\n\r\n")
    reply = await vandal.until(lambda m: bool(m.response))
    assert (reply.response, reply.get("Message")) == ("Error", "Missing action in request")
    await vandal.send_raw(b"Action: Ping\r\nActionID: big\r\nX: " + b"A" * 5000 + b"\r\n\r\n")
    too_long = await vandal.response("big")
    assert too_long.get("Message") == "Failed to parse message: line too long"
    many = "".join(f"H{i}: v\r\n" for i in range(200))
    await vandal.send_raw(f"Action: Ping\r\nActionID: many\r\n{many}\r\n".encode())
    too_many = await vandal.response("many")
    assert too_many.get("Message") == "Failed to parse message: too many headers"
    # The vandal still works, and so does everybody else.
    assert (await vandal.action("Ping")).get("Ping") == "Pong"
    assert (await victim.action("Ping")).get("Ping") == "Pong"
    # A client that vanishes in the middle of an action harms nobody.
    await vandal.send_raw(b"Action: QueueStatus\r\nActionID: half")
    vandal.writer.transport.abort()
    await sim.advance(60)
    assert (await victim.action("Ping")).get("Ping") == "Pong"


async def test_a_client_that_does_not_read_is_dropped() -> None:
    pbx = SimulatedPbx(
        realtime=False, clock=FakeClock(), profile="flat", max_output_buffer=64 * 1024
    )
    await pbx.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port, limit=1024)
        writer.transport.set_write_buffer_limits(0)
        await reader.readline()
        writer.write(b"Action: Login\r\nUsername: ccops\r\nSecret: ccops-sim\r\n\r\n")
        await writer.drain()
        writer.transport.pause_reading()  # stop reading: the sim must not buffer forever
        good = await AmiClient.open(pbx.port)
        await good.login()
        pbx.firehose(500)
        for _ in range(40):
            await pbx.advance(1)
            await good.drain(quiet=0.01)
            if pbx.counters.dropped_slow:
                break
        assert pbx.counters.dropped_slow == 1
        assert (await good.action("Ping")).get("Ping") == "Pong"
        writer.close()
    finally:
        await pbx.stop()
