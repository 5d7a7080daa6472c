"""Threshold alerts with hysteresis, hold-off and cooldown (architecture §2 "alarms at once").

Why a state machine per (rule, scope): a wallboard that flashes "SL low" every time the
service level wobbles across 60 % trains supervisors to ignore it. So each rule raises at
one level and clears only past another (``raise_at`` / ``clear_at``), may require the
condition to hold for ``for_seconds`` first, and after clearing stays quiet for
``cooldown_seconds`` before it may raise again for the same scope.

The daemon feeds :meth:`AlertEngine.evaluate` with :class:`Sample` values (about once a
second, from the live model and the KPI snapshot) and forwards the returned
:class:`AlertChange` list to clients at once.

Semantics, precisely:

* A rule matches a sample when the metric is the rule's and the rule's ``scope`` glob
  (``fnmatch``, case-sensitive) matches either the whole sample scope (``"main:hotline"``)
  or its name part after the first colon (``"hotline"``). ``"*"`` matches everything.
* *Raise condition*: ``value op raise_at``. *Clear condition*: the raise condition is false
  **and** the value is back at or past ``clear_at`` on the good side (``value ≤ clear_at``
  for ``>``/``>=`` rules, ``value ≥ clear_at`` for ``<``/``<=`` rules). ``clear_at``
  defaults to ``raise_at``. Between the two the alert keeps its current state.
* ``for_seconds``: the raise condition must have held on every sample for that long.
  A sample where it is false restarts the count.
* ``cooldown_seconds``: after a clear, the same (rule, scope) does not raise again until
  the cooldown has passed (if the condition still holds then, it raises at once).
* ``value None`` means unknown (e.g. the link is down): nothing changes, neither raising,
  clearing nor resetting the hold-off count; the scope still counts as present.
* A scope that stops being sampled (a queue removed from the PBX, a trunk deleted) keeps
  its alert for ``missing_after_s`` (default 300 s), then the alert clears with
  ``cleared_reason="scope_missing"``; a short gap in sampling never clears anything.
* Durations use the clock's monotonic time (immune to NTP steps); the timestamps on
  alerts (``raised_at``, ``cleared_at``, ``acknowledged_at``) are wall-clock epochs.
* An alert's value is updated while it is active; that is reported as an ``updated``
  change only when the value actually changes, as is an acknowledgement.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from ccops.config import AlertRule
from ccops.core.clock import Clock

ChangeKind = Literal["raised", "cleared", "updated"]

_DEFAULT_MESSAGE = "{name}: {metric} {value} ({op} {threshold})"
_PERCENT_METRICS = frozenset({"service_level", "abandon_rate", "trunk_usage"})
_SECONDS_METRICS = frozenset({"longest_wait", "asa", "aht"})
_MINUTES_METRICS = frozenset({"routing_flag_overdue"})


class UnknownAlertError(KeyError):
    """Acknowledging an alert id that is not active."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured value: ``scope`` is ``"pbx:name"`` (queue, trunk) or ``"pbx"``."""

    metric: str
    scope: str
    value: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """An alert as clients see it (immutable: every change produces a new copy)."""

    id: str
    rule: str
    scope: str
    metric: str
    severity: str
    op: str
    value: float
    threshold: float
    raised_at: float
    message: str
    cleared_at: float | None = None
    cleared_reason: str | None = None  # "recovered" | "scope_missing"
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None


@dataclass(frozen=True, slots=True)
class AlertChange:
    kind: ChangeKind
    alert: Alert


class _State:
    __slots__ = ("alert", "cleared_mono", "last_seen", "pending_since")

    def __init__(self) -> None:
        self.pending_since: float | None = None  # monotonic: raise condition true since
        self.alert: Alert | None = None
        self.cleared_mono: float | None = None
        self.last_seen = 0.0


def _fmt(metric: str, value: float) -> str:
    if metric in _PERCENT_METRICS:
        return f"{value * 100:.1f}%"
    if metric in _SECONDS_METRICS:
        return f"{value:.0f}s"
    if metric in _MINUTES_METRICS:
        return f"{value:.0f} min"
    return f"{value:g}"


