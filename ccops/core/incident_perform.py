"""Incident commands on the one audited path: a :class:`Performer` that drives the engine.

Why a performer and not a side door: ``execute(operator, command)`` already authorises by
capability, journals and audits. Incident commands go through it like PBX commands, and
this performer carries them out on :class:`~ccops.core.incidents.IncidentEngine`, which adds
the checks only it can make (the step's actor role, stale actions, closure gates). Every
other command goes to the wrapped performer (the daemon's PBX performer).

A PBX step (``run_pbx_step``) runs its PBX command through the executor again
(``run_nested``), so the PBX change is authorised with its own capability, audited on its
own line and gets its undo entry; the step records the outcome and the undo id. In a drill
the command goes nowhere unless ``drill_pbx`` is true (the daemon runs on the simulator).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ccops.core.commands import (
    AcknowledgeStep,
    AddIncidentNote,
    ChangeTimer,
    CloseIncident,
    Command,
    CommandError,
    CompleteStep,
    RunPbxStep,
    SetReportField,
    SetSurgeLevel,
    StartIncident,
    parse_command,
)
from ccops.core.execute import CommandResult, Operator, Performer, PerformOutcome, acting_operator
from ccops.core.incident_state import Actor
from ccops.core.incidents import IncidentEngine, IncidentRefused, clock_text

INCIDENT_COMMANDS = (
    StartIncident,
    CompleteStep,
    AcknowledgeStep,
    AddIncidentNote,
    ChangeTimer,
    SetSurgeLevel,
    SetReportField,
    RunPbxStep,
    CloseIncident,
)

RunNested = Callable[[Operator, Command], Awaitable[CommandResult]]


class IncidentPerformer:
    """Implements :class:`~ccops.core.execute.Performer`: incident commands → the engine."""

    def __init__(
        self,
        engine: IncidentEngine,
        inner: Performer,
        *,
        run_nested: RunNested | None = None,
        drill_pbx: bool = False,
    ) -> None:
        self.engine = engine
        self._inner = inner
        self.run_nested = run_nested  # set after the Executor exists (it wraps this performer)
        self._drill_pbx = drill_pbx

    async def perform(self, command: Command) -> PerformOutcome:
        if not isinstance(command, INCIDENT_COMMANDS):
            return await self._inner.perform(command)
        operator = acting_operator()
        if operator is None:
            return PerformOutcome(False, "refused: incident commands run through execute()")
        actor = Actor(operator.name, operator.role)
        try:
            return await self._dispatch(command, operator, actor)
        except IncidentRefused as exc:
            return PerformOutcome(False, f"refused: {exc}")

    async def _dispatch(self, c: Command, operator: Operator, actor: Actor) -> PerformOutcome:
        e = self.engine
        if isinstance(c, StartIncident):
            detected = e.clock.now() - c.detected_ago_min * 60.0
            inc = await e.start(c.playbook, actor, variant=c.variant, site=c.site or "",
                                detected_at=detected, drill=c.drill)
            kind = "drill" if c.drill else "incident"
            return PerformOutcome(True, f"{kind} {inc.id} started: {c.playbook}",
                                  readback={"incident_id": inc.id})
        if isinstance(c, CompleteStep):
            row = await e.complete_step(c.incident_id, c.step, actor, record=c.record,
                                        note=c.note or "", waive=c.waive)
            at = clock_text(row.done_at or 0)
            return PerformOutcome(True, f"step {c.step} {row.state} at {at}")
        if isinstance(c, AcknowledgeStep):
            await e.acknowledge(c.incident_id, c.step, actor)
            return PerformOutcome(True, f"step {c.step} acknowledged")
        if isinstance(c, AddIncidentNote):
            await e.add_note(c.incident_id, c.text, actor)
            return PerformOutcome(True, "note added")
        if isinstance(c, ChangeTimer):
            t = await e.change_timer(c.incident_id, c.timer, e.clock.now() + c.due_in_min * 60.0,
                                     c.note, actor)
            return PerformOutcome(True, f"timer {c.timer} now due {clock_text(t.due_at or 0)}")
        if isinstance(c, SetSurgeLevel):
            await e.set_level(c.incident_id, c.level, c.note, actor)
            return PerformOutcome(True, f"incident {c.incident_id} at level {c.level}")
        if isinstance(c, SetReportField):
            await e.set_report_field(c.incident_id, c.field.value, c.text, actor)
            return PerformOutcome(True, f"report {c.field} set")
        if isinstance(c, CloseIncident):
            await e.close(c.incident_id, actor, note=c.note or "",
                          keep_pbx_changes=c.keep_pbx_changes)
            return PerformOutcome(True, f"incident {c.incident_id} closed")
        assert isinstance(c, RunPbxStep)
        return await self._pbx_step(c, operator, actor)

    async def _pbx_step(self, c: RunPbxStep, operator: Operator, actor: Actor) -> PerformOutcome:
        e = self.engine
        inc = e.incident(c.incident_id)
        name, params = e.pbx_params(c.incident_id, c.step)
        try:
            pbx_command = parse_command(name, params)
        except CommandError as exc:
            raise IncidentRefused("; ".join(exc.problems)) from None
        summary = pbx_command.summary()
        if inc.is_drill and not self._drill_pbx:
            await e.record_pbx(c.incident_id, c.step, actor, ok=True, summary=summary,
                               detail="drill: not sent", undo_id=None, audit_seq=None,
                               simulated=True)
            return PerformOutcome(True, f"drill: {summary} recorded, not sent to the PBX")
        if self.run_nested is None:
            raise IncidentRefused("PBX steps are not available (no executor attached)")
        result = await self.run_nested(operator, pbx_command)
        await e.record_pbx(c.incident_id, c.step, actor, ok=result.ok, summary=summary,
                           detail=result.detail, undo_id=result.undo_id,
                           audit_seq=result.audit_seq, simulated=inc.is_drill)
        readback = dict(result.readback or {})
        return PerformOutcome(result.ok, f"{summary}: {result.detail}", readback=readback)

