"""The single writer: durable on return, many writers, isolation of failures, readers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from ccops.core.audit import AuditEntry, AuditResult, verify_store
from ccops.core.clock import FakeClock
from ccops.store import Store, StoreClosedError, StoreError


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        at=1000.0 + i,
        operator=f"op{i % 7}",
        role="supervisor",
        session_id=f"s{i}",
        via="ssh",
        action="pause_member",
        params={"i": i},
        result=AuditResult.OK,
    )


async def insert_meta(conn: aiosqlite.Connection, key: str) -> None:
    await conn.execute("INSERT INTO meta (key, value, updated_at) VALUES (?, 'v', 0)", (key,))


def meta_keys(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as other:
        return {r[0] for r in other.execute("SELECT key FROM meta")}


async def test_write_is_visible_to_another_connection_when_it_returns(
    store: Store, db_path: Path
) -> None:
    await store.set_meta("instance_id", "node-1")
    # A separate plain connection (another process would see the same): already committed.
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT value FROM meta WHERE key='instance_id'").fetchone() == (
            "node-1",
        )


async def test_many_concurrent_writers_through_the_single_writer(
    store: Store, db_path: Path
) -> None:
    n = 600
    records = await asyncio.gather(*(store.append_audit(entry(i)) for i in range(n)))
    assert sorted(r.seq for r in records) == list(range(1, n + 1))
    assert (await verify_store(store)).ok
    # They shared transactions (group commit) rather than one fsync each.
    assert store.engine.jobs_done == n
    assert store.engine.commits < n
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT count(*) FROM audit").fetchone() == (n,)


async def test_failed_job_is_rolled_back_alone(store: Store, db_path: Path) -> None:
    async def bad(conn: aiosqlite.Connection) -> None:
        await insert_meta(conn, "bad")
        raise ValueError("domain rule broken")

    results = await asyncio.gather(
        store.engine.write(lambda c: insert_meta(c, "a")),
        store.engine.write(bad),
        store.engine.write(lambda c: insert_meta(c, "c")),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert store.engine.commits == 1  # all three were one batch
    assert meta_keys(db_path) == {"a", "c"}


async def test_sqlite_error_in_a_job_names_the_file(store: Store, db_path: Path) -> None:
    await store.set_meta("dup", "1")
    with pytest.raises(StoreError) as info:
        await store.engine.write(lambda c: insert_meta(c, "dup"))
    assert str(db_path) in str(info.value)
    assert "UNIQUE" in str(info.value)


async def test_write_from_inside_a_write_job_is_refused(store: Store) -> None:
    async def nested(conn: aiosqlite.Connection) -> None:
        await store.set_meta("inner", "x")

    with pytest.raises(StoreError, match="would deadlock"):
        await store.engine.write(nested)


async def test_caller_cancelled_before_its_job_ran_is_not_written(
    store: Store, db_path: Path
) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def blocker(conn: aiosqlite.Connection) -> None:
        started.set()
        await release.wait()
        await insert_meta(conn, "first")

    first = asyncio.create_task(store.engine.write(blocker))
    await started.wait()  # the writer is busy with `blocker`
    second = asyncio.create_task(store.engine.write(lambda c: insert_meta(c, "second")))
    await asyncio.sleep(0)  # let `second` enqueue its job
    second.cancel()
    release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await second
    await store.set_meta("after", "x")  # a later batch still runs
    assert meta_keys(db_path) == {"first", "after"}


async def test_readers_are_not_blocked_by_an_open_write(store: Store) -> None:
    await store.set_meta("k", "old")
    release = asyncio.Event()
    inside = asyncio.Event()

    async def slow_write(conn: aiosqlite.Connection) -> None:
        await conn.execute("UPDATE meta SET value = 'new' WHERE key = 'k'")
        inside.set()
        await release.wait()

    writing = asyncio.create_task(store.engine.write(slow_write))
    await inside.wait()
    # The write transaction is open; readers still answer, with the committed value.
    assert await asyncio.wait_for(store.get_meta("k"), timeout=5) == "old"
    release.set()
    await writing
    assert await store.get_meta("k") == "new"


async def test_close_finishes_queued_writes_then_refuses(db_path: Path, clock: FakeClock) -> None:
    store = await Store.open(db_path, clock=clock)
    pending = [asyncio.create_task(store.set_meta(f"k{i}", "v")) for i in range(50)]
    await asyncio.sleep(0)
    await store.close()
    await asyncio.gather(*pending)
    assert meta_keys(db_path) == {f"k{i}" for i in range(50)}
    with pytest.raises(StoreClosedError):
        await store.set_meta("late", "v")
    with pytest.raises(StoreClosedError):
        await store.get_meta("k1")
    await store.close()  # twice is harmless


async def test_read_snapshot_is_consistent_across_queries(store: Store) -> None:
    await store.set_meta("a", "1")

    async def two_reads(conn: aiosqlite.Connection) -> tuple[int, int]:
        async with conn.execute("SELECT count(*) FROM meta") as cur:
            before = (await cur.fetchone())[0]  # type: ignore[index]
        await store.set_meta("b", "2")  # committed by the writer meanwhile
        async with conn.execute("SELECT count(*) FROM meta") as cur:
            after = (await cur.fetchone())[0]  # type: ignore[index]
        return int(before), int(after)

    assert await store.engine.read(two_reads) == (1, 1)
    assert await store.get_meta("b") == "2"
