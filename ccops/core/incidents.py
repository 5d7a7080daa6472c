"""The incident engine: playbook steps, absolute timers, levels, notifications, closure.

Why an engine in the core and not in a screen: the seeds' timers ("report within 5 minutes",
"not recovered at 10 minutes → notify", "30 minutes per surge level") must fire whether or
not anyone has a console open, and at the right second after a daemon restart. So:

* every timer is an **absolute** due time computed when its anchor happens (detection,
  start, another step's completion, the start of a level) and kept in the store;
* :meth:`IncidentEngine.tick` fires every due timer in due order, recording its lateness
  (a deadline missed while the daemon was down fires at once on start, late by that much);
* every change is saved with its timeline entries in one transaction before the caller
  hears of it; a timer fires exactly once because its state changes in that transaction;
* what must reach people (console alerts, phone pages) is emitted as *intents*
  (:class:`ConsoleNotice`, :class:`PageRequest`) that the daemon delivers; the engine does
  not know about sockets or AMI.

Refusals (wrong role, stale action, closure gate) raise :class:`IncidentRefused` with a
sentence for the operator, e.g. "step report_supervisor already completed by li at 10:04:31".
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ccops.core.clock import Clock
from ccops.core.incident_state import (
    FINISHED,
    SYSTEM,
    Actor,
    Incident,
    IncidentRepository,
    IncidentStatus,
    NotificationRow,
    StepRow,
    StepState,
    TimelineEntry,
    TimerRow,
    TimerState,
    UndoLookup,
)
from ccops.core.incident_undo import OpenChange, UndoOutcome, most_recent_first
from ccops.core.playbook_load import LoadedPlaybook, load_pinned
from ccops.core.playbook_model import (
    JOB_ROLES,
    DeadlineStep,
    EscalationStep,
    Notify,
    NotifyStep,
    PbxStep,
    Playbook,
    Span,
    Step,
    WatchdogStep,
    format_span,
    may_act_for,
    parse_span,
    substitute,
)
from ccops.core.roles import Role

REPORT_FIELDS = ("site", "impact", "measures", "trend", "other")
"""Free-text items of the domain.md §2.5 report the operator fills in (time and type come
from the incident itself)."""

DRILL_FIELDS = ("evaluation", "participants")
"""Drill record items set by people (domain.md §2.5: time, content, participants,
evaluation): the evaluator's text, and participants beyond those on the timeline. They may
be set after the drill closed (the debrief comes later)."""

_MAX_DRILL_LEAD_S = 2 * 3600.0


class IncidentRefused(Exception):
    """The action is not allowed now; the message is for the operator."""


@dataclass(frozen=True, slots=True)
class ConsoleNotice:
    """Alert every connected operator holding one of ``roles`` (repeat until acked)."""

    incident_id: int
    step_id: str
    roles: frozenset[Role]
    job_roles: tuple[str, ...]
    message: str
    drill: bool


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Phone ``person`` (from the on-call roster for ``job_role``) and play ``message``.

    The pager (ccops.daemon) originates the call; a keypress "1" comes back as
    :meth:`IncidentEngine.acknowledge_page` with ``incident_id`` and ``notification_seq``.
    Drill pages must only reach the simulator.
    """

    incident_id: int
    notification_seq: int
    step_id: str
    job_role: str
    person: str
    message: str
    drill: bool


Intent = ConsoleNotice | PageRequest
_Pending = tuple[str, str, tuple[str, ...], str, str, int]  # channel, step, jobs, who, msg, seq


def _due_timers(inc_id: int, inc: Incident, now: float) -> list[tuple[float, int, str]]:
    """(due_at, incident id, timer key) of the incident's armed timers due at ``now``."""
    return [(t.due_at, inc_id, key) for key, t in inc.timers.items()
            if t.state is TimerState.ARMED and t.due_at is not None and t.due_at <= now]


def clock_text(at: float) -> str:
    """UTC wall time for timeline sentences (the console shows local time)."""
    return time.strftime("%H:%M:%S", time.gmtime(at))


