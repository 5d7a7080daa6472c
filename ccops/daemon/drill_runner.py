"""Plays drill scenarios on the daemon's embedded simulator, and puts it back afterwards.

Why in the daemon: only the daemon owns the simulator (``[sim]``, no ``[[pbx]]``), and
only it sees a drill close. A drill that causes its own incident (issue 4: "trunk down or
×3 surge") starts here when the drill starts; it ends — surge off, trunk back, pending
steps dropped — once its incident is no longer open (:meth:`DrillRunner.reap`, every
daemon tick), so the close path needs no knowledge of scenarios.

While any scenario plays, the simulator's KPIs go to drill statistics
(``KpiEngine.set_production(pbx, False)``): a drill never counts in production figures.

A daemon restarted during a drill builds a fresh simulator; :meth:`DrillRunner.resume`
replays the scenario from the incident's timeline, so the trunk is down again and later
steps still come at their times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ccops.core.clock import Clock
from ccops.core.drill_scenario import (
    PreparedScenario,
    ScenarioRefused,
    choose,
    lead_seconds,
    values_for,
)
from ccops.core.playbook_model import Playbook
from ccops.sim.clockwork import Timer
from ccops.sim.drill import DrillStepError, describe, parse_steps, substitute_steps, undo_of
from ccops.sim.scenario import Step
from ccops.sim.server import SimulatedPbx

log = logging.getLogger(__name__)


@dataclass
class PlayingScenario:
    """One drill's scenario on the simulator."""

    incident_id: int
    name: str
    title: str
    started_at: float
    fault_at: float
    steps: list[Step]
    timers: list[Timer] = field(default_factory=list)
    applied: list[Step] = field(default_factory=list)
    ended_at: float | None = None
    end_reason: str = ""

    def state(self, now: float) -> str:
        if self.ended_at is not None:
            return "ended"
        return "running" if now >= self.fault_at else "lead"

    def as_dict(self, now: float) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "state": self.state(now),
                "started_at": self.started_at, "fault_at": self.fault_at,
                "ended_at": self.ended_at, "end_reason": self.end_reason}


def _undo_key(step: Step) -> str | None:
    """What a step's undo puts back, as a comparable key (its ``at`` does not matter)."""
    undo = undo_of(step)
    return None if undo is None else undo.model_dump_json(exclude={"at"})


