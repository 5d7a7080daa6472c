"""View models: the rows and tiles the screens show, read from the ``ccops.status/1`` document.

Why a separate, Textual-free layer: the document is deep, loosely typed JSON; reading it in
one place means a missing or odd field becomes ``None`` (shown as ``–``) instead of a
``KeyError`` in a widget, and the screens only deal with flat, typed rows. Every function
here is pure and takes the document as given, so tests can feed a recorded document.

Row keys are stable strings (``pbx/queue``, ``pbx/queue/interface``…): the tables update
rows in place by key and never rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccops.tui.fmt import SEVERITY_RANK

Doc = dict[str, Any]


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _f(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None


def _i(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    return int(value) if isinstance(value, int | float) else None


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def pbxs(doc: Doc) -> list[tuple[str, dict[str, Any]]]:
    """The PBXs in the document, by name."""
    return sorted(_d(doc.get("pbx")).items())


# --------------------------------------------------------------------------- links


@dataclass(frozen=True, slots=True)
class LinkView:
    """One PBX link as the status bar shows it."""

    pbx: str
    state: str
    stale: bool
    since: float | None
    next_retry_at: float | None
    last_event_at: float | None
    detail: str
    simulated: bool
    syncing: bool


def links(doc: Doc) -> list[LinkView]:
    out: list[LinkView] = []
    for name, pbx in pbxs(doc):
        link = _d(pbx.get("link"))
        state = _s(link.get("state")) or "unknown"
        out.append(
            LinkView(
                pbx=name,
                state=state,
                stale=bool(link.get("stale", state != "live")),
                since=_f(link.get("since")),
                next_retry_at=_f(link.get("next_retry_at")),
                last_event_at=_f(link.get("last_event_at")),
                detail=_s(link.get("detail")),
                simulated=bool(pbx.get("simulated") or link.get("simulated")),
                syncing=bool(_d(pbx.get("sync")).get("syncing")),
            )
        )
    return out


def link_of(doc: Doc, pbx: str) -> LinkView | None:
    for link in links(doc):
        if link.pbx == pbx:
            return link
    return None


def simulated(doc: Doc) -> bool:
    return any(link.simulated for link in links(doc)) or bool(
        _d(doc.get("daemon")).get("simulated")
    )


# --------------------------------------------------------------------------- alerts


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int | None
    rule: str
    scope: str
    severity: str
    message: str
    value: float | None
    threshold: float | None
    raised_at: float | None
    cleared_at: float | None
    cleared_reason: str
    acknowledged_by: str
    acknowledged_at: float | None
    active: bool

    @property
    def key(self) -> str:
        return f"{self.id}" if self.id is not None else f"{self.rule}@{self.scope}"

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)


def alert_view(a: dict[str, Any]) -> AlertView:
    return AlertView(
        id=_i(a.get("id")),
        rule=_s(a.get("rule")),
        scope=_s(a.get("scope")),
        severity=_s(a.get("severity")) or "info",
        message=_s(a.get("message")) or _s(a.get("rule")),
        value=_f(a.get("value")),
        threshold=_f(a.get("threshold")),
        raised_at=_f(a.get("raised_at")),
        cleared_at=_f(a.get("cleared_at")),
        cleared_reason=_s(a.get("cleared_reason")),
        acknowledged_by=_s(a.get("acknowledged_by")),
        acknowledged_at=_f(a.get("acknowledged_at")),
        active=bool(a.get("active", a.get("cleared_at") is None)),
    )


def active_alerts(doc: Doc) -> list[AlertView]:
    """Active alerts, most severe and then oldest first."""
    alerts = [alert_view(a) for a in _l(doc.get("alerts")) if isinstance(a, dict)]
    alerts = [a for a in alerts if a.active]
    alerts.sort(key=lambda a: (-a.rank, a.raised_at or 0.0, a.key))
    return alerts


def recent_alerts(doc: Doc) -> list[AlertView]:
    return [alert_view(a) for a in _l(doc.get("recent_alerts")) if isinstance(a, dict)]


def worst_alert(doc: Doc, scope: str) -> AlertView | None:
    """The most severe active alert for a scope (``pbx:queue`` or ``pbx:trunk``)."""
    found = [a for a in active_alerts(doc) if a.scope == scope]
    return found[0] if found else None


# --------------------------------------------------------------------------- queues


@dataclass(frozen=True, slots=True)
class QueueView:
    """One queue at a glance (dashboard tile, queues table)."""

    pbx: str
    name: str
    waiting: int
    longest_wait: float | None
    sl: float | None  # today
    sl_rolling: float | None
    sl_target: float | None
    sl_threshold: int | None
    abandon_rate: float | None
    asa: float | None
    aht: float | None
    offered: int | None
    answered: int | None
    abandoned: int | None
    members: int
    available: int
    ringing: int
    on_call: int
    on_hold: int
    acw: int
    paused: int
    unavailable: int
    gap: int | None
    required: int | None
    gap_reason: str
    strategy: str

    @property
    def key(self) -> str:
        return f"{self.pbx}/{self.name}"

    @property
    def scope(self) -> str:
        return f"{self.pbx}:{self.name}"

    @property
    def below_target(self) -> bool:
        return self.sl is not None and self.sl_target is not None and self.sl < self.sl_target


def queue_view(pbx: str, name: str, q: dict[str, Any]) -> QueueView:
    kpi = _d(q.get("kpi"))
    today = _d(kpi.get("today"))
    rolling = _d(kpi.get("rolling"))
    erlang = _d(kpi.get("erlang"))
    agents = _d(q.get("agents"))
    return QueueView(
        pbx=pbx,
        name=name,
        waiting=_i(q.get("waiting")) or 0,
        longest_wait=_f(q.get("longest_wait")),
        sl=_f(today.get("service_level")),
        sl_rolling=_f(rolling.get("service_level")),
        sl_target=_f(kpi.get("sl_target")),
        sl_threshold=_i(kpi.get("sl_threshold")),
        abandon_rate=_f(today.get("abandon_rate")),
        asa=_f(today.get("asa")),
        aht=_f(today.get("aht")),
        offered=_i(today.get("offered")),
        answered=_i(today.get("answered")),
        abandoned=_i(today.get("abandoned")),
        members=_i(agents.get("members")) or 0,
        available=_i(agents.get("available")) or 0,
        ringing=_i(agents.get("ringing")) or 0,
        on_call=_i(agents.get("on_call")) or 0,
        on_hold=_i(agents.get("on_hold")) or 0,
        acw=_i(agents.get("acw")) or 0,
        paused=_i(agents.get("paused")) or 0,
        unavailable=_i(agents.get("unavailable")) or 0,
        gap=_i(erlang.get("gap")),
        required=_i(erlang.get("required")),
        gap_reason=_s(erlang.get("reason")),
        strategy=_s(q.get("strategy")),
    )


def queues(doc: Doc) -> list[QueueView]:
    out: list[QueueView] = []
    for pbx, p in pbxs(doc):
        for name, q in sorted(_d(p.get("queues")).items()):
            if isinstance(q, dict):
                out.append(queue_view(pbx, name, q))
    return out


def queue_doc(doc: Doc, pbx: str, queue: str) -> dict[str, Any] | None:
    q = _d(_d(_d(doc.get("pbx")).get(pbx)).get("queues")).get(queue)
    return q if isinstance(q, dict) else None


@dataclass(frozen=True, slots=True)
class CallerView:
    uniqueid: str
    position: int
    caller_num: str
    caller_name: str
    wait: float | None
    channel: str

    @property
    def key(self) -> str:
        return self.uniqueid or self.channel


def callers(q: dict[str, Any]) -> list[CallerView]:
    out = [
        CallerView(
            uniqueid=_s(c.get("uniqueid")),
            position=_i(c.get("position")) or 0,
            caller_num=_s(c.get("caller_num")),
            caller_name=_s(c.get("caller_name")),
            wait=_f(c.get("wait")),
            channel=_s(c.get("channel")),
        )
        for c in _l(q.get("callers"))
        if isinstance(c, dict)
    ]
    out.sort(key=lambda c: (c.position, c.key))
    return out


@dataclass(frozen=True, slots=True)
class MemberView:
    interface: str
    name: str
    state: str
    time_in_state: float | None
    paused: bool
    paused_reason: str
    calls_taken: int
    penalty: int
    membership: str
    in_call: bool
    device_status: str = ""  # Asterisk's own member Status (``not_inuse``, ``inuse``…)
    busy_elsewhere: bool = False  # device in use, but not with a call from this queue

    @property
    def key(self) -> str:
        return self.interface

    @property
    def label(self) -> str:
        return self.name or self.interface


def members(q: dict[str, Any]) -> list[MemberView]:
    out: list[MemberView] = []
    for iface, m in sorted(_d(q.get("members")).items()):
        if not isinstance(m, dict):
            continue
        out.append(
            MemberView(
                interface=_s(m.get("interface")) or iface,
                name=_s(m.get("name")),
                state=_s(m.get("state")),
                time_in_state=_f(m.get("time_in_state")),
                paused=bool(m.get("paused")),
                paused_reason=_s(m.get("paused_reason")),
                calls_taken=_i(m.get("calls_taken")) or 0,
                penalty=_i(m.get("penalty")) or 0,
                membership=_s(m.get("membership")),
                in_call=bool(m.get("in_call")),
                device_status=_s(m.get("device_status")),
                busy_elsewhere=bool(m.get("busy_elsewhere")),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class IntervalView:
    start: float
    end: float
    offered: int | None
    answered: int | None
    abandoned: int | None
    sl: float | None
    abandon_rate: float | None
    asa: float | None
    aht: float | None
    longest_wait: float | None
    current: bool

    @property
    def key(self) -> str:
        return f"{int(self.start)}"


def intervals(q: dict[str, Any]) -> list[IntervalView]:
    """Today's 15-minute intervals of a queue, the open one last and marked current."""
    kpi = _d(q.get("kpi"))
    current = _d(kpi.get("current_bucket"))
    cur_start = _f(current.get("start"))
    out: list[IntervalView] = []
    seen: set[float] = set()
    rows = [r for r in _l(kpi.get("intervals")) if isinstance(r, dict)]
    if current and not any(_f(r.get("start")) == cur_start for r in rows):
        rows.append(current)
    for r in rows:
        start = _f(r.get("start"))
        end = _f(r.get("end"))
        if start is None or end is None or start in seen:
            continue
        seen.add(start)
        out.append(
            IntervalView(
                start=start,
                end=end,
                offered=_i(r.get("offered")),
                answered=_i(r.get("answered")),
                abandoned=_i(r.get("abandoned")),
                sl=_f(r.get("service_level")),
                abandon_rate=_f(r.get("abandon_rate")),
                asa=_f(r.get("asa")),
                aht=_f(r.get("aht")),
                longest_wait=_f(r.get("longest_wait")),
                current=start == cur_start,
            )
        )
    out.sort(key=lambda r: r.start)
    return out


