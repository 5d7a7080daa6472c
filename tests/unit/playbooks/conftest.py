"""Fixtures for the playbook engine: a fake clock, a real SQLite store in tmp_path, and an
engine factory that can be "restarted" (store closed and reopened on the same file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pb_helpers import T0, Harness

from ccops.core.clock import FakeClock
from ccops.core.incidents import IncidentEngine
from ccops.core.playbook_load import LoadedPlaybook, load_playbooks


@pytest.fixture(scope="session")
def shipped() -> dict[str, LoadedPlaybook]:
    return load_playbooks()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def harness(
    tmp_path: Path, clock: FakeClock, shipped: dict[str, LoadedPlaybook]
) -> AsyncIterator[Harness]:
    h = Harness(tmp_path / "ccops.sqlite3", clock, shipped)
    await h.open()
    try:
        yield h
    finally:
        await h.close()


@pytest.fixture
def engine(harness: Harness) -> IncidentEngine:
    assert harness.engine is not None
    return harness.engine
