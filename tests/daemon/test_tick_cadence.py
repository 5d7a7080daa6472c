"""The tick loop: status deltas at publish_hz, the rest of the tick at most once a second."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ccops.daemon.publisher import ClientChannel
from ccops.daemon.service import WORK_PERIOD_S, Daemon
from ccops.daemon.views import FULL_VIEW

from .conftest import sim_settings, wait_live


class _NullWriter:
    def write(self, data: bytes) -> None:  # pragma: no cover - never drained here
        pass


async def test_a_fast_publish_rate_does_not_run_the_whole_tick_faster(tmp_path: Path) -> None:
    d = Daemon(sim_settings(tmp_path / "state", publish_hz=20.0))
    whole = 0
    deltas = 0
    real_tick, real_publish = d.tick, d.publisher.tick

    async def counting_tick() -> None:
        nonlocal whole
        whole += 1
        await real_tick()

    def counting_publish() -> int:
        nonlocal deltas
        deltas += 1
        return real_publish()

    d.tick = counting_tick  # type: ignore[method-assign]
    d.publisher.tick = counting_publish  # type: ignore[method-assign]
    await d.start()
    try:
        await wait_live(d)
        client = ClientChannel(_NullWriter(), limit=10_000, name="c", view=FULL_VIEW)  # type: ignore[arg-type]
        client.subscribed = True
        d.publisher.clients.add(client)
        whole = deltas = 0
        await asyncio.sleep(2.5)
        # At 20 Hz about 50 publisher ticks would fit; a loaded machine gets fewer, but
        # far more than the whole ticks, which stay at ≤ one per WORK_PERIOD_S.
        assert whole <= 2.5 / WORK_PERIOD_S + 1
        assert deltas >= 3 * whole
        d.publisher.clients.discard(client)
    finally:
        await d.stop()
