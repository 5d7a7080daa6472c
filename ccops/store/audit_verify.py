"""``ccops audit verify``: check the audit chain of a database file, read-only.

Why not :meth:`Store.open`: verifying must not change the evidence. Opening the store
would apply pending migrations and start a writer; here the file is opened with
``mode=ro`` and only the audit table is read, page by page, while a running daemon keeps
writing (WAL lets a reader and the writer work side by side).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from ccops.core.audit import AuditHead, AuditRecord, VerifyResult, verify_store
from ccops.store.errors import StoreError, StoreOpenError
from ccops.store.sqlite import AUDIT_COLUMNS, audit_record_from_row


class _ReadOnlyAudit:
    """An :class:`~ccops.core.audit.AuditSource` over one read-only connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def audit_page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        async with self._conn.execute(
            f"SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ) as cur:
            return [audit_record_from_row(r) for r in await cur.fetchall()]


async def verify_file(
    path: Path | str, *, expected_head: AuditHead | None = None, page_size: int = 1000
) -> VerifyResult:
    """Verify the audit log stored in the database at ``path`` without writing to it.

    Raises :class:`StoreOpenError` when the file is missing, unreadable, not a database,
    or has no audit table.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreOpenError(path, "no such database file")
    try:
        conn = await aiosqlite.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreOpenError(path, f"cannot open read-only: {exc}") from exc
    try:
        await conn.execute("PRAGMA query_only = ON")
        async with conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'"
        ) as cur:
            if await cur.fetchone() is None:
                raise StoreOpenError(path, "not a ccops database (no audit table)")
        return await verify_store(
            _ReadOnlyAudit(conn), expected_head=expected_head, page_size=page_size
        )
    except sqlite3.Error as exc:
        raise StoreError(path, f"cannot read the audit log: {exc}") from exc
    finally:
        await conn.close()
