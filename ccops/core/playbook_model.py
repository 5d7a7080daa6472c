"""Playbooks as data: the pydantic models every playbook YAML file is validated against.

Why a strict model and not free YAML: a playbook is a procedure people follow during an
outage or a fire. A misspelt key silently ignored would drop a step or a timer, so unknown
keys are errors, durations must carry a unit, and every reference between steps is checked
(:func:`cross_check`) before a playbook can be started.

Vocabulary (``docs/playbooks.md`` has the full format):

* a **job role** is a seed actor (agent, duty team leader, O&M specialist, …); it says who
  does a step and who is told. :data:`JOB_ROLES` maps each to the ccops
  :class:`~ccops.core.roles.Role` s that may act for it (roles.py note 3) and that receive
  its console notifications; the on-call roster maps it to people for phone pages;
* a **span** is a duration (``5m``, ``90s``, ``1h30m``) or a reference to a playbook
  parameter (``$om_reminder``). Values the seeds leave unset are parameters whose default
  is ``null``: a timer on an unset parameter is not armed, and says so, never invented;
* an **anchor** is what a timer counts from: ``detected`` (fault discovery, the default
  the seeds' "within 10 minutes" is measured from), ``started`` (incident declared) or
  ``step:<id>`` (another step's completion).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ccops.core.commands import COMMANDS
from ccops.core.roles import Role

# --------------------------------------------------------------------------- job roles


@dataclass(frozen=True, slots=True)
class JobRole:
    """A seed actor: what it is called, which ccops roles act for it, if it can log in."""

    title: str
    acts_as: frozenset[Role]
    console: bool = True  # False: people outside the console (reached by phone only)


_SUP = frozenset({Role.SUPERVISOR})
_OM = frozenset({Role.MAINTENANCE, Role.SUPERVISOR})
_NONE: frozenset[Role] = frozenset()

JOB_ROLES: Mapping[str, JobRole] = {
    # call centre (domain.md §1.1-§1.2)
    "agent": JobRole("agent (呼叫业务员); the team leader records for them", _SUP),
    "team_leader": JobRole("duty team leader (值班组长)", _SUP),
    "cc_supervisor": JobRole("call-centre supervisor (呼叫中心主管 / 现场主管)", _SUP),
    "ops_supervisor": JobRole("operations supervisor (运营主管)", _SUP),
    "center_manager": JobRole("centre manager (中心经理)", _SUP),
    "center_leadership": JobRole("centre leadership (中心领导 / 主管领导)", _SUP),
    "superiors": JobRole("superiors (上级领导)", _SUP, console=False),
    "om_specialist": JobRole("O&M specialist (系统运维专员)", _OM),
    "repair_staff": JobRole("repair staff (维修人员)", _NONE, console=False),
    "system_vendor": JobRole("system vendor (系统供应商)", _NONE, console=False),
    "responsible_dept": JobRole("responsible department (责任部门)", _NONE, console=False),
    "standby_staff": JobRole("standby staff (候补人员)", _NONE, console=False),
    "functional_staff": JobRole("functional staff (职能人员)", _NONE, console=False),
    "head_center": JobRole("networked head centre (联网中心)", _NONE, console=False),
    "spokesperson": JobRole("designated spokesperson (发言人)", _SUP),
    "dispatcher": JobRole("dispatcher (调度)", frozenset({Role.DISPATCHER, Role.SUPERVISOR})),
    # service hall (domain.md §2.3)
    "hall_staff": JobRole("hall staff (客服人员 / 服务人员)", _SUP),
    "security_guard": JobRole("security guard (安保人员)", _SUP),
    "department_head": JobRole("department head (部门负责人)", _SUP),
    "hall_manager": JobRole("customer-service-centre manager (客服中心经理)", _SUP),
    "it_partner": JobRole("IT maintenance partner (电脑维护合作单位)", _NONE, console=False),
    "security_inspection": JobRole(
        "security inspection department manager (安全监察部经理)", _SUP, console=False
    ),
}


def may_act_for(role: Role, job_role: str) -> bool:
    """True when an operator of ``role`` may complete a step whose actor is ``job_role``.

    The administrator may act for anyone (§1.3 gives admin every playbook right).
    """
    if role is Role.ADMIN:
        return True
    info = JOB_ROLES.get(job_role)
    return info is not None and role in info.acts_as


def _job_role(value: Any) -> Any:
    if isinstance(value, str) and value not in JOB_ROLES:
        known = ", ".join(sorted(JOB_ROLES))
        raise ValueError(f"unknown job role {value!r}; known: {known}")
    return value


JobRoleName = Annotated[str, BeforeValidator(_job_role)]

# --------------------------------------------------------------------------- spans

_SPAN_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_PARAM_RE = re.compile(r"^\$([a-z][a-z0-9_]{0,63})$")


class Span(BaseModel):
    """A duration in seconds, or ``param``: the name of a playbook parameter holding one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seconds: int | None = None
    param: str | None = None

    def __str__(self) -> str:
        return f"${self.param}" if self.param else format_span(self.seconds or 0)


