"""Numbered migrations: file rules, ordering, one transaction each, too-new databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ccops.core.clock import FakeClock
from ccops.store import MigrationError, SchemaTooNewError, Store
from ccops.store.migrate import Migration, load_migrations

PACKAGED = load_migrations()


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql, encoding="utf-8")
    return directory


def test_packaged_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in PACKAGED] == list(range(1, len(PACKAGED) + 1))
    assert PACKAGED[0].name == "init"


def test_files_load_in_numeric_order_and_other_files_are_ignored(tmp_path: Path) -> None:
    d = write(
        tmp_path / "m",
        {
            "0002_second.sql": "CREATE TABLE b (x INTEGER);",
            "0001_first.sql": "CREATE TABLE a (x INTEGER);",
            "README.md": "not a migration",
        },
    )
    assert [(m.version, m.name) for m in load_migrations(d)] == [(1, "first"), (2, "second")]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "", "0003_c.sql": ""}, "expected 0002, found 0003_c"),
        ({"0002_b.sql": ""}, "expected 0001, found 0002_b"),
        ({"0001_a.sql": "", "0001_b.sql": ""}, "0001 is used twice"),
        ({"1_init.sql": ""}, "not named NNNN_lower_case_name.sql"),
        ({"0001_Init.sql": ""}, "not named NNNN_lower_case_name.sql"),
        ({}, "no migrations found"),
        ({"0001_a.sql": "BEGIN;\nCREATE TABLE t (x);\nCOMMIT;"}, "must not contain BEGIN"),
        ({"0001_a.sql": "CREATE TABLE t (x);\nCOMMIT;"}, "must not contain BEGIN"),
    ],
)
def test_bad_migration_sets_are_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    d = write(tmp_path / "m", files)
    with pytest.raises(MigrationError, match=message):
        load_migrations(d)


def test_trigger_bodies_are_not_mistaken_for_transactions(tmp_path: Path) -> None:
    d = write(
        tmp_path / "m",
        {
            "0001_a.sql": "CREATE TABLE t (x);\n"
            "CREATE TRIGGER t_no_delete BEFORE DELETE ON t\nBEGIN\n"
            "    SELECT RAISE(ABORT, 'no');\nEND;\n"
        },
    )
    assert len(load_migrations(d)) == 1


async def test_new_migration_is_applied_once_on_an_existing_database(
    tmp_path: Path, db_path: Path, clock: FakeClock
) -> None:
    await (await Store.open(db_path, clock=clock)).close()
    nxt = len(PACKAGED) + 1
    d = write(
        tmp_path / "m", {f"{nxt:04d}_timers.sql": "CREATE TABLE timer (id INTEGER PRIMARY KEY);"}
    )
    steps = [*PACKAGED, *load_migrations_extra(d, start=nxt)]
    for _ in range(2):  # second open: nothing left to apply
        store = await Store.open(db_path, clock=clock, migrations=steps)
        assert await store.schema_version() == nxt
        await store.close()
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT version, name FROM schema_version").fetchall() == [
            *[(m.version, m.name) for m in PACKAGED],
            (nxt, "timers"),
        ]
        assert other.execute("SELECT count(*) FROM timer").fetchone() == (0,)
    # and the code that only knows the packaged migrations now refuses the database
    with pytest.raises(SchemaTooNewError, match=f"version {nxt}"):
        await Store.open(db_path, clock=clock)


async def test_failing_migration_is_rolled_back_whole(
    tmp_path: Path, db_path: Path, clock: FakeClock
) -> None:
    await (await Store.open(db_path, clock=clock)).close()
    nxt = len(PACKAGED) + 1
    d = write(
        tmp_path / "m",
        {f"{nxt:04d}_broken.sql": "CREATE TABLE half (x INTEGER);\nCREATE TABLE oops (;\n"},
    )
    steps = [*PACKAGED, *load_migrations_extra(d, start=nxt)]
    with pytest.raises(MigrationError) as info:
        await Store.open(db_path, clock=clock, migrations=steps)
    assert f"{nxt:04d}_broken failed and was rolled back" in str(info.value)
    assert str(db_path) in str(info.value)
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT MAX(version) FROM schema_version").fetchone() == (nxt - 1,)
        tables = {r[0] for r in other.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables
    # the database still opens with the good migrations
    await (await Store.open(db_path, clock=clock)).close()


def load_migrations_extra(directory: Path, *, start: int) -> list[Migration]:
    """A test's extra migration files, numbered from ``start`` (after the packaged ones)."""
    return [
        Migration(i, path.stem.split("_", 1)[1], path.read_text())
        for i, path in enumerate(sorted(directory.glob("*.sql")), start=start)
    ]
