"""Fixtures for tests that talk to the simulated PBX over TCP with raw asyncio sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_ami import AmiClient, Connect

from ccops.core.clock import FakeClock
from ccops.sim import SimulatedPbx


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedPbx]:
    """A manual-time simulator: nothing happens until the test advances it."""
    pbx = SimulatedPbx(
        realtime=False,
        clock=FakeClock(),
        seed=7,
        profile="flat",
        agent_pauses=False,
        auth_failure_delay=0.05,
    )
    await pbx.start()
    yield pbx
    await pbx.stop()


@pytest.fixture
async def connect(sim: SimulatedPbx) -> AsyncIterator[Connect]:
    """``await connect()`` gives a logged-in client of the ``sim`` fixture."""
    clients: list[AmiClient] = []

    async def _connect(login: bool = True, **kwargs: str) -> AmiClient:
        client = await AmiClient.open(sim.port)
        clients.append(client)
        if login:
            reply = await client.login(**kwargs)
            assert reply.response == "Success", reply
        return client

    yield _connect
    for client in clients:
        await client.close()