def parse_span(text: str) -> int:
    """``"5m"`` → 300. Units h, m, s in that order; a bare number is refused (which unit?)."""
    m = _SPAN_RE.match(text.strip())
    if not text.strip() or m is None or not any(m.groups()):
        raise ValueError(f"expected a duration like 5m, 90s, 1h or 1h30m (got {text!r})")
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def format_span(seconds: float) -> str:
    """300 → ``"5m"``; 5430 → ``"1h30m30s"``; negative values keep their sign."""
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s else ""]
    return sign + ("".join(parts) or "0s")


def _span(value: Any) -> Any:
    if isinstance(value, Span | dict):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"expected a duration like 5m, 90s, 1h or a $parameter (got {value!r})"
        )
    ref = _PARAM_RE.match(value.strip())
    if ref:
        return {"param": ref.group(1)}
    return {"seconds": parse_span(value)}


SpanField = Annotated[Span, BeforeValidator(_span)]

_ID = r"^[a-z][a-z0-9_]{0,63}$"
StepId = Annotated[str, Field(pattern=_ID)]
_ANCHOR_RE = re.compile(r"^(detected|started|step:[a-z][a-z0-9_]{0,63})$")


def _anchor(value: Any) -> Any:
    if not isinstance(value, str) or not _ANCHOR_RE.match(value):
        raise ValueError(f"expected detected, started or step:<id> (got {value!r})")
    return value


Anchor = Annotated[str, BeforeValidator(_anchor)]

# --------------------------------------------------------------------------- parts


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Parameter(_Strict):
    """A value the seeds leave unset (or a site fact like a queue name): a setting.

    ``default`` null means "not set": timers on it stay unarmed, PBX steps needing it
    cannot run, and the console says which parameter to set.
    """

    type: Literal["duration", "text", "int"]
    default: str | int | None = None
    text: str = Field(min_length=1)


class RecordField(_Strict):
    """Something a step records (a log entry, a time, a yes/no decision)."""

    name: StepId
    label: str = ""
    type: Literal["text", "time", "bool", "int", "choice"] = "text"
    required: bool = True
    choices: tuple[str, ...] = ()