# --------------------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class AgentView:
    pbx: str
    interface: str
    name: str
    state: str
    time_in_state: float | None
    queues: tuple[str, ...]
    calls: int | None
    occupancy: float | None
    talk_time: float | None
    pause_by_reason: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.pbx}/{self.interface}"

    @property
    def label(self) -> str:
        return self.name or self.interface


def agents(doc: Doc, now: float) -> list[AgentView]:
    out: list[AgentView] = []
    for pbx, p in pbxs(doc):
        for iface, a in sorted(_d(p.get("agents")).items()):
            if not isinstance(a, dict):
                continue
            since = _f(a.get("since"))
            reasons = {
                str(k): float(v)
                for k, v in _d(a.get("pause_by_reason")).items()
                if isinstance(v, int | float)
            }
            out.append(
                AgentView(
                    pbx=pbx,
                    interface=iface,
                    name=_s(a.get("name")),
                    state=_s(a.get("state")),
                    time_in_state=max(0.0, now - since) if since else None,
                    queues=tuple(str(x) for x in _l(a.get("queues"))),
                    calls=_i(a.get("calls")),
                    occupancy=_f(a.get("occupancy")),
                    talk_time=_f(a.get("talk_time")),
                    pause_by_reason=reasons,
                )
            )
    return out


