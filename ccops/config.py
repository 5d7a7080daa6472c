"""Configuration: one TOML file plus ``CCOPS_`` environment variables (pydantic-settings).

Why one module: ``ccops check``, the daemon, the simulator and the tests all read the same
models, so a setting cannot mean two things. Validation errors are turned into located,
human messages (:func:`format_errors`) because an admin editing ``ccops.toml`` at 2 a.m.
needs "ccops.toml line 12: pbx[0].port: must be ≤ 65535", not a traceback.

Secrets (AMI passwords) are :class:`pydantic.SecretStr`: they print as ``**********`` in
logs, reprs and ``ccops status``. A PBX secret may come from the file, from a file named by
``secret_file``, or from the environment variable ``CCOPS_PBX_<NAME>_SECRET``.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

_NAME_RE = r"^[A-Za-z0-9_.-]{1,64}$"


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in the file must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class TrunkConfig(_Strict):
    """A PJSIP endpoint that is a trunk, with the channel capacity bought from the carrier."""

    name: str = Field(pattern=_NAME_RE)
    capacity: int = Field(default=30, ge=1, le=10_000)
    description: str = ""


class PbxConfig(_Strict):
    """One Asterisk reached over AMI."""

    name: str = Field(pattern=_NAME_RE)
    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = "ccops"
    secret: SecretStr | None = None
    secret_file: Path | None = None
    connect_timeout: float = Field(default=5.0, gt=0, le=120)
    login_timeout: float = Field(default=5.0, gt=0, le=120)
    ping_interval: float = Field(default=5.0, gt=0, le=600)
    ping_timeout: float = Field(default=5.0, gt=0, le=600)
    action_timeout: float = Field(default=10.0, gt=0, le=600)
    backoff_initial: float = Field(default=0.5, gt=0, le=60)
    backoff_max: float = Field(default=30.0, gt=0, le=3600)
    auth_backoff: float = Field(default=60.0, gt=0, le=3600)
    max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    events: str = "system,call,agent,user"
    reconcile_interval: float = Field(default=120.0, ge=0, le=86_400)
    routing_family: str = Field(default="ccops", pattern=_NAME_RE)
    trunks: list[TrunkConfig] = Field(default_factory=list)
    simulated: bool = False  # set for the embedded simulator, shown as SIMULATED

    def resolve_secret(self) -> str:
        """The AMI password from (in order) the file, ``secret_file``, or the environment."""
        if self.secret is not None:
            return self.secret.get_secret_value()
        if self.secret_file is not None:
            try:
                return self.secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    [f"pbx {self.name}: secret_file {self.secret_file}: {exc.strerror}"]
                ) from exc
        env_name = f"CCOPS_PBX_{re.sub(r'[^A-Za-z0-9]', '_', self.name).upper()}_SECRET"
        value = os.environ.get(env_name)
        if value is None:
            raise ConfigError(
                [f"pbx {self.name}: no secret: set secret, secret_file or ${env_name}"]
            )
        return value


SlFormula = Literal["answered_over_offered", "answered_over_answered", "exclude_short_abandons"]


class QueueKpiConfig(_Strict):
    """Per-queue overrides of the KPI settings."""

    sl_threshold: int | None = Field(default=None, ge=1, le=3600)
    sl_target: float | None = Field(default=None, gt=0, le=1)
    short_abandon: int | None = Field(default=None, ge=0, le=600)
    # The dialplan's Queue() timeout (s). Asterisk reports a timeout as QueueCallerAbandon;
    # a HoldTime ≥ this is a timeout even when the dialplan hangs up right after Queue().
    max_wait: int | None = Field(default=None, ge=1, le=86_400)


class KpiConfig(_Strict):
    """How the console computes its own numbers (domain.md §3)."""

    sl_threshold: int = Field(default=20, ge=1, le=3600)  # seconds (seed: 20 s)
    sl_target: float = Field(default=0.8, gt=0, le=1)  # seed redacted: a setting
    short_abandon: int = Field(default=20, ge=0, le=600)  # seed: ≤ 20 s is a short abandon
    sl_formula: SlFormula = "exclude_short_abandons"
    bucket_minutes: int = Field(default=15, ge=1, le=60)
    day_reset: str = Field(default="00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: str = "UTC"
    rolling_window_minutes: int = Field(default=60, ge=5, le=1440)
    default_wrapup: int = Field(default=0, ge=0, le=3600)  # when a queue reports none
    queues: dict[str, QueueKpiConfig] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


Metric = Literal[
    "waiting",
    "longest_wait",
    "service_level",
    "abandon_rate",
    "asa",
    "aht",
    "agents_available",
    "erlang_gap",
    "trunk_reachable",
    "trunk_registered",
    "trunk_usage",
    "link_up",
    "routing_flag_overdue",
]


class AlertRule(_Strict):
    """A threshold rule with hysteresis (raise at one level, clear at another) and cooldown."""

    name: str = Field(pattern=_NAME_RE)
    metric: Metric
    scope: str = "*"  # glob on the queue or trunk name ("pbx:queue" or "queue")
    op: Literal[">", ">=", "<", "<="] = ">"
    raise_at: float
    clear_at: float | None = None  # default: raise_at (no hysteresis)
    for_seconds: float = Field(default=0, ge=0)
    cooldown_seconds: float = Field(default=60, ge=0)
    severity: Literal["info", "warning", "critical"] = "warning"
    message: str = ""


def default_alert_rules() -> list[AlertRule]:
    """Sensible rules an unconfigured console starts with."""
    return [
        AlertRule(name="queue-waiting", metric="waiting", op=">=", raise_at=10, clear_at=5),
        AlertRule(
            name="queue-longest-wait", metric="longest_wait", op=">=", raise_at=120, clear_at=60
        ),
        AlertRule(
            name="queue-sl-low",
            metric="service_level",
            op="<",
            raise_at=0.6,
            clear_at=0.7,
            for_seconds=60,
        ),
        AlertRule(
            name="queue-no-agents",
            metric="agents_available",
            op="<=",
            raise_at=0,
            clear_at=1,
            for_seconds=30,
            severity="critical",
        ),
        AlertRule(
            name="trunk-unreachable",
            metric="trunk_reachable",
            op="<",
            raise_at=1,
            clear_at=1,
            severity="critical",
            cooldown_seconds=0,
        ),
        AlertRule(
            name="trunk-unregistered",
            metric="trunk_registered",
            op="<",
            raise_at=1,
            clear_at=1,
            severity="critical",
            cooldown_seconds=0,
        ),
        AlertRule(
            name="trunk-near-capacity", metric="trunk_usage", op=">=", raise_at=0.9, clear_at=0.8
        ),
        AlertRule(
            name="pbx-link-down",
            metric="link_up",
            op="<",
            raise_at=1,
            clear_at=1,
            for_seconds=5,
            severity="critical",
            cooldown_seconds=0,
        ),
        AlertRule(
            name="routing-flag-overdue",
            metric="routing_flag_overdue",
            op=">",
            raise_at=0,
            cooldown_seconds=0,
            message="{name} on {pbx} is still on, {value} past its expected duration",
        ),
    ]


ROUTING_FLAG_KINDS = ("overflow", "night", "forced_route", "emergency_announcement")


def _default_expected_minutes() -> dict[str, int]:
    return {"overflow": 60, "night": 14 * 60, "forced_route": 120, "emergency_announcement": 60}


class RoutingConfig(_Strict):
    """Routing toggles: how long each kind of flag is expected to stay on.

    A toggle set through ccops carries its own ``expected_duration_min``; these defaults
    apply to flags ccops finds on without one (set from the CLI, another tool, or before
    the store existed). Past the expected duration the ``routing_flag_overdue`` alert fires.
    """

    expected_minutes: dict[str, int] = Field(default_factory=_default_expected_minutes)

    @field_validator("expected_minutes")
    @classmethod
    def _known_and_in_range(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(k for k in value if k not in ROUTING_FLAG_KINDS)
        if unknown:
            raise ValueError(f"unknown flag kind {', '.join(unknown)}; expected one of: "
                             f"{', '.join(ROUTING_FLAG_KINDS)}")
        bad = sorted(k for k, v in value.items() if not 1 <= v <= 7 * 24 * 60)
        if bad:
            raise ValueError(f"expected minutes must be 1..10080; wrong for {', '.join(bad)}")
        return {**_default_expected_minutes(), **value}


class StoreConfig(_Strict):
    path: Path | None = None  # default: <state_dir>/ccops.sqlite3


class DaemonConfig(_Strict):
    state_dir: Path | None = None  # default: $XDG_STATE_HOME/ccops or ~/.local/state/ccops
    socket: Path | None = None  # default: <state_dir>/ccops.sock
    publish_hz: float = Field(default=10.0, gt=0, le=20)  # coalesced deltas (decisions.md)
    client_queue_limit: int = Field(default=256, ge=8)  # frames; beyond → snapshot mode

    def resolved_state_dir(self) -> Path:
        if self.state_dir is not None:
            return self.state_dir
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(base) / "ccops"

    def resolved_socket(self) -> Path:
        return self.socket or self.resolved_state_dir() / "ccops.sock"


class SimConfig(_Strict):
    """The embedded simulated PBX, used when no ``[[pbx]]`` is configured."""

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)  # 0 = any free port
    username: str = "ccops"
    secret: SecretStr = SecretStr("ccops-sim")
    scenario: Path | None = None
    seed: int = 1


class SshConfig(_Strict):
    """The SSH gateway (``ccops serve`` with ``enabled = true``): operators log in with keys.

    Defaults are the safe ones: off, loopback only, public keys only. The host key is
    generated on first start and kept (mode 0600) so clients can pin it; the operators file
    (``config/operators.example.toml``) names who may log in, with which keys and role.
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=2222, ge=0, le=65535)  # 0 = any free port (tests)
    host_key: Path | None = None  # default: <state_dir>/ssh_host_ed25519_key
    operators: Path | None = None  # required when enabled
    allow_passwords: bool = False
    max_sessions: int = Field(default=32, ge=1, le=1000)
    login_timeout: float = Field(default=30.0, gt=0, le=600)
    keepalive_interval: float = Field(default=30.0, ge=0, le=3600)  # 0 = off
    failure_delay: float = Field(default=1.0, ge=0, le=60)  # first refused attempt
    failure_delay_max: float = Field(default=30.0, ge=0, le=600)  # doubling stops here
    failure_forget: float = Field(default=900.0, gt=0, le=86_400)  # quiet period that resets
    slow_client_timeout: float = Field(default=30.0, gt=0, le=600)  # output stalled → drop
    # Seconds without keyboard input before a session is ended (warned first); 0 = never,
    # the default, so wall displays stay up. Live screen updates do not count as input.
    idle_timeout: float = Field(default=0.0, ge=0, le=7 * 86_400)
    # Connections that have not authenticated yet: in all, and from one address. Over
    # either cap a new connection is closed before the SSH handshake (counted, logged).
    max_unauthenticated: int = Field(default=16, ge=1, le=10_000)
    max_unauthenticated_per_address: int = Field(default=4, ge=1, le=10_000)

    @field_validator("allow_passwords")
    @classmethod
    def _keys_only(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "password login is not offered by ccops; operators log in with public keys "
                "(keys = [...] in the operators file)"
            )
        return value

    def resolved_host_key(self, state_dir: Path) -> Path:
        return self.host_key or state_dir / "ssh_host_ed25519_key"