class IncidentEngine:
    """Owns the open incidents; every public method saves before it returns."""

    def __init__(
        self,
        repo: IncidentRepository,
        clock: Clock,
        playbooks: Mapping[str, LoadedPlaybook],
        *,
        roster: Mapping[str, Sequence[str]] | None = None,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        undos: UndoLookup | None = None,
    ) -> None:
        self._repo = repo
        self._clock = clock
        self.playbooks = dict(playbooks)
        self._roster = {k: tuple(v) for k, v in (roster or {}).items()}
        self._site_params = {k: dict(v) for k, v in (parameters or {}).items()}
        self._undos = undos
        self._open: dict[int, Incident] = {}
        self._defs: dict[int, Playbook] = {}
        self._outbox: list[Intent] = []
        # Notifications made during one change, emitted only once it is saved.
        self._pending: dict[int, list[_Pending]] = {}  # id(incident) → not yet emitted
        self._unsaved: dict[int, int] = {}  # id(incident) → timeline entries not yet saved

    # ------------------------------------------------------------------ lifecycle

    async def load(self) -> int:
        """Load open incidents (daemon start); then :meth:`tick` fires what came due."""
        self._open.clear()
        self._defs.clear()
        pinned: dict[str, Playbook] = {}  # one validation per pinned version, not per incident
        for inc in await self._repo.open_incidents():
            assert inc.id is not None
            self._open[inc.id] = inc
            pb = pinned.get(inc.playbook_digest)
            if pb is None:
                pb = pinned[inc.playbook_digest] = load_pinned(inc.document)
            self._defs[inc.id] = pb
        return len(self._open)

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def open_incidents(self) -> list[Incident]:
        return [self._open[k] for k in sorted(self._open)]

    def incident(self, incident_id: int) -> Incident:
        inc = self._open.get(incident_id)
        if inc is None:
            raise IncidentRefused(f"incident {incident_id} is not open")
        return inc

    def definition(self, incident_id: int) -> Playbook:
        """The pinned definition the incident started with (not today's file)."""
        self.incident(incident_id)
        return self._defs[incident_id]

    def site_parameters(self, playbook_id: str) -> dict[str, Any]:
        """The site's configured parameter values for a playbook."""
        return dict(self._site_params.get(playbook_id, {}))

    async def stored(self, incident_id: int) -> Incident | None:
        """Any incident, open or closed, as the store has it (reports, history)."""
        return await self._repo.get_incident(incident_id)

    def take_intents(self) -> list[Intent]:
        """Notifications and pages to deliver, oldest first (the daemon drains this)."""
        out, self._outbox = self._outbox, []
        return out

    def next_due(self) -> float | None:
        """The earliest armed timer (the daemon sleeps until then; the badge counts down)."""
        dues = [
            t.due_at
            for inc in self._open.values()
            for t in inc.timers.values()
            if t.state is TimerState.ARMED and t.due_at is not None
        ]
        return min(dues, default=None)

    # ------------------------------------------------------------------ start

    async def start(
        self,
        playbook_id: str,
        actor: Actor,
        *,
        variant: str | None = None,
        site: str = "",
        detected_at: float | None = None,
        drill: bool = False,
    ) -> Incident:
        """Open an incident, pinning the playbook's current version and hash."""
        loaded = self.playbooks.get(playbook_id)
        if loaded is None:
            raise IncidentRefused(f"no playbook {playbook_id!r}")
        pb = loaded.playbook
        if actor.role is not None and actor.role is not Role.ADMIN and (
            actor.role not in pb.start_roles
        ):
            allowed = ", ".join(r.value for r in pb.start_roles)
            raise IncidentRefused(f"role {actor.role} may not start {pb.id} (allowed: {allowed})")
        if pb.variants and variant not in pb.variants:
            choices = ", ".join(pb.variants)
            raise IncidentRefused(f"{pb.id} needs a variant: one of {choices}")
        if not pb.variants and variant is not None:
            raise IncidentRefused(f"{pb.id} has no variants")
        now = self._clock.now()
        detected = now if detected_at is None else detected_at
        # A drill with a lead time detects at its scenario's (future) fault time.
        if detected > now and not (drill and detected - now <= _MAX_DRILL_LEAD_S):
            raise IncidentRefused("the detection time is in the future")
        inc = Incident(
            id=None,
            playbook_id=pb.id,
            playbook_version=pb.version,
            playbook_digest=loaded.digest,
            document=pb.model_dump(mode="json"),
            variant=variant,
            site=site,
            is_drill=drill,
            status=IncidentStatus.OPEN,
            detected_at=detected,
            started_at=now,
            started_by=actor.name,
            parameters=dict(self._site_params.get(pb.id, {})),
        )
        if site:
            inc.report["site"] = site
        what = f"{pb.title} (v{pb.version}, {loaded.digest[:12]})"
        if variant:
            what += f", variant {variant}: {pb.variants[variant]}"
        self._log(inc, actor, now, "started", ("DRILL: " if drill else "") + what,
                  data={"detected_at": detected})
        for step in pb.steps_for(variant):
            inc.steps[step.id] = StepRow(step.id, step.kind, StepState.PENDING, step.actor)
            self._arm_step(inc, pb, step, now)
        await self._save(inc, pb)
        return inc

    def _arm_step(self, inc: Incident, pb: Playbook, step: Step, now: float) -> None:
        row = inc.steps[step.id]
        if isinstance(step, DeadlineStep):
            self._new_timer(inc, pb, step.id, "deadline", step.within, step.anchor, now)
        elif isinstance(step, WatchdogStep):
            row.state = StepState.ARMED
            self._new_timer(inc, pb, step.id, "watchdog", step.at, step.anchor, now)
        elif isinstance(step, EscalationStep):
            row.state = StepState.ACTIVE
            self._enter_level(inc, pb, step, 1, inc.started_at, now, SYSTEM, "")
        elif isinstance(step, NotifyStep) and step.anchor in ("started", "detected"):
            self._notify(inc, step.id, step.notify, step.title, now, SYSTEM)
            row.state = StepState.FIRED

    def _span_seconds(self, inc: Incident, pb: Playbook, span: Span) -> int | None:
        if span.param is None:
            return span.seconds
        value = inc.parameters.get(span.param, pb.parameters[span.param].default)
        if value is None:
            return None
        return parse_span(str(value))

    def _anchor_time(self, inc: Incident, anchor: str) -> float | None:
        if anchor == "detected":
            return inc.detected_at
        if anchor == "started":
            return inc.started_at
        row = inc.steps.get(anchor.removeprefix("step:"))
        return None if row is None else row.done_at

    def _new_timer(
        self, inc: Incident, pb: Playbook, step_id: str, kind: str, span: Span, anchor: str,
        now: float,
    ) -> None:
        seconds = self._span_seconds(inc, pb, span)
        if seconds is None:
            inc.timers[step_id] = TimerRow(step_id, step_id, kind, TimerState.UNSET, None,
                                           note=f"parameter ${span.param} not set")
            self._log(inc, SYSTEM, now, "timer_unset",
                      f"{step_id}: not armed, parameter ${span.param} is not set", step_id)
            return
        base = self._anchor_time(inc, anchor)
        if base is None:
            inc.timers[step_id] = TimerRow(step_id, step_id, kind, TimerState.WAITING, None,
                                           note=f"{seconds}s after {anchor}")
            return
        inc.timers[step_id] = TimerRow(step_id, step_id, kind, TimerState.ARMED, base + seconds)

    # ------------------------------------------------------------------ levels

    def _enter_level(
        self, inc: Incident, pb: Playbook, step: EscalationStep, level: int, started: float,
        now: float, actor: Actor, why: str,
    ) -> None:
        lv = step.levels[level - 1]
        previous = inc.level
        inc.level = level
        inc.level_started_at = started
        for t in inc.timers.values():  # a manual change replaces the pending level timer
            if t.step_id == step.id and t.state is TimerState.ARMED:
                t.state = TimerState.CANCELLED
                t.note = f"superseded by level {level}"
        text = f"level {level}: {lv.title}" + (f" ({why})" if why else "")
        self._log(inc, actor, now, "level", text,
                  step.id, data={"level": level, "previous": previous, "started_at": started})
        if lv.notify.roles or lv.notify.page:
            self._notify(inc, step.id, lv.notify, f"Level {level}: {lv.title}", now, actor)
        if level < len(step.levels):
            nxt = step.levels[level]
            key = f"{step.id}:L{level + 1}"
            assert nxt.after is not None  # cross_check guarantees it
            seconds = self._span_seconds(inc, pb, nxt.after)
            if seconds is None:
                inc.timers[key] = TimerRow(key, step.id, "level", TimerState.UNSET, None,
                                           level + 1, note=f"parameter ${nxt.after.param} not set")
            else:
                inc.timers[key] = TimerRow(key, step.id, "level", TimerState.ARMED,
                                           started + seconds, level + 1)

    # ------------------------------------------------------------------ timers

    async def tick(self, now: float | None = None) -> list[Intent]:
        """Fire every armed timer due at ``now``, earliest first; return the new intents.

        Timers created by a firing (the next surge level) fire in the same tick if they are
        due too: after a long outage of the daemon, levels 2 and 3 both fire, each with its
        own lateness.
        """
        now = self._clock.now() if now is None else now
        touched: dict[int, Incident] = {}
        # One scan for what is due, then a heap (bench/incident_engine.py: a rescan of every
        # incident per firing made 250 due timers cost 250 full scans). A firing only
        # changes timers of its own incident, so only that incident is looked at again.
        armed = TimerState.ARMED
        heap = [(t.due_at, inc_id, key) for inc_id, inc in self._open.items()
                for key, t in inc.timers.items()
                if t.state is armed and t.due_at is not None and t.due_at <= now]
        heapq.heapify(heap)
        queued = set(heap)
        while heap:
            due_at, inc_id, key = heapq.heappop(heap)
            inc = self._open[inc_id]
            t = inc.timers.get(key)
            if t is None or t.state is not TimerState.ARMED or t.due_at != due_at:
                continue  # cancelled or moved by an earlier firing of its incident
            self._fire(inc, self._defs[inc_id], t, now)
            touched[inc_id] = inc
            for cand in _due_timers(inc_id, inc, now):  # e.g. the next level, due too
                if cand not in queued:
                    queued.add(cand)
                    heapq.heappush(heap, cand)
        # One transaction per incident for all its firings (with their timeline lines): a
        # firing is durable exactly when the lines saying it fired are.
        failed: Exception | None = None
        for inc_id, inc in sorted(touched.items()):
            try:
                await self._save(inc, self._defs[inc_id])
            except Exception as exc:  # the others still get saved; the first error is raised
                failed = failed or exc
        if failed is not None:
            raise failed
        return self.take_intents()

    def _fire(self, inc: Incident, pb: Playbook, t: TimerRow, now: float) -> None:
        assert t.due_at is not None
        t.state = TimerState.FIRED
        t.fired_at = now
        t.lateness = now - t.due_at
        late = f", {format_span(t.lateness)} late" if t.lateness >= 1 else ""
        step = pb.step(t.step_id)
        row = inc.steps[t.step_id]
        data = {"due_at": t.due_at, "lateness": t.lateness}
        if isinstance(step, DeadlineStep):
            row.overdue_since = t.due_at
            self._log(inc, SYSTEM, now, "deadline_missed",
                      f"{step.title}: not done within {step.within} (due {clock_text(t.due_at)}"
                      f"{late})", step.id, data)
            notify = Notify(roles=(step.actor, *step.notify.roles), page=step.notify.page,
                            message=step.notify.message)
            self._notify(inc, step.id, notify, f"Deadline missed: {step.title}", now, SYSTEM)
        elif isinstance(step, WatchdogStep):
            row.state = StepState.FIRED
            self._log(inc, SYSTEM, now, "watchdog_fired",
                      f"{step.title} (due {clock_text(t.due_at)}{late})", step.id, data)
            notify = Notify(roles=(step.actor, *step.notify.roles), page=step.notify.page,
                            message=step.notify.message)
            self._notify(inc, step.id, notify, step.title, now, SYSTEM)
        elif isinstance(step, EscalationStep) and t.level is not None:
            after = step.levels[t.level - 1].after
            due = clock_text(t.due_at)
            why = f"level {t.level - 1} not controlled for {after} (due {due}{late})"
            self._enter_level(inc, pb, step, t.level, t.due_at, now, SYSTEM, why)

    # ------------------------------------------------------------------ steps

    def _step(self, inc: Incident, step_id: str) -> tuple[Step, StepRow]:
        pb = self._defs[inc.id] if inc.id is not None else None
        row = inc.steps.get(step_id)
        if pb is None or row is None:
            raise IncidentRefused(f"incident {inc.id} has no step {step_id!r}")
        return pb.step(step_id), row

    def _check_actor(self, step: Step, actor: Actor, *, also: Sequence[str] = ()) -> None:
        if actor.role is None:
            return
        if may_act_for(actor.role, step.actor) or any(may_act_for(actor.role, j) for j in also):
            return
        who = JOB_ROLES[step.actor].title
        raise IncidentRefused(f"step {step.id} is for the {who}; role {actor.role} may not act")

    async def complete_step(
        self,
        incident_id: int,
        step_id: str,
        actor: Actor,
        *,
        record: Mapping[str, str] | None = None,
        note: str = "",
        waive: bool = False,
    ) -> StepRow:
        """Mark a step done (or waived, with a note). A second completion is refused."""
        inc = self.incident(incident_id)
        pb = self._defs[incident_id]
        step, row = self._step(inc, step_id)
        self._check_actor(step, actor)
        self._refuse_stale(step, row)
        if isinstance(step, WatchdogStep | NotifyStep):
            raise IncidentRefused(f"step {step_id} is acknowledged, not completed")
        if isinstance(step, EscalationStep):
            raise IncidentRefused(f"step {step_id} ends when step {step.unless} is done")
        if isinstance(step, PbxStep) and not waive:
            raise IncidentRefused(
                f"step {step_id} is a PBX action: run it (run_pbx_step) or waive it with a note"
            )
        if waive and not note.strip():
            raise IncidentRefused("waiving a step needs a note saying why")
        if not waive:
            for need in step.needs:
                need_row = inc.steps.get(need)
                if need_row is not None and need_row.state not in FINISHED:
                    raise IncidentRefused(f"step {step_id} needs step {need} first")
        record = dict(record or {})
        known = {f.name: f for f in step.record}
        unknown = sorted(set(record) - set(known))
        if unknown:
            raise IncidentRefused(f"step {step_id} records no {', '.join(unknown)}")
        if not waive:
            missing = [f.name for f in step.record if f.required and not record.get(f.name)]
            if missing:
                raise IncidentRefused(f"step {step_id} needs {', '.join(missing)} recorded")
        for name, value in record.items():
            f = known[name]
            if f.type == "choice" and f.choices and value not in f.choices:
                raise IncidentRefused(f"{name}: one of {', '.join(f.choices)}")
        now = self._clock.now()
        row.state = StepState.WAIVED if waive else StepState.DONE
        row.done_at = now
        row.done_by = actor.name
        row.record.update(record)
        data: dict[str, Any] = {"record": record}
        detail = f"{step.title}"
        if isinstance(step, DeadlineStep):
            t = inc.timers.get(step.id)
            if t is not None and t.due_at is not None:
                margin = t.due_at - now
                data["margin"] = margin
                detail += (f" ({format_span(margin)} before the deadline)" if margin >= 0
                           else f" ({format_span(-margin)} after the deadline)")
                if t.state is TimerState.ARMED:
                    t.state = TimerState.CANCELLED
                    t.note = "done in time"
        if note:
            detail += f": {note}"
        self._log(inc, actor, now, "step_waived" if waive else "step_done", detail, step.id, data)
        self._after_done(inc, pb, step.id, now)
        await self._save(inc, pb)
        return row

    def _refuse_stale(self, step: Step, row: StepRow) -> None:
        if row.state in (StepState.DONE, StepState.WAIVED) and row.done_at is not None:
            verb = "waived" if row.state is StepState.WAIVED else "completed"
            raise IncidentRefused(
                f"step {step.id} already {verb} by {row.done_by} at {clock_text(row.done_at)}"
            )
        if row.state is StepState.ACKNOWLEDGED and row.acked_at is not None:
            raise IncidentRefused(
                f"step {step.id} already acknowledged by {row.acked_by} at "
                f"{clock_text(row.acked_at)}"
            )
        if row.state is StepState.CANCELLED:
            raise IncidentRefused(f"step {step.id} was cancelled (its condition already held)")

    def _after_done(self, inc: Incident, pb: Playbook, step_id: str, now: float) -> None:
        """A step finished: cancel watchdogs/escalations it settles, arm what it anchors."""
        for step in pb.steps_for(inc.variant):
            row = inc.steps[step.id]
            if isinstance(step, WatchdogStep | EscalationStep) and step.unless == step_id:
                for t in inc.timers.values():
                    if t.step_id == step.id and t.state in (TimerState.ARMED, TimerState.WAITING):
                        t.state = TimerState.CANCELLED
                        t.note = f"{step_id} done"
                if row.state in (StepState.ARMED, StepState.ACTIVE):
                    row.state = StepState.CANCELLED if isinstance(step, WatchdogStep) else (
                        StepState.DONE)
                    if isinstance(step, EscalationStep):
                        row.done_at = now
                        row.done_by = SYSTEM.name
                    self._log(inc, SYSTEM, now, "timer_cancelled",
                              f"{step.title}: not needed, {step_id} done", step.id)
            anchor = getattr(step, "anchor", None)
            if anchor == f"step:{step_id}":
                if isinstance(step, NotifyStep):
                    self._notify(inc, step.id, step.notify, step.title, now, SYSTEM)
                    row.state = StepState.FIRED
                    continue
                waiting = inc.timers.get(step.id)
                if waiting is None or waiting.state is not TimerState.WAITING:
                    continue
                if isinstance(step, DeadlineStep):
                    seconds = self._span_seconds(inc, pb, step.within)
                elif isinstance(step, WatchdogStep):
                    seconds = self._span_seconds(inc, pb, step.at)
                else:
                    continue
                if seconds is not None:
                    waiting.state = TimerState.ARMED
                    waiting.due_at = now + seconds

    async def acknowledge(self, incident_id: int, step_id: str, actor: Actor) -> StepRow:
        """Acknowledge a fired watchdog, a notification or a missed deadline's alert."""
        inc = self.incident(incident_id)
        step, row = self._step(inc, step_id)
        also: tuple[str, ...] = ()
        if isinstance(step, WatchdogStep | NotifyStep | DeadlineStep):
            also = (*step.notify.roles, *step.notify.page)
        self._check_actor(step, actor, also=also)
        self._refuse_stale(step, row)
        now = self._clock.now()
        if isinstance(step, WatchdogStep | NotifyStep):
            if row.state is not StepState.FIRED:
                raise IncidentRefused(f"step {step_id} has not fired yet ({row.state})")
            row.state = StepState.ACKNOWLEDGED
        elif not any(n.step_id == step_id and n.acked_at is None for n in inc.notifications):
            raise IncidentRefused(f"step {step_id} has no notification to acknowledge")
        row.acked_at = now
        row.acked_by = actor.name
        for n in inc.notifications:
            if n.step_id == step_id and n.acked_at is None:
                n.acked_at, n.acked_by = now, actor.name
        self._log(inc, actor, now, "acknowledged", step.title, step_id)
        await self._save(inc, self._defs[incident_id])
        return row

    async def acknowledge_page(
        self, incident_id: int, notification_seq: int, person: str
    ) -> NotificationRow:
        """The phone keypress "1" (a dialplan UserEvent) acknowledging one page."""
        inc = self.incident(incident_id)
        found = [n for n in inc.notifications if n.seq == notification_seq]
        if not found or found[0].channel != "phone":
            raise IncidentRefused(f"incident {incident_id} has no page {notification_seq}")
        n = found[0]
        if n.acked_at is not None:
            raise IncidentRefused(
                f"page {notification_seq} already acknowledged by {n.acked_by} at "
                f"{clock_text(n.acked_at)}"
            )
        now = self._clock.now()
        n.acked_at, n.acked_by = now, person
        row = inc.steps[n.step_id]
        if row.state is StepState.FIRED:
            row.state = StepState.ACKNOWLEDGED
            row.acked_at, row.acked_by = now, person
            for other in inc.notifications:  # the step is acknowledged: stop its alerts
                if other.step_id == n.step_id and other.acked_at is None:
                    other.acked_at, other.acked_by = now, person
        self._log(inc, Actor(person, None), now, "acknowledged",
                  f"page acknowledged by phone (keypress 1) by {person}", n.step_id,
                  {"notification_seq": notification_seq, "channel": "phone"})
        await self._save(inc, self._defs[incident_id])
        return n

    # ------------------------------------------------------------------ notifications

    def _notify(
        self, inc: Incident, step_id: str, notify: Notify, title: str, now: float, actor: Actor
    ) -> None:
        message = notify.message or title
        roles: set[Role] = set()
        wanted = list(dict.fromkeys(notify.roles))
        console_jobs = [j for j in wanted if JOB_ROLES[j].console]
        for j in console_jobs:
            roles.update(JOB_ROLES[j].acts_as)
        if console_jobs:
            seq = len(inc.notifications) + 1
            inc.notifications.append(
                NotificationRow(seq, step_id, "console", ",".join(console_jobs), now, message)
            )
            self._log(inc, actor, now, "notified",
                      f"console alert to {', '.join(console_jobs)}: {message}", step_id,
                      {"notification_seq": seq, "roles": sorted(r.value for r in roles)})
            self._pending.setdefault(id(inc), []).append(
                ("console", step_id, tuple(console_jobs), "", message, seq))
        offline = [j for j in wanted if not JOB_ROLES[j].console]
        for j in dict.fromkeys((*notify.page, *offline)):
            people = self._roster.get(j, ())
            if not people:
                self._log(inc, actor, now, "page_unresolved",
                          f"no on-call person for {JOB_ROLES[j].title} in the roster: "
                          f"tell them by phone yourself", step_id, {"job_role": j})
                continue
            for person in people:
                seq = len(inc.notifications) + 1
                inc.notifications.append(
                    NotificationRow(seq, step_id, "phone", person, now, message)
                )
                self._log(inc, actor, now, "paged", f"page {person} ({j}): {message}", step_id,
                          {"notification_seq": seq, "job_role": j, "person": person})
                self._pending.setdefault(id(inc), []).append(
                    ("phone", step_id, (j,), person, message, seq))

    def _emit_pending(self, inc: Incident) -> None:
        assert inc.id is not None
        for channel, step_id, jobs, person, message, seq in self._pending.pop(id(inc), []):
            if channel == "console":
                roles = frozenset(r for j in jobs for r in JOB_ROLES[j].acts_as)
                self._outbox.append(ConsoleNotice(inc.id, step_id, roles, jobs, message,
                                                  inc.is_drill))
            else:
                self._outbox.append(PageRequest(inc.id, seq, step_id, jobs[0], person, message,
                                                inc.is_drill))

    # ------------------------------------------------------------------ notes, timers, levels

    async def add_note(self, incident_id: int, text: str, actor: Actor) -> None:
        inc = self.incident(incident_id)
        if not text.strip():
            raise IncidentRefused("a note needs text")
        self._log(inc, actor, self._clock.now(), "note", text.strip())
        await self._save(inc, self._defs[incident_id])

    async def change_timer(
        self, incident_id: int, key: str, due_at: float, note: str, actor: Actor
    ) -> TimerRow:
        """Move an armed (or unset) timer; a note is required and lands on the timeline."""
        inc = self.incident(incident_id)
        t = inc.timers.get(key)
        if t is None:
            raise IncidentRefused(f"incident {incident_id} has no timer {key!r}")
        if not note.strip():
            raise IncidentRefused("changing a timer needs a note saying why")
        step, _row = self._step(inc, t.step_id)
        self._check_actor(step, actor, also=("cc_supervisor",))
        if t.state not in (TimerState.ARMED, TimerState.UNSET):
            raise IncidentRefused(f"timer {key} is {t.state}; only a pending timer can change")
        now = self._clock.now()
        old = "unset" if t.due_at is None else clock_text(t.due_at)
        t.due_at, t.state, t.note = due_at, TimerState.ARMED, note.strip()
        self._log(inc, actor, now, "timer_changed",
                  f"{key}: {old} → {clock_text(due_at)}: {note.strip()}", t.step_id,
                  {"old_due_at": None if old == "unset" else t.due_at, "due_at": due_at})
        await self._save(inc, self._defs[incident_id])
        return t

    async def set_level(self, incident_id: int, level: int, note: str, actor: Actor) -> None:
        """A supervisor moves the surge level by hand (the next level's timer restarts)."""
        inc = self.incident(incident_id)
        pb = self._defs[incident_id]
        esc = [s for s in pb.steps_for(inc.variant) if isinstance(s, EscalationStep)]
        if not esc:
            raise IncidentRefused(f"{pb.id} has no support levels")
        step = esc[0]
        self._check_actor(step, actor, also=("cc_supervisor",))
        if inc.steps[step.id].state is not StepState.ACTIVE:
            raise IncidentRefused(f"the escalation {step.id} is over ({inc.steps[step.id].state})")
        if not 1 <= level <= len(step.levels):
            raise IncidentRefused(f"level must be 1 to {len(step.levels)}")
        if level == inc.level:
            raise IncidentRefused(f"already at level {level}")
        if not note.strip():
            raise IncidentRefused("changing the level needs a note saying why")
        now = self._clock.now()
        self._enter_level(inc, pb, step, level, now, now, actor, note.strip())
        await self._save(inc, pb)

    async def set_report_field(self, incident_id: int, name: str, text: str, actor: Actor) -> None:
        """Fill one of the §2.5 report items (site, impact, measures, trend, other), or for
        a drill its record's evaluation and participants (also once it is closed)."""
        if name in DRILL_FIELDS:
            await self._set_drill_field(incident_id, name, text, actor)
            return
        inc = self.incident(incident_id)
        if name not in REPORT_FIELDS:
            raise IncidentRefused(
                f"report field must be one of {', '.join(REPORT_FIELDS + DRILL_FIELDS)}")
        inc.report[name] = text.strip()
        if name == "site":
            inc.site = text.strip()
        self._log(inc, actor, self._clock.now(), "report_field", f"{name}: {text.strip()}")
        await self._save(inc, self._defs[incident_id])

    async def _set_drill_field(self, incident_id: int, name: str, text: str, actor: Actor) -> None:
        inc = self._open.get(incident_id) or await self._repo.get_incident(incident_id)
        if inc is None:
            raise IncidentRefused(f"no incident {incident_id}")
        if not inc.is_drill:
            raise IncidentRefused(f"{name} belongs to drill records; incident {incident_id} "
                                  "is not a drill")
        value = text.strip()
        if name == "participants":  # one list, comma separated, duplicates dropped
            value = ", ".join(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
        inc.report[name] = value
        self._log(inc, actor, self._clock.now(), "report_field", f"{name}: {value}")
        pb = self._defs.get(incident_id) or load_pinned(inc.document)
        await self._save(inc, pb)

    async def record_drill_scenario(
        self, incident_id: int, detail: str, data: Mapping[str, Any]
    ) -> None:
        """A drill's scenario started (or resumed) on the simulator: on the timeline, with
        what a restarted daemon needs to resume it (:mod:`ccops.core.drill_scenario`)."""
        inc = self.incident(incident_id)
        if not inc.is_drill:
            raise IncidentRefused(f"incident {incident_id} is not a drill")
        self._log(inc, SYSTEM, self._clock.now(), "drill_scenario", detail, data=data)
        await self._save(inc, self._defs[incident_id])

    # ------------------------------------------------------------------ PBX steps

    def pbx_params(self, incident_id: int, step_id: str) -> tuple[str, dict[str, Any]]:
        """The command name and parameters a PBX step would run (the preview).

        Raises :class:`IncidentRefused` naming the parameter when one is not set.
        """
        inc = self.incident(incident_id)
        step, _row = self._step(inc, step_id)
        if not isinstance(step, PbxStep):
            raise IncidentRefused(f"step {step_id} is not a PBX action")
        pb = self._defs[incident_id]
        # Site values as configured now: a PBX fact set after the incident started counts.
        values = {**inc.parameters, **self._site_params.get(pb.id, {})}
        try:
            return step.command, substitute(step.params, pb.parameters, values)
        except KeyError as exc:
            raise IncidentRefused(
                f"step {step_id} needs parameter ${exc.args[0]} set for playbook {pb.id} "
                "(config [playbooks.parameters])"
            ) from None

    async def record_pbx(
        self, incident_id: int, step_id: str, actor: Actor, *, ok: bool, summary: str,
        detail: str, undo_id: int | None, audit_seq: int | None, simulated: bool = False,
        nested_undo_ids: Sequence[int] = (), people: Sequence[Mapping[str, Any]] = (),
    ) -> StepRow:
        """Record a PBX step's outcome (done only when the PBX confirmed it).

        ``nested_undo_ids``: undo records of changes the command made through commands of
        its own (a standby call-out's adds), kept with the step's so closure undoes them;
        ``people``: that command's per-person outcomes (``person``, ``status``, ``text``),
        kept on the run and put on the timeline one line each."""
        inc = self.incident(incident_id)
        step, row = self._step(inc, step_id)
        self._check_actor(step, actor)
        self._refuse_stale(step, row)
        now = self._clock.now()
        runs = list(row.detail.get("runs", []))
        run: dict[str, Any] = {"at": now, "ok": ok, "summary": summary, "detail": detail,
                               "undo_id": undo_id, "audit_seq": audit_seq,
                               "simulated": simulated}
        if people:
            run["people"] = [dict(p) for p in people]
        runs.append(run)
        row.detail["runs"] = runs
        undo_ids = ([] if undo_id is None else [undo_id]) + list(nested_undo_ids)
        if undo_ids:
            row.detail["undo_ids"] = [*row.detail.get("undo_ids", []), *undo_ids]
        if ok:
            row.state, row.done_at, row.done_by = StepState.DONE, now, actor.name
        prefix = "DRILL (not sent to a real PBX): " if simulated else ""
        self._log(inc, actor, now, "pbx_action",
                  f"{prefix}{summary}: {'ok' if ok else 'FAILED'}: {detail}", step_id,
                  {"ok": ok, "undo_id": undo_id, "audit_seq": audit_seq,
                   **({"undo_ids": list(nested_undo_ids)} if nested_undo_ids else {})})
        for p in people:
            self._log(inc, actor, now, "pbx_person",
                      f"{prefix}{p.get('person', '?')}: {p.get('text', p.get('status', '?'))}",
                      step_id, {"person": p.get("person"), "status": p.get("status"),
                                "undo_id": p.get("undo_id")})
        if ok:
            self._after_done(inc, self._defs[incident_id], step_id, now)
        await self._save(inc, self._defs[incident_id])
        return row

    # ------------------------------------------------------------------ closure

    async def closure_problems(
        self, incident_id: int, *, keep_pbx_changes: bool = False
    ) -> list[str]:
        """What still stops the incident from closing (empty: it may close)."""
        inc = self.incident(incident_id)
        pb = self._defs[incident_id]
        problems: list[str] = []
        applies = {s.id for s in pb.steps_for(inc.variant)}
        for sid in pb.closure.require:
            if sid in applies and inc.steps[sid].state not in (StepState.DONE, StepState.WAIVED,
                                                              StepState.ACKNOWLEDGED):
                problems.append(f"step {sid} ({pb.step(sid).title}) is not done")
        for rec in pb.closure.records:
            sid, _, name = rec.partition(".")
            if sid in applies and inc.steps[sid].state is not StepState.WAIVED and not (
                inc.steps[sid].record.get(name)
            ):
                problems.append(f"{rec} is not recorded")
        if pb.closure.pbx_reverted and not keep_pbx_changes:
            for sid, row in inc.steps.items():
                for undo_id in row.detail.get("undo_ids", []):
                    if self._undos is not None and await self._undos.undo_is_open(int(undo_id)):
                        problems.append(
                            f"PBX change of step {sid} is not undone (undo {undo_id}); close "
                            "with undo_pbx_changes to undo it, or keep_pbx_changes and a note"
                        )
        return problems

    async def open_changes(self, incident_id: int) -> list[OpenChange]:
        """The PBX changes this incident's steps made that are still in force (their undo
        record is open), most recent first: the order closure undoes them in."""
        inc = self.incident(incident_id)
        out: list[OpenChange] = []
        if self._undos is None:
            return out
        for sid, row in inc.steps.items():
            for undo_id in row.detail.get("undo_ids", []):
                record = await self._undos.open_undo(int(undo_id))
                if record is not None:
                    out.append(OpenChange(sid, record))
        return most_recent_first(out)

    async def undo_is_open(self, undo_id: int) -> bool:
        """Is this undo record still open (its change still in force)?"""
        return self._undos is not None and await self._undos.undo_is_open(undo_id)

    async def record_undo(
        self, incident_id: int, outcome: UndoOutcome, actor: Actor, *, simulated: bool = False
    ) -> None:
        """Put one closure undo on the timeline (and on its step): what was undone and what
        Asterisk now says, or that it failed and the change is still in place."""
        inc = self.incident(incident_id)
        ch = outcome.change
        _step, row = self._step(inc, ch.step_id)
        now = self._clock.now()
        row.detail["undo_runs"] = [*row.detail.get("undo_runs", []), {
            "at": now, "undo_id": ch.undo_id, "ok": outcome.ok, "detail": outcome.detail,
            "audit_seq": outcome.audit_seq, "simulated": simulated}]
        prefix = "DRILL (not sent to a real PBX): " if simulated else ""
        if outcome.ok:
            text = f"{prefix}undone: {ch.what}; {outcome.says}"
        else:
            text = f"{prefix}undo FAILED: {ch.what}: {outcome.detail}; still in place"
        self._log(inc, actor, now, "pbx_undo", text, ch.step_id,
                  {"ok": outcome.ok, "undo_id": ch.undo_id, "audit_seq": outcome.audit_seq})
        await self._save(inc, self._defs[incident_id])

    async def close(
        self, incident_id: int, actor: Actor, *, note: str = "", keep_pbx_changes: bool = False,
        undone: int = 0,
    ) -> Incident:
        inc = self.incident(incident_id)
        problems = await self.closure_problems(incident_id, keep_pbx_changes=keep_pbx_changes)
        if problems:
            raise IncidentRefused("cannot close: " + "; ".join(problems))
        if keep_pbx_changes and not note.strip():
            raise IncidentRefused("keeping PBX changes at closure needs a note saying why")
        now = self._clock.now()
        for t in inc.timers.values():
            if t.state in (TimerState.ARMED, TimerState.WAITING):
                t.state, t.note = TimerState.CANCELLED, "incident closed"
        inc.status = IncidentStatus.CLOSED
        inc.closed_at, inc.closed_by = now, actor.name
        detail = "closed" + (" (PBX changes kept)" if keep_pbx_changes else "")
        if undone:
            detail += f" after undoing {undone} PBX change(s)"
        self._log(inc, actor, now, "closed", detail + (f": {note.strip()}" if note.strip() else ""))
        await self._save(inc, self._defs[incident_id])
        del self._open[incident_id]
        del self._defs[incident_id]
        return inc

    # ------------------------------------------------------------------ persistence

    def _log(
        self, inc: Incident, actor: Actor, at: float, kind: str, detail: str,
        step_id: str | None = None, data: Mapping[str, Any] | None = None,
    ) -> None:
        inc.timeline.append(TimelineEntry(at, actor.name, kind, detail, step_id, dict(data or {})))
        self._unsaved[id(inc)] = self._unsaved.get(id(inc), 0) + 1

    async def _save(self, inc: Incident, pb: Playbook) -> None:
        new = self._unsaved.pop(id(inc), 0)
        try:
            inc.id = await self._repo.save_incident(inc, new)
        except Exception:
            self._pending.pop(id(inc), None)
            if inc.id is not None:  # memory may be ahead of the store: reload the truth
                fresh = await self._repo.get_incident(inc.id)
                if fresh is not None and fresh.status is IncidentStatus.OPEN:
                    self._open[inc.id] = fresh
            raise
        if inc.status is IncidentStatus.OPEN:
            self._open[inc.id] = inc
            self._defs[inc.id] = pb
        self._emit_pending(inc)
