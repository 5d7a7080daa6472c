"""Drill scenarios: the scenario-file step format, as a playbook's drill causes its incident.

Why here and not in the playbook model: a drill's steps are simulator steps (``surge``,
``trunk_down``…), validated by the very models a scenario file uses
(:mod:`ccops.sim.scenario`), so a step that works in ``config/scenarios/*.toml`` works in a
playbook's ``drill.scenarios`` and the other way round. What a drill adds:

* ``$name`` values: a scenario parameter (``trunk: $trunk``) or one of the playbook's own
  parameters (``queue: $surge_queue``), filled in when the drill starts;
* only steps the daemon can **undo** when the drill ends (closing a drill must put the
  simulator back: surge off, trunk back), see :data:`DRILL_ACTIONS` and :func:`undo_of`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ccops.sim.centre import Centre
from ccops.sim.scenario import (
    EndSurgeStep,
    Step,
    SurgeStep,
    TrunkDownStep,
    TrunkUpStep,
)

#: Step actions a drill may use: each has an inverse the daemon applies when the drill ends.
DRILL_ACTIONS = ("surge", "end_surge", "trunk_down", "trunk_up")

_STEP: TypeAdapter[Step] = TypeAdapter(Step)


class DrillStepError(ValueError):
    """Problems with a drill's steps, each as (path inside the step list, message)."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {m}" for loc, m in problems))
        self.problems = problems


def placeholders(raw_steps: Iterable[Mapping[str, Any]]) -> set[str]:
    """The ``$name`` references in a drill's steps."""
    return {
        v[1:]
        for step in raw_steps
        for v in step.values()
        if isinstance(v, str) and v.startswith("$")
    }


def substitute_steps(
    raw_steps: Sequence[Mapping[str, Any]], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Replace ``$name`` by ``values[name]``; an unknown or unset name is an error."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(raw_steps):
        step: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str) and value.startswith("$"):
                got = values.get(value[1:])
                if got is None:
                    problems.append(((i, key), f"{value} is not set"))
                    continue
                step[key] = got
            else:
                step[key] = value
        out.append(step)
    if problems:
        raise DrillStepError(problems)
    return out


def parse_steps(
    raw_steps: Sequence[Mapping[str, Any]], centre: Centre | None = None
) -> list[Step]:
    """Validate substituted steps with the scenario models; with ``centre``, also check
    that the trunks and queues they name exist. Raises :class:`DrillStepError`."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    steps: list[tuple[int, Step]] = []  # with the index in raw_steps, for the messages
    for i, raw in enumerate(raw_steps):
        action = raw.get("action")
        if action not in DRILL_ACTIONS:
            problems.append(
                ((i, "action"), f"drills use {', '.join(DRILL_ACTIONS)} (got {action!r}): "
                 "the daemon must be able to undo each step when the drill ends")
            )
            continue
        try:
            steps.append((i, _STEP.validate_python(dict(raw))))
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err.get("loc", ()) if p != action)
                problems.append(((i, *loc), str(err.get("msg", "invalid"))))
    if centre is not None:
        trunks = sorted(t.name for t in centre.trunks)
        queues = sorted(q.name for q in centre.queues)
        for i, step in steps:
            if isinstance(step, TrunkDownStep | TrunkUpStep) and step.trunk not in trunks:
                problems.append(
                    ((i, "trunk"), f"no trunk {step.trunk!r} (known: {', '.join(trunks)})")
                )
            if isinstance(step, SurgeStep | EndSurgeStep) and step.queue is not None and (
                step.queue not in queues
            ):
                problems.append(
                    ((i, "queue"), f"no queue {step.queue!r} (known: {', '.join(queues)})")
                )
    if problems:
        raise DrillStepError(problems)
    return [step for _, step in steps]


def undo_of(step: Step) -> Step | None:
    """What puts the simulator back after ``step`` (None: nothing to undo)."""
    if isinstance(step, SurgeStep):
        return EndSurgeStep(at=0, action="end_surge", queue=step.queue)
    if isinstance(step, TrunkDownStep):
        return TrunkUpStep(at=0, action="trunk_up", trunk=step.trunk)
    return None


def describe(step: Step) -> str:
    """One line for the incident timeline: what the simulator is made to do."""
    if isinstance(step, SurgeStep):
        where = f"queue {step.queue}" if step.queue else "every queue"
        return f"calls ×{step.factor:g} on {where}"
    if isinstance(step, EndSurgeStep):
        return f"surge ends on {'queue ' + step.queue if step.queue else 'every queue'}"
    if isinstance(step, TrunkDownStep):
        return f"carrier {step.trunk} stops answering"
    if isinstance(step, TrunkUpStep):
        return f"carrier {step.trunk} answers again"
    return step.action