_DIAL_RE = r"^\+?[0-9][0-9 ()-]{0,30}[0-9]$|^[0-9]$"
_EXTEN_RE = r"^[A-Za-z0-9_.+-]{1,40}$"
# A queue member interface, as ccops.core.commands accepts it (TECH/resource).
_QUEUE_IFACE_RE = r"^[A-Za-z][A-Za-z0-9_]*/[A-Za-z0-9_.@+*#:/=-]{1,120}$"


def interface_number(interface: str) -> str | None:
    """The number a queue member interface dials, if its resource is one: ``2001`` for
    ``PJSIP/2001``, ``5550001`` for ``Local/5550001@ccops-standby``; None for a name such
    as ``PJSIP/desk-201``. The deny-list is applied to it like to a roster number."""
    resource = interface.partition("/")[2].partition("@")[0].partition("/")[0]
    digits = resource.lstrip("+")
    return resource if digits.isdigit() else None
_SOUND_RE = r"^[A-Za-z0-9_/&.-]{1,200}$"

#: Numbers ccops never dials on its own: police, fire, ambulance and the usual emergency
#: numbers (110/119/120/122 China, 112 EU/GSM, 911 NANP, 999/995 UK/SG, 000 AU, 100-103
#: IN, 15/17/18 FR, 118 IT/JP fire-rescue, 08 some mobiles). Extend it in the config.
DEFAULT_DENY_NUMBERS: tuple[str, ...] = (
    "110", "112", "119", "120", "122", "911", "999", "995", "000", "08",
    "100", "101", "102", "103", "15", "17", "18", "118",
)


