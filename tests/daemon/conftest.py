"""A real daemon on the embedded simulated PBX, in-process, with its own state directory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccops.config import Settings, load_settings
from ccops.core.events import LinkState
from ccops.daemon.service import Daemon


def sim_settings(state_dir: Path, **daemon: object) -> Settings:
    base = load_settings(None, use_default_path=False)
    return base.model_copy(
        update={"daemon": base.daemon.model_copy(update={"state_dir": state_dir, **daemon})}
    )


async def wait_live(daemon: Daemon, timeout: float = 10.0) -> None:
    session = next(iter(daemon.sessions.values()))
    await session.link.wait_for_state(LinkState.LIVE, timeout=timeout)
    for _ in range(int(timeout * 20)):
        if session.state.synced_at:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("first sync never finished")


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    d = Daemon(sim_settings(tmp_path / "state", publish_hz=5.0))
    await d.start()
    try:
        await wait_live(d)
        yield d
    finally:
        await d.stop()
