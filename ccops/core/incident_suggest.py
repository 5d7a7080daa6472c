"""Which playbooks the live state suggests: a suggestion, never an automatic start.

Why from alerts: the alert rules already carry the site's thresholds (the seeds give none
for a surge: domain.md §2.2 A8 leaves them unset, so they are configured alert rules, not
numbers invented here). A playbook lists the *signals* it answers in ``suggest_on``; an
active alert on a metric raises its signal. A surge suggestion carries the Erlang C
staffing gap of the queue, so the supervisor sees "A8: 12 waiting, 4 agents short".
A playbook that already has an open (non-drill) incident is not suggested again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ccops.core.alerts import Alert, Sample
from ccops.core.playbook_load import LoadedPlaybook

SIGNAL_OF_METRIC: Mapping[str, str] = {
    "link_up": "pbx_link_down",
    "trunk_reachable": "trunk_down",
    "trunk_registered": "trunk_down",
    "waiting": "waiting_calls_high",
    "longest_wait": "waiting_calls_high",
    "erlang_gap": "waiting_calls_high",
    "service_level": "service_level_low",
    "abandon_rate": "abandon_rate_high",
    "agents_available": "members_unavailable",
}


@dataclass(frozen=True, slots=True)
class Suggestion:
    playbook_id: str
    title: str
    signals: tuple[str, ...]
    reasons: tuple[str, ...]  # the alert messages behind it
    scopes: tuple[str, ...]
    staffing_gap: float | None  # agents short (Erlang C) on the worst scope, if known
    drill: bool = False  # raised by a drill scenario on the simulator, not a real fault

    def as_dict(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook_id,
            "title": self.title,
            "signals": list(self.signals),
            "reasons": list(self.reasons),
            "scopes": list(self.scopes),
            "staffing_gap": self.staffing_gap,
            "drill": self.drill,
        }


def suggest(
    alerts: Iterable[Alert],
    playbooks: Mapping[str, LoadedPlaybook],
    *,
    open_playbooks: Iterable[str] = (),
    samples: Iterable[Sample] = (),
) -> list[Suggestion]:
    """Suggestions for the active ``alerts``, most reasons first."""
    busy = set(open_playbooks)
    by_signal: dict[str, list[Alert]] = {}
    for alert in alerts:
        signal = SIGNAL_OF_METRIC.get(alert.metric)
        if signal is not None and alert.active:
            by_signal.setdefault(signal, []).append(alert)
    gaps = {s.scope: s.value for s in samples if s.metric == "erlang_gap" and s.value is not None}
    out: list[Suggestion] = []
    for pid, loaded in sorted(playbooks.items()):
        pb = loaded.playbook
        if pid in busy:
            continue
        hits = [(sig, a) for sig in pb.suggest_on for a in by_signal.get(sig, [])]
        if not hits:
            continue
        scopes = tuple(dict.fromkeys(a.scope for _sig, a in hits))
        scope_gaps = [gaps[s] for s in scopes if s in gaps]
        out.append(
            Suggestion(
                playbook_id=pid,
                title=pb.title,
                signals=tuple(dict.fromkeys(sig for sig, _a in hits)),
                reasons=tuple(dict.fromkeys(a.message for _sig, a in hits)),
                scopes=scopes,
                staffing_gap=max(scope_gaps) if scope_gaps else None,
            )
        )
    out.sort(key=lambda s: (-len(s.reasons), s.playbook_id))
    return out