def dial_digits(number: str) -> str:
    """The digits of a phone number as dialled ("+49 (30) 123-4" → "49301234")."""
    return "".join(ch for ch in number if ch.isdigit())


def denied_number(number: str, deny: list[str], prefixes: list[str]) -> str | None:
    """The deny-list entry ``number`` would reach, or None.

    A number is refused when its digits equal an entry, or equal it once an outside-line
    prefix ("0", "00", "9") is taken off the front: dialling "9112" from a desk set reaches
    112 on many PBXes. A name with letters (``desk-999``, an endpoint) is not a number that
    is dialled digit by digit, so it cannot reach one.
    """
    if any(ch.isalpha() for ch in number):
        return None
    digits = dial_digits(number)
    listed = {dial_digits(d) for d in deny if dial_digits(d)}
    candidates = {digits}
    for prefix in prefixes:
        p = dial_digits(prefix)
        if p and digits.startswith(p):
            candidates.add(digits[len(p):])
    hit = sorted(candidates & listed)
    return hit[0] if hit else None


class OnCallPerson(_Strict):
    """Someone ccops may page: reached on a PBX extension and/or a mobile via a trunk."""

    name: str = Field(pattern=_NAME_RE)
    display_name: str = Field(default="", max_length=80)
    role: str = Field(default="maintenance", pattern=_NAME_RE)
    extension: str | None = Field(default=None, pattern=_EXTEN_RE)
    mobile: str | None = Field(default=None, pattern=_DIAL_RE)
    trunk: str | None = Field(default=None, pattern=_NAME_RE)  # default: paging.trunk
    pbx: str | None = Field(default=None, pattern=_NAME_RE)  # default: paging.pbx
    # The queue member a standby call-out (page_standby) adds when they press 1, e.g.
    # "PJSIP/2001" (a desk) or "Local/5550001@ccops-standby" (a mobile, docs/asterisk.md).
    queue_interface: str | None = Field(default=None, pattern=_QUEUE_IFACE_RE)

    @model_validator(mode="after")
    def _reachable(self) -> OnCallPerson:
        if self.extension is None and self.mobile is None:
            raise ValueError(f"on-call person {self.name!r} needs an extension or a mobile")
        return self