# --------------------------------------------------------------------------- trunks


@dataclass(frozen=True, slots=True)
class TrunkView:
    pbx: str
    name: str
    up: bool | None
    reachable: bool | None
    registration: str
    registration_status: str
    rtt_ms: float | None
    channels_in_use: int
    capacity: int | None
    usage: float | None
    contacts: tuple[dict[str, Any], ...]
    last_change: float | None
    history: tuple[tuple[float, bool, str], ...]
    device_state: str

    @property
    def key(self) -> str:
        return f"{self.pbx}/{self.name}"

    @property
    def scope(self) -> str:
        return f"{self.pbx}:{self.name}"

    @property
    def contacts_up(self) -> int:
        return sum(1 for c in self.contacts if str(c.get("status", "")).lower() == "reachable")


def trunks(doc: Doc) -> list[TrunkView]:
    out: list[TrunkView] = []
    for pbx, p in pbxs(doc):
        for name, t in sorted(_d(p.get("trunks")).items()):
            if not isinstance(t, dict):
                continue
            hist: list[tuple[float, bool, str]] = []
            for h in _l(t.get("history")):
                at = _f(_d(h).get("at"))
                if at is not None:
                    hist.append((at, bool(_d(h).get("up")), _s(_d(h).get("cause"))))
            rtt = _f(t.get("rtt_ms"))
            if rtt is None:
                usecs = [_f(_d(c).get("rtt_usec")) for c in _l(t.get("contacts"))]
                known = [u for u in usecs if u]
                rtt = min(known) / 1000.0 if known else None
            up = t.get("up")
            reach = t.get("reachable")
            out.append(
                TrunkView(
                    pbx=pbx,
                    name=name,
                    up=up if isinstance(up, bool) else None,
                    reachable=reach if isinstance(reach, bool) else None,
                    registration=_s(t.get("registration")),
                    registration_status=_s(t.get("registration_status")),
                    rtt_ms=rtt,
                    channels_in_use=_i(t.get("channels_in_use")) or 0,
                    capacity=_i(t.get("capacity")),
                    usage=_f(t.get("usage")),
                    contacts=tuple(c for c in _l(t.get("contacts")) if isinstance(c, dict)),
                    last_change=_f(t.get("last_change")),
                    history=tuple(hist),
                    device_state=_s(t.get("device_state")),
                )
            )
    return out


