"""The dashboard's short forms, for terminals where the full layout does not fit (80×24).

What an operator must see at a glance, kept; what can wait for a drill-down, dropped:

* a queue tile in five lines: waiting and the longest wait, service level against target,
  ASA/AHT/abandons, who is free / on a call / in wrap-up / paused, and Erlang C's "needs
  +N" (with unavailable members, the one local alarm). The hour's sparklines go: the trend
  is on the queue's own screen, and a tile three lines shorter is what lets every queue,
  the trunks and the flags share one 80×24 screen.
* the trunk strip in one line: how many are up, then each trunk (problems first) with its
  state glyph, a word when it is not up, channels in use of capacity, and RTT.
* the routing flags in one line: how many are on, then each (``⚑ overflow hotline =
  billing``). "none — normal routing" when none are, so silence is never ambiguous.

A one-line strip that is longer than the screen ends in an ellipsis; its leading count
(``2/3 up``, ``3 on``) still tells the operator there is more.
"""

from __future__ import annotations

from rich.text import Text

from ccops.tui import fmt
from ccops.tui.themes import Palette
from ccops.tui.tiles import append_head_lines, erlang_text
from ccops.tui.view import FlagView, QueueView, TrunkView

COMPACT_TILE_LINES = 5


def compact_tile_text(q: QueueView, pal: Palette) -> Text:
    """Five lines of at most ~34 cells (two tiles abreast at 80 columns)."""
    t = Text(no_wrap=True, overflow="ellipsis")
    append_head_lines(t, q, pal)
    t.append("●", style=pal.good)
    t.append(f"{q.available} free ")
    t.append("◉", style=pal.info)
    t.append(f"{q.on_call + q.on_hold + q.ringing} call ")
    t.append("◑", style=pal.info)
    t.append(f"{q.acw} wrap ")
    t.append("‖", style=pal.warn if q.paused else pal.muted)
    t.append(f"{q.paused} paused")
    t.append("\n")
    if q.unavailable:
        t.append("✖", style=pal.bad)
        t.append(f"{q.unavailable} unavail ", style=pal.bad)
        t.append_text(_short_erlang(q, pal))
    else:
        t.append_text(erlang_text(q, pal))
    return t


def _short_erlang(q: QueueView, pal: Palette) -> Text:
    """Erlang C's answer in a few cells, for the line it shares with unavailable members."""
    t = Text("Erlang ")
    if q.gap is None:
        t.append(fmt.DASH, style=pal.muted)
    elif q.gap > 0:
        t.append(f"+{q.gap} needed", style=pal.bad)
    else:
        t.append("ok", style=pal.good)
    return t


def _trunk_order(tr: TrunkView) -> tuple[int, float, str]:
    state = tr.up if tr.up is not None else tr.reachable
    rank = 0 if state is False else (1 if state is None else 2)
    return (rank, -(tr.usage or 0.0), tr.name)


def trunk_line(trunks: list[TrunkView], pal: Palette) -> Text:
    """``Trunks 1/2 up │ ▼ carrier-b DOWN 0/30 │ ▲ carrier-a 24/30 12ms``."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("Trunks ", style="bold")
    if not trunks:
        t.append("none reported", style=pal.muted)
        return t
    up = sum(1 for tr in trunks if (tr.up if tr.up is not None else tr.reachable) is True)
    t.append(f"{up}/{len(trunks)} up", style=pal.good if up == len(trunks) else pal.bad)
    for tr in sorted(trunks, key=_trunk_order):
        t.append(" │ ", style=pal.muted)
        look = fmt.trunk_look(tr.up, tr.reachable)
        t.append(f"{look.glyph} ", style=pal.style(look.tone))
        t.append(tr.name, style=pal.strong)
        if look.word != "UP":
            t.append(f" {look.word}", style=pal.style(look.tone))
        usage = tr.usage or 0.0
        tone = "bad" if usage >= 0.9 else ("warn" if usage >= 0.75 else "")
        cap = fmt.num(tr.capacity) if tr.capacity else "?"
        t.append(f" {tr.channels_in_use}/{cap}", style=pal.style(tone) if tone else "")
        if tr.rtt_ms is not None:
            t.append(f" {tr.rtt_ms:.0f}ms", style=pal.muted)
    return t


def flag_line(flags_on: list[FlagView], pal: Palette) -> Text:
    """``Flags on (1) │ ⚑ overflow hotline = billing``, or none — normal routing."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("Flags on ", style="bold")
    if not flags_on:
        t.append("none — normal routing", style=pal.good)
        return t
    t.append(f"({len(flags_on)})", style=pal.warn)
    for f in flags_on:
        t.append(" │ ", style=pal.muted)
        t.append("⚑ ", style=pal.warn)
        t.append(f"{f.kind.replace('_', ' ')} {f.target}", style=pal.strong)
        t.append(f" = {f.value}")
    return t
