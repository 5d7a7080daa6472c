"""Scenario files: timed drill events for the simulator, in TOML, validated by pydantic.

A scenario says how the simulated day runs (``[sim]``, ``[traffic]``, ``[astdb]``,
``[phones]``) and what goes wrong when (``[[steps]]``, each with an ``at`` offset from the
simulator's start)::

    name = "Carrier B fails during the morning peak"
    [sim]
    profile = "flat"
    [[steps]]
    at = "5m"
    action = "surge"
    factor = 3
    duration = "30m"
    [[steps]]
    at = "12m"
    action = "trunk_down"
    trunk = "carrier-b"

Errors name the file, the line and the field: ``drill.toml:9: steps[1] (trunk_down):
trunk: no trunk 'carrier-z' (known: carrier-a, carrier-b)``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ccops.sim.centre import Centre

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*"
    r"(?:(\d+(?:\.\d+)?)s)?\s*(?:(\d+(?:\.\d+)?)ms)?\s*$"
)


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"250ms"``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like '5m'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a duration is a number of seconds or text like '5m', '1h30m'")
    match = _DURATION.match(value)
    if match is None or not any(match.groups()):
        raise ValueError(f"cannot read duration {value!r}: use e.g. '90s', '5m', '1h30m'")
    h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


Duration = Annotated[float, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Step(_Strict):
    at: Duration

    @field_validator("at", "duration", "downtime", mode="before", check_fields=False)
    @classmethod
    def _duration(cls, value: object) -> object:
        if value is None:
            return None
        return parse_duration(value)


class SurgeStep(_Step):
    action: Literal["surge"]
    factor: float = Field(gt=0, le=1000)
    duration: Duration | None = None
    queue: str | None = None  # None: every queue; else only this one (a drill's surge queue)


class EndSurgeStep(_Step):
    action: Literal["end_surge"]
    queue: str | None = None  # None: end every surge; else only this queue's


class TrunkDownStep(_Step):
    action: Literal["trunk_down"]
    trunk: str
    drop_calls: bool = True


class TrunkUpStep(_Step):
    action: Literal["trunk_up"]
    trunk: str


class RestartStep(_Step):
    action: Literal["pbx_restart"]
    downtime: Duration = 10.0


class WalkoutStep(_Step):
    action: Literal["agent_walkout"]
    count: int = Field(ge=1)
    mode: Literal["pause", "logout"] = "pause"
    reason: str = "walkout"
    duration: Duration | None = None


class RegistrationRejectedStep(_Step):
    action: Literal["registration_rejected"]
    trunk: str
    duration: Duration | None = None


class FirehoseStep(_Step):
    action: Literal["firehose"]
    calls_per_second: float = Field(default=1000.0, gt=0, le=100_000)
    duration: Duration | None = None


class ReloadStep(_Step):
    action: Literal["reload"]


Step = Annotated[
    SurgeStep
    | EndSurgeStep
    | TrunkDownStep
    | TrunkUpStep
    | RestartStep
    | WalkoutStep
    | RegistrationRejectedStep
    | FirehoseStep
    | ReloadStep,
    Field(discriminator="action"),
]


class SimOptions(_Strict):
    """How the simulated day runs."""

    seed: int | None = None
    speed: float | None = Field(default=None, gt=0, le=10_000)
    profile: Literal["daily", "flat"] = "daily"
    utc_offset_hours: float | None = Field(default=None, ge=-14, le=14)
    noise: float = Field(default=1.0, ge=0, le=20)
    test_events: bool = True
    rate_scale: float = Field(default=1.0, ge=0, le=1000)
    agent_pauses: bool = True


class TrafficOptions(_Strict):
    """Per-queue overrides of the default centre's traffic."""

    calls_per_hour: dict[str, float] = Field(default_factory=dict)


class PhoneOptions(_Strict):
    """How a simulated phone answers pages (see :mod:`ccops.sim.originate`)."""

    answer: bool = True
    busy: bool = False
    answer_after: tuple[float, float] = (2.0, 6.0)
    digit: str | None = Field(default="1", pattern=r"^[0-9*#A-D]$")
    digit_after: tuple[float, float] = (3.0, 8.0)


class Scenario(_Strict):
    """A whole scenario file."""

    name: str = "unnamed scenario"
    description: str = ""
    sim: SimOptions = Field(default_factory=SimOptions)
    traffic: TrafficOptions = Field(default_factory=TrafficOptions)
    astdb: dict[str, str] = Field(default_factory=dict)
    phones: dict[str, PhoneOptions] = Field(default_factory=dict)
    steps: list[Step] = Field(default_factory=list)

    def centre(self, base: Centre) -> Centre:
        """The default centre with this scenario's traffic overrides applied."""
        if not self.traffic.calls_per_hour:
            return base
        queues = [
            q.model_copy(update={"calls_per_hour": self.traffic.calls_per_hour[q.name]})
            if q.name in self.traffic.calls_per_hour
            else q
            for q in base.queues
        ]
        return base.model_copy(update={"queues": queues})


