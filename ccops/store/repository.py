"""The repository interface: what the daemon may ask of its store, backend-neutral.

Why protocols and not the SQLite class: architecture §8 expects the store to move to
PostgreSQL when users outgrow one machine. Every caller depends on these methods only; no
SQL, connection or SQLite type crosses this line, so a second backend implements the same
protocols and nothing above it changes. Every method that writes returns only after the
change is committed (durable), which is what lets the console acknowledge a user's action.

The protocols are split by concern so a component asks for just what it uses (the executor
needs :class:`CommandLedger`, the KPI engine :class:`KpiRepository`, …).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ccops.core.audit import AuditEntry, AuditHead, AuditRecord
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
    KpiBucket,
    LinkEvent,
    UndoRecord,
)


class MetaRepository(Protocol):
    """Small daemon facts (instance id, last anchor printed, …)."""

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...


class KpiRepository(Protocol):
    """Per-queue interval buckets that survive restarts."""

    async def upsert_kpi_buckets(self, buckets: Sequence[KpiBucket]) -> None:
        """Insert or replace (pbx, queue, bucket_start) rows, all in one transaction."""
        ...

    async def kpi_buckets(
        self, start: float, end: float, *, pbx: str | None = None, queue: str | None = None
    ) -> list[KpiBucket]:
        """Buckets with ``start <= bucket_start < end``, oldest first."""
        ...


class AgentBucketRepository(Protocol):
    """Per-agent interval buckets that survive restarts."""

    async def upsert_agent_buckets(self, buckets: Sequence[AgentBucket]) -> None:
        """Insert or replace (pbx, interface, bucket_start) rows, in one transaction."""
        ...

    async def agent_buckets(
        self, start: float, end: float, *, pbx: str | None = None
    ) -> list[AgentBucket]:
        """Buckets with ``start <= bucket_start < end``, oldest first."""
        ...


class AgentIntervalRepository(Protocol):
    """Closed agent-state spans."""

    async def add_agent_intervals(self, intervals: Sequence[AgentInterval]) -> None: ...

    async def agent_intervals(
        self, start: float, end: float, *, pbx: str | None = None, interface: str | None = None
    ) -> list[AgentInterval]:
        """Spans overlapping ``[start, end)``, by start time."""
        ...


class AlertRepository(Protocol):
    """Alert occurrences: raised, acknowledged, cleared."""

    async def raise_alert(self, alert: AlertRaise) -> int:
        """Store a new occurrence; returns its id (what operators acknowledge)."""
        ...

    async def clear_alert(self, alert_id: int, at: float) -> bool:
        """Mark cleared; False if unknown or already cleared."""
        ...

    async def acknowledge_alert(self, alert_id: int, operator: str, at: float) -> bool:
        """Mark acknowledged; False if unknown or already acknowledged."""
        ...

    async def get_alert(self, alert_id: int) -> AlertRecord | None: ...

    async def open_alerts(self) -> list[AlertRecord]:
        """Not yet cleared, oldest first (to rebuild the alert board after a restart)."""
        ...

    async def alerts_between(self, start: float, end: float) -> list[AlertRecord]:
        """Raised in ``[start, end)``, oldest first."""
        ...


class LinkEventRepository(Protocol):
    """PBX link up/down history."""

    async def record_link_event(self, event: LinkEvent) -> None: ...

    async def link_events(
        self, start: float, end: float, *, pbx: str | None = None
    ) -> list[LinkEvent]: ...


class AuditRepository(Protocol):
    """The append-only, hash-chained audit log."""

    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        """Seal ``entry`` after the current head and commit it."""
        ...

    async def audit_page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        """Up to ``limit`` records with ``seq > after_seq``, ascending."""
        ...

    async def audit_search(self, query: AuditQuery) -> list[AuditRecord]:
        """One page matching ``query``: ascending after ``after_seq``, or descending
        (newest first) when only ``before_seq`` is given."""
        ...

    async def audit_head(self) -> AuditHead | None:
        """The newest record's (seq, hash), to keep as an anchor elsewhere."""
        ...


class CommandLedger(AuditRepository, Protocol):
    """What the executor needs: the command journal, undo records and the audit log."""

    async def begin_command(self, start: JournalStart) -> int:
        """Journal a command as pending and commit; returns the journal id."""
        ...

    async def finish_command(self, finish: CommandFinish) -> FinishedCommand:
        """Journal status + undo bookkeeping + audit record, in one transaction."""
        ...

    async def journal_entry(self, journal_id: int) -> JournalEntry | None: ...

    async def mark_in_doubt(self) -> list[JournalEntry]:
        """Turn every ``pending`` entry (left by a crash) into ``in_doubt``; return them."""
        ...


class UndoRepository(Protocol):
    """Undo records for PBX changes (routing toggles, membership, pauses)."""

    async def open_undos(self, *, pbx: str | None = None) -> list[UndoRecord]: ...

    async def overdue_undos(self, now: float) -> list[UndoRecord]:
        """Open undos whose ``due_at`` has passed (forgotten night mode, …)."""
        ...

    async def close_undo(self, undo_id: int, at: float, reason: str) -> bool:
        """Close without running it (e.g. an admin dismissing it); False if not open."""
        ...


class Repository(
    MetaRepository,
    KpiRepository,
    AgentBucketRepository,
    AgentIntervalRepository,
    AlertRepository,
    LinkEventRepository,
    CommandLedger,
    UndoRepository,
    Protocol,
):
    """Everything the daemon's store offers, plus its lifecycle."""

    async def backup(self, dest: Path) -> None:
        """A consistent copy of the whole store at ``dest`` while it keeps running."""
        ...

    async def close(self) -> None: ...