# --------------------------------------------------------------------------- routing flags

FLAG_KINDS = ("overflow", "night", "forced_route", "emergency_announcement")


@dataclass(frozen=True, slots=True)
class FlagView:
    """A routing key as the PBX reports it (AstDB ``family/kind/target``)."""

    pbx: str
    family: str
    key: str
    kind: str
    target: str
    value: str
    read_at: float | None

    @property
    def row_key(self) -> str:
        return f"{self.pbx}/{self.family}/{self.key}"

    @property
    def is_on(self) -> bool:
        return self.value.strip().lower() not in ("", "off", "0", "no", "false")

    @property
    def known_kind(self) -> bool:
        return self.kind in FLAG_KINDS


def flags(doc: Doc) -> list[FlagView]:
    out: list[FlagView] = []
    for pbx, p in pbxs(doc):
        for path, f in sorted(_d(p.get("flags")).items()):
            if not isinstance(f, dict):
                continue
            family = _s(f.get("family"))
            key = _s(f.get("key"))
            if not family and "/" in path:
                family, _, key = path.partition("/")
            kind, _, target = key.partition("/")
            value = f.get("value")
            if value is None:
                continue  # deleted key: the flag is off, nothing to show
            out.append(
                FlagView(
                    pbx=pbx,
                    family=family,
                    key=key,
                    kind=kind,
                    target=target,
                    value=_s(value),
                    read_at=_f(f.get("read_at")),
                )
            )
    return out


def flag_for(doc: Doc, pbx: str, kind: str, target: str) -> FlagView | None:
    for f in flags(doc):
        if f.pbx == pbx and f.kind == kind and f.target == target:
            return f
    return None