class ScenarioError(Exception):
    """A scenario file is unusable; ``problems`` holds one located message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_scenario(path: Path, centre: Centre | None = None) -> Scenario:
    """Read, parse and validate a scenario file; raise :class:`ScenarioError` if bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{path}: not UTF-8 text ({exc.reason})"]) from exc
    return parse_scenario(text, source=str(path), centre=centre)


def parse_scenario(
    text: str, *, source: str = "<scenario>", centre: Centre | None = None
) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"{source}:{match.group(1)}" if match else source
        raise ScenarioError([f"{where}: TOML syntax error: {exc}"]) from exc
    locator = _Locator(text, source)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(
            [locator.describe(err["loc"], err["msg"], data) for err in exc.errors()]
        ) from exc
    if centre is not None:
        problems = _cross_check(scenario, centre, locator, data)
        if problems:
            raise ScenarioError(problems)
    return scenario


def _cross_check(
    scenario: Scenario, centre: Centre, locator: _Locator, data: dict[str, Any]
) -> list[str]:
    """Names that only make sense against the centre (trunks, queues)."""
    problems: list[str] = []
    trunks = sorted(t.name for t in centre.trunks)
    registering = sorted(t.name for t in centre.trunks if t.registers)
    queues = sorted(q.name for q in centre.queues)
    for i, step in enumerate(scenario.steps):
        if isinstance(step, TrunkDownStep | TrunkUpStep) and step.trunk not in trunks:
            problems.append(
                locator.describe(
                    ("steps", i, "trunk"),
                    f"no trunk {step.trunk!r} (known: {', '.join(trunks)})",
                    data,
                )
            )
        if isinstance(step, RegistrationRejectedStep) and step.trunk not in registering:
            problems.append(
                locator.describe(
                    ("steps", i, "trunk"),
                    f"trunk {step.trunk!r} has no outbound registration "
                    f"(registering: {', '.join(registering) or 'none'})",
                    data,
                )
            )
        if isinstance(step, SurgeStep | EndSurgeStep) and step.queue is not None and (
            step.queue not in queues
        ):
            problems.append(
                locator.describe(
                    ("steps", i, "queue"),
                    f"no queue {step.queue!r} (known: {', '.join(queues)})",
                    data,
                )
            )
    for name in scenario.traffic.calls_per_hour:
        if name not in queues:
            problems.append(
                locator.describe(
                    ("traffic", "calls_per_hour", name),
                    f"no queue {name!r} (known: {', '.join(queues)})",
                    data,
                )
            )
    return problems


class _Locator:
    """Finds the line a validation error points at (tomllib keeps no positions)."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def describe(self, loc: tuple[int | str, ...], msg: str, data: dict[str, Any]) -> str:
        line = self._line(loc)
        where = f"{self.source}:{line}" if line else self.source
        if loc and loc[0] == "steps" and len(loc) > 1 and isinstance(loc[1], int):
            index = loc[1]
            steps = data.get("steps")
            action = ""
            if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], dict):
                action = str(steps[index].get("action", ""))
            # pydantic puts the union tag in the path: drop it, it is the action again.
            rest = [str(p) for p in loc[2:] if str(p) != action]
            label = f"steps[{index}]" + (f" ({action})" if action else "")
            field = ".".join(rest)
            return f"{where}: {label}: {field + ': ' if field else ''}{msg}"
        path = ".".join(str(p) for p in loc)
        return f"{where}: {path + ': ' if path else ''}{msg}"

    def _line(self, loc: tuple[int | str, ...]) -> int | None:
        if not loc:
            return None
        if loc[0] == "steps" and len(loc) > 1 and isinstance(loc[1], int):
            start = self._nth_step_line(loc[1])
            if start is None:
                return None
            for key in reversed([p for p in loc[2:] if isinstance(p, str)]):
                found = self._key_after(start, key)
                if found is not None:
                    return found
            return start
        for key in reversed([str(p) for p in loc if not isinstance(p, int)]):
            esc = re.escape(key)
            for n, text in enumerate(self.lines, 1):
                if re.search(rf'(^|[\s{{,."]){esc}"?\s*=', text) or re.match(
                    rf"^\s*\[+[^\]]*\b{esc}\s*\]+", text
                ):
                    return n
        return None

    def _nth_step_line(self, index: int) -> int | None:
        headers = [
            n for n, t in enumerate(self.lines, 1) if re.match(r"^\s*\[\[\s*steps\s*\]\]", t)
        ]
        if headers:
            return headers[index] if index < len(headers) else None
        inline = [n for n, t in enumerate(self.lines, 1) if re.search(r"\baction\s*=", t)]
        return inline[index] if index < len(inline) else None

    def _key_after(self, start: int, key: str) -> int | None:
        for n in range(start, min(len(self.lines), start + 40) + 1):
            text = self.lines[n - 1]
            if n > start and re.match(r"^\s*\[", text):
                return None
            if re.search(rf"(^|[\s{{,]){re.escape(key)}\s*=", text):
                return n
        return None
