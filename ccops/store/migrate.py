"""Numbered schema migrations: ``NNNN_name.sql`` files applied in order, once each.

Why numbered SQL files: the schema grows with each issue (timers and incidents next), a
daemon must be able to open yesterday's database, and an admin must be able to read what a
migration does. Each file runs in its own transaction together with its ``schema_version``
row, so a failing migration leaves the database exactly as it was. A database whose version
is newer than the code is refused: an older ccops writing to it could lose data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import aiosqlite

from ccops.core.clock import Clock
from ccops.store.errors import MigrationError, SchemaTooNewError

_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Transaction control inside a file would split a migration into parts that can half apply.
# (A trigger body's "BEGIN" is followed by statements, not ";", so it does not match.)
_TXN_RE = re.compile(
    r"^\s*(COMMIT|ROLLBACK|END\s+TRANSACTION"
    r"|BEGIN(\s+(TRANSACTION|IMMEDIATE|EXCLUSIVE|DEFERRED))?\s*;)",
    re.I | re.M,
)

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  REAL NOT NULL
) STRICT
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step."""

    version: int
    name: str
    sql: str


def load_migrations(directory: Traversable | Path | None = None) -> list[Migration]:
    """Read ``NNNN_name.sql`` files (default: the packaged ones), checked and in order.

    Refused: a ``.sql`` file with another name, two files with one number, or a gap in the
    numbering (a missing step would leave the schema half built).
    """
    source: Traversable | Path = (
        directory if directory is not None else resources.files("ccops.store") / "migrations"
    )
    where = str(source)
    found: dict[int, Migration] = {}
    for item in sorted(source.iterdir(), key=lambda t: t.name):
        if not item.name.endswith(".sql"):
            continue
        match = _FILE_RE.match(item.name)
        if match is None:
            raise MigrationError(
                where, f"migration file {item.name!r} is not named NNNN_lower_case_name.sql"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                where, f"migration number {version:04d} is used twice ({item.name})"
            )
        sql = item.read_text(encoding="utf-8")
        if _TXN_RE.search(sql):
            raise MigrationError(
                where, f"migration {item.name} must not contain BEGIN/COMMIT/ROLLBACK"
            )
        found[version] = Migration(version, match.group(2), sql)
    ordered = [found[v] for v in sorted(found)]
    check_numbering(ordered, where)
    return ordered


def check_numbering(migrations: Sequence[Migration], where: str) -> None:
    """Versions must be exactly 1, 2, 3, … with no gap."""
    if not migrations:
        raise MigrationError(where, "no migrations found")
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(
                where,
                f"migrations must be numbered 0001, 0002, … without gaps; "
                f"expected {expected:04d}, found {migration.version:04d}_{migration.name}",
            )


async def current_version(conn: aiosqlite.Connection) -> int:
    """The highest applied migration, 0 for a new database."""
    await conn.execute(_BOOTSTRAP)
    async with conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def apply_migrations(
    conn: aiosqlite.Connection,
    path: Path,
    migrations: Iterable[Migration],
    clock: Clock,
) -> list[int]:
    """Bring the database at ``path`` up to the newest migration; return what was applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so that the explicit
    ``BEGIN IMMEDIATE`` here is the only transaction.
    """
    steps = list(migrations)
    check_numbering(steps, "migrations")
    have = await current_version(conn)
    latest = steps[-1].version
    if have > latest:
        raise SchemaTooNewError(
            path,
            f"database schema is version {have}, newer than this ccops understands "
            f"({latest}); run a newer ccops, or restore a backup taken before the upgrade",
        )
    applied: list[int] = []
    for step in steps:
        if step.version <= have:
            continue
        await _apply_one(conn, path, step, clock)
        applied.append(step.version)
    return applied


async def _apply_one(conn: aiosqlite.Connection, path: Path, step: Migration, clock: Clock) -> None:
    label = f"{step.version:04d}_{step.name}"
    try:
        # executescript runs the file as written; our BEGIN makes it one transaction.
        await conn.executescript("BEGIN IMMEDIATE;\n" + step.sql)
        if not conn.in_transaction:
            raise MigrationError(
                path, f"migration {label} ended the transaction itself (remove BEGIN/COMMIT)"
            )
        await conn.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            (step.version, step.name, clock.now()),
        )
        await conn.execute("COMMIT")
    except MigrationError:
        raise
    except Exception as exc:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise MigrationError(path, f"migration {label} failed and was rolled back: {exc}") from exc
