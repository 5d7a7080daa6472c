"""Opening the store: real WAL file, pragmas, schema tracking, clear errors on bad files."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from ccops.core.clock import FakeClock
from ccops.store import SchemaTooNewError, Store, StoreOpenError
from ccops.store.migrate import load_migrations

needs_non_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions"
)

PACKAGED = load_migrations()


async def test_database_file_is_in_wal_mode(store: Store, db_path: Path) -> None:
    with sqlite3.connect(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_store_connections_use_full_sync_and_foreign_keys(store: Store) -> None:
    async def pragmas(conn: aiosqlite.Connection) -> tuple[int, int, int]:
        values = []
        for name in ("synchronous", "foreign_keys", "busy_timeout"):
            async with conn.execute(f"PRAGMA {name}") as cur:
                row = await cur.fetchone()
                assert row is not None
                values.append(int(row[0]))
        return values[0], values[1], values[2]

    # synchronous=FULL is 2; checked on the writer and on a reader connection
    assert await store.engine.write(pragmas) == (2, 1, 5000)
    assert await store.engine.read(pragmas) == (2, 1, 5000)


async def test_foreign_keys_are_enforced(store: Store) -> None:
    async def orphan(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO undo_record (journal_id, at, operator, subject, action, params, "
            "undo_command, undo_params) VALUES (999, 0, 'x', 's', 'a', '{}', 'b', '{}')"
        )

    with pytest.raises(Exception, match="FOREIGN KEY"):
        await store.engine.write(orphan)


async def test_schema_version_recorded_once(db_path: Path, clock: FakeClock) -> None:
    store = await Store.open(db_path, clock=clock)
    await store.set_meta("instance", "abc")
    await store.close()
    store = await Store.open(db_path, clock=clock)  # reopen: nothing re-applied, data kept
    try:
        assert await store.get_meta("instance") == "abc"
        assert await store.schema_version() == len(PACKAGED)
    finally:
        await store.close()
    with sqlite3.connect(db_path) as other:
        rows = other.execute("SELECT version, name, applied_at FROM schema_version").fetchall()
    assert rows == [(m.version, m.name, clock.now()) for m in PACKAGED]


async def test_refuses_database_newer_than_code(db_path: Path, clock: FakeClock) -> None:
    await (await Store.open(db_path, clock=clock)).close()
    with sqlite3.connect(db_path) as other:
        other.execute("INSERT INTO schema_version VALUES (7, 'future', 0)")
    with pytest.raises(SchemaTooNewError) as info:
        await Store.open(db_path, clock=clock)
    text = str(info.value)
    assert str(db_path) in text
    assert "version 7" in text and f"({len(PACKAGED)})" in text


async def test_not_a_database_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.sqlite3"
    bad.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(StoreOpenError) as info:
        await Store.open(bad)
    assert str(bad) in str(info.value)
    assert "not a SQLite database" in str(info.value)


async def test_directory_that_cannot_exist_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    target = blocker / "ccops.sqlite3"  # parent is a regular file
    with pytest.raises(StoreOpenError) as info:
        await Store.open(target)
    assert str(target) in str(info.value)


@needs_non_root
async def test_unwritable_directory_names_the_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        target = locked / "ccops.sqlite3"
        with pytest.raises(StoreOpenError) as info:
            await Store.open(target)
        assert str(target) in str(info.value)
        assert "writable" in str(info.value)
    finally:
        locked.chmod(0o700)


@needs_non_root
async def test_read_only_database_names_the_file(db_path: Path) -> None:
    await (await Store.open(db_path)).close()
    set_mode(db_path, 0o400)
    try:
        with pytest.raises(StoreOpenError) as info:
            await Store.open(db_path)
        assert str(db_path) in str(info.value)
    finally:
        set_mode(db_path, 0o600)


def set_mode(db_path: Path, mode: int) -> None:
    for extra in db_path.parent.glob(db_path.name + "-*"):
        extra.unlink()
    db_path.chmod(mode)


async def test_store_is_usable_as_async_context_manager(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        await store.set_meta("k", "v")
    assert store.engine.closed
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT value FROM meta WHERE key='k'").fetchone() == ("v",)


async def test_path_that_is_a_directory_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(StoreOpenError) as info:
        await Store.open(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert "cannot open the file" in str(info.value)


async def test_truncated_database_header_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(StoreOpenError) as info:
        await Store.open(bad)
    assert str(bad) in str(info.value)
    assert "corrupt" in str(info.value)
