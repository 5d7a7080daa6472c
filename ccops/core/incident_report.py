"""What an incident leaves behind: the report, the review form, the drill record and score.

Why generated from the timeline: the seeds ask for a report "promptly and truthfully"
(S001-P2 §3.2) with seven items (§3.3, domain.md §2.5). Time, type, measures taken and
notifications are already on the timeline with actor and time, so the report repeats
them rather than asking someone to retype them at the end of a bad night; only what the
engine cannot know (impact, trend, other) comes from the report fields.

Drill score: each deadline met or missed and by how much, each watchdog and level with the
time it fired or the condition that made it unnecessary (S001-P2 §1.3 drill record: time,
content, participants, evaluation).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ccops.core.drill_scenario import scenario_entry
from ccops.core.incident_state import Incident, StepState, TimerState
from ccops.core.playbook_model import DeadlineStep, Playbook, format_span


def _ts(at: float | None) -> str:
    return "—" if at is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _rel(inc: Incident, at: float) -> str:
    return "T+" + format_span(at - inc.detected_at)


def _field(inc: Incident, name: str) -> str:
    return inc.report.get(name, "").strip() or "_(not filled in)_"


@dataclass(frozen=True, slots=True)
class DeadlineResult:
    step_id: str
    title: str
    due_at: float | None
    done_at: float | None
    margin: float | None  # seconds before the deadline (negative: late); None: never done

    @property
    def met(self) -> bool:
        return self.margin is not None and self.margin >= 0


@dataclass(frozen=True, slots=True)
class DrillScore:
    deadlines: tuple[DeadlineResult, ...]
    timers: tuple[str, ...]  # one sentence per watchdog / level timer

    @property
    def met(self) -> int:
        return sum(1 for d in self.deadlines if d.met)

    @property
    def total(self) -> int:
        return len(self.deadlines)


def drill_score(inc: Incident, pb: Playbook) -> DrillScore:
    """Deadlines met or missed (and by how much) and what each other timer did."""
    results: list[DeadlineResult] = []
    for step in pb.steps_for(inc.variant):
        if not isinstance(step, DeadlineStep):
            continue
        row = inc.steps[step.id]
        t = inc.timers.get(step.id)
        due = None if t is None else t.due_at
        done = row.done_at if row.state is StepState.DONE else None
        margin = None if due is None or done is None else due - done
        results.append(DeadlineResult(step.id, step.title, due, done, margin))
    lines: list[str] = []
    for t in inc.timers.values():
        if t.kind == "deadline":
            continue
        what = f"{t.key}"
        if t.state is TimerState.FIRED and t.due_at is not None:
            late = f", {format_span(t.lateness or 0)} late" if (t.lateness or 0) >= 1 else ""
            lines.append(f"{what}: fired at {_rel(inc, t.due_at)}{late}")
        elif t.state is TimerState.CANCELLED:
            lines.append(f"{what}: not needed ({t.note})")
        elif t.state is TimerState.UNSET:
            lines.append(f"{what}: not armed ({t.note})")
        elif t.due_at is not None:
            lines.append(f"{what}: pending, due {_rel(inc, t.due_at)}")
    return DrillScore(tuple(results), tuple(lines))


def report_markdown(inc: Incident, pb: Playbook) -> str:
    """The incident report with the seven seed items (S001-P2 §3.3; domain.md §2.5)."""
    kind = "DRILL — " if inc.is_drill else ""
    variant = f" — {pb.variants.get(inc.variant or '', inc.variant)}" if inc.variant else ""
    out = [
        f"# {kind}Incident report {inc.id}: {pb.title}{variant}",
        "",
        f"Playbook `{pb.id}` version {inc.playbook_version} (`{inc.playbook_digest[:12]}`), "
        f"source {pb.source}. Status: {inc.status}.",
        "",
        "## 1. Site",
        _field(inc, "site"),
        "",
        "## 2. Time",
        f"- detected: {_ts(inc.detected_at)}",
        f"- declared: {_ts(inc.started_at)} by {inc.started_by}",
        f"- closed: {_ts(inc.closed_at)}" + (f" by {inc.closed_by}" if inc.closed_by else ""),
        "",
        "## 3. Type",
        f"{pb.title} ({pb.title_zh}){variant}" if pb.title_zh else f"{pb.title}{variant}",
        "",
        "## 4. Impact and severity",
        _field(inc, "impact"),
        "",
        "## 5. Measures taken and degree of control",
        _field(inc, "measures"),
        "",
    ]
    for step in pb.steps_for(inc.variant):
        row = inc.steps[step.id]
        when = f" at {_rel(inc, row.done_at)} by {row.done_by}" if row.done_at else ""
        rec = "; ".join(f"{k}: {v}" for k, v in row.record.items())
        out.append(f"- [{row.state}] {step.title}{when}" + (f" — {rec}" if rec else ""))
    if inc.level:
        out.append(f"- highest support level reached: {inc.level}")
    out += ["", "## 6. Trend, potential losses and next measures", _field(inc, "trend"), "",
            "## 7. Other", _field(inc, "other"), "", "## Timeline", ""]
    for e in inc.timeline:
        out.append(f"- {_ts(e.at)} ({_rel(inc, e.at)}) {e.actor} — {e.kind}: {e.detail}")
    return "\n".join(out) + "\n"


def review_form(inc: Incident, pb: Playbook) -> str:
    """The post-incident analysis form (S001-P2 §3.4): cause, course, handling, gaps,
    corrective actions with owner and due date. Routed to the security inspection
    department manager for hall incidents, the centre manager for call-centre ones."""
    to = ("security inspection department manager (安全监察部经理)"
          if pb.category == "service_hall" else "centre manager (中心经理)")
    missed = [e for e in inc.timeline if e.kind in ("deadline_missed", "watchdog_fired", "level")]
    out = [
        f"# Post-incident review: incident {inc.id} ({pb.title})",
        "",
        f"Send to: {to}.",
        "",
        "## Cause", "", "_(to fill in)_", "",
        "## Course", "",
        *(f"- {_rel(inc, e.at)} {e.kind}: {e.detail}" for e in missed),
        "",
        "## Handling", "", "_(to fill in)_", "",
        "## Gaps found", "", "_(to fill in)_", "",
        "## Corrective actions", "",
        "| action | owner | due date |",
        "|---|---|---|",
        "|  |  |  |",
        "",
    ]
    return "\n".join(out)


def drill_participants(inc: Incident) -> list[str]:
    """Who took part: everyone acting on the timeline, plus the list the evaluator set."""
    named = [p.strip() for p in inc.report.get("participants", "").split(",") if p.strip()]
    acted = [e.actor for e in inc.timeline if e.actor != "ccops"]
    return sorted(dict.fromkeys([*acted, *named]))


def drill_record(inc: Incident, pb: Playbook) -> str:
    """The drill record: time, content, participants, evaluation (S001-P2 §1.3).

    The evaluation is the evaluator's own text (set like a report item) followed by the
    automatic score; the content names the scenario the simulator played, if any.
    """
    score = drill_score(inc, pb)
    people = drill_participants(inc)
    scenario = scenario_entry(inc.timeline)
    evaluation = inc.report.get("evaluation", "").strip()
    out = [
        f"# Drill record: incident {inc.id}",
        "",
        f"- time: {_ts(inc.started_at)} to {_ts(inc.closed_at)}",
        f"- content: playbook {pb.id} ({pb.title})"
        + (f", variant {inc.variant}" if inc.variant else ""),
    ]
    if scenario is not None:
        fault = scenario.get("fault_at")
        ended = f", ended at closure {_ts(inc.closed_at)}" if inc.closed_at else ", running"
        what = scenario.get("summary") or scenario.get("title")
        out.append(
            f"- scenario: {scenario.get('name')} — {what}"
            f" (fault at {_ts(fault if isinstance(fault, int | float) else None)}"
            f"{ended}; detection clock starts at the fault)"
        )
    out += [
        f"- participants: {', '.join(people) or '—'}",
        f"- evaluation: {evaluation or '_(not filled in)_'}",
        f"- score: {score.met} of {score.total} deadlines met",
        "",
    ]
    for d in score.deadlines:
        if d.margin is None:
            out.append(f"- {d.step_id}: NOT DONE (due {_ts(d.due_at)})")
        elif d.met:
            out.append(f"- {d.step_id}: met, {format_span(d.margin)} to spare")
        else:
            out.append(f"- {d.step_id}: missed by {format_span(-d.margin)}")
    out.extend(f"- {line}" for line in score.timers)
    return "\n".join(out) + "\n"
