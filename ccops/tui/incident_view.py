"""Incidents and playbook suggestions as the console shows them (pure functions).

Why separate from :mod:`ccops.tui.view`: the incident sections of the status document
(``incidents``, ``incident_suggestions``; docs/status-schema.md) and the full incident the
daemon answers to ``{"op": "incident"}`` are read by the badge in the status bar, the
playbooks screen and the incident screen; keeping their reading here keeps those three in
agreement and testable without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text

from ccops.core.roles import Role
from ccops.tui import fmt
from ccops.tui.themes import Palette

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """One open incident from the status document."""

    id: int
    playbook: str
    title: str
    variant: str | None
    drill: bool
    level: int
    detected_at: float | None
    started_at: float | None
    next_due: float | None
    steps: dict[str, int]

    @property
    def short(self) -> str:
        """``A8`` for ``a8_call_surge``: the seeds' own names for the procedures."""
        return self.playbook.split("_", 1)[0].upper()


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def incidents(doc: Doc) -> list[IncidentSummary]:
    """Open incidents, real ones before drills, then by id."""
    out: list[IncidentSummary] = []
    for raw in doc.get("incidents") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
            continue
        steps = raw.get("steps") if isinstance(raw.get("steps"), dict) else {}
        out.append(
            IncidentSummary(
                id=int(raw["id"]),
                playbook=str(raw.get("playbook") or "?"),
                title=str(raw.get("title") or raw.get("playbook") or "?"),
                variant=str(raw["variant"]) if raw.get("variant") else None,
                drill=bool(raw.get("drill")),
                level=int(raw.get("level") or 0),
                detected_at=_num(raw.get("detected_at")),
                started_at=_num(raw.get("started_at")),
                next_due=_num(raw.get("next_due")),
                steps={str(k): int(v) for k, v in (steps or {}).items() if isinstance(v, int)},
            )
        )
    out.sort(key=lambda i: (i.drill, i.id))
    return out


def suggestions(doc: Doc) -> list[dict[str, Any]]:
    return [s for s in doc.get("incident_suggestions") or [] if isinstance(s, dict)]


def countdown(due: float | None, now: float) -> str:
    """``04:12`` to go, ``+01:05 late`` once passed, ``—`` when nothing is armed."""
    if due is None:
        return "—"
    left = due - now
    late = left < 0
    secs = int(abs(left))
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    text = f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
    return f"+{text} late" if late else text


def badge(doc: Doc, now: float, pal: Palette, *, compact: bool = False) -> Text | None:
    """``⚠ INC 3 A8 L2 · next 04:12`` for the first open incident (real ones first), with
    ``+N`` more; a drill says DRILL so nobody mistakes it for a real outage. ``compact``
    (under 100 columns) is ``⚠A8 L2 04:12``: it must fit after the clock in 80 columns."""
    incs = incidents(doc)
    if not incs:
        return None
    first = incs[0]
    t = Text()
    word = "DRILL" if first.drill else "INC"
    style = pal.warn if first.drill else pal.bad
    level = f" L{first.level}" if first.level else ""
    if compact:
        drill = "DRILL " if first.drill else ""
        t.append(f"⚠{drill}{first.short}{level}", style=style + Style(bold=True))
        if first.next_due is not None:
            t.append(f" {countdown(first.next_due, now)}", style=style)
    else:
        t.append(f"⚠ {word} {first.id} {first.short}", style=style + Style(bold=True))
        t.append(level, style=style)
        if first.next_due is not None:
            t.append(f" · next {countdown(first.next_due, now)}", style=style)
    if len(incs) > 1:
        t.append(f" +{len(incs) - 1}", style=pal.warn)
    return t


def notice_for(frame: dict[str, Any], role: Role | None) -> bool:
    """Is an ``incident_notice`` frame for this operator (its ``roles`` hold their role)?"""
    roles = frame.get("roles")
    if role is None or not isinstance(roles, list):
        return False
    return role.value in {str(r) for r in roles}