def _record(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    return value


RecordSpec = Annotated[RecordField, BeforeValidator(_record)]


class Notify(_Strict):
    """Who is told: ``roles`` get a console alert, ``page`` a phone call via the roster."""

    roles: tuple[JobRoleName, ...] = ()
    page: tuple[JobRoleName, ...] = ()
    message: str = ""


class _StepBase(_Strict):
    id: StepId
    title: str = Field(min_length=1)
    text: str = ""
    actor: JobRoleName
    source: str = Field(min_length=1, description="seed reference, e.g. S001-P1 §2.3")
    variant: str | None = None
    optional: bool = False
    needs: tuple[StepId, ...] = ()  # steps that must be done first
    record: tuple[RecordSpec, ...] = ()


class CheckStep(_StepBase):
    """A manual check: the actor does something and records what the fields ask."""

    kind: Literal["check"]


class DeadlineStep(_StepBase):
    """A check that must be done within ``within`` of ``anchor``; missing it alerts."""

    kind: Literal["deadline"]
    within: SpanField
    anchor: Anchor = "detected"
    notify: Notify = Notify()  # told when the deadline is missed (the actor always is)


class WatchdogStep(_StepBase):
    """At ``anchor + at``, unless step ``unless`` is done, notify (and prompt the actor)."""

    kind: Literal["watchdog"]
    at: SpanField
    anchor: Anchor = "detected"
    unless: StepId
    notify: Notify = Notify()


class Level(_Strict):
    """One support level; level k+1 starts when level k is not controlled for ``after``."""

    level: int = Field(ge=1, le=9)
    title: str = Field(min_length=1)
    text: str = ""
    after: SpanField | None = None
    notify: Notify = Notify()
    source: str = Field(min_length=1)


class EscalationStep(_StepBase):
    """Levels that escalate on timers until step ``unless`` (e.g. "controlled") is done."""

    kind: Literal["escalation"]
    unless: StepId
    levels: tuple[Level, ...] = Field(min_length=2)


class NotifyStep(_StepBase):
    """Tell roles (console) and page people (phone) when ``anchor`` happens; ack tracked."""

    kind: Literal["notify"]
    anchor: Anchor = "started"
    notify: Notify


class PbxStep(_StepBase):
    """A PBX change through an existing command; ``params`` may use ``$parameters``."""

    kind: Literal["pbx"]
    command: str
    params: dict[str, Any] = Field(default_factory=dict)


class LinkStep(_StepBase):
    """Start (or join) another playbook, e.g. A2 step 7 → A8 for staffing."""

    kind: Literal["link"]
    playbook: str = Field(pattern=_ID)


Step = Annotated[
    CheckStep | DeadlineStep | WatchdogStep | EscalationStep | NotifyStep | PbxStep | LinkStep,
    Field(discriminator="kind"),
]


class Closure(_Strict):
    """What must hold before the incident may close (domain.md §2.5 closure gate)."""

    require: tuple[StepId, ...] = ()  # steps that must be done (or waived with a note)
    records: tuple[str, ...] = ()  # "step.field" values that must be recorded
    pbx_reverted: bool = True  # every PBX change undone, or explicitly kept with a note


_SCENARIO_NAME = r"^[a-z][a-z0-9-]{0,40}$"


class DrillScenario(_Strict):
    """What the simulator is made to do when a drill of this playbook starts.

    ``steps`` use the scenario-file format (:mod:`ccops.sim.scenario`; only steps the
    daemon can undo, see :mod:`ccops.sim.drill`); a ``$name`` value is one of ``params``
    (overridable when the drill starts) or a playbook parameter. ``lead`` delays the fault
    so the team has to detect it; the drill's detection time is then the fault's time.
    """

    title: str = Field(min_length=1)
    lead: SpanField | None = None
    params: dict[Annotated[str, Field(pattern=_ID)], str | int | float] = Field(
        default_factory=dict
    )
    steps: tuple[dict[str, Any], ...] = Field(min_length=1)


class DrillSpec(_Strict):
    """The scenarios a drill of this playbook may run on the simulator (issue 4)."""

    default: str | None = None
    scenarios: dict[Annotated[str, Field(pattern=_SCENARIO_NAME)], DrillScenario] = Field(
        default_factory=dict
    )


class Playbook(_Strict):
    """One emergency procedure. ``version`` is bumped by whoever edits it; an incident
    pins the version and the content hash it started with."""

    id: str = Field(pattern=_ID)
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    title_zh: str = ""
    category: Literal["call_center", "service_hall"]
    source: str = Field(min_length=1)
    summary: str = ""
    start_roles: tuple[Role, ...] = (Role.SUPERVISOR, Role.ADMIN)
    suggest_on: tuple[str, ...] = ()  # live signals that suggest this playbook (never start)
    variants: dict[str, str] = Field(default_factory=dict)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    steps: tuple[Step, ...] = Field(min_length=1)
    closure: Closure = Closure()
    drill: DrillSpec = DrillSpec()

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def steps_for(self, variant: str | None) -> Iterator[Step]:
        """The steps that apply to an incident of ``variant`` (unmarked steps always do)."""
        for s in self.steps:
            if s.variant is None or s.variant == variant:
                yield s


# --------------------------------------------------------------------------- checks

Loc = tuple[str | int, ...]


def cross_check(pb: Playbook) -> list[tuple[Loc, str]]:
    """References a field type cannot check: step ids, variants, parameters, commands.

    Returns (location, message) pairs; the loader turns locations into file:line.
    """
    problems: list[tuple[Loc, str]] = []
    ids: dict[str, int] = {}
    for i, s in enumerate(pb.steps):
        if s.id in ids:
            problems.append((("steps", i, "id"), f"duplicate step id {s.id!r}"))
        ids.setdefault(s.id, i)

    def ref(loc: Loc, step_id: str) -> None:
        if step_id not in ids:
            problems.append((loc, f"unknown step {step_id!r}"))

    def span(loc: Loc, value: Span | None) -> None:
        if value is None or value.param is None:
            return
        p = pb.parameters.get(value.param)
        if p is None:
            problems.append((loc, f"unknown parameter ${value.param}"))
        elif p.type != "duration":
            problems.append((loc, f"parameter ${value.param} is {p.type}, not a duration"))

    def anchor(loc: Loc, value: str) -> None:
        if value.startswith("step:"):
            ref(loc, value[5:])

    for name, p in pb.parameters.items():
        if p.type == "duration" and isinstance(p.default, str):
            try:
                parse_span(p.default)
            except ValueError as exc:
                problems.append((("parameters", name, "default"), str(exc)))
    for i, s in enumerate(pb.steps):
        base: Loc = ("steps", i)
        if s.variant is not None and s.variant not in pb.variants:
            problems.append(((*base, "variant"), f"unknown variant {s.variant!r}"))
        for j, need in enumerate(s.needs):
            ref((*base, "needs", j), need)
        if isinstance(s, DeadlineStep):
            span((*base, "within"), s.within)
            anchor((*base, "anchor"), s.anchor)
        elif isinstance(s, WatchdogStep):
            span((*base, "at"), s.at)
            anchor((*base, "anchor"), s.anchor)
            ref((*base, "unless"), s.unless)
        elif isinstance(s, NotifyStep):
            anchor((*base, "anchor"), s.anchor)
        elif isinstance(s, EscalationStep):
            ref((*base, "unless"), s.unless)
            for j, lv in enumerate(s.levels):
                if lv.level != j + 1:
                    problems.append(((*base, "levels", j, "level"), f"expected level {j + 1}"))
                if j > 0 and lv.after is None:
                    problems.append(((*base, "levels", j), "levels after the first need after"))
                span((*base, "levels", j, "after"), lv.after)
        elif isinstance(s, PbxStep):
            problems.extend(_check_pbx(pb, s, base))
    problems.extend(_check_drill(pb))
    for j, need in enumerate(pb.closure.require):
        ref(("closure", "require", j), need)
    for j, rec in enumerate(pb.closure.records):
        step_id, _, field = rec.partition(".")
        if step_id not in ids:
            problems.append((("closure", "records", j), f"unknown step {step_id!r}"))
        elif field not in {r.name for r in pb.steps[ids[step_id]].record}:
            problems.append((("closure", "records", j), f"step {step_id} records no {field!r}"))
    return problems


def _check_drill(pb: Playbook) -> list[tuple[Loc, str]]:
    """Drill scenarios: known default, resolvable ``$names``, steps valid as scenario steps.

    The step models live with the simulator (one format for scenario files and drills), so
    they are imported here, at check time only.
    """
    from ccops.sim.drill import DrillStepError, parse_steps, placeholders

    out: list[tuple[Loc, str]] = []
    spec = pb.drill
    if spec.default is not None and spec.default not in spec.scenarios:
        out.append((("drill", "default"), f"no drill scenario {spec.default!r}"))
    for name, sc in spec.scenarios.items():
        base: Loc = ("drill", "scenarios", name)
        if sc.lead is not None and sc.lead.param is not None:
            out.append(((*base, "lead"), "a drill's lead is a duration, not a parameter"))
        refs = placeholders(sc.steps)
        probe: dict[str, Any] = {}
        for ref_name in sorted(refs):
            if ref_name in sc.params:
                probe[ref_name] = sc.params[ref_name]
            elif ref_name in pb.parameters:
                probe[ref_name] = "probe"  # a site value: checked when the drill starts
            else:
                out.append(((*base, "steps"), f"unknown parameter ${ref_name}"))
        if out:
            continue
        raw = [{k: probe[v[1:]] if isinstance(v, str) and v.startswith("$") else v
                for k, v in step.items()} for step in sc.steps]
        try:
            parse_steps(raw)
        except DrillStepError as exc:
            for loc, msg in exc.problems:
                if len(loc) > 1 and sc.steps[int(loc[0])].get(str(loc[1]), "") in (
                    f"${r}" for r in refs if r not in sc.params
                ):
                    continue  # a site parameter: its value is checked when the drill starts
                out.append(((*base, "steps", *loc), msg))
    return out


def _check_pbx(pb: Playbook, s: PbxStep, base: Loc) -> list[tuple[Loc, str]]:
    cls = COMMANDS.get(s.command)
    if cls is None or not cls.needs_pbx:
        known = ", ".join(sorted(n for n, c in COMMANDS.items() if c.needs_pbx))
        return [((*base, "command"), f"unknown PBX command {s.command!r}; known: {known}")]
    out: list[tuple[Loc, str]] = []
    for key, value in s.params.items():
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name not in pb.parameters:
                out.append(((*base, "params", key), f"unknown parameter {value}"))
    if not out:
        placeholders = {k for k, v in s.params.items() if isinstance(v, str) and v[:1] == "$"}
        probe = substitute(s.params, pb.parameters, {}, probe=True)
        try:
            cls.model_validate(probe)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err.get("loc", ()))
                if loc and loc[0] in placeholders:
                    continue  # checked when the parameter's value is known
                out.append(((*base, "params", *loc), _msg(err)))
        problem = roster_group_problem(s.command, probe)
        if problem is not None and "group" not in placeholders:
            out.append(((*base, "params", "group"), problem))
        elif problem is not None and pb.parameters[s.params["group"][1:]].default is not None:
            out.append(((*base, "params", "group"), f"{problem} (default of {s.params['group']})"))
    return out


