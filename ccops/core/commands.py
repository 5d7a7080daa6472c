"""Commands are data: one registry that key bindings, palette, help, CLI and playbooks share.

Why data and not methods on a screen: a change to the PBX must go through one path
(:mod:`ccops.core.execute`) where it is authorised, journalled, performed and audited. If
each UI surface built its own action, the palette and the CLI would drift, and some path
would forget the audit. Here a command is a frozen pydantic model: its class says what it is
called, what capability it needs and how to describe it; its fields are the validated
parameters.

Validation is strict on purpose. Every text field ends up in an AMI header, and a CR or LF
in a header lets a caller inject a second action; names and interfaces are therefore held
to tight patterns, and free text may not contain control characters.
"""

from __future__ import annotations

import enum
import string
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo

from ccops.core.roles import Capability

# --------------------------------------------------------------------------- value types

_PBX_RE = r"^[A-Za-z0-9_.-]{1,64}$"
_QUEUE_RE = r"^[\w.+@-]{1,80}$"
_IFACE_RE = r"^[A-Za-z][A-Za-z0-9_]*/[A-Za-z0-9_.@+*#:/=-]{1,120}$"
_STATE_IFACE_RE = r"^[A-Za-z][A-Za-z0-9_]*[/:][A-Za-z0-9_.@+*#:/=-]{1,120}$"
_TARGET_RE = r"^[\w.+*#@-]{1,80}$"
_STEP_ID_RE = r"^[a-z][a-z0-9_]{0,63}$"
# Free text that reaches an AMI header: printable, no control characters, no edge blanks.
_TEXT_RE = r"^[^\x00-\x1f\x7f\s](?:[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s])?$"

_PATTERN_HELP: dict[str, str] = {
    _PBX_RE: "1-64 of letters, digits, '_', '.', '-'",
    _QUEUE_RE: "1-80 of letters, digits, '_', '.', '+', '@', '-'",
    _IFACE_RE: "TECH/resource, e.g. PJSIP/1001 or Local/1001@agents",
    _STATE_IFACE_RE: "TECH/resource or TECH:name, e.g. PJSIP/1001 or Custom:agent1001",
    _TARGET_RE: "1-80 of letters, digits, '_', '.', '+', '*', '#', '@', '-'",
    _TEXT_RE: "printable text, no control characters, no leading or trailing blanks",
}

PbxName = Annotated[
    str,
    StringConstraints(pattern=_PBX_RE),
    Field(description="PBX name from the configuration"),
]
QueueName = Annotated[
    str,
    StringConstraints(pattern=_QUEUE_RE),
    Field(description="Asterisk queue name"),
]
Interface = Annotated[
    str,
    StringConstraints(pattern=_IFACE_RE),
    Field(description="member interface, e.g. PJSIP/1001"),
]
StateInterface = Annotated[
    str,
    StringConstraints(pattern=_STATE_IFACE_RE),
    Field(description="device whose state tells if the member is busy, e.g. PJSIP/1001"),
]
MemberName = Annotated[
    str,
    StringConstraints(pattern=_TEXT_RE, max_length=80),
    Field(description="name shown for the member"),
]
FlagTarget = Annotated[
    str,
    StringConstraints(pattern=_TARGET_RE),
    Field(description="queue name (overflow) or DID (night, forced route, announcement)"),
]
FlagValue = Annotated[
    str,
    StringConstraints(pattern=_TEXT_RE, max_length=128),
    Field(description="'on', a destination, or a sound id, as the dialplan expects"),
]
Penalty = Annotated[int, Field(ge=0, le=65535, description="queue penalty (0 = first)")]


class PauseReason(enum.StrEnum):
    """The managed list of pause reasons (domain.md §4.4); they feed KPIs 1, 2 and 13."""

    BREAK = "break"
    MEAL = "meal"
    TRAINING = "training"
    MEETING = "meeting"
    COACHING = "coaching"
    OUTBOUND = "outbound"
    EQUIPMENT_FAULT = "equipment_fault"
    ACCIDENT = "accident"
    OTHER = "other"
    ACW = "acw"


class RoutingFlagKind(enum.StrEnum):
    """The AstDB flags our dialplan snippet reads (architecture §5, domain.md §2.4.4)."""

    OVERFLOW = "overflow"  # per queue
    NIGHT = "night"  # per DID
    FORCED_ROUTE = "forced_route"  # per DID
    EMERGENCY_ANNOUNCEMENT = "emergency_announcement"  # per DID or queue


# --------------------------------------------------------------------------- base


