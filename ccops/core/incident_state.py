"""The state of a running incident, as the engine holds it and the store keeps it.

Why plain mutable records: the engine changes a step, a timer and the timeline together and
then hands the whole incident to the store in one transaction (:class:`IncidentRepository`),
so what is on disk is always a state the engine was in. Timers hold **absolute** due times
(epoch seconds), computed when their anchor happens, so a restarted daemon needs nothing but
the rows to know what is due.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from ccops.core.roles import Role
from ccops.store.records import UndoRecord


class StepState(enum.StrEnum):
    PENDING = "pending"  # to do (a deadline step may also be overdue)
    DONE = "done"
    WAIVED = "waived"  # not done, with a note saying why (optional steps, closure waivers)
    ARMED = "armed"  # watchdog waiting for its time
    FIRED = "fired"  # watchdog fired / notification sent: waiting for acknowledgement
    ACKNOWLEDGED = "acknowledged"
    CANCELLED = "cancelled"  # watchdog/escalation no longer needed (its condition held)
    ACTIVE = "active"  # escalation running at some level


FINISHED = frozenset({StepState.DONE, StepState.WAIVED, StepState.ACKNOWLEDGED,
                      StepState.CANCELLED})


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TimerState(enum.StrEnum):
    WAITING = "waiting"  # its anchor (another step) has not happened yet
    UNSET = "unset"  # its duration is a parameter nobody set: never fires, shown as such
    ARMED = "armed"
    FIRED = "fired"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class StepRow:
    step_id: str
    kind: str
    state: StepState
    owner: str  # job role from the definition
    done_at: float | None = None
    done_by: str | None = None
    acked_at: float | None = None
    acked_by: str | None = None
    overdue_since: float | None = None  # deadline missed at (the due time)
    record: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)  # pbx results, undo ids, …


@dataclass(slots=True)
class TimerRow:
    key: str  # step id, or "<step>:L<k>" for a level
    step_id: str
    kind: str  # deadline | watchdog | level
    state: TimerState
    due_at: float | None
    level: int | None = None
    fired_at: float | None = None
    lateness: float | None = None  # seconds between due and actually fired
    note: str = ""


@dataclass(slots=True)
class NotificationRow:
    seq: int  # per incident
    step_id: str
    channel: str  # console | phone
    target: str  # job role (console) or person (phone)
    sent_at: float
    message: str
    acked_at: float | None = None
    acked_by: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of the incident's history; never edited, only appended."""

    at: float
    actor: str  # operator name, or "ccops" for timers
    kind: str
    detail: str
    step_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Incident:
    id: int | None
    playbook_id: str
    playbook_version: int
    playbook_digest: str
    document: dict[str, Any]  # the pinned definition (canonical JSON)
    variant: str | None
    site: str
    is_drill: bool
    status: IncidentStatus
    detected_at: float
    started_at: float
    started_by: str
    level: int = 0
    level_started_at: float | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    report: dict[str, str] = field(default_factory=dict)
    steps: dict[str, StepRow] = field(default_factory=dict)
    timers: dict[str, TimerRow] = field(default_factory=dict)
    notifications: list[NotificationRow] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on an incident: an operator, or ccops itself (timers) with role None."""

    name: str
    role: Role | None


SYSTEM = Actor("ccops", None)


class IncidentRepository(Protocol):
    """What the engine needs from the store (ccops.store.incidents implements it)."""

    async def save_incident(self, incident: Incident, new_entries: int) -> int:
        """Write the incident, its steps, timers, notifications and its last
        ``new_entries`` timeline entries in ONE transaction; return its id (new or kept)."""

    async def open_incidents(self) -> list[Incident]:
        """Every open incident with steps, timers, notifications and timeline."""

    async def get_incident(self, incident_id: int) -> Incident | None: ...

    async def list_incidents(self, *, limit: int = 100, drills: bool = True) -> list[Incident]:
        """Newest first, without timelines (lists and statistics)."""


class UndoLookup(Protocol):
    """Is an undo still open? (the store's undo table; closure checks PBX changes)."""

    async def undo_is_open(self, undo_id: int) -> bool: ...

    async def open_undo(self, undo_id: int) -> UndoRecord | None:
        """The undo record while it is open (what changed, since when, how to undo it);
        None once it was undone or superseded."""
