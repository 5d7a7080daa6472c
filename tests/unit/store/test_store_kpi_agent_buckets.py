"""Agent interval buckets survive a reopen and upsert whole."""

from __future__ import annotations

from pathlib import Path

from ccops.core.clock import FakeClock
from ccops.store import Store
from ccops.store.records import AgentBucket


async def test_agent_buckets_round_trip_and_upsert(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path, clock=clock)
    first = AgentBucket(
        pbx="main",
        interface="PJSIP/6001",
        bucket_start=900,
        bucket_seconds=900,
        counters={"calls": 2, "state_seconds": {"on_call": 300.0}},
        updated_at=clock.now(),
    )
    await store.upsert_agent_buckets([first])
    again = AgentBucket(
        pbx="main",
        interface="PJSIP/6001",
        bucket_start=900,
        bucket_seconds=900,
        counters={"calls": 3, "state_seconds": {"on_call": 420.0}},
        updated_at=clock.now(),
    )
    await store.upsert_agent_buckets([again])
    await store.close()
    store = await Store.open(path, clock=clock)
    try:
        rows = await store.agent_buckets(0, 10_000)
        assert [dict(r.counters) for r in rows] == [
            {"calls": 3, "state_seconds": {"on_call": 420.0}}
        ]
        assert await store.agent_buckets(1800, 10_000) == []
    finally:
        await store.close()