class Command(BaseModel):
    """Base of every command: immutable, unknown parameters rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str]
    capability: ClassVar[Capability]
    description: ClassVar[str]
    needs_pbx: ClassVar[bool] = True
    # True when the performer bounds the command's duration itself (a page: every call has
    # its ring and keypress timeouts, and takes minutes), so the executor's blanket
    # timeout must not cut it short and lose its outcome.
    self_timed: ClassVar[bool] = False

    def params(self) -> dict[str, Any]:
        """Parameters as JSON-ready values (journal, audit, the wire to the daemon)."""
        return self.model_dump(mode="json")

    def summary(self) -> str:
        """One human line for confirmations, the timeline and the audit viewer."""
        shown = ", ".join(f"{k}={v}" for k, v in self.params().items() if v is not None)
        return f"{self.name}({shown})"

    def subject(self) -> str | None:
        """What this command changes, as a key: later commands on it supersede its undo."""
        return None

    def flag_value(self) -> str | None:
        """For routing toggles: the value the flag holds after this command (else None)."""
        return None

    def expected_duration(self) -> int | None:
        """Minutes the change is meant to stay; beyond that an alert reminds someone."""
        return None


COMMANDS: dict[str, type[Command]] = {}
"""Every command by name; filled by :func:`register` at import. Read, don't mutate."""

_C = TypeVar("_C", bound=type[Command])


def register(cls: _C) -> _C:
    """Add a command class to :data:`COMMANDS`; a name may be registered only once."""
    for attr in ("name", "capability", "description"):
        if attr not in cls.__dict__:
            raise TypeError(f"command class {cls.__name__} must define {attr}")
    if cls.name in COMMANDS:
        raise ValueError(f"command name {cls.name!r} is registered twice")
    COMMANDS[cls.name] = cls
    return cls


def _where(queue: str | None) -> str:
    return f"queue {queue}" if queue else "all queues"


# --------------------------------------------------------------------------- members


@register
class PauseMember(Command):
    name: ClassVar[str] = "pause_member"
    capability: ClassVar[Capability] = Capability.MEMBER_CONTROL
    description: ClassVar[str] = "Pause a queue member with a reason (all queues if none named)"

    pbx: PbxName
    queue: QueueName | None = None
    interface: Interface
    reason: Annotated[PauseReason, Field(description="why (managed list; feeds the KPIs)")]

    def summary(self) -> str:
        return f"pause {self.interface} in {_where(self.queue)} on {self.pbx} ({self.reason})"

    def subject(self) -> str:
        return f"pause:{self.pbx}:{self.queue or '*'}:{self.interface}"


@register
class UnpauseMember(Command):
    name: ClassVar[str] = "unpause_member"
    capability: ClassVar[Capability] = Capability.MEMBER_CONTROL
    description: ClassVar[str] = "Unpause a queue member (all queues if none named)"

    pbx: PbxName
    queue: QueueName | None = None
    interface: Interface

    def summary(self) -> str:
        return f"unpause {self.interface} in {_where(self.queue)} on {self.pbx}"

    def subject(self) -> str:
        return f"pause:{self.pbx}:{self.queue or '*'}:{self.interface}"


@register
class AddMember(Command):
    name: ClassVar[str] = "add_member"
    capability: ClassVar[Capability] = Capability.MEMBER_CONTROL
    description: ClassVar[str] = "Add a member to a queue (a standby seat, a moved agent)"

    pbx: PbxName
    queue: QueueName
    interface: Interface
    member_name: MemberName | None = None
    penalty: Penalty = 0
    state_interface: StateInterface | None = None

    def summary(self) -> str:
        who = f"{self.interface} ({self.member_name})" if self.member_name else self.interface
        return f"add {who} to queue {self.queue} on {self.pbx}, penalty {self.penalty}"

    def subject(self) -> str:
        return f"member:{self.pbx}:{self.queue}:{self.interface}"


@register
class RemoveMember(Command):
    name: ClassVar[str] = "remove_member"
    capability: ClassVar[Capability] = Capability.MEMBER_CONTROL
    description: ClassVar[str] = "Remove a member from a queue"

    pbx: PbxName
    queue: QueueName
    interface: Interface

    def summary(self) -> str:
        return f"remove {self.interface} from queue {self.queue} on {self.pbx}"

    def subject(self) -> str:
        return f"member:{self.pbx}:{self.queue}:{self.interface}"


