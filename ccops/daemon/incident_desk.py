"""The daemon side of incidents: the engine's timers on the daemon tick, and delivery of
what it wants people to know (console frames, phone pages through the pager).

Why a separate module: the engine (``ccops.core.incidents``) is pure core — no sockets, no
AMI. Here its intents meet the daemon: a :class:`~ccops.core.incidents.ConsoleNotice`
becomes an urgent ``incident_notice`` frame (the console shows it to operators of the
listed roles until acknowledged), and a :class:`~ccops.core.incidents.PageRequest` becomes
a call through :class:`~ccops.daemon.pager.Pager`; a keypress 1 marks the page (and its
step) acknowledged on the incident timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ccops.config import ConfigError
from ccops.core.alerts import Alert, Sample
from ccops.core.clock import Clock
from ccops.core.commands import CommandError, parse_command
from ccops.core.drill_scenario import scenario_entry
from ccops.core.execute import Performer
from ccops.core.incident_perform import IncidentPerformer
from ccops.core.incident_report import drill_record, report_markdown
from ccops.core.incident_state import Actor, Incident
from ccops.core.incident_suggest import Suggestion, suggest
from ccops.core.incidents import (
    ConsoleNotice,
    IncidentEngine,
    IncidentRefused,
    Intent,
    PageRequest,
)
from ccops.core.playbook_load import (
    PlaybookError,
    check_parameters,
    load_pinned,
    load_playbooks,
)
from ccops.core.playbook_model import JOB_ROLES
from ccops.store.incidents import IncidentStore
from ccops.store.sqlite import Store

if TYPE_CHECKING:
    from ccops.daemon.drill_runner import DrillRunner

log = logging.getLogger(__name__)

#: ccops roles in the on-call roster that stand for a job role of the playbooks.
ROLE_ALIASES = {"maintenance": "om_specialist", "supervisor": "cc_supervisor"}


class _Pager(Protocol):
    async def page(self, person: str, message: str = "", ref: str = "") -> Any: ...


def roster_from(people: Iterable[Any]) -> dict[str, list[str]]:
    """Job role → on-call names, from config ``[[oncall]]`` entries (``name``, ``role``).

    ``role`` may be a playbook job role (``om_specialist``, ``center_manager``,
    ``standby_staff``, …) or a ccops role with an alias in :data:`ROLE_ALIASES`.
    """
    out: dict[str, list[str]] = {}
    for person in people:
        role = str(getattr(person, "role", ""))
        job = role if role in JOB_ROLES else ROLE_ALIASES.get(role)
        if job is not None:
            out.setdefault(job, []).append(str(person.name))
    return out


class IncidentDesk:
    """Owns the engine in the daemon; ``tick()`` is called from the daemon's tick loop."""

    def __init__(
        self,
        engine: IncidentEngine,
        push: Callable[[dict[str, Any]], None],
        pager: _Pager | None,
        *,
        simulated: bool,
        repeat_s: float = 60.0,
    ) -> None:
        self.engine = engine
        # Console notices repeat until acknowledged (domain.md §2.4.2 "repeats every r
        # minutes"; r is a ccops setting, the seeds give none).
        self._repeat_s = repeat_s
        self._last_push: dict[tuple[int, int], float] = {}
        self._push = push
        self._pager = pager
        self._simulated = simulated
        self._pages: set[asyncio.Task[None]] = set()
        self.suggestions: list[Suggestion] = []
        self.drills: DrillRunner | None = None  # set by open() when on the simulator

    def _resume_drills(self) -> None:
        """Open drills whose scenario was playing before a restart play it again."""
        assert self.drills is not None
        for inc in self.engine.open_incidents:
            data = scenario_entry(inc.timeline) if inc.is_drill else None
            if data is not None and inc.id is not None:
                self.drills.resume(inc.id, data)

    def drill_scenario(self, inc: Incident) -> dict[str, Any] | None:
        """The drill's scenario for status and console: name, title, running/lead/ended."""
        if not inc.is_drill or inc.id is None:
            return None
        live = None if self.drills is None else self.drills.status(inc.id)
        if live is not None:
            return live
        data = scenario_entry(inc.timeline)
        if data is None:
            return None
        return {"name": data.get("name"), "title": data.get("title"), "state": "ended",
                "started_at": data.get("started_at"), "fault_at": data.get("fault_at"),
                "ended_at": inc.closed_at, "end_reason": "drill closed" if inc.closed_at
                else "not playing (daemon restarted without the simulator)"}

    @classmethod
    async def open(
        cls,
        store: Store,
        clock: Clock,
        *,
        push: Callable[[dict[str, Any]], None],
        pager: _Pager | None,
        oncall: Sequence[Any] = (),
        playbook_dirs: Iterable[Path] = (),
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        simulated: bool = False,
        sim: Any = None,
        set_production: Callable[[str, bool], None] | None = None,
    ) -> IncidentDesk:
        """Load playbooks and the open incidents (their overdue timers fire on the next
        tick, with their lateness)."""
        try:
            playbooks = load_playbooks(playbook_dirs)
        except PlaybookError as exc:  # `ccops serve` reports it like any config error
            raise ConfigError(exc.problems) from None
        problems = check_parameters(playbooks, parameters or {})
        if problems:
            raise ConfigError(problems)
        repo = IncidentStore(store)
        engine = IncidentEngine(repo, clock, playbooks,
                                roster=roster_from(oncall), parameters=parameters, undos=repo)
        count = await engine.load()
        if count:
            log.info("incidents: %d open incident(s) reloaded", count)
        desk = cls(engine, push, pager, simulated=simulated)
        if sim is not None:  # drill scenarios play on the embedded simulator only
            from ccops.daemon.drill_runner import DrillRunner

            desk.drills = DrillRunner(sim, clock, set_production=set_production)
            desk._resume_drills()
        return desk

    def performer(self, inner: Performer) -> IncidentPerformer:
        """Wrap the PBX performer; set ``run_nested`` once the executor exists."""
        return IncidentPerformer(self.engine, inner, drill_pbx=self._simulated,
                                 scenarios=self.drills)

    async def tick(
        self, now: float, *, alerts: Iterable[Alert] = (), samples: Iterable[Sample] = ()
    ) -> None:
        """Fire due timers, deliver what they (and commands since) produced, and refresh
        the playbook suggestions from the active alerts."""
        for intent in await self.engine.tick(now):
            self._deliver(intent)
        if self.drills is not None:  # a closed drill's scenario ends: surge off, trunk back
            self.drills.reap(i.id for i in self.engine.open_incidents if i.id is not None)
        self._repeat_unacknowledged(now)
        busy = [i.playbook_id for i in self.engine.open_incidents if not i.is_drill]
        self.suggestions = suggest(alerts, self.engine.playbooks, open_playbooks=busy,
                                   samples=samples)
        if self.drills is not None and self.drills.playing:  # say which ones a drill caused
            prefix = f"{self.drills.pbx}:"
            self.suggestions = [
                dataclasses.replace(sg, drill=True)
                if sg.scopes and all(x.startswith(prefix) for x in sg.scopes) else sg
                for sg in self.suggestions]

    def _repeat_unacknowledged(self, now: float) -> None:
        live: set[tuple[int, int]] = set()
        for inc in self.engine.open_incidents:
            assert inc.id is not None
            for n in inc.notifications:
                if n.channel != "console" or n.acked_at is not None:
                    continue
                key = (inc.id, n.seq)
                live.add(key)
                last = self._last_push.setdefault(key, n.sent_at)
                if now - last >= self._repeat_s:
                    self._last_push[key] = now
                    jobs = tuple(n.target.split(","))
                    roles = frozenset(r for j in jobs for r in JOB_ROLES[j].acts_as)
                    self._deliver(ConsoleNotice(inc.id, n.step_id, roles, jobs, n.message,
                                                inc.is_drill), repeat=True)
        for key in set(self._last_push) - live:
            del self._last_push[key]

    def _deliver(self, intent: Intent, *, repeat: bool = False) -> None:
        if isinstance(intent, ConsoleNotice):
            self._push({
                "type": "incident_notice",
                "incident_id": intent.incident_id,
                "step": intent.step_id,
                "roles": sorted(r.value for r in intent.roles),
                "job_roles": list(intent.job_roles),
                "message": intent.message,
                "drill": intent.drill,
                "repeat": repeat,
            })
            return
        task = asyncio.create_task(self._page(intent), name=f"page {intent.person}")
        self._pages.add(task)
        task.add_done_callback(self._pages.discard)

    async def _page(self, req: PageRequest) -> None:
        system = Actor("ccops", None)
        if self._pager is None:
            await self._note(req.incident_id, f"page to {req.person} not placed: no pager")
            return
        if req.drill and not self._simulated:
            await self._note(req.incident_id,
                             f"drill: page to {req.person} not placed (real PBX)")
            return
        ref = f"incident {req.incident_id} step {req.step_id} page {req.notification_seq}"
        result = await self._pager.page(req.person, req.message, ref)
        if getattr(result, "acknowledged", False):
            try:
                await self.engine.acknowledge_page(req.incident_id, req.notification_seq,
                                                   req.person)
            except IncidentRefused as exc:  # closed meanwhile, or acknowledged on a console
                log.info("page acknowledgement not recorded: %s", exc)
        else:
            detail = getattr(result, "detail", "") or "not acknowledged"
            await self._note(req.incident_id, f"page to {req.person}: {detail}", system)

    async def _note(self, incident_id: int, text: str, actor: Actor | None = None) -> None:
        with contextlib.suppress(IncidentRefused):
            await self.engine.add_note(incident_id, text, actor or Actor("ccops", None))

    def status(self) -> list[dict[str, Any]]:
        """The ``incidents`` section of the status document: open incidents, next due."""
        out: list[dict[str, Any]] = []
        for inc in self.engine.open_incidents:
            dues = [t.due_at for t in inc.timers.values()
                    if t.state.value == "armed" and t.due_at is not None]
            states: dict[str, int] = {}
            for row in inc.steps.values():
                states[row.state.value] = states.get(row.state.value, 0) + 1
            out.append({
                "id": inc.id,
                "playbook": inc.playbook_id,
                "version": inc.playbook_version,
                "title": str(inc.document.get("title", inc.playbook_id)),
                "variant": inc.variant,
                "drill": inc.is_drill,
                "level": inc.level,
                "detected_at": inc.detected_at,
                "started_at": inc.started_at,
                "next_due": min(dues, default=None),
                "steps": states,
                "scenario": self.drill_scenario(inc),
            })
        return out

    def playbooks_json(self) -> list[dict[str, Any]]:
        """The playbook list for the console (``{"op": "playbooks"}``)."""
        out: list[dict[str, Any]] = []
        for pid, loaded in sorted(self.engine.playbooks.items()):
            pb = loaded.playbook
            site = self.engine.site_parameters(pid)
            out.append({
                "id": pid, "version": pb.version, "title": pb.title, "title_zh": pb.title_zh,
                "category": pb.category, "source": pb.source, "summary": pb.summary,
                "variants": dict(pb.variants), "start_roles": [r.value for r in pb.start_roles],
                "suggest_on": list(pb.suggest_on), "steps": len(pb.steps),
                "unset_parameters": sorted(n for n, p in pb.parameters.items()
                                           if p.default is None and n not in site),
                "origin": loaded.origin,
                "drill_scenarios": [
                    {"name": n, "title": sc.title, "default": n == pb.drill.default,
                     "lead_s": None if sc.lead is None else sc.lead.seconds,
                     "params": dict(sc.params)}
                    for n, sc in pb.drill.scenarios.items()],
            })
        return out

    async def incident_json(self, incident_id: int) -> dict[str, Any] | None:
        """One incident in full (``{"op": "incident", "incident_id": N}``): steps with state
        and owner, timers, notifications, timeline, what blocks closure, the PBX changes
        still in force (``pbx_changes``: what closing would undo), and the report."""
        inc = next((i for i in self.engine.open_incidents if i.id == incident_id), None)
        if inc is None:
            inc = await self.engine.stored(incident_id)
        if inc is None:
            return None
        pb = load_pinned(inc.document)
        steps = []
        for step in pb.steps_for(inc.variant):
            row = inc.steps[step.id]
            steps.append({
                "id": step.id, "kind": step.kind, "title": step.title, "actor": step.actor,
                "source": step.source, "optional": step.optional, "state": row.state.value,
                "done_at": row.done_at, "done_by": row.done_by, "acked_at": row.acked_at,
                "acked_by": row.acked_by, "overdue_since": row.overdue_since,
                "record": dict(row.record), "detail": dict(row.detail),
                "text": step.text, "needs": list(step.needs),
                "fields": [{"name": f.name, "label": f.label, "type": f.type,
                            "required": f.required, "choices": list(f.choices)}
                           for f in step.record],
                "pbx": self._pbx_preview(inc, step.id) if step.kind == "pbx" else None,
            })
        blocking: list[str] = []
        changes: list[dict[str, Any]] = []  # PBX changes still in force, for the close dialog
        if inc.status.value == "open" and inc.id is not None:
            blocking = await self.engine.closure_problems(inc.id)
            changes = [c.as_dict() for c in await self.engine.open_changes(inc.id)]
        return {
            "id": inc.id, "playbook": inc.playbook_id, "version": inc.playbook_version,
            "digest": inc.playbook_digest, "title": pb.title, "variant": inc.variant,
            "site": inc.site, "drill": inc.is_drill, "status": inc.status.value,
            "level": inc.level, "level_started_at": inc.level_started_at,
            "detected_at": inc.detected_at, "started_at": inc.started_at,
            "started_by": inc.started_by, "closed_at": inc.closed_at,
            "closed_by": inc.closed_by, "report_fields": dict(inc.report), "steps": steps,
            "timers": [{"key": t.key, "step": t.step_id, "kind": t.kind,
                        "state": t.state.value, "due_at": t.due_at, "level": t.level,
                        "fired_at": t.fired_at, "lateness": t.lateness, "note": t.note}
                       for t in inc.timers.values()],
            "notifications": [{"seq": n.seq, "step": n.step_id, "channel": n.channel,
                               "target": n.target, "sent_at": n.sent_at,
                               "message": n.message, "acked_at": n.acked_at,
                               "acked_by": n.acked_by} for n in inc.notifications],
            "timeline": [{"at": e.at, "actor": e.actor, "kind": e.kind, "step": e.step_id,
                          "detail": e.detail} for e in inc.timeline],
            "closure_problems": blocking,
            "pbx_changes": changes,
            "report": report_markdown(inc, pb) + (
                "\n" + drill_record(inc, pb) if inc.is_drill else ""),
            "scenario": self.drill_scenario(inc),
        }

    def _pbx_preview(self, inc: Incident, step_id: str) -> dict[str, Any]:
        """What a PBX step would run, for the console's preview before it confirms: the
        command, its parameters with the site values filled in, and its one-line summary
        (or why it cannot run yet, e.g. an unset parameter)."""
        if inc.status.value != "open" or inc.id is None:
            return {"error": "incident closed"}
        try:
            name, params = self.engine.pbx_params(inc.id, step_id)
            summary = parse_command(name, params).summary()
        except IncidentRefused as exc:
            return {"error": str(exc)}
        except CommandError as exc:
            return {"error": "; ".join(exc.problems)}
        return {"command": name, "params": params, "summary": summary}

    async def stop(self) -> None:
        if self.drills is not None:
            self.drills.stop()
        for task in list(self._pages):
            task.cancel()
        await asyncio.gather(*self._pages, return_exceptions=True)
