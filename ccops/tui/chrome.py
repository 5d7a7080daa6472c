"""The always-visible lines: the status bar and the stale/lost banner (pure functions).

Why always visible: an operator must never act on numbers they believe are live when they
are not. The status bar says, on every screen, which PBX link is up and how old its last
event is, who is logged in with which role (READ-ONLY for viewers), LIVE or STALE, and the
time; the banner explains a stale state in words, with since-time and retry countdown.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from ccops.core.roles import Capability, Role, allows
from ccops.tui import fmt
from ccops.tui.incident_view import badge as incident_badge
from ccops.tui.themes import Palette
from ccops.tui.view import Doc, links, simulated


@dataclass(frozen=True, slots=True)
class AttachInfo:
    """The console's own connection to the daemon."""

    attached: bool
    ever_attached: bool
    lost_since: float | None
    next_retry_at: float | None
    reason: str
    can_retry: bool


def read_only(role: Role | None) -> bool:
    """True when the role may change nothing on the PBX (viewer)."""
    if role is None:
        return True
    return not any(allows(role, c) for c in (Capability.MEMBER_CONTROL, Capability.ROUTING_TOGGLE))


def is_live(doc: Doc, attach: AttachInfo) -> bool:
    views = links(doc)
    return attach.attached and bool(views) and all(not v.stale for v in views)


COMPACT_BELOW = 100  # columns: under this the status bar uses its short wording


def status_line(
    doc: Doc,
    attach: AttachInfo,
    operator: str,
    role: Role | None,
    now: float,
    pal: Palette,
    *,
    compact: bool = False,
) -> Text:
    """The status bar; ``compact`` (narrow terminals) shortens words, never drops facts,
    so LIVE/STALE and the clock still fit in 80 columns."""
    line = Text(no_wrap=True, overflow="ellipsis")
    sep = Text(" │ ", style=pal.muted)
    if not attach.attached:
        line.append("✖ DAEMON ", style=pal.bad)
        line.append("LOST" if attach.ever_attached else "NOT ATTACHED", style=pal.bad)
        if attach.next_retry_at:
            line.append(f" retry {fmt.age(attach.next_retry_at - now)}", style=pal.warn)
        line.append_text(sep)
    views = links(doc)
    if not views and attach.attached:
        line.append("no PBX configured", style=pal.warn)
        line.append_text(sep)
    for i, v in enumerate(views):
        if i:
            line.append(" ")
        look = fmt.link_look(v.state)
        line.append(f"{look.glyph} {v.pbx} {look.word}", style=pal.style(look.tone))
        if v.stale and v.since:
            line.append(f" since {fmt.clock(v.since)}", style=pal.bad)
            if v.next_retry_at:
                line.append(f" retry {fmt.age(v.next_retry_at - now)}", style=pal.warn)
        elif v.last_event_at:
            label = " " if compact else " last event "
            line.append(f"{label}{fmt.age(now - v.last_event_at)} ago", style=pal.muted)
    line.append_text(sep)
    if simulated(doc):
        line.append(" SIM " if compact else " SIMULATED ", style=pal.warn + Style(reverse=True))
        line.append_text(sep)
    inc = incident_badge(doc, now, pal, compact=compact)
    if inc is not None and not compact:  # the open incident and its next countdown
        line.append_text(inc)
        line.append_text(sep)
    line.append(operator, style=pal.strong)
    line.append(f" ({role.value if role else '?'})")
    if read_only(role):
        line.append(" " if compact else "  ")
        line.append(" READ-ONLY ", style=pal.warn + Style(reverse=True))
    line.append_text(sep)
    if is_live(doc, attach):
        line.append("● LIVE", style=pal.good)
    else:
        line.append("◌ STALE", style=pal.bad)
    line.append_text(sep)
    line.append(fmt.clock(now))
    if inc is not None and compact:  # last when narrow: LIVE/STALE and the clock stay whole
        line.append(" ")
        line.append_text(inc)
    return line


def banner(doc: Doc, attach: AttachInfo, now: float, pal: Palette) -> Text | None:
    """One or two lines explaining why the data is not live, or None when it is."""
    parts: list[Text] = []
    if not attach.attached:
        t = Text(style=pal.bad)
        if attach.ever_attached:
            t.append(
                f"Daemon connection lost since {fmt.clock(attach.lost_since)}"
                f" ({fmt.since(attach.lost_since, now)} ago): {attach.reason}. "
            )
            t.append("Showing the last data received; actions are disabled. ")
        else:
            t.append(f"Not attached to the ccops daemon: {attach.reason}. ")
        if attach.next_retry_at:
            t.append(f"Retrying in {fmt.age(attach.next_retry_at - now)}.")
        elif not attach.can_retry:
            t.append("Quit (ctrl+q) and reconnect.")
        parts.append(t)
    for v in links(doc):
        if not v.stale:
            continue
        look = fmt.link_look(v.state)
        t = Text(style=pal.bad)
        t.append(f"PBX {v.pbx} link {look.word}")
        if v.since:
            t.append(f" since {fmt.clock(v.since)} ({fmt.since(v.since, now)})")
        if v.detail:
            t.append(f": {v.detail}")
        t.append(". ")
        if v.next_retry_at:
            t.append(f"Retry in {fmt.age(v.next_retry_at - now)}. ")
        t.append("Numbers below are the last known state (STALE); PBX actions are disabled.")
        parts.append(t)
    if not parts:
        return None
    out = Text(no_wrap=False)
    for i, p in enumerate(parts):
        if i:
            out.append("\n")
        out.append_text(p)
    return out


def pbx_problems(doc: Doc, attach: AttachInfo, now: float) -> dict[str, str]:
    """Per PBX, why a PBX action cannot run now (empty when all links are live)."""
    out: dict[str, str] = {}
    for v in links(doc):
        if v.stale:
            look = fmt.link_look(v.state)
            retry = f", retry in {fmt.age(v.next_retry_at - now)}" if v.next_retry_at else ""
            since = f" since {fmt.clock(v.since)}" if v.since else ""
            out[v.pbx] = f"PBX {v.pbx} link {look.word}{since}{retry}"
    return out