@register
class SetPenalty(Command):
    name: ClassVar[str] = "set_penalty"
    capability: ClassVar[Capability] = Capability.MEMBER_CONTROL
    description: ClassVar[str] = "Change a member's penalty (all queues if none named)"

    pbx: PbxName
    queue: QueueName | None = None
    interface: Interface
    penalty: Penalty

    def summary(self) -> str:
        return (
            f"set penalty of {self.interface} in {_where(self.queue)} on {self.pbx} "
            f"to {self.penalty}"
        )

    def subject(self) -> str:
        return f"penalty:{self.pbx}:{self.queue or '*'}:{self.interface}"


# --------------------------------------------------------------------------- routing


@register
class SetRoutingFlag(Command):
    name: ClassVar[str] = "set_routing_flag"
    capability: ClassVar[Capability] = Capability.ROUTING_TOGGLE
    description: ClassVar[str] = (
        "Turn on overflow, night mode, a forced route or an emergency announcement"
    )

    pbx: PbxName
    kind: Annotated[RoutingFlagKind, Field(description="which routing flag")]
    target: FlagTarget
    value: FlagValue = "on"
    expected_duration_min: Annotated[
        int,
        Field(ge=1, le=7 * 24 * 60, description="minutes before a reminder alert fires"),
    ]

    def summary(self) -> str:
        return (
            f"set {self.kind} for {self.target} on {self.pbx} to {self.value!r} "
            f"for {self.expected_duration_min} min"
        )

    def subject(self) -> str:
        return f"routing:{self.pbx}:{self.kind}:{self.target}"

    def flag_value(self) -> str:
        return self.value

    def expected_duration(self) -> int:
        return self.expected_duration_min


@register
class ClearRoutingFlag(Command):
    name: ClassVar[str] = "clear_routing_flag"
    capability: ClassVar[Capability] = Capability.ROUTING_TOGGLE
    description: ClassVar[str] = "Turn a routing flag off (back to the normal route)"

    pbx: PbxName
    kind: Annotated[RoutingFlagKind, Field(description="which routing flag")]
    target: FlagTarget

    def summary(self) -> str:
        return f"clear {self.kind} for {self.target} on {self.pbx}"

    def subject(self) -> str:
        return f"routing:{self.pbx}:{self.kind}:{self.target}"


# --------------------------------------------------------------------------- alerts


@register
class AcknowledgeAlert(Command):
    name: ClassVar[str] = "acknowledge_alert"
    capability: ClassVar[Capability] = Capability.ACK_ALERT
    description: ClassVar[str] = "Acknowledge a console alert (it stays until it clears)"
    needs_pbx: ClassVar[bool] = False

    alert_id: Annotated[int, Field(ge=1, description="alert number from the alert list")]

    def summary(self) -> str:
        return f"acknowledge alert {self.alert_id}"


# --------------------------------------------------------------------------- paging


@register
class PagePerson(Command):
    name: ClassVar[str] = "page_person"
    capability: ClassVar[Capability] = Capability.START_PLAYBOOK
    description: ClassVar[str] = (
        "Phone an on-call person through the PBX until they press 1 (retried, rate-limited; "
        "emergency numbers are never dialled)"
    )
    needs_pbx: ClassVar[bool] = False
    self_timed: ClassVar[bool] = True

    person: Annotated[
        str, StringConstraints(pattern=_PBX_RE), Field(description="name from the on-call roster")
    ]
    message: Annotated[
        str,
        StringConstraints(pattern=_TEXT_RE, max_length=200),
        Field(description="why (recorded; the phone plays the configured message sound)"),
    ] = "page"
    ref: Annotated[
        str | None,
        StringConstraints(pattern=_TEXT_RE, max_length=80),
        Field(description="incident or step this page belongs to"),
    ] = None

    def summary(self) -> str:
        why = f" for {self.ref}" if self.ref else ""
        return f"page {self.person}{why}: {self.message}"


class StandbyMode(enum.StrEnum):
    """How a standby call-out pages its list."""

    PARALLEL = "parallel"  # everyone at once; members added in the order they press 1
    IN_ORDER = "in_order"  # one after the other, in list order, until `need` are added


_MEMBER_FIELDS = frozenset({"name", "display_name"})


def member_name_for(template: str, name: str, display_name: str) -> str:
    """The member name ``template`` gives a roster person (``{display_name}`` falls back
    to the roster name when the roster has no display name)."""
    return template.format(name=name, display_name=display_name or name)