class PagingConfig(_Strict):
    """Phone paging through the PBX (Originate into the ``ccops-page`` dialplan context)."""

    pbx: str | None = Field(default=None, pattern=_NAME_RE)  # default: the first PBX
    caller_id: str = Field(default='"ccops page" <0>', max_length=80, pattern=r"^[^\x00-\x1f]*$")
    context: str = Field(default="ccops-page", pattern=_NAME_RE)
    extension_channel: str = Field(default="PJSIP/{extension}", max_length=120)
    mobile_channel: str = Field(default="PJSIP/{number}@{trunk}", max_length=120)
    trunk: str | None = Field(default=None, pattern=_NAME_RE)  # for mobiles without one
    order: Literal["extension_first", "mobile_first"] = "extension_first"
    max_attempts: int = Field(default=3, ge=1, le=10)
    retry_backoff_s: float = Field(default=30.0, ge=0, le=3600)  # doubles per attempt
    retry_backoff_max_s: float = Field(default=300.0, ge=0, le=3600)
    ring_timeout_s: int = Field(default=30, ge=5, le=300)
    ack_timeout_s: float = Field(default=90.0, ge=5, le=900)  # answer → keypress verdict
    message_sound: str = Field(default="vm-Urgent", pattern=_SOUND_RE)
    prompt_sound: str = Field(default="vm-press&digits/1", pattern=_SOUND_RE)
    prompt_tries: int = Field(default=3, ge=1, le=10)
    digit_timeout_s: int = Field(default=5, ge=1, le=60)
    rate_window_s: float = Field(default=3600.0, ge=60, le=86_400)
    max_calls_per_person: int = Field(default=6, ge=1, le=1000)  # per window
    max_calls_total: int = Field(default=30, ge=1, le=10_000)  # per window
    deny_numbers: list[str] = Field(default_factory=lambda: list(DEFAULT_DENY_NUMBERS))
    outside_line_prefixes: list[str] = Field(default_factory=lambda: ["0", "00", "9"])

    @field_validator("extension_channel")
    @classmethod
    def _ext_template(cls, value: str) -> str:
        if "{extension}" not in value:
            raise ValueError("must contain {extension}")
        return value

    @field_validator("mobile_channel")
    @classmethod
    def _mobile_template(cls, value: str) -> str:
        if "{number}" not in value:
            raise ValueError("must contain {number}")
        return value

    @field_validator("deny_numbers")
    @classmethod
    def _deny_digits(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not dial_digits(v)]
        if bad:
            raise ValueError(f"entries must contain digits: {bad!r}")
        return value


