"""Incidents in SQLite (migration 0003): the engine's :class:`IncidentRepository`.

Why whole-incident saves: an incident has a handful of steps and timers, and a change
touches several of them plus the timeline. Upserting all its rows and appending the new
timeline entries in ONE write job means the file always holds a state the engine was in,
and a timer's "fired" state commits together with the timeline line that says it fired —
so after a crash it fires again only if that line is not there either.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite

from ccops.core.incident_state import (
    Incident,
    IncidentStatus,
    NotificationRow,
    StepRow,
    StepState,
    TimelineEntry,
    TimerRow,
    TimerState,
)
from ccops.store.errors import StoreError, StoreOpenError
from ccops.store.records import UndoRecord
from ccops.store.sqlite import Store

_INC_COLS = (
    "id, playbook_id, playbook_version, playbook_digest, document, variant, site, is_drill, "
    "status, detected_at, started_at, started_by, level, level_started_at, closed_at, "
    "closed_by, parameters, report"
)


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class IncidentStore:
    """Implements :class:`ccops.core.incident_state.IncidentRepository` on a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self._engine = store.engine
        self._store = store

    # ------------------------------------------------------------------ writes

    async def save_incident(self, incident: Incident, new_entries: int) -> int:
        inc = incident
        fresh = inc.timeline[len(inc.timeline) - new_entries:] if new_entries else []

        async def run(conn: aiosqlite.Connection) -> int:
            values = (
                inc.playbook_id, inc.playbook_version, inc.playbook_digest, _j(inc.document),
                inc.variant, inc.site, int(inc.is_drill), inc.status.value, inc.detected_at,
                inc.started_at, inc.started_by, inc.level, inc.level_started_at, inc.closed_at,
                inc.closed_by, _j(inc.parameters), _j(inc.report),
            )
            if inc.id is None:
                cur = await conn.execute(
                    f"INSERT INTO incident ({_INC_COLS}) VALUES (NULL{', ?' * 17})", values
                )
                incident_id = int(cur.lastrowid or 0)
            else:
                incident_id = inc.id
                cols = _INC_COLS.split(", ")[1:]
                await conn.execute(
                    f"UPDATE incident SET {', '.join(c + ' = ?' for c in cols)} WHERE id = ?",
                    (*values, incident_id),
                )
            for ord_, row in enumerate(inc.steps.values()):
                await conn.execute(
                    "INSERT OR REPLACE INTO incident_step (incident_id, step_id, ord, kind, "
                    "state, owner, done_at, done_by, acked_at, acked_by, overdue_since, record, "
                    "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (incident_id, row.step_id, ord_, row.kind, row.state.value, row.owner,
                     row.done_at, row.done_by, row.acked_at, row.acked_by, row.overdue_since,
                     _j(row.record), _j(row.detail)),
                )
            for t in inc.timers.values():
                await conn.execute(
                    "INSERT OR REPLACE INTO incident_timer (incident_id, key, step_id, kind, "
                    "state, due_at, level, fired_at, lateness, note) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (incident_id, t.key, t.step_id, t.kind, t.state.value, t.due_at, t.level,
                     t.fired_at, t.lateness, t.note),
                )
            for n in inc.notifications:
                await conn.execute(
                    "INSERT OR REPLACE INTO incident_notification (incident_id, seq, step_id, "
                    "channel, target, sent_at, message, acked_at, acked_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (incident_id, n.seq, n.step_id, n.channel, n.target, n.sent_at, n.message,
                     n.acked_at, n.acked_by),
                )
            for e in fresh:
                await conn.execute(
                    "INSERT INTO incident_timeline (incident_id, at, actor, kind, step_id, "
                    "detail, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (incident_id, e.at, e.actor, e.kind, e.step_id, e.detail, _j(e.data)),
                )
            return incident_id

        return await self._engine.write(run)

    # ------------------------------------------------------------------ reads

    async def open_incidents(self) -> list[Incident]:
        return await self._select("WHERE status = 'open' ORDER BY id", (), full=True)

    async def get_incident(self, incident_id: int) -> Incident | None:
        found = await self._select("WHERE id = ?", (incident_id,), full=True)
        return found[0] if found else None

    async def list_incidents(self, *, limit: int = 100, drills: bool = True) -> list[Incident]:
        where = "" if drills else "WHERE is_drill = 0 "
        return await self._select(f"{where}ORDER BY id DESC LIMIT ?", (limit,), full=False)

    async def undo_is_open(self, undo_id: int) -> bool:
        async def run(conn: aiosqlite.Connection) -> bool:
            async with conn.execute(
                "SELECT closed_at FROM undo_record WHERE id = ?", (undo_id,)
            ) as cur:
                row = await cur.fetchone()
            return row is not None and row[0] is None

        return await self._engine.read(run)

    async def open_undo(self, undo_id: int) -> UndoRecord | None:
        # Open undos are few (changes still in force), so the store's own list is enough.
        return next((u for u in await self._store.open_undos() if u.id == undo_id), None)

    async def _select(self, tail: str, args: tuple[Any, ...], *, full: bool) -> list[Incident]:
        async def run(conn: aiosqlite.Connection) -> list[Incident]:
            return await _select(conn, tail, args, full=full)

        return await self._engine.read(run)


