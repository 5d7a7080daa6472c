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

Closing with ``undo_pbx_changes`` runs every open undo of the incident's PBX steps (most
recent first) through the same nested path, as the closing operator, then closes: the other
closure gates are checked *before* anything is undone (a missing record must not leave the
PBX half-restored and the incident open), and the first undo that fails or whose read-back
disagrees stops it — the incident stays open and the result names what is still in place.
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
    PageStandby,
    RunPbxStep,
    SetReportField,
    SetSurgeLevel,
    StartIncident,
    parse_command,
)
from ccops.core.drill_scenario import ScenarioHost, ScenarioRefused
from ccops.core.execute import CommandResult, Operator, Performer, PerformOutcome, acting_operator
from ccops.core.incident_state import Actor
from ccops.core.incident_undo import UndoOutcome, outcomes_readback, undo_change
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
        scenarios: ScenarioHost | None = None,
    ) -> None:
        self.engine = engine
        self._inner = inner
        self.run_nested = run_nested  # set after the Executor exists (it wraps this performer)
        self._drill_pbx = drill_pbx
        self._closing: dict[int, str] = {}  # incident id → operator undoing and closing it
        self.scenarios = scenarios  # plays drill scenarios (None: not on the simulator)

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
            if c.scenario is not None:
                return await self._start_with_scenario(c, actor)
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
            if c.undo_pbx_changes:
                return await self._undo_and_close(c, operator, actor)
            await e.close(c.incident_id, actor, note=c.note or "",
                          keep_pbx_changes=c.keep_pbx_changes)
            return PerformOutcome(True, f"incident {c.incident_id} closed")
        assert isinstance(c, RunPbxStep)
        return await self._pbx_step(c, operator, actor)

    async def _undo_and_close(
        self, c: CloseIncident, operator: Operator, actor: Actor
    ) -> PerformOutcome:
        e = self.engine
        iid = c.incident_id
        if c.keep_pbx_changes:
            raise IncidentRefused(
                "choose one: undo_pbx_changes undoes the incident's PBX changes, "
                "keep_pbx_changes keeps them (with a note) — not both"
            )
        inc = e.incident(iid)
        if iid in self._closing:  # two "undo and close" at once would undo twice
            raise IncidentRefused(
                f"incident {iid} is being undone and closed by {self._closing[iid]} right now")
        self._closing[iid] = operator.name
        try:
            return await self._undo_then_close(c, operator, actor, inc.is_drill)
        finally:
            del self._closing[iid]

    async def _undo_then_close(
        self, c: CloseIncident, operator: Operator, actor: Actor, drill: bool
    ) -> PerformOutcome:
        e = self.engine
        iid = c.incident_id
        problems = await e.closure_problems(iid, keep_pbx_changes=True)
        if problems:
            raise IncidentRefused("cannot close: " + "; ".join(problems)
                                  + " (no PBX change was undone)")
        changes = await e.open_changes(iid)
        if changes and drill and not self._drill_pbx:
            raise IncidentRefused(
                "this drill's PBX changes were made on the simulator and this daemon runs a "
                "real PBX: they are not undone from here (no PBX change was undone)"
            )
        if changes and self.run_nested is None:
            raise IncidentRefused("PBX undo is not available (no executor attached)")
        done: list[UndoOutcome] = []
        for n, change in enumerate(changes):
            assert self.run_nested is not None
            outcome = await undo_change(self.run_nested, operator, change, e.undo_is_open)
            await e.record_undo(iid, outcome, actor, simulated=drill)
            if not outcome.ok:
                left = "; ".join(ch.where() for ch in changes[n:])
                before = ", ".join(o.change.what for o in done)
                return PerformOutcome(
                    False,
                    f"not closed: undoing {change.what} (step {change.step_id}) failed: "
                    f"{outcome.detail}. Still in place: {left}"
                    + (f". Undone before it: {before}" if before else ""),
                    readback=outcomes_readback([*done, outcome]),
                )
            done.append(outcome)
        try:
            await e.close(iid, actor, note=c.note or "", undone=len(done))
        except IncidentRefused as exc:  # gates re-checked after the undos
            undone = ", ".join(o.change.what for o in done) or "nothing"
            return PerformOutcome(False, f"refused: {exc} (undone: {undone})",
                                  readback=outcomes_readback(done))
        if not done:
            return PerformOutcome(True, f"incident {iid} closed (no PBX change was open)")
        said = "; ".join(f"{o.change.what} ({o.says})" for o in done)
        return PerformOutcome(True, f"incident {iid} closed; undone: {said}",
                              readback=outcomes_readback(done))

    async def _start_with_scenario(self, c: StartIncident, actor: Actor) -> PerformOutcome:
        """A drill that causes its own incident: the scenario is checked first (nothing
        starts if it cannot run), the drill's detection time is the scenario's fault time,
        and the scenario starts with the drill."""
        e = self.engine
        loaded = e.playbooks.get(c.playbook)
        if loaded is None:
            raise IncidentRefused(f"no playbook {c.playbook!r}")
        if self.scenarios is None:
            raise IncidentRefused(
                "drill scenarios play on the embedded simulator, and this daemon runs on a "
                "real PBX: start the drill without a scenario (a real PBX is never touched)")
        lead_s = None if c.lead_min is None else c.lead_min * 60.0
        try:
            prepared = self.scenarios.prepare(loaded.playbook, c.scenario, c.scenario_params,
                                              lead_s, e.site_parameters(c.playbook))
        except ScenarioRefused as exc:
            raise IncidentRefused(str(exc)) from None
        now = e.clock.now()
        inc = await e.start(c.playbook, actor, variant=c.variant, site=c.site or "",
                            detected_at=now + prepared.fault_offset_s, drill=True)
        assert inc.id is not None
        await e.record_drill_scenario(inc.id, prepared.timeline_text(), prepared.as_data(now))
        self.scenarios.begin(inc.id, prepared, now)
        return PerformOutcome(True, f"drill {inc.id} started: {c.playbook}, "
                                    f"{prepared.timeline_text()}",
                              readback={"incident_id": inc.id, "scenario": prepared.name})

    async def _pbx_step(self, c: RunPbxStep, operator: Operator, actor: Actor) -> PerformOutcome:
        e = self.engine
        inc = e.incident(c.incident_id)
        name, params = e.pbx_params(c.incident_id, c.step)
        try:
            pbx_command = parse_command(name, params)
        except CommandError as exc:
            raise IncidentRefused("; ".join(exc.problems)) from None
        if isinstance(pbx_command, PageStandby) and pbx_command.ref is None:
            # Every page of the call-out is audited with the incident and step it was for.
            ref = f"incident {c.incident_id} step {c.step}"
            pbx_command = pbx_command.model_copy(update={"ref": ref})
        summary = pbx_command.summary()
        if inc.is_drill and not self._drill_pbx:
            await e.record_pbx(c.incident_id, c.step, actor, ok=True, summary=summary,
                               detail="drill: not sent", undo_id=None, audit_seq=None,
                               simulated=True)
            return PerformOutcome(True, f"drill: {summary} recorded, not sent to the PBX")
        if self.run_nested is None:
            raise IncidentRefused("PBX steps are not available (no executor attached)")
        result = await self.run_nested(operator, pbx_command)
        readback = dict(result.readback or {})
        # A command that made changes through commands of its own (page_standby: one
        # add_member per person who pressed 1) lists their undo ids and the people: the
        # step keeps both, so closure undoes those changes and the console shows who.
        nested = [u for u in readback.get("undo_ids") or [] if isinstance(u, int)]
        people = [p for p in readback.get("people") or [] if isinstance(p, dict)]
        await e.record_pbx(c.incident_id, c.step, actor, ok=result.ok, summary=summary,
                           detail=result.detail, undo_id=result.undo_id,
                           audit_seq=result.audit_seq, simulated=inc.is_drill,
                           nested_undo_ids=nested, people=people)
        return PerformOutcome(result.ok, f"{summary}: {result.detail}", readback=readback)