def page_progress(frame: dict[str, Any]) -> tuple[str, str, str]:
    """(title, body, severity) for a pager ``page`` frame: dialing, answered, acknowledged,
    attempt_failed, failed or refused."""
    page = frame.get("page") if isinstance(frame.get("page"), dict) else {}
    assert isinstance(page, dict)
    person = str(page.get("person") or "?")
    change = str(frame.get("change") or "?")
    attempt = frame.get("attempt")
    n = f" (call {attempt})" if isinstance(attempt, int) else ""
    detail = str(page.get("detail") or "")
    words = {
        "dialing": (f"☎ paging {person}{n}", "dialling…", "information"),
        "answered": (f"☎ {person} answered{n}", "waiting for them to press 1", "information"),
        "acknowledged": (f"✔ {person} acknowledged the page", detail, "information"),
        "attempt_failed": (
            f"☎ page to {person}: no acknowledgement{n}",
            detail or "retrying if attempts remain",
            "warning",
        ),
        "failed": (f"✖ page to {person} FAILED", detail, "error"),
        "refused": (f"✖ page to {person} refused", detail, "error"),
    }
    return words.get(change, (f"page {person}: {change}", detail, "information"))


def step_due(incident: dict[str, Any], step_id: str) -> float | None:
    """The earliest armed timer of a step in a full incident (``{"op": "incident"}``)."""
    dues = [
        float(t["due_at"])
        for t in incident.get("timers") or []
        if t.get("step") == step_id and t.get("state") == "armed" and _num(t.get("due_at"))
    ]
    return min(dues, default=None)


def next_timer(incident: dict[str, Any], kinds: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The next armed timer (of ``kinds`` when given), or None."""
    armed = [
        t
        for t in incident.get("timers") or []
        if t.get("state") == "armed"
        and _num(t.get("due_at")) is not None
        and (not kinds or t.get("kind") in kinds)
    ]
    return min(armed, key=lambda t: float(t["due_at"]), default=None)


#: How each per-person outcome of a PBX step (a standby call-out) is marked and toned.
PERSON_LOOK: dict[str, tuple[str, str]] = {
    "added": ("✔", "good"),
    "not_needed": ("·", "muted"),
    "not_paged": ("·", "muted"),
    "no_interface": ("!", "bad"),
    "add_failed": ("!", "bad"),
    "wrong_key": ("✖", "warn"),
    "no_key": ("✖", "warn"),
    "not_answered": ("✖", "warn"),
    "failed": ("✖", "bad"),
    "refused": ("✖", "bad"),
}


def pbx_people(step: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The last run of a PBX step that acted person by person (``page_standby``), with its
    people (``person``, ``status``, ``text``); None when the step has no such run."""
    detail = step.get("detail") if isinstance(step.get("detail"), dict) else {}
    assert isinstance(detail, dict)
    runs = [r for r in detail.get("runs") or [] if isinstance(r, dict) and r.get("people")]
    if not runs:
        return None
    people = [p for p in runs[-1]["people"] if isinstance(p, dict)]
    return runs[-1], people


def pbx_readback(incident: dict[str, Any], pal: Palette) -> Text | None:
    """Each person-by-person PBX step's read-back, one line a person: paged, answered,
    pressed 1 → added as member X / not answered / wrong key … (None when there is none)."""
    out = Text()
    for step in incident.get("steps") or []:
        found = pbx_people(step) if isinstance(step, dict) else None
        if found is None:
            continue
        run, people = found
        added = sum(1 for p in people if p.get("status") == "added")
        if out:
            out.append("\n")
        out.append(f"{step.get('id')}", style=pal.strong)
        drill = " (DRILL: simulator)" if run.get("simulated") else ""
        out.append(f" read-back {fmt.clock(run.get('at'))}{drill}: {added} added of "
                   f"{len(people)} paged\n")
        for p in people:
            mark, tone = PERSON_LOOK.get(str(p.get("status")), ("?", "warn"))
            out.append(f"  {mark} ", style=pal.style(tone))
            out.append(f"{p.get('person')}: ", style=pal.strong)
            out.append(f"{p.get('text') or p.get('status')}\n")
    out.rstrip()
    return out if out else None