class DrillRunner:
    """Implements :class:`ccops.core.drill_scenario.ScenarioHost` on a :class:`SimulatedPbx`."""

    def __init__(
        self,
        sim: SimulatedPbx,
        clock: Clock,
        *,
        pbx: str = "sim",
        set_production: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._sim = sim
        self._clock = clock
        self.pbx = pbx  # the simulator's PBX name in the daemon (scopes "sim:...")
        self._set_production = set_production
        self.playing: dict[int, PlayingScenario] = {}
        self.ended: dict[int, PlayingScenario] = {}  # this daemon's life, for the console

    # ------------------------------------------------------------------ ScenarioHost

    def prepare(
        self, pb: Playbook, name: str | None, overrides: Mapping[str, str],
        lead_s: float | None, site_values: Mapping[str, Any],
    ) -> PreparedScenario:
        chosen, sc = choose(pb, name)
        values = values_for(pb, sc, overrides, site_values)
        try:
            raw = substitute_steps(sc.steps, values)
            steps = parse_steps(raw, self._sim.centre)
        except DrillStepError as exc:
            where = "; ".join(f"step {loc[0] + 1 if isinstance(loc[0], int) else loc[0]}"
                              f"{' ' + '.'.join(map(str, loc[1:])) if len(loc) > 1 else ''}: "
                              f"{msg}" for loc, msg in exc.problems)
            raise ScenarioRefused(f"drill scenario {chosen} of {pb.id}: {where}") from None
        lead = lead_seconds(sc, lead_s)
        first = min(s.at for s in steps)
        used = {k: values[k] for k in sorted({v[1:] for st in sc.steps for v in st.values()
                                              if isinstance(v, str) and v.startswith("$")})}
        return PreparedScenario(
            name=chosen, title=sc.title, lead_s=lead, fault_offset_s=lead + first,
            steps=tuple(s.model_dump(mode="json") for s in steps), values=used,
            summary="; ".join(describe(s) for s in steps),
        )

    def begin(self, incident_id: int, prepared: PreparedScenario, started_at: float) -> None:
        steps = parse_steps(list(prepared.steps), self._sim.centre)
        self._play(incident_id, prepared.name, prepared.title, steps, started_at,
                   started_at + prepared.lead_s, started_at + prepared.fault_offset_s)

    # ------------------------------------------------------------------ lifecycle

    def resume(self, incident_id: int, data: Mapping[str, Any]) -> bool:
        """Replay a scenario recorded on an open drill's timeline (after a restart)."""
        if incident_id in self.playing:
            return False
        try:
            steps = parse_steps(list(data.get("steps") or []), self._sim.centre)
            started = float(data["started_at"])
            lead = float(data.get("lead_s") or 0.0)
            fault = float(data.get("fault_at", started + lead))
        except (DrillStepError, KeyError, TypeError, ValueError) as exc:
            log.warning("drill %s: scenario not resumed: %s", incident_id, exc)
            return False
        self._play(incident_id, str(data.get("name", "?")), str(data.get("title", "")),
                   steps, started, started + lead, fault)
        return True

    def _play(
        self, incident_id: int, name: str, title: str, steps: list[Step], started_at: float,
        base: float, fault_at: float,
    ) -> None:
        playing = PlayingScenario(incident_id, name, title, started_at, fault_at, steps)
        self.playing[incident_id] = playing
        if self._set_production is not None:
            self._set_production(self.pbx, False)
        now = self._clock.now()
        for step in sorted(steps, key=lambda s: s.at):
            delay = base + step.at - now
            if delay <= 0:
                self._apply(playing, step)
            else:
                playing.timers.append(self._sim.schedule_step(delay, step))
                if undo_of(step) is not None:
                    playing.applied.append(step)  # undone at the end even if not yet due
        log.info("drill %s: scenario %s playing on the simulator", incident_id, name)

    def _apply(self, playing: PlayingScenario, step: Step) -> None:
        try:
            self._sim.apply_now(step)
        except (KeyError, ValueError) as exc:
            log.error("drill %s: scenario step %s failed: %s", playing.incident_id,
                      step.action, exc)
            return
        if undo_of(step) is not None:
            playing.applied.append(step)

    def end(self, incident_id: int, reason: str) -> PlayingScenario | None:
        """Stop a drill's scenario: drop its pending steps, undo what it did (newest first)."""
        playing = self.playing.pop(incident_id, None)
        if playing is None:
            return None
        for timer in playing.timers:
            timer.cancel()
        # Another drill still playing the same fault keeps it (its own end undoes it).
        kept = {u for other in self.playing.values() for st in other.applied
                if (u := _undo_key(st)) is not None}
        for step in reversed(playing.applied):
            undo = undo_of(step)
            if undo is None or _undo_key(step) in kept:
                continue
            try:
                self._sim.apply_now(undo)
            except (KeyError, ValueError, RuntimeError) as exc:
                log.error("drill %s: undoing %s failed: %s", incident_id, step.action, exc)
        playing.ended_at = self._clock.now()
        playing.end_reason = reason
        self.ended[incident_id] = playing
        if not self.playing and self._set_production is not None:
            self._set_production(self.pbx, True)
        log.info("drill %s: scenario %s ended (%s)", incident_id, playing.name, reason)
        return playing

    def reap(self, open_ids: Iterable[int]) -> list[PlayingScenario]:
        """End the scenarios whose drill is no longer open (closed since the last tick)."""
        still = set(open_ids)
        return [p for i in list(self.playing) if i not in still
                if (p := self.end(i, "drill closed")) is not None]

    def status(self, incident_id: int) -> dict[str, Any] | None:
        now = self._clock.now()
        playing = self.playing.get(incident_id) or self.ended.get(incident_id)
        return None if playing is None else playing.as_dict(now)

    def stop(self) -> None:
        """Daemon shutdown: end every scenario (the simulator stops with the daemon)."""
        for incident_id in list(self.playing):
            self.end(incident_id, "daemon stopped")
