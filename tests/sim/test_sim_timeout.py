"""A queue timeout in the simulator looks as it does on real Asterisk 22.10.1.

Measured on the tier (tests/integration/test_tier_smoke.py::
test_queue_timeout_is_reported_as_abandon): QueueCallerAbandon with HoldTime = the wait,
then QueueCallerLeave, and the caller's channel stays up (the dialplan plays a goodbye and
only then hangs up). The KPI engine tells a timeout from a real abandon by that channel,
so the simulator must not hang up at once, nor skip the Abandon.
"""

from __future__ import annotations

from sim_ami import Connect

from ccops.sim import SimulatedPbx


async def test_timeout_is_abandon_then_leave_with_the_channel_still_up(
    connect: Connect, sim: SimulatedPbx
) -> None:
    client = await connect(events="call,agent,dialplan")
    waiting = None
    for _ in range(60):
        await sim.advance(5)
        boot = sim.boot
        waiting = next(  # a queue without overflow: the caller hears goodbye, then Hangup
            (w for q in boot.engine.queues.values() if q.spec.overflow_to is None
             for w in q.waiting),
            None,
        )
        if waiting is not None:
            break
    assert waiting is not None, "no caller ever waited"
    boot = sim.boot
    uid = waiting.call.caller.uniqueid
    queue = waiting.queue
    abandoned_before = queue.abandoned
    held = int(boot.engine.sched.now - waiting.joined)
    await client.drain()
    boot.flow.timeout(waiting)  # what the Queue() timer does when maxwait expires
    await sim.advance(0.1)  # lets the bus flush; the goodbye takes 1.5 s
    mine = [m for m in await client.drain() if m.get("Uniqueid") == uid]
    seq = [m.event for m in mine if m.event.startswith("Queue") or m.event == "Hangup"]
    assert seq == ["QueueCallerAbandon", "QueueCallerLeave"], seq  # no Hangup: still up
    abandon = next(m for m in mine if m.event == "QueueCallerAbandon")
    assert abandon.get("Queue") == queue.name and int(abandon.get("HoldTime")) == held
    assert queue.abandoned == abandoned_before + 1  # QueueParams' Abandoned counts it too
    assert boot.engine.stats.queue(queue.name).timeouts >= 1
    assert any(m.event == "Newexten" and m.get("Application") == "Playback" for m in mine)
    await sim.advance(3)
    later = [m.event for m in await client.drain() if m.get("Uniqueid") == uid]
    assert "Hangup" in later  # after the goodbye