async def _select(
    conn: aiosqlite.Connection, tail: str, args: tuple[Any, ...], *, full: bool
) -> list[Incident]:
    async with conn.execute(f"SELECT {_INC_COLS} FROM incident {tail}", args) as cur:
        rows = list(await cur.fetchall())
    out = [_incident(r) for r in rows]
    for inc in out:
        await _children(conn, inc, timeline=full)
    return out


async def read_incident_file(path: Path | str, incident_id: int) -> Incident | None:
    """One incident from a database file opened read-only (``ccops incident report``):
    exporting a report must not migrate or write the daemon's store."""
    path = Path(path)
    if not path.is_file():
        raise StoreOpenError(path, "no such database file")
    try:
        conn = await aiosqlite.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreOpenError(path, f"cannot open read-only: {exc}") from exc
    try:
        await conn.execute("PRAGMA query_only = ON")
        found = await _select(conn, "WHERE id = ?", (incident_id,), full=True)
    except sqlite3.Error as exc:
        raise StoreError(path, f"cannot read incidents: {exc}") from exc
    finally:
        await conn.close()
    return found[0] if found else None


def _incident(r: Any) -> Incident:
    return Incident(
        id=int(r[0]), playbook_id=r[1], playbook_version=int(r[2]), playbook_digest=r[3],
        document=json.loads(r[4]), variant=r[5], site=r[6], is_drill=bool(r[7]),
        status=IncidentStatus(r[8]), detected_at=r[9], started_at=r[10], started_by=r[11],
        level=int(r[12]), level_started_at=r[13], closed_at=r[14], closed_by=r[15],
        parameters=json.loads(r[16]), report=json.loads(r[17]),
    )


async def _children(conn: aiosqlite.Connection, inc: Incident, *, timeline: bool) -> None:
    async with conn.execute(
        "SELECT step_id, kind, state, owner, done_at, done_by, acked_at, acked_by, "
        "overdue_since, record, detail FROM incident_step WHERE incident_id = ? ORDER BY ord",
        (inc.id,),
    ) as cur:
        for r in await cur.fetchall():
            inc.steps[r[0]] = StepRow(r[0], r[1], StepState(r[2]), r[3], r[4], r[5], r[6], r[7],
                                      r[8], json.loads(r[9]), json.loads(r[10]))
    async with conn.execute(
        "SELECT key, step_id, kind, state, due_at, level, fired_at, lateness, note "
        "FROM incident_timer WHERE incident_id = ?",
        (inc.id,),
    ) as cur:
        for r in await cur.fetchall():
            inc.timers[r[0]] = TimerRow(r[0], r[1], r[2], TimerState(r[3]), r[4], r[5], r[6],
                                        r[7], r[8])
    async with conn.execute(
        "SELECT seq, step_id, channel, target, sent_at, message, acked_at, acked_by "
        "FROM incident_notification WHERE incident_id = ? ORDER BY seq",
        (inc.id,),
    ) as cur:
        inc.notifications = [NotificationRow(*r) for r in await cur.fetchall()]
    if timeline:
        async with conn.execute(
            "SELECT at, actor, kind, detail, step_id, data FROM incident_timeline "
            "WHERE incident_id = ? ORDER BY id",
            (inc.id,),
        ) as cur:
            inc.timeline = [
                TimelineEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]))
                for r in await cur.fetchall()
            ]