class PlaybooksConfig(_Strict):
    """Site playbooks and the values the shipped ones leave unset (docs/playbooks.md)."""

    dirs: list[Path] = Field(default_factory=list)  # add playbooks, or replace one by id
    # playbook id → parameter → value, e.g. {a8_call_surge = {pbx = "main", surge_queue = …}}
    parameters: dict[str, dict[str, str | int]] = Field(default_factory=dict)


class Settings(BaseSettings):
    """Everything ccops reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="CCOPS_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    pbx: list[PbxConfig] = Field(default_factory=list)
    kpi: KpiConfig = Field(default_factory=KpiConfig)
    alerts: list[AlertRule] = Field(default_factory=default_alert_rules)
    store: StoreConfig = Field(default_factory=StoreConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    ssh: SshConfig = Field(default_factory=SshConfig)
    paging: PagingConfig = Field(default_factory=PagingConfig)
    oncall: list[OnCallPerson] = Field(default_factory=list)  # after paging: checked by it
    playbooks: PlaybooksConfig = Field(default_factory=PlaybooksConfig)

    @field_validator("oncall")
    @classmethod
    def _roster_dialable(
        cls, value: list[OnCallPerson], info: ValidationInfo
    ) -> list[OnCallPerson]:
        """Every roster number must be dialable: never an emergency number; a trunk known."""
        names = [p.name for p in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"names must be unique; repeated: {', '.join(dupes)}")
        paging = info.data.get("paging")
        if not isinstance(paging, PagingConfig):
            return value  # paging itself is invalid; that error is reported
        for i, person in enumerate(value):
            where = f"oncall[{i}] ({person.name})"
            iface_number = (None if person.queue_interface is None
                            else interface_number(person.queue_interface))
            for what, number in (("extension", person.extension), ("mobile", person.mobile),
                                 ("queue_interface", iface_number)):
                if number is None:
                    continue
                hit = denied_number(number, paging.deny_numbers, paging.outside_line_prefixes)
                if hit is not None:
                    raise ValueError(
                        f"{where}.{what} {number!r} reaches emergency number {hit} "
                        "(paging.deny_numbers): ccops never dials it"
                    )
            if person.mobile is not None and "{trunk}" in paging.mobile_channel and not (
                person.trunk or paging.trunk
            ):
                raise ValueError(f"{where}.mobile needs a trunk: set trunk or paging.trunk")
        return value

    @field_validator("pbx")
    @classmethod
    def _unique_names(cls, value: list[PbxConfig]) -> list[PbxConfig]:
        names = [p.name for p in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"pbx names must be unique; repeated: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _ssh_needs_operators(self) -> Settings:
        if self.ssh.enabled and self.ssh.operators is None:
            raise ValueError("ssh.operators: the operators file is required when ssh.enabled")
        return self

    @property
    def uses_simulator(self) -> bool:
        return not self.pbx

    def store_path(self) -> Path:
        return self.store.path or self.daemon.resolved_state_dir() / "ccops.sqlite3"


class ConfigError(Exception):
    """Configuration is unusable; ``problems`` are one located message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _TomlDict(PydanticBaseSettingsSource):
    """Feeds an already parsed TOML table to pydantic-settings (lowest priority after env)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def default_config_path() -> Path | None:
    """``$CCOPS_CONFIG``, else the first of ~/.config/ccops/ccops.toml, /etc/ccops/ccops.toml."""
    env = os.environ.get("CCOPS_CONFIG")
    if env:
        return Path(env)
    user_file = Path.home() / ".config" / "ccops" / "ccops.toml"
    for candidate in (user_file, Path("/etc/ccops/ccops.toml")):
        if candidate.exists():
            return candidate
    return None


def load_settings(path: Path | None = None, *, use_default_path: bool = True) -> Settings:
    """Read the TOML file (if any) and the environment; raise :class:`ConfigError` if bad."""
    if path is None and use_default_path:
        path = default_config_path()
    data: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc

    class _FromFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _TomlDict(settings_cls, data))

    try:
        loaded = _FromFile()
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, path, text)) from exc
    return Settings.model_validate(loaded.model_dump())


def format_errors(exc: ValidationError, path: Path | None, text: str) -> list[str]:
    """One line per problem: file, line (best effort), dotted field path, what is wrong."""
    lines = text.splitlines()
    out: list[str] = []
    for err in exc.errors():
        loc = err.get("loc", ())
        dotted = ""
        for part in loc:
            if isinstance(part, int):
                dotted += f"[{part}]"
            else:
                dotted += f".{part}" if dotted else str(part)
        where = str(path) if path else "environment"
        line_no = _guess_line(lines, _entry_loc(loc, str(err.get("msg", ""))))
        if line_no:
            where += f" line {line_no}"
        msg = err.get("msg", "invalid")
        given = err.get("input")
        shown = ""
        if given is not None and not isinstance(given, dict | list) and "secret" not in dotted:
            shown = f" (got {given!r})"
        out.append(f"{where}: {dotted or '(top level)'}: {msg}{shown}")
    return out


_ENTRY_IN_MESSAGE = re.compile(r"^(?:Value error, )?(\w+)\[(\d+)\][^.:]*(?:\.(\w+))?")


def _entry_loc(loc: tuple[Any, ...], msg: str) -> tuple[Any, ...]:
    """A list validator that names the entry at fault (``oncall[1] (eng).mobile …``) can
    only report the whole list as its location; take the entry (and field) from its
    message so the line points at that entry rather than the list's first header."""
    hit = _ENTRY_IN_MESSAGE.match(msg)
    if len(loc) != 1 or hit is None or hit.group(1) != loc[0]:
        return loc
    refined: tuple[Any, ...] = (loc[0], int(hit.group(2)))
    return (*refined, hit.group(3)) if hit.group(3) else refined


def _guess_line(lines: list[str], loc: tuple[Any, ...]) -> int | None:
    """Find the line that sets the innermost key of ``loc``, after the table it lives in.

    TOML parsers give no positions, so this is a careful search: for ``pbx[1].port`` it skips
    to the second ``[[pbx]]`` header, then finds ``port =``.
    """
    start = 0
    key: str | None = None
    for part in loc:
        if isinstance(part, int) and key is not None:
            seen = -1
            header = re.compile(rf"^\s*\[\[\s*{re.escape(key)}\s*\]\]")
            for i in range(start, len(lines)):
                if header.match(lines[i]):
                    seen += 1
                    if seen == part:
                        start = i
                        break
            key = None
        else:
            key = str(part)
    if key is None:
        return start + 1 if start else None
    pattern = re.compile(rf"^\s*\[?\[?\s*{re.escape(key)}\s*(=|\]|\.)")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return None
