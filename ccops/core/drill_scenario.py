"""Which scenario a drill plays, with which values, and the host that plays it.

Why split from the engine: the engine only needs to know *that* a drill has a scenario (it
records it on the timeline, and the fault time becomes the detection time); playing it is
the daemon's business, on its embedded simulator (:mod:`ccops.daemon.drill_runner`), and a
daemon on a real PBX has no host at all, so the drill is refused before anything starts.

Values: a step's ``$name`` is taken from the values given when the drill starts, else the
scenario's own ``params``, else the site's playbook parameters (``[playbooks.parameters]``),
else the parameter's default. An unset one refuses the drill, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ccops.core.playbook_model import DrillScenario, Playbook, format_span

#: Longest lead time a drill may have before its fault (minutes).
MAX_LEAD_MIN = 120


class ScenarioRefused(Exception):
    """The scenario cannot run; the message is for the operator."""


@dataclass(frozen=True, slots=True)
class PreparedScenario:
    """A scenario resolved and validated, ready to play (nothing has happened yet)."""

    name: str
    title: str
    lead_s: float  # from the drill's start to the scenario's first step
    fault_offset_s: float  # from the drill's start to its first fault (lead + first ``at``)
    steps: tuple[dict[str, Any], ...]  # substituted steps (JSON-ready, scenario format)
    values: dict[str, Any] = field(default_factory=dict)
    summary: str = ""  # one line: what the simulator is made to do

    def as_data(self, started_at: float) -> dict[str, Any]:
        """What the timeline keeps, so a restarted daemon can resume or report it."""
        return {
            "event": "started", "name": self.name, "title": self.title,
            "lead_s": self.lead_s, "fault_at": started_at + self.fault_offset_s,
            "started_at": started_at, "steps": [dict(s) for s in self.steps],
            "values": dict(self.values), "summary": self.summary,
        }

    def timeline_text(self) -> str:
        lead = f"; fault in {format_span(self.fault_offset_s)}" if self.fault_offset_s else ""
        return f"scenario {self.name}: {self.summary or self.title}{lead}"


class ScenarioHost(Protocol):
    """Plays drill scenarios (the daemon's runner on its simulator)."""

    def prepare(
        self, pb: Playbook, name: str | None, overrides: Mapping[str, str],
        lead_s: float | None, site_values: Mapping[str, Any],
    ) -> PreparedScenario:
        """Resolve and validate; raise :class:`ScenarioRefused` saying why not."""

    def begin(self, incident_id: int, prepared: PreparedScenario, started_at: float) -> None:
        """Start playing (first steps now, later ones scheduled)."""


def choose(pb: Playbook, name: str | None) -> tuple[str, DrillScenario]:
    """The named scenario, or the playbook's default; refuses with the known names."""
    spec = pb.drill
    known = ", ".join(sorted(spec.scenarios)) or "none"
    if name is None:
        name = spec.default
        if name is None:
            raise ScenarioRefused(f"{pb.id} has no default drill scenario (known: {known})")
    sc = spec.scenarios.get(name)
    if sc is None:
        raise ScenarioRefused(f"{pb.id} has no drill scenario {name!r} (known: {known})")
    return name, sc


def values_for(
    pb: Playbook, sc: DrillScenario, overrides: Mapping[str, str],
    site_values: Mapping[str, Any],
) -> dict[str, Any]:
    """Every value the scenario's steps may use, in precedence order (see module doc)."""
    values: dict[str, Any] = {n: p.default for n, p in pb.parameters.items()}
    values.update({k: v for k, v in site_values.items() if v is not None})
    values.update(sc.params)
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        known = ", ".join(sorted(values)) or "none"
        raise ScenarioRefused(f"unknown scenario value(s) {', '.join(unknown)} (known: {known})")
    values.update(overrides)
    return values


def lead_seconds(sc: DrillScenario, lead_s: float | None) -> float:
    """The lead time given on start, else the scenario's, else none."""
    if lead_s is not None:
        if not 0 <= lead_s <= MAX_LEAD_MIN * 60:
            raise ScenarioRefused(f"lead time must be 0 to {MAX_LEAD_MIN} minutes")
        return float(lead_s)
    if sc.lead is not None and sc.lead.seconds is not None:
        return float(sc.lead.seconds)
    return 0.0


def scenario_entry(timeline: Any) -> dict[str, Any] | None:
    """The drill scenario an incident started with (its timeline's ``drill_scenario``)."""
    for e in timeline:
        if e.kind == "drill_scenario" and e.data.get("event") == "started":
            return dict(e.data)
    return None
