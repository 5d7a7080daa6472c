"""How long each routing flag has been on, against how long it was meant to be: alert samples.

Why: the costly routing mistake is not a wrong toggle but a forgotten one. Night mode left
on after the morning shift starts sends every caller to the closed-office prompt; overflow
left on after a surge starves the primary queue. The console therefore reminds when a
flag stays on past its expected duration, through the ordinary alert engine (rule metric
``routing_flag_overdue``, default rule ``routing-flag-overdue``), and the alert clears as
soon as the flag goes off.

The tracker turns the live model's flags (what AstDB holds, as read back) into one
:class:`~ccops.core.alerts.Sample` per flag, scope ``"<pbx>:<kind>/<target>"``, value
**whole minutes past due** (negative while not yet due; rounded up so the alert fires in
the first minute after the due time and its value, hence its message, changes at most once
a minute instead of on every tick).

Where "on since" and "expected" come from, best first:

* the open undo record of the toggle that set it (the command's own
  ``expected_duration_min`` and the time it was performed; survives daemon restarts);
* otherwise (a flag set from the Asterisk CLI, another tool, or an older ccops) the
  configured default for its kind (``[routing] expected_minutes``), counted from when this
  daemon first saw the flag on.

A flag that goes off is sampled at -1 for ``forget_after_s`` more, which clears its alert
(``recovered``) at once; then it is forgotten. While the PBX link is not live the value is
unknown (``None``): nothing raises or clears on stale data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ccops.core.alerts import Sample
from ccops.core.model import RoutingFlag
from ccops.store.records import UndoRecord

METRIC = "routing_flag_overdue"
KINDS = frozenset({"overflow", "night", "forced_route", "emergency_announcement"})


@dataclass(frozen=True, slots=True)
class Expectation:
    """A toggle's own promise: on since ``since`` (epoch), for ``minutes``."""

    since: float
    minutes: int


def expectations_from_undos(undos: Iterable[UndoRecord]) -> dict[str, Expectation]:
    """Open undo records of routing toggles that turned a flag on, by subject
    (``routing:<pbx>:<kind>:<target>``); the newest wins when several are open."""
    out: dict[str, Expectation] = {}
    for record in sorted(undos, key=lambda u: (u.spec.at, u.id)):
        spec = record.spec
        if record.closed_at is not None or not spec.subject.startswith("routing:"):
            continue
        if spec.value is None or spec.expected_duration_min is None:
            out.pop(spec.subject, None)  # the newest change turned it off: no promise
            continue
        out[spec.subject] = Expectation(spec.at, spec.expected_duration_min)
    return out


class FlagAgeTracker:
    """Per PBX: when each flag was first seen on, and the samples for the alert engine."""

    def __init__(
        self,
        default_minutes: Mapping[str, int],
        *,
        forget_after_s: float = 600.0,
        refresh_every_s: float = 30.0,
    ) -> None:
        self._defaults = dict(default_minutes)
        self._forget_after = forget_after_s
        self._refresh_every = refresh_every_s
        self._first_seen: dict[tuple[str, str], float] = {}  # (pbx, key) → epoch
        self._off_since: dict[tuple[str, str], float] = {}  # gone off: sample -1 until
        self._expectations: dict[str, Expectation] = {}
        self._refreshed_at: float | None = None

    # ------------------------------------------------------------------ expectations

    def needs_refresh(self, mono: float) -> bool:
        """True when the undo-based expectations should be read again from the store."""
        return self._refreshed_at is None or mono - self._refreshed_at >= self._refresh_every

    def invalidate(self) -> None:
        """A routing command just finished: read the expectations again on the next tick."""
        self._refreshed_at = None

    def set_expectations(self, expectations: Mapping[str, Expectation], mono: float) -> None:
        self._expectations = dict(expectations)
        self._refreshed_at = mono

    # ------------------------------------------------------------------ samples

    def samples(
        self,
        pbx: str,
        family: str,
        flags: Mapping[tuple[str, str], RoutingFlag],
        *,
        live: bool,
        now: float,
    ) -> list[Sample]:
        """One sample per routing flag of ``pbx`` that is on or went off recently."""
        out: list[Sample] = []
        if not live:  # a stale model is trusted neither to raise nor to say "went off"
            known = {i for i in (*self._first_seen, *self._off_since) if i[0] == pbx}
            return [Sample(METRIC, f"{pbx}:{key}", None) for _, key in sorted(known)]
        on: set[tuple[str, str]] = set()
        for (fam, key), flag in flags.items():
            kind, _, target = key.partition("/")
            if fam != family or kind not in KINDS or not target or not flag.value:
                continue
            ident = (pbx, key)
            on.add(ident)
            self._off_since.pop(ident, None)
            first = self._first_seen.setdefault(ident, now)
            promise = self._expectations.get(f"routing:{pbx}:{kind}:{target}")
            if promise is not None:
                since, minutes = promise.since, promise.minutes
            else:
                since, minutes = first, self._defaults.get(kind, 60)
            overdue = math.ceil((now - since) / 60.0 - minutes)
            out.append(Sample(METRIC, f"{pbx}:{key}", float(overdue)))
        for ident in [i for i in self._first_seen if i[0] == pbx and i not in on]:
            del self._first_seen[ident]
            self._off_since[ident] = now
        for ident, off in list(self._off_since.items()):
            if ident[0] != pbx:
                continue
            if now - off >= self._forget_after:
                del self._off_since[ident]
            else:
                out.append(Sample(METRIC, f"{pbx}:{ident[1]}", -1.0))
        return out