@register
class PageStandby(Command):
    name: ClassVar[str] = "page_standby"
    capability: ClassVar[Capability] = Capability.MEMBER_CONTROL
    description: ClassVar[str] = (
        "Page a standby list (a roster group or named people) and add each person who "
        "presses 1 to a queue as a member (interface from the on-call roster; each add is "
        "audited and has its own undo)"
    )
    self_timed: ClassVar[bool] = True

    pbx: PbxName
    queue: QueueName
    group: Annotated[
        str | None,
        StringConstraints(pattern=_STEP_ID_RE),
        Field(description="roster group (job role), e.g. standby_staff"),
    ] = None
    people: Annotated[
        tuple[Annotated[str, StringConstraints(pattern=_PBX_RE)], ...] | None,
        Field(min_length=1, max_length=50, description="names from the on-call roster"),
    ] = None
    mode: Annotated[StandbyMode, Field(description="page everyone at once, or in turn")] = (
        StandbyMode.PARALLEL
    )
    need: Annotated[
        int, Field(ge=0, le=100, description="add at most this many (0 = everyone who presses 1)")
    ] = 0
    member_name: Annotated[
        str,
        StringConstraints(pattern=_TEXT_RE, max_length=80),
        Field(description="member name; {name} and {display_name} are the person's"),
    ] = "{display_name}"
    penalty: Penalty = 0
    message: Annotated[
        str,
        StringConstraints(pattern=_TEXT_RE, max_length=200),
        Field(description="why (recorded; the phone plays the configured message sound)"),
    ] = "standby call-out"
    ref: Annotated[
        str | None,
        StringConstraints(pattern=_TEXT_RE, max_length=80),
        Field(description="incident or step this call-out belongs to"),
    ] = None

    @model_validator(mode="after")
    def _one_list(self) -> PageStandby:
        if (self.group is None) == (self.people is None):
            raise ValueError("give either group (a roster group) or people (names), not both")
        if self.people is not None and len(set(self.people)) != len(self.people):
            raise ValueError("people: a name is listed twice")
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(self.member_name)
                      if f is not None}
        except ValueError as exc:
            raise ValueError(f"member_name: not a valid template ({exc})") from None
        unknown = sorted(fields - _MEMBER_FIELDS)
        if unknown:
            raise ValueError(f"member_name: unknown field {{{unknown[0]}}}; "
                             "use {name} or {display_name}")
        return self

    def who(self) -> str:
        return f"the {self.group} list" if self.group else ", ".join(self.people or ())

    def summary(self) -> str:
        how = "one at a time" if self.mode is StandbyMode.IN_ORDER else "all at once"
        cap = f", at most {self.need}" if self.need else ""
        return (f"page {self.who()} ({how}) and add whoever presses 1 to queue {self.queue} "
                f"on {self.pbx}{cap}, penalty {self.penalty}")


# --------------------------------------------------------------------------- incidents
# Performed by ccops.core.incident_perform.IncidentPerformer (the engine), which also checks
# the playbook's and the step's actor role (roles.py note 3) and refuses stale actions.

_STEP_RE = r"^[a-z][a-z0-9_]{0,63}$"
_TIMER_RE = r"^[a-z][a-z0-9_]{0,63}(:L[1-9])?$"
IncidentId = Annotated[int, Field(ge=1, description="incident number")]
StepId = Annotated[
    str, StringConstraints(pattern=_STEP_RE), Field(description="step id from the playbook")
]
NoteText = Annotated[
    str, StringConstraints(pattern=_TEXT_RE, max_length=2000), Field(description="note")
]
RecordValue = Annotated[str, StringConstraints(pattern=_TEXT_RE, max_length=2000)]


class ReportField(enum.StrEnum):
    """The free-text items of the incident report (domain.md §2.5)."""

    SITE = "site"
    IMPACT = "impact"
    MEASURES = "measures"
    TREND = "trend"
    OTHER = "other"
    EVALUATION = "evaluation"  # drill record: the evaluator's text
    PARTICIPANTS = "participants"  # drill record: who took part (comma separated)


class _IncidentCommand(Command):
    needs_pbx: ClassVar[bool] = False


