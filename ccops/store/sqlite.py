"""The SQLite implementation of :class:`ccops.store.repository.Repository`.

Each method is one job for :class:`~ccops.store.engine.SqliteEngine`: writes go through the
single writer and return after COMMIT; reads run on the reader pool. SQL stays in this
module, so a PostgreSQL backend is a sibling module implementing the same protocols.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

from ccops.core.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditHead,
    AuditRecord,
    AuditResult,
    canonical_json,
    seal,
)
from ccops.core.clock import Clock, SystemClock
from ccops.store.engine import SqliteEngine
from ccops.store.errors import StoreError
from ccops.store.migrate import Migration
from ccops.store.records import (
    AgentBucket,
    AgentInterval,
    AlertRaise,
    AlertRecord,
    AuditQuery,
    CommandFinish,
    FinishedCommand,
    JournalEntry,
    JournalStart,
    JournalStatus,
    KpiBucket,
    LinkEvent,
    UndoRecord,
    UndoSpec,
)
from ccops.store.repository import Repository

T = TypeVar("T")
Row = Any  # sqlite3.Row-like tuple from aiosqlite

AUDIT_COLUMNS = (  # also used by ccops.store.audit_verify
    "seq, at, operator, role, session_id, via, action, params, result, detail, "
    "pbx_response, readback, journal_id, prev_hash, hash"
)
_JOURNAL_COLS = (
    "id, at, operator, role, session_id, via, command, params, status, finished_at, detail"
)
_UNDO_COLS = (
    "id, journal_id, at, operator, pbx, subject, action, params, undo_command, undo_params, "
    "value, previous_value, expected_duration_min, due_at, closed_at, close_reason, "
    "closed_by_journal"
)
_ALERT_COLS = "id, rule, scope, severity, message, raised_at, value, cleared_at, acked_at, acked_by"


class Store:
    """The daemon's store on one SQLite file (WAL, ``synchronous=FULL``, single writer).

    Open with ``store = await Store.open(path)`` (or ``async with await Store.open(path)``).
    """

    def __init__(self, engine: SqliteEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        clock: Clock | None = None,
        migrations: Sequence[Migration] | None = None,
        readers: int = 2,
        busy_timeout_ms: int = 5000,
        max_batch: int = 256,
    ) -> Store:
        """Open or create the database at ``path`` and apply pending migrations."""
        clock = clock or SystemClock()
        engine = await SqliteEngine.open(
            path,
            clock=clock,
            migrations=migrations,
            readers=readers,
            busy_timeout_ms=busy_timeout_ms,
            max_batch=max_batch,
        )
        return cls(engine, clock)

    @property
    def path(self) -> Path:
        return self._engine.path

    @property
    def engine(self) -> SqliteEngine:
        """The engine, for status figures and for store modules added by later issues."""
        return self._engine

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._engine.close()

    async def backup(self, dest: Path) -> None:
        await self._engine.backup(dest)

    async def schema_version(self) -> int:
        async def run(conn: aiosqlite.Connection) -> int:
            return int((await _one(conn, "SELECT MAX(version) FROM schema_version"))[0])

        return await self._engine.read(run)

    # ------------------------------------------------------------------ meta

    async def get_meta(self, key: str) -> str | None:
        async def run(conn: aiosqlite.Connection) -> str | None:
            row = await _maybe_one(conn, "SELECT value FROM meta WHERE key = ?", (key,))
            return None if row is None else str(row[0])

        return await self._engine.read(run)

    async def set_meta(self, key: str, value: str) -> None:
        now = self._clock.now()

        async def run(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (key, value, now),
            )

        await self._engine.write(run)

    # ------------------------------------------------------------------ KPI buckets

    async def upsert_kpi_buckets(self, buckets: Sequence[KpiBucket]) -> None:
        rows = [
            (
                b.pbx,
                b.queue,
                int(b.bucket_start),
                int(b.bucket_seconds),
                _json(b.counters, f"KPI counters of {b.pbx}/{b.queue}@{b.bucket_start}"),
                b.updated_at,
            )
            for b in buckets
        ]

        async def run(conn: aiosqlite.Connection) -> None:
            await conn.executemany(
                "INSERT INTO kpi_bucket (pbx, queue, bucket_start, bucket_seconds, counters, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (pbx, queue, bucket_start) DO UPDATE SET "
                "bucket_seconds = excluded.bucket_seconds, counters = excluded.counters, "
                "updated_at = excluded.updated_at",
                rows,
            )

        if rows:
            await self._engine.write(run)

    async def kpi_buckets(
        self, start: float, end: float, *, pbx: str | None = None, queue: str | None = None
    ) -> list[KpiBucket]:
        sql = (
            "SELECT pbx, queue, bucket_start, bucket_seconds, counters, updated_at "
            "FROM kpi_bucket WHERE bucket_start >= ? AND bucket_start < ?"
        )
        args: list[Any] = [start, end]
        sql, args = _filter(sql, args, pbx=pbx, queue=queue)
        sql += " ORDER BY bucket_start, pbx, queue"

        async def run(conn: aiosqlite.Connection) -> list[KpiBucket]:
            return [
                KpiBucket(
                    pbx=r[0],
                    queue=r[1],
                    bucket_start=r[2],
                    bucket_seconds=r[3],
                    counters=json.loads(r[4]),
                    updated_at=r[5],
                )
                for r in await _all(conn, sql, args)
            ]

        return await self._engine.read(run)

    # ------------------------------------------------------------------ agent buckets

    async def upsert_agent_buckets(self, buckets: Sequence[AgentBucket]) -> None:
        rows = [
            (
                b.pbx,
                b.interface,
                int(b.bucket_start),
                int(b.bucket_seconds),
                _json(b.counters, f"agent counters of {b.pbx}/{b.interface}@{b.bucket_start}"),
                b.updated_at,
            )
            for b in buckets
        ]

        async def run(conn: aiosqlite.Connection) -> None:
            await conn.executemany(
                "INSERT INTO agent_bucket (pbx, interface, bucket_start, bucket_seconds, "
                "counters, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (pbx, interface, bucket_start) DO UPDATE SET "
                "bucket_seconds = excluded.bucket_seconds, counters = excluded.counters, "
                "updated_at = excluded.updated_at",
                rows,
            )

        if rows:
            await self._engine.write(run)

    async def agent_buckets(
        self, start: float, end: float, *, pbx: str | None = None
    ) -> list[AgentBucket]:
        sql = (
            "SELECT pbx, interface, bucket_start, bucket_seconds, counters, updated_at "
            "FROM agent_bucket WHERE bucket_start >= ? AND bucket_start < ?"
        )
        args: list[Any] = [start, end]
        sql, args = _filter(sql, args, pbx=pbx)
        sql += " ORDER BY bucket_start, pbx, interface"

        async def run(conn: aiosqlite.Connection) -> list[AgentBucket]:
            return [
                AgentBucket(
                    pbx=r[0],
                    interface=r[1],
                    bucket_start=r[2],
                    bucket_seconds=r[3],
                    counters=json.loads(r[4]),
                    updated_at=r[5],
                )
                for r in await _all(conn, sql, args)
            ]

        return await self._engine.read(run)

    # ------------------------------------------------------------------ agent intervals

    async def add_agent_intervals(self, intervals: Sequence[AgentInterval]) -> None:
        rows = [
            (i.pbx, i.interface, i.queue, i.state, i.reason, i.started_at, i.ended_at)
            for i in intervals
        ]

        async def run(conn: aiosqlite.Connection) -> None:
            await conn.executemany(
                "INSERT INTO agent_interval (pbx, interface, queue, state, reason, started_at, "
                "ended_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        if rows:
            await self._engine.write(run)

    async def agent_intervals(
        self, start: float, end: float, *, pbx: str | None = None, interface: str | None = None
    ) -> list[AgentInterval]:
        sql = (
            "SELECT pbx, interface, queue, state, reason, started_at, ended_at "
            "FROM agent_interval WHERE started_at < ? AND ended_at > ?"
        )
        args: list[Any] = [end, start]
        sql, args = _filter(sql, args, pbx=pbx, interface=interface)
        sql += " ORDER BY started_at, id"

        async def run(conn: aiosqlite.Connection) -> list[AgentInterval]:
            return [
                AgentInterval(
                    pbx=r[0],
                    interface=r[1],
                    queue=r[2],
                    state=r[3],
                    reason=r[4],
                    started_at=r[5],
                    ended_at=r[6],
                )
                for r in await _all(conn, sql, args)
            ]

        return await self._engine.read(run)

    # ------------------------------------------------------------------ alerts

    async def raise_alert(self, alert: AlertRaise) -> int:
        async def run(conn: aiosqlite.Connection) -> int:
            row = await _one(
                conn,
                "INSERT INTO alert (rule, scope, severity, message, value, raised_at) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    alert.rule,
                    alert.scope,
                    alert.severity,
                    alert.message,
                    alert.value,
                    alert.raised_at,
                ),
            )
            return int(row[0])

        return await self._engine.write(run)

    async def clear_alert(self, alert_id: int, at: float) -> bool:
        return await self._update_one(
            "UPDATE alert SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL", (at, alert_id)
        )

    async def acknowledge_alert(self, alert_id: int, operator: str, at: float) -> bool:
        return await self._update_one(
            "UPDATE alert SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL",
            (at, operator, alert_id),
        )

    async def get_alert(self, alert_id: int) -> AlertRecord | None:
        found = await self._alerts(f"SELECT {_ALERT_COLS} FROM alert WHERE id = ?", (alert_id,))
        return found[0] if found else None

    async def open_alerts(self) -> list[AlertRecord]:
        return await self._alerts(
            f"SELECT {_ALERT_COLS} FROM alert WHERE cleared_at IS NULL ORDER BY id", ()
        )

    async def alerts_between(self, start: float, end: float) -> list[AlertRecord]:
        return await self._alerts(
            f"SELECT {_ALERT_COLS} FROM alert WHERE raised_at >= ? AND raised_at < ? "
            "ORDER BY raised_at, id",
            (start, end),
        )

    async def _alerts(self, sql: str, args: Sequence[Any]) -> list[AlertRecord]:
        async def run(conn: aiosqlite.Connection) -> list[AlertRecord]:
            return [
                AlertRecord(
                    id=r[0],
                    rule=r[1],
                    scope=r[2],
                    severity=r[3],
                    message=r[4],
                    raised_at=r[5],
                    value=r[6],
                    cleared_at=r[7],
                    acked_at=r[8],
                    acked_by=r[9],
                )
                for r in await _all(conn, sql, args)
            ]

        return await self._engine.read(run)

    # ------------------------------------------------------------------ link events

    async def record_link_event(self, event: LinkEvent) -> None:
        async def run(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO pbx_link_event (pbx, at, state, detail) VALUES (?, ?, ?, ?)",
                (event.pbx, event.at, event.state, event.detail),
            )

        await self._engine.write(run)

    async def link_events(
        self, start: float, end: float, *, pbx: str | None = None
    ) -> list[LinkEvent]:
        sql = "SELECT pbx, at, state, detail FROM pbx_link_event WHERE at >= ? AND at < ?"
        args: list[Any] = [start, end]
        sql, args = _filter(sql, args, pbx=pbx)
        sql += " ORDER BY at, id"

        async def run(conn: aiosqlite.Connection) -> list[LinkEvent]:
            return [
                LinkEvent(pbx=r[0], at=r[1], state=r[2], detail=r[3])
                for r in await _all(conn, sql, args)
            ]

        return await self._engine.read(run)

    # ------------------------------------------------------------------ audit

    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        async def run(conn: aiosqlite.Connection) -> AuditRecord:
            return await _append_audit(conn, entry)

        return await self._engine.write(run)

    async def audit_page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        async def run(conn: aiosqlite.Connection) -> list[AuditRecord]:
            rows = await _all(
                conn,
                f"SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            )
            return [audit_record_from_row(r) for r in rows]

        return await self._engine.read(run)

    async def audit_search(self, query: AuditQuery) -> list[AuditRecord]:
        """One page of records matching ``query`` (newest first when paging backwards)."""
        sql, args = _audit_where(query)

        async def run(conn: aiosqlite.Connection) -> list[AuditRecord]:
            return [audit_record_from_row(r) for r in await _all(conn, sql, args)]

        return await self._engine.read(run)

    async def audit_head(self) -> AuditHead | None:
        async def run(conn: aiosqlite.Connection) -> AuditHead | None:
            row = await _maybe_one(conn, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            return None if row is None else AuditHead(int(row[0]), str(row[1]))

        return await self._engine.read(run)

    # ------------------------------------------------------------------ command journal

    async def begin_command(self, start: JournalStart) -> int:
        params = _json(start.params, f"parameters of {start.command}")

        async def run(conn: aiosqlite.Connection) -> int:
            row = await _one(
                conn,
                "INSERT INTO command_journal (at, operator, role, session_id, via, command, "
                "params, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') RETURNING id",
                (
                    start.at,
                    start.operator,
                    start.role,
                    start.session_id,
                    start.via,
                    start.command,
                    params,
                ),
            )
            return int(row[0])

        return await self._engine.write(run)

    async def finish_command(self, finish: CommandFinish) -> FinishedCommand:
        if finish.status not in (JournalStatus.OK, JournalStatus.FAILED):
            raise ValueError(f"a command finishes ok or failed, not {finish.status}")
        path = self.path

        async def run(conn: aiosqlite.Connection) -> FinishedCommand:
            cur = await conn.execute(
                "UPDATE command_journal SET status = ?, finished_at = ?, detail = ? "
                "WHERE id = ? AND status = 'pending'",
                (str(finish.status), finish.finished_at, finish.detail, finish.journal_id),
            )
            if cur.rowcount != 1:
                raise StoreError(
                    path, f"journal entry {finish.journal_id} is not pending (unknown or done)"
                )
            if finish.status is JournalStatus.OK and finish.subject is not None:
                await conn.execute(
                    "UPDATE undo_record SET closed_at = ?, close_reason = ?, "
                    "closed_by_journal = ? WHERE subject = ? AND closed_at IS NULL",
                    (
                        finish.finished_at,
                        f"superseded by journal {finish.journal_id}",
                        finish.journal_id,
                        finish.subject,
                    ),
                )
            undo_id = None
            if finish.undo is not None:
                undo_id = await _insert_undo(conn, finish.journal_id, finish.undo)
            record = await _append_audit(conn, finish.audit)
            return FinishedCommand(audit=record, undo_id=undo_id)

        return await self._engine.write(run)

    async def journal_entry(self, journal_id: int) -> JournalEntry | None:
        async def run(conn: aiosqlite.Connection) -> JournalEntry | None:
            row = await _maybe_one(
                conn, f"SELECT {_JOURNAL_COLS} FROM command_journal WHERE id = ?", (journal_id,)
            )
            return None if row is None else _journal_entry(row)

        return await self._engine.read(run)

    async def mark_in_doubt(self) -> list[JournalEntry]:
        now = self._clock.now()

        async def run(conn: aiosqlite.Connection) -> list[JournalEntry]:
            rows = await _all(
                conn,
                "UPDATE command_journal SET status = 'in_doubt', finished_at = ?, detail = ? "
                f"WHERE status = 'pending' RETURNING {_JOURNAL_COLS}",
                (now, "daemon stopped while performing: outcome unknown, not re-sent"),
            )
            return sorted((_journal_entry(r) for r in rows), key=lambda e: e.id)

        return await self._engine.write(run)

    # ------------------------------------------------------------------ undo records

    async def open_undos(self, *, pbx: str | None = None) -> list[UndoRecord]:
        sql = f"SELECT {_UNDO_COLS} FROM undo_record WHERE closed_at IS NULL"
        sql, args = _filter(sql, [], pbx=pbx)
        return await self._undos(sql + " ORDER BY id", args)

    async def overdue_undos(self, now: float) -> list[UndoRecord]:
        return await self._undos(
            f"SELECT {_UNDO_COLS} FROM undo_record WHERE closed_at IS NULL "
            "AND due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, id",
            [now],
        )

    async def close_undo(self, undo_id: int, at: float, reason: str) -> bool:
        return await self._update_one(
            "UPDATE undo_record SET closed_at = ?, close_reason = ? "
            "WHERE id = ? AND closed_at IS NULL",
            (at, reason, undo_id),
        )

    async def _undos(self, sql: str, args: Sequence[Any]) -> list[UndoRecord]:
        async def run(conn: aiosqlite.Connection) -> list[UndoRecord]:
            return [_undo_record(r) for r in await _all(conn, sql, args)]

        return await self._engine.read(run)

    # ------------------------------------------------------------------ helpers

    async def _update_one(self, sql: str, args: Sequence[Any]) -> bool:
        async def run(conn: aiosqlite.Connection) -> bool:
            cur = await conn.execute(sql, args)
            return cur.rowcount == 1

        return await self._engine.write(run)


# --------------------------------------------------------------------------- row helpers


async def _all(conn: aiosqlite.Connection, sql: str, args: Sequence[Any] = ()) -> list[Row]:
    async with conn.execute(sql, args) as cur:
        return list(await cur.fetchall())


async def _maybe_one(conn: aiosqlite.Connection, sql: str, args: Sequence[Any] = ()) -> Row:
    async with conn.execute(sql, args) as cur:
        return await cur.fetchone()


async def _one(conn: aiosqlite.Connection, sql: str, args: Sequence[Any] = ()) -> Row:
    row = await _maybe_one(conn, sql, args)
    if row is None:
        raise RuntimeError(f"query returned no row: {sql}")
    return row


def _audit_where(q: AuditQuery) -> tuple[str, list[Any]]:
    """The SELECT for an :class:`AuditQuery` (values always bound, never interpolated)."""
    where: list[str] = []
    args: list[Any] = []
    if q.after_seq is not None:
        where.append("seq > ?")
        args.append(q.after_seq)
    if q.before_seq is not None:
        where.append("seq < ?")
        args.append(q.before_seq)
    if q.operator is not None:
        where.append("operator = ?")
        args.append(q.operator)
    if q.actions is not None or q.action_prefix is not None:
        alts: list[str] = []
        names = sorted(q.actions or ())
        if names:
            alts.append(f"action IN ({', '.join('?' * len(names))})")
            args.extend(names)
        if q.action_prefix is not None:
            escaped = q.action_prefix.replace("\\", "\\\\").replace("%", "\\%")
            alts.append("action LIKE ? ESCAPE '\\'")
            args.append(escaped.replace("_", "\\_") + "%")
        where.append("(" + " OR ".join(alts or ["0"]) + ")")
    if q.results is not None:
        names = sorted(q.results)
        where.append(f"result IN ({', '.join('?' * len(names))})" if names else "0")
        args.extend(names)
    if q.since is not None:
        where.append("at >= ?")
        args.append(q.since)
    if q.until is not None:
        where.append("at < ?")
        args.append(q.until)
    order = "DESC" if q.before_seq is not None and q.after_seq is None else "ASC"
    sql = f"SELECT {AUDIT_COLUMNS} FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY seq {order} LIMIT ?"
    args.append(max(1, q.limit))
    return sql, args


def _filter(sql: str, args: list[Any], **equals: str | None) -> tuple[str, list[Any]]:
    """Append ``AND col = ?`` for each given (non-None) column filter."""
    for column, value in equals.items():
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    return sql, args


def _json(value: Mapping[str, Any], what: str) -> str:
    try:
        return canonical_json(dict(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be stored as JSON: {exc}") from exc


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


async def _append_audit(conn: aiosqlite.Connection, entry: AuditEntry) -> AuditRecord:
    """Seal ``entry`` after the current head (inside the caller's write transaction)."""
    head = await _maybe_one(conn, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    seq, prev = (1, GENESIS_HASH) if head is None else (int(head[0]) + 1, str(head[1]))
    record = seal(entry, seq, prev)
    e = record.entry
    await conn.execute(
        f"INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.seq,
            e.at,
            e.operator,
            e.role,
            e.session_id,
            e.via,
            e.action,
            canonical_json(e.params),
            str(e.result),
            e.detail,
            None if e.pbx_response is None else canonical_json(e.pbx_response),
            None if e.readback is None else canonical_json(e.readback),
            e.journal_id,
            record.prev_hash,
            record.hash,
        ),
    )
    return record


def audit_record_from_row(r: Row) -> AuditRecord:
    """An audit row (columns in :data:`AUDIT_COLUMNS` order) as a record."""
    entry = AuditEntry(
        at=r[1],
        operator=r[2],
        role=r[3],
        session_id=r[4],
        via=r[5],
        action=r[6],
        params=json.loads(r[7]),
        result=AuditResult(r[8]),
        detail=r[9],
        pbx_response=_loads(r[10]),
        readback=_loads(r[11]),
        journal_id=r[12],
    )
    return AuditRecord(seq=r[0], entry=entry, prev_hash=r[13], hash=r[14])


def _journal_entry(r: Row) -> JournalEntry:
    return JournalEntry(
        id=r[0],
        at=r[1],
        operator=r[2],
        role=r[3],
        session_id=r[4],
        via=r[5],
        command=r[6],
        params=json.loads(r[7]),
        status=JournalStatus(r[8]),
        finished_at=r[9],
        detail=r[10],
    )


async def _insert_undo(conn: aiosqlite.Connection, journal_id: int, spec: UndoSpec) -> int:
    if spec.due_at is not None and not math.isfinite(spec.due_at):
        raise ValueError(f"undo due time must be finite, got {spec.due_at!r}")
    row = await _one(
        conn,
        "INSERT INTO undo_record (journal_id, at, operator, pbx, subject, action, params, "
        "undo_command, undo_params, value, previous_value, expected_duration_min, due_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            journal_id,
            spec.at,
            spec.operator,
            spec.pbx,
            spec.subject,
            spec.action,
            _json(spec.params, f"parameters of {spec.action}"),
            spec.undo_command,
            _json(spec.undo_params, f"undo parameters of {spec.action}"),
            spec.value,
            spec.previous_value,
            spec.expected_duration_min,
            spec.due_at,
        ),
    )
    return int(row[0])


def _undo_record(r: Row) -> UndoRecord:
    spec = UndoSpec(
        at=r[2],
        operator=r[3],
        pbx=r[4],
        subject=r[5],
        action=r[6],
        params=json.loads(r[7]),
        undo_command=r[8],
        undo_params=json.loads(r[9]),
        value=r[10],
        previous_value=r[11],
        expected_duration_min=r[12],
        due_at=r[13],
    )
    return UndoRecord(
        id=r[0],
        journal_id=r[1],
        spec=spec,
        closed_at=r[14],
        close_reason=r[15],
        closed_by_journal=r[16],
    )


if TYPE_CHECKING:  # mypy proves Store implements every repository protocol

    def _conforms(store: Store) -> Repository:
        return store