def roster_group_problem(command: str, params: Mapping[str, Any]) -> str | None:
    """A standby call-out's ``group`` must be a job role (the on-call roster's groups)."""
    group = params.get("group") if command == "page_standby" else None
    if not isinstance(group, str) or group in JOB_ROLES:
        return None
    return f"unknown roster group {group!r}; a job role, e.g. standby_staff"


def substitute(
    params: Mapping[str, Any],
    parameters: Mapping[str, Parameter],
    values: Mapping[str, Any],
    *,
    probe: bool = False,
) -> dict[str, Any]:
    """Replace ``$name`` by the parameter's value (``values`` override defaults).

    With ``probe`` an unset parameter becomes a valid-looking placeholder, so the rest of
    the parameters can be validated at load time. Otherwise an unset one raises KeyError.
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            got = values.get(name, parameters[name].default)
            if got is None:
                if not probe:
                    raise KeyError(name)
                got = "unset" if parameters[name].type != "int" else 1
            out[key] = got
        else:
            out[key] = value
    return out


def validate_playbook(data: Any) -> Playbook:
    """Model validation plus :func:`cross_check`; raises :class:`PlaybookInvalid`."""
    try:
        pb = Playbook.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        locs = [tuple(e.get("loc", ())) for e in errors]
        raise PlaybookInvalid(
            [
                (loc, _msg(e))
                for loc, e in zip(locs, errors, strict=True)
                # "at least 1 item" because the only item was invalid: that item says why
                if not (e.get("type") == "too_short"
                        and any(o[: len(loc)] == loc and len(o) > len(loc) for o in locs))
            ]
        ) from None
    problems = cross_check(pb)
    if problems:
        raise PlaybookInvalid(problems)
    return pb


def _msg(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    given = err.get("input")
    if "(got " in msg or isinstance(given, dict | list) or given is None:
        return msg
    return f"{msg} (got {given!r})"


class PlaybookInvalid(ValueError):
    """Validation problems as (location, message) pairs, before file/line are attached."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {m}" for loc, m in problems))
        self.problems = problems
