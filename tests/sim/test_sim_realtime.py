"""The real-time driver and the ``run_sim`` entry point the CLI uses."""

from __future__ import annotations

import asyncio
import contextlib

from sim_ami import AmiClient

from ccops.sim import SimulatedPbx, run_sim


async def test_run_sim_listens_reports_its_port_and_stops_on_cancel() -> None:
    ports: list[int] = []
    task = asyncio.create_task(run_sim("127.0.0.1", 0, seed=3, speed=120.0, ready=ports.append))
    for _ in range(100):
        if ports:
            break
        await asyncio.sleep(0.02)
    assert ports and ports[0] > 0
    client = await AmiClient.open(ports[0])
    await client.login()
    # At 120x, a couple of real seconds are minutes of call-centre time.
    event = await client.until(lambda m: m.event == "QueueCallerJoin", timeout=10)
    assert event.get("Queue") in ("hotline", "billing", "repairs")
    await client.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    try:
        await asyncio.open_connection("127.0.0.1", ports[0])
    except OSError:
        pass
    else:
        raise AssertionError("the simulator still listens after cancellation")


async def test_actions_see_current_state_in_real_time() -> None:
    pbx = SimulatedPbx(speed=50.0, profile="flat")
    await pbx.start()
    try:
        client = await AmiClient.open(pbx.port)
        await client.login()
        first = float((await client.action("Ping")).get("Timestamp"))
        await asyncio.sleep(0.2)
        second = float((await client.action("Ping")).get("Timestamp"))
        assert second - first >= 5.0  # 0.2 s real at 50x is about 10 s simulated
        pbx.restart(downtime=5.0)  # 0.1 s real
        assert await client.next(timeout=2) is not None  # Shutdown arrives
        await asyncio.wait_for(pbx.wait_up(), 5)
        again = await AmiClient.open(pbx.port)
        assert (await again.login()).response == "Success"
        await again.close()
    finally:
        await pbx.stop()