@register
class StartIncident(_IncidentCommand):
    name: ClassVar[str] = "start_incident"
    capability: ClassVar[Capability] = Capability.START_PLAYBOOK
    description: ClassVar[str] = "Start an incident from a playbook (or a drill of it)"

    playbook: Annotated[
        str,
        StringConstraints(pattern=_STEP_RE),
        Field(description="playbook id, e.g. a8_call_surge"),
    ]
    variant: StepId | None = None
    site: NoteText | None = None
    detected_ago_min: Annotated[
        int, Field(ge=0, le=24 * 60, description="minutes since the fault was discovered")
    ] = 0
    drill: Annotated[bool, Field(description="a drill: never counts in production figures")] = False
    scenario: Annotated[
        str | None,
        StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,40}$"),
        Field(description="drill scenario played on the simulator, e.g. surge-x3"),
    ] = None
    scenario_params: dict[
        Annotated[str, StringConstraints(pattern=_STEP_RE)], RecordValue
    ] = Field(default_factory=dict, description="values overriding the scenario's, e.g. trunk")
    lead_min: Annotated[
        int | None, Field(ge=0, le=120, description="minutes before the scenario's fault")
    ] = None

    @model_validator(mode="after")
    def _scenario_is_for_drills(self) -> StartIncident:
        if not self.drill and (
            self.scenario is not None or self.scenario_params or self.lead_min is not None
        ):
            raise ValueError("a scenario (and its values and lead time) needs drill=true")
        if self.drill and self.scenario is None and (
            self.scenario_params or self.lead_min is not None
        ):
            raise ValueError("scenario_params and lead_min need a scenario")
        return self

    def summary(self) -> str:
        kind = "drill" if self.drill else "incident"
        extra = f", scenario {self.scenario}" if self.scenario else ""
        return (f"start {kind} {self.playbook}" + (f" ({self.variant})" if self.variant else "")
                + extra)


@register
class CompleteStep(_IncidentCommand):
    name: ClassVar[str] = "complete_step"
    capability: ClassVar[Capability] = Capability.ACK_STEP
    description: ClassVar[str] = "Mark an incident step done (or waived, with a note)"

    incident_id: IncidentId
    step: StepId
    record: dict[Annotated[str, StringConstraints(pattern=_STEP_RE)], RecordValue] = Field(
        default_factory=dict, description="values the step records"
    )
    note: NoteText | None = None
    waive: bool = False

    def summary(self) -> str:
        verb = "waive" if self.waive else "complete"
        return f"{verb} step {self.step} of incident {self.incident_id}"


@register
class AcknowledgeStep(_IncidentCommand):
    name: ClassVar[str] = "acknowledge_step"
    capability: ClassVar[Capability] = Capability.ACK_STEP
    description: ClassVar[str] = "Acknowledge a fired watchdog, a notification or a missed deadline"

    incident_id: IncidentId
    step: StepId

    def summary(self) -> str:
        return f"acknowledge step {self.step} of incident {self.incident_id}"


@register
class AddIncidentNote(_IncidentCommand):
    name: ClassVar[str] = "add_incident_note"
    capability: ClassVar[Capability] = Capability.ACK_STEP
    description: ClassVar[str] = "Add a note to an incident's timeline"

    incident_id: IncidentId
    text: NoteText

    def summary(self) -> str:
        return f"note on incident {self.incident_id}"


@register
class ChangeTimer(_IncidentCommand):
    name: ClassVar[str] = "change_timer"
    capability: ClassVar[Capability] = Capability.ACK_STEP
    description: ClassVar[str] = "Move an incident timer (a note saying why is required)"

    incident_id: IncidentId
    timer: Annotated[str, StringConstraints(pattern=_TIMER_RE), Field(description="timer key")]
    due_in_min: Annotated[int, Field(ge=0, le=7 * 24 * 60, description="minutes from now")]
    note: NoteText

    def summary(self) -> str:
        return f"move timer {self.timer} of incident {self.incident_id} to +{self.due_in_min} min"


@register
class SetSurgeLevel(_IncidentCommand):
    name: ClassVar[str] = "set_surge_level"
    capability: ClassVar[Capability] = Capability.ACK_STEP
    description: ClassVar[str] = "Set an incident's support level by hand (a note is required)"

    incident_id: IncidentId
    level: Annotated[int, Field(ge=1, le=9)]
    note: NoteText

    def summary(self) -> str:
        return f"set incident {self.incident_id} to level {self.level}"


@register
class SetReportField(_IncidentCommand):
    name: ClassVar[str] = "set_report_field"
    capability: ClassVar[Capability] = Capability.ACK_STEP
    description: ClassVar[str] = "Fill an item of the incident report (site, impact, measures, …)"

    incident_id: IncidentId
    field: ReportField
    text: NoteText

    def summary(self) -> str:
        return f"report {self.field} of incident {self.incident_id}"


