"""Plain records the repository takes and returns: no SQL, no connection, no backend.

They are the vocabulary of :mod:`ccops.store.repository`, so a PostgreSQL backend would
take and return exactly these. Audit records live in :mod:`ccops.core.audit` because their
hashing is core logic.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ccops.core.audit import AuditEntry, AuditRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiBucket:
    """Counters and sums for one queue over one interval (the KPI engine owns their meaning).

    ``counters`` is replaced whole on upsert: the engine holds the bucket in memory and
    writes its full state, so a repeated write is harmless (idempotent).
    """

    pbx: str
    queue: str
    bucket_start: int  # epoch seconds, aligned to bucket_seconds
    bucket_seconds: int
    counters: Mapping[str, float]
    updated_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentBucket:
    """One agent's figures over one interval; ``counters`` is owned by the KPI engine
    (numbers, plus ``state_seconds``: seconds per state). Upserted whole, like KpiBucket."""

    pbx: str
    interface: str
    bucket_start: int
    bucket_seconds: int
    counters: Mapping[str, Any]
    updated_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentInterval:
    """A closed span an agent spent in one state (feeds occupancy and pause-by-reason)."""

    pbx: str
    interface: str
    queue: str | None
    state: str
    reason: str | None
    started_at: float
    ended_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRaise:
    """An alert the rules just raised."""

    rule: str
    scope: str
    severity: str  # info | warning | critical
    message: str
    raised_at: float
    value: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord:
    """One occurrence of an alert: raised, maybe acknowledged, maybe cleared."""

    id: int
    rule: str
    scope: str
    severity: str
    message: str
    raised_at: float
    value: float | None
    cleared_at: float | None
    acked_at: float | None
    acked_by: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkEvent:
    """A PBX link changing state (up/down history for the status screen and reports)."""

    pbx: str
    at: float
    state: str
    detail: str = ""


class JournalStatus(enum.StrEnum):
    """Where a journalled command is; ``in_doubt`` means we cannot know if it ran."""

    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalStart:
    """A command about to be performed, written and committed before it is sent."""

    at: float
    operator: str
    role: str
    session_id: str
    via: str
    command: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalEntry:
    """A journal row as stored."""

    id: int
    at: float
    operator: str
    role: str
    session_id: str
    via: str
    command: str
    params: Mapping[str, Any]
    status: JournalStatus
    finished_at: float | None
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UndoSpec:
    """How to reverse a change that just succeeded (architecture §5: every toggle records it).

    For routing flags ``value`` is what was set and ``previous_value`` what the PBX held
    before (None: the key was absent); ``due_at`` is when a reminder alert should fire.
    """

    at: float
    operator: str
    pbx: str | None
    subject: str
    action: str
    params: Mapping[str, Any]
    undo_command: str
    undo_params: Mapping[str, Any]
    value: str | None = None
    previous_value: str | None = None
    expected_duration_min: int | None = None
    due_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UndoRecord:
    """An undo as stored; open while ``closed_at`` is None."""

    id: int
    journal_id: int
    spec: UndoSpec
    closed_at: float | None
    close_reason: str | None
    closed_by_journal: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandFinish:
    """Everything written when a performed command's outcome is known, in ONE transaction:
    the journal status, the undo bookkeeping and the audit record."""

    journal_id: int
    status: JournalStatus  # ok | failed
    detail: str
    finished_at: float
    subject: str | None  # when ok, open undos on this subject are superseded
    audit: AuditEntry
    undo: UndoSpec | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FinishedCommand:
    """What :meth:`finish_command` committed."""

    audit: AuditRecord
    undo_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditQuery:
    """Which audit records a reader wants: a page by sequence number, narrowed by filters.

    ``before_seq`` pages backwards (newest first, for a screen scrolling back in time);
    ``after_seq`` pages forwards (oldest first, for catching up on new records). Every
    filter narrows: ``actions`` is a set of exact action names, ``results`` of result words,
    ``since``/``until`` a half-open time range ``[since, until)`` in epoch seconds.
    """

    after_seq: int | None = None
    before_seq: int | None = None
    limit: int = 100
    operator: str | None = None
    actions: frozenset[str] | None = None
    action_prefix: str | None = None
    results: frozenset[str] | None = None
    since: float | None = None
    until: float | None = None