class _Fields(dict[str, str]):
    """Template values; an unknown placeholder is kept visible rather than crashing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class AlertEngine:
    """Evaluates samples against rules; keeps the active alerts."""

    def __init__(
        self, rules: Iterable[AlertRule], clock: Clock, *, missing_after_s: float = 300.0
    ) -> None:
        self._clock = clock
        self._missing_after = missing_after_s
        self.rules: list[AlertRule] = list(rules)
        self.problems: list[str] = []
        names = [r.name for r in self.rules]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            self.problems.append(f"alert rule {dup!r} is defined more than once; all are used")
        for r in self.rules:
            c = r.clear_at
            if c is not None and (
                (r.op in (">", ">=") and c > r.raise_at) or (r.op in ("<", "<=") and c < r.raise_at)
            ):
                self.problems.append(
                    f"alert rule {r.name!r}: clear_at {c:g} is on the wrong side of raise_at "
                    f"{r.raise_at:g} for op {r.op!r}; it clears as soon as the condition ends"
                )
        self._by_metric: dict[str, list[tuple[int, AlertRule]]] = {}
        for i, r in enumerate(self.rules):
            self._by_metric.setdefault(r.metric, []).append((i, r))
        self._match: dict[tuple[int, str], bool] = {}
        self._states: dict[tuple[int, str], _State] = {}
        self._active: dict[str, tuple[int, str]] = {}  # alert id → state key

    # ------------------------------------------------------------------ public

    def evaluate(self, samples: Iterable[Sample]) -> list[AlertChange]:
        """Apply one round of samples; return what changed (raised, cleared, updated)."""
        mono = self._clock.monotonic()
        wall = self._clock.now()
        changes: list[AlertChange] = []
        for s in samples:
            rules = self._by_metric.get(s.metric)
            if not rules:
                continue
            value = s.value
            if value is not None and not math.isfinite(value):
                value = None  # NaN/inf from upstream: unknown, never an alarm trigger
            for idx, rule in rules:
                key = (idx, s.scope)
                matched = self._match.get(key)
                if matched is None:
                    matched = self._match[key] = _scope_matches(rule.scope, s.scope)
                if not matched:
                    continue
                st = self._states.get(key)
                if st is None:
                    st = self._states[key] = _State()
                st.last_seen = mono
                if value is not None:
                    change = self._step(idx, rule, s, value, st, mono, wall)
                    if change is not None:
                        changes.append(change)
        changes.extend(self._sweep_missing(mono, wall))
        return changes

    def active(self) -> list[Alert]:
        """Active alerts, most severe first, then oldest first."""
        order = {"critical": 0, "warning": 1, "info": 2}
        alerts = [self._states[k].alert for k in self._active.values()]
        live = [a for a in alerts if a is not None]
        return sorted(live, key=lambda a: (order.get(a.severity, 3), a.raised_at, a.id))

    def acknowledge(self, alert_id: str, operator: str) -> AlertChange:
        """Record who took ownership; the alert stays active until its condition clears."""
        key = self._active.get(alert_id)
        st = self._states.get(key) if key is not None else None
        if st is None or st.alert is None:
            raise UnknownAlertError(f"no active alert with id {alert_id!r}")
        if not operator:
            raise ValueError("acknowledge needs the operator's name")
        st.alert = dataclasses.replace(
            st.alert, acknowledged_by=operator, acknowledged_at=self._clock.now()
        )
        return AlertChange("updated", st.alert)

    # ------------------------------------------------------------------ internals

    def _step(
        self,
        idx: int,
        rule: AlertRule,
        s: Sample,
        value: float,
        st: _State,
        mono: float,
        wall: float,
    ) -> AlertChange | None:
        raise_cond = _compare(value, rule.op, rule.raise_at)
        if st.alert is not None:
            clear_at = rule.raise_at if rule.clear_at is None else rule.clear_at
            good_side = value <= clear_at if rule.op in (">", ">=") else value >= clear_at
            if not raise_cond and good_side:
                return self._clear(st, wall, mono, "recovered", value)
            if not raise_cond:
                st.pending_since = None
            if value != st.alert.value:
                st.alert = dataclasses.replace(
                    st.alert, value=value, message=self._render(rule, s.scope, value)
                )
                return AlertChange("updated", st.alert)
            return None
        if not raise_cond:
            st.pending_since = None
            return None
        if st.pending_since is None:
            st.pending_since = mono
        if mono - st.pending_since < rule.for_seconds:
            return None
        if st.cleared_mono is not None and mono - st.cleared_mono < rule.cooldown_seconds:
            return None
        alert = Alert(
            id=uuid.uuid4().hex[:16],
            rule=rule.name,
            scope=s.scope,
            metric=rule.metric,
            severity=rule.severity,
            op=rule.op,
            value=value,
            threshold=rule.raise_at,
            raised_at=wall,
            message=self._render(rule, s.scope, value),
        )
        st.alert = alert
        self._active[alert.id] = (idx, s.scope)
        return AlertChange("raised", alert)

    def _clear(
        self, st: _State, wall: float, mono: float, reason: str, value: float | None
    ) -> AlertChange:
        assert st.alert is not None
        done = dataclasses.replace(
            st.alert,
            cleared_at=wall,
            cleared_reason=reason,
            value=st.alert.value if value is None else value,
        )
        self._active.pop(done.id, None)
        st.alert = None
        st.cleared_mono = mono
        st.pending_since = None
        return AlertChange("cleared", done)

    def _sweep_missing(self, mono: float, wall: float) -> list[AlertChange]:
        out: list[AlertChange] = []
        for key in list(self._active.values()):
            st = self._states[key]
            if st.alert is not None and mono - st.last_seen >= self._missing_after:
                out.append(self._clear(st, wall, mono, "scope_missing", None))
        return out

    def _render(self, rule: AlertRule, scope: str, value: float) -> str:
        pbx, _, name = scope.partition(":")
        fields = _Fields(
            rule=rule.name,
            metric=rule.metric,
            scope=scope,
            pbx=pbx,
            name=name or pbx,
            op=rule.op,
            value=_fmt(rule.metric, value),
            threshold=_fmt(rule.metric, rule.raise_at),
            severity=rule.severity,
        )
        template = rule.message or _DEFAULT_MESSAGE
        try:
            return template.format_map(fields)
        except (ValueError, IndexError, AttributeError) as exc:  # e.g. "{", "{0}", "{x.y}"
            problem = f"alert rule {rule.name!r}: bad message template: {exc}"
            if problem not in self.problems:
                self.problems.append(problem)
            return _DEFAULT_MESSAGE.format_map(fields)


def _compare(value: float, op: str, limit: float) -> bool:
    if op == ">":
        return value > limit
    if op == ">=":
        return value >= limit
    if op == "<":
        return value < limit
    return value <= limit


def _scope_matches(pattern: str, scope: str) -> bool:
    if fnmatchcase(scope, pattern):
        return True
    _, colon, name = scope.partition(":")
    return bool(colon) and fnmatchcase(name, pattern)
