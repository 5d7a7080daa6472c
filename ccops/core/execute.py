"""The one path that changes anything: ``execute(operator, command)``.

Steps, in order, each committed before the next:

1. **authorise** by role (:mod:`ccops.core.roles`); a refusal is audited and nothing runs;
2. **journal** the command as pending (so a crash mid-action leaves a trace: the row turns
   ``in_doubt`` at restart, and is never re-sent);
3. **perform** through the injected :class:`Performer` (the daemon's, which sends AMI
   actions and reads the result back from Asterisk);
4. **record** the outcome in one transaction: journal status, undo bookkeeping, audit
   record. Only then does the caller get its :class:`CommandResult`.

A performer that raises (the PBX went away mid-action) gives a *failed* result with the
reason; it is audited and not retried, because repeating a half-done PBX action blindly is
worse than telling a human. The pipeline runs shielded from the caller's cancellation: a
client that disconnects mid-command must not leave an action performed but not audited.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ccops.core.audit import AuditEntry, AuditResult, summarize
from ccops.core.clock import Clock
from ccops.core.commands import COMMANDS, Command
from ccops.core.roles import Role, allows
from ccops.store.records import (
    CommandFinish,
    JournalEntry,
    JournalStart,
    JournalStatus,
    UndoSpec,
)
from ccops.store.repository import CommandLedger

Via = Literal["ssh", "local", "cli"]


@dataclass(frozen=True, slots=True)
class Operator:
    """Who is acting, as established by the daemon (SSH key, socket peer, CLI user)."""

    name: str
    role: Role
    session_id: str
    via: Via


@dataclass(frozen=True, slots=True)
class PerformOutcome:
    """What the performer did.

    ``ok`` means the PBX accepted the action *and* the read-back agrees. ``undo`` is the
    command that would reverse it (None when nothing to undo, e.g. acknowledging an alert).
    """

    ok: bool
    detail: str
    pbx_response: Mapping[str, Any] | None = None
    readback: Mapping[str, Any] | None = None
    undo: Command | None = None


_ACTING: contextvars.ContextVar[Operator | None] = contextvars.ContextVar(
    "ccops_acting_operator", default=None
)


def acting_operator() -> Operator | None:
    """The operator whose command is being performed (for performers that record who acted,
    such as the incident engine's timeline); None outside :meth:`Executor.execute`."""
    return _ACTING.get()


class Performer(Protocol):
    """Carries a command out (the daemon's implementation talks AMI)."""

    async def perform(self, command: Command) -> PerformOutcome: ...


class ResultStatus(enum.StrEnum):
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What the operator is told, after everything about it is committed."""

    status: ResultStatus
    detail: str
    command: Command
    audit_seq: int
    journal_id: int | None = None
    pbx_response: Mapping[str, Any] | None = None
    readback: Mapping[str, Any] | None = None
    undo_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is ResultStatus.OK


class Executor:
    """Authorise → journal → perform → audit, for every command from every surface."""

    def __init__(
        self,
        ledger: CommandLedger,
        performer: Performer,
        clock: Clock,
        *,
        perform_timeout: float | None = 60.0,
    ) -> None:
        self._ledger = ledger
        self._performer = performer
        self._clock = clock
        self._perform_timeout = perform_timeout
        self._subject_locks: dict[str, tuple[asyncio.Lock, int]] = {}  # lock, users
        self._running: set[asyncio.Task[CommandResult]] = set()

    async def execute(self, operator: Operator, command: Command) -> CommandResult:
        """Run ``command`` for ``operator``; the result is returned only once it is audited.

        Raises :class:`~ccops.store.errors.StoreError` only if the store itself fails (then
        nothing can be promised, and the operator must be told so).
        """
        if not isinstance(command, Command) or COMMANDS.get(command.name) is not type(command):
            raise TypeError(f"not a registered command: {command!r}")
        task = asyncio.create_task(self._run(operator, command), name=f"execute {command.name}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def recover_in_doubt(self) -> list[JournalEntry]:
        """At daemon start: mark commands left pending by a crash ``in_doubt`` and audit each.

        They are not re-sent: whether Asterisk applied them is unknown, and the read-back on
        the next sync shows the PBX's actual state to the operator.
        """
        entries = await self._ledger.mark_in_doubt()
        for entry in entries:
            await self._ledger.append_audit(
                AuditEntry(
                    at=self._clock.now(),
                    operator=entry.operator,
                    role=entry.role,
                    session_id=entry.session_id,
                    via=entry.via,
                    action=entry.command,
                    params=entry.params,
                    result=AuditResult.FAILED,
                    detail=f"in doubt: {entry.detail}",
                    journal_id=entry.id,
                )
            )
        return entries

    async def drain(self) -> None:
        """Wait for commands in flight (daemon shutdown: let their audit land)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    # ------------------------------------------------------------------ pipeline

    async def _run(self, operator: Operator, command: Command) -> CommandResult:
        params = command.params()
        if not allows(operator.role, command.capability):
            detail = (
                f"role {operator.role} may not {command.capability} (needed for {command.name})"
            )
            record = await self._ledger.append_audit(
                self._entry(operator, command, params, AuditResult.REFUSED, detail)
            )
            return CommandResult(ResultStatus.REFUSED, detail, command, record.seq)

        subject = command.subject()
        if subject is None:
            return await self._journal_and_perform(operator, command, params)
        lock, users = self._subject_locks.get(subject, (asyncio.Lock(), 0))
        self._subject_locks[subject] = (lock, users + 1)
        try:
            # One change at a time per subject, so an undo captures the state it replaced.
            async with lock:
                return await self._journal_and_perform(operator, command, params)
        finally:
            lock, users = self._subject_locks[subject]
            if users == 1:
                del self._subject_locks[subject]
            else:
                self._subject_locks[subject] = (lock, users - 1)

    async def _journal_and_perform(
        self, operator: Operator, command: Command, params: dict[str, Any]
    ) -> CommandResult:
        journal_id = await self._ledger.begin_command(
            JournalStart(
                at=self._clock.now(),
                operator=operator.name,
                role=str(operator.role),
                session_id=operator.session_id,
                via=operator.via,
                command=command.name,
                params=params,
            )
        )
        token = _ACTING.set(operator)
        try:
            outcome = await self._perform(command)
        finally:
            _ACTING.reset(token)
        status = ResultStatus.OK if outcome.ok else ResultStatus.FAILED
        now = self._clock.now()
        undo = self._undo_spec(operator, command, params, outcome, now) if outcome.ok else None
        pbx_response = None if outcome.pbx_response is None else summarize(outcome.pbx_response)
        readback = None if outcome.readback is None else summarize(outcome.readback)
        audit = self._entry(
            operator,
            command,
            params,
            AuditResult(status.value),
            outcome.detail,
            pbx_response=pbx_response,
            readback=readback,
            journal_id=journal_id,
        )
        finished = await self._ledger.finish_command(
            CommandFinish(
                journal_id=journal_id,
                status=JournalStatus(status.value),
                detail=outcome.detail,
                finished_at=now,
                subject=command.subject(),
                audit=audit,
                undo=undo,
            )
        )
        return CommandResult(
            status,
            outcome.detail,
            command,
            finished.audit.seq,
            journal_id=journal_id,
            pbx_response=pbx_response,
            readback=readback,
            undo_id=finished.undo_id,
        )

    async def _perform(self, command: Command) -> PerformOutcome:
        """The performer's outcome; an exception or a timeout becomes a failed outcome.

        A ``self_timed`` command (a page, a standby call-out) is bounded by its performer's
        own timeouts and may take minutes: the blanket timeout would lose its outcome."""
        limit = None if command.self_timed else self._perform_timeout
        try:
            async with asyncio.timeout(limit):
                outcome = await self._performer.perform(command)
        except TimeoutError:
            return PerformOutcome(
                False,
                f"no outcome within {self._perform_timeout:g} s; the PBX may or may not have "
                "applied it (not re-sent: check the live view)",
            )
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            return PerformOutcome(False, f"not completed: {reason} (not re-sent)")
        if not isinstance(outcome, PerformOutcome):
            kind = type(outcome).__name__
            return PerformOutcome(False, f"performer returned {kind}, not an outcome")
        return outcome

    def _undo_spec(
        self,
        operator: Operator,
        command: Command,
        params: dict[str, Any],
        outcome: PerformOutcome,
        now: float,
    ) -> UndoSpec | None:
        undo = outcome.undo
        subject = command.subject()
        if undo is None or subject is None:
            return None
        minutes = command.expected_duration()
        return UndoSpec(
            at=now,
            operator=operator.name,
            pbx=params.get("pbx"),
            subject=subject,
            action=command.name,
            params=params,
            undo_command=undo.name,
            undo_params=undo.params(),
            value=command.flag_value(),
            previous_value=undo.flag_value(),
            expected_duration_min=minutes,
            due_at=None if minutes is None else now + minutes * 60.0,
        )

    def _entry(
        self,
        operator: Operator,
        command: Command,
        params: dict[str, Any],
        result: AuditResult,
        detail: str,
        *,
        pbx_response: Mapping[str, Any] | None = None,
        readback: Mapping[str, Any] | None = None,
        journal_id: int | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            at=self._clock.now(),
            operator=operator.name,
            role=str(operator.role),
            session_id=operator.session_id,
            via=operator.via,
            action=command.name,
            params=params,
            result=result,
            detail=detail,
            pbx_response=pbx_response,
            readback=readback,
            journal_id=journal_id,
        )