@register
class RunPbxStep(_IncidentCommand):
    name: ClassVar[str] = "run_pbx_step"
    capability: ClassVar[Capability] = Capability.ACK_STEP
    description: ClassVar[str] = (
        "Run an incident's PBX step (the PBX command is checked and audited on its own too)"
    )
    needs_pbx: ClassVar[bool] = True
    self_timed: ClassVar[bool] = True  # its PBX command is timed on its own nested run

    incident_id: IncidentId
    step: StepId

    def summary(self) -> str:
        return f"run PBX step {self.step} of incident {self.incident_id}"


@register
class CloseIncident(_IncidentCommand):
    name: ClassVar[str] = "close_incident"
    capability: ClassVar[Capability] = Capability.CLOSE_INCIDENT
    description: ClassVar[str] = "Close an incident once its closure requirements hold"

    incident_id: IncidentId
    note: NoteText | None = None
    keep_pbx_changes: Annotated[
        bool, Field(description="close without undoing PBX changes (needs a note)")
    ] = False
    undo_pbx_changes: Annotated[
        bool,
        Field(description="first undo every PBX change the incident made (read back, audited)"),
    ] = False

    def summary(self) -> str:
        if self.undo_pbx_changes:
            return f"undo PBX changes and close incident {self.incident_id}"
        return f"close incident {self.incident_id}"


# --------------------------------------------------------------------------- lookup


class CommandError(ValueError):
    """A command name or its parameters are wrong; ``problems`` are one message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_command(name: str, params: Mapping[str, Any]) -> Command:
    """Build a command from its name and raw parameters (CLI, socket, playbook YAML).

    ``-`` and ``_`` are interchangeable in the name so ``pause-member`` works on a shell.
    """
    key = name.strip().replace("-", "_")
    cls = COMMANDS.get(key)
    if cls is None:
        known = ", ".join(sorted(COMMANDS))
        raise CommandError([f"unknown command {name!r}; known commands: {known}"])
    try:
        return cls.model_validate(dict(params))
    except ValidationError as exc:
        raise CommandError(_located(key, exc)) from None


def _located(name: str, exc: ValidationError) -> list[str]:
    out: list[str] = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "(parameters)"
        msg = err.get("msg", "invalid")
        if err.get("type") == "string_pattern_mismatch":
            pattern = str((err.get("ctx") or {}).get("pattern", ""))
            msg = "expected " + _PATTERN_HELP.get(pattern, "a different form")
        given = err.get("input")
        shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
        out.append(f"{name}: {where}: {msg}{shown}")
    return out


# --------------------------------------------------------------------------- describe


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One parameter as the help screen, the palette form and ``--help`` show it."""

    name: str
    type: str
    required: bool
    default: Any
    choices: tuple[str, ...] | None
    help: str


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """One command as the help screen and palette list it."""

    name: str
    description: str
    capability: Capability
    needs_pbx: bool
    params: tuple[ParamInfo, ...]


def describe(filter_fn: Callable[[type[Command]], bool] | None = None) -> list[CommandInfo]:
    """Every registered command (optionally filtered, e.g. by the operator's role), by name."""
    out: list[CommandInfo] = []
    for name in sorted(COMMANDS):
        cls = COMMANDS[name]
        if filter_fn is not None and not filter_fn(cls):
            continue
        params: list[ParamInfo] = []
        for field_name, info in cls.model_fields.items():
            type_name, choices, nested_help = _describe_type(info.annotation)
            params.append(
                ParamInfo(
                    name=field_name,
                    type=type_name,
                    required=info.is_required(),
                    default=None if info.is_required() else info.get_default(),
                    choices=choices,
                    help=info.description or nested_help,
                )
            )
        out.append(
            CommandInfo(
                name=name,
                description=cls.description,
                capability=cls.capability,
                needs_pbx=cls.needs_pbx,
                params=tuple(params),
            )
        )
    return out


def _describe_type(annotation: Any) -> tuple[str, tuple[str, ...] | None, str]:
    """(type name, choices, help) of a field annotation, looking through Optional/Annotated."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *meta = typing.get_args(annotation)
        name, choices, help_text = _describe_type(base)
        for item in meta:
            if isinstance(item, FieldInfo) and item.description:
                help_text = item.description
        return name, choices, help_text
    if origin is Union or origin is types.UnionType:
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(parts) == 1:
            name, choices, help_text = _describe_type(parts[0])
            return f"{name} (optional)", choices, help_text
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice", tuple(str(m.value) for m in annotation), ""
    if isinstance(annotation, type):
        return annotation.__name__, None, ""
    return str(annotation), None, ""
