"""The content of a dashboard queue tile (pure: a view, its history and a palette → text).

What a supervisor needs in one glance per queue: how many wait and for how long, the
service level against its target, abandons, ASA/AHT, who is available / on calls / in
wrap-up / paused, and Erlang C's "needs +N", with the last hour's trend. The tile's alarm
word comes from the daemon's alert engine (the one authority on thresholds), never from a
second set of limits in the UI; the only local judgement is the objective one: callers
waiting while nobody is available.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from ccops.tui import fmt
from ccops.tui.themes import Palette
from ccops.tui.view import AlertView, QueueView

SPARK_WIDTH = 24


@dataclass(frozen=True, slots=True)
class TileLook:
    """Title word and tone of a tile (from the worst active alert of its scope)."""

    word: str
    tone: str


def tile_look(alert: AlertView | None) -> TileLook:
    if alert is None:
        return TileLook("● OK", "good")
    look = fmt.severity_look(alert.severity)
    return TileLook(look.label, look.tone)


def downsample(values: list[float | None], width: int, *, keep: str = "max") -> list[float | None]:
    """Fold ``values`` into at most ``width`` slots (worst value of each slot wins)."""
    if width <= 0 or len(values) <= width:
        return list(values)
    out: list[float | None] = []
    size = len(values) / width
    for i in range(width):
        chunk = [v for v in values[int(i * size) : int((i + 1) * size)] if v is not None]
        if not chunk:
            out.append(None)
        else:
            out.append(max(chunk) if keep == "max" else min(chunk))
    return out


def erlang_text(q: QueueView, pal: Palette) -> Text:
    t = Text("Erlang C ")
    if q.gap is None:
        reason = (q.gap_reason or "no estimate yet").split(":")[0]
        t.append(f"{fmt.DASH} {reason}", style=pal.muted)
    elif q.gap > 0:
        t.append(f"needs +{q.gap} agent{'s' if q.gap != 1 else ''}", style=pal.bad)
        if q.required is not None:
            t.append(f" (req {q.required})", style=pal.muted)
    else:
        t.append("ok", style=pal.good)
        if q.required is not None:
            t.append(f" (req {q.required}, {-q.gap} spare)", style=pal.muted)
    return t


def append_head_lines(t: Text, q: QueueView, pal: Palette) -> None:
    """The first three lines every queue tile shows, full or compact: waiting and longest
    wait, service level against target, ASA/AHT/abandons."""
    waiting_tone = "bad" if q.waiting and not q.available else ("warn" if q.waiting else "")
    t.append("waiting ")
    t.append(f"{q.waiting:>3}", style=pal.style(waiting_tone) if waiting_tone else pal.strong)
    t.append("   longest ")
    t.append(
        fmt.secs(q.longest_wait) if q.waiting else fmt.DASH,
        style=pal.style(waiting_tone) if waiting_tone else "",
    )
    t.append("\n")
    t.append("SL ")
    sl_tone = "bad" if q.below_target else ("good" if q.sl is not None else "muted")
    t.append(f"{fmt.pct(q.sl):>4}", style=pal.style(sl_tone))
    t.append(" ▼" if q.below_target else "  ", style=pal.bad)
    t.append(f" target {fmt.pct(q.sl_target)}", style=pal.muted)
    t.append(f" · 60m {fmt.pct(q.sl_rolling)}")
    t.append("\n")
    t.append(f"ASA {fmt.secs(q.asa)} · AHT {fmt.secs(q.aht)} · aband {fmt.pct(q.abandon_rate, 1)}")
    t.append("\n")


def tile_text(
    q: QueueView,
    wait_hist: list[float | None],
    sl_hist: list[float | None],
    covered_min: int,
    pal: Palette,
) -> Text:
    """Eight lines of at most ~34 cells, so a tile fits three abreast at 120 columns."""
    t = Text(no_wrap=True, overflow="ellipsis")
    append_head_lines(t, q, pal)
    t.append("● ", style=pal.good)
    t.append(f"{q.available} free  ")
    t.append("◉ ", style=pal.info)
    t.append(f"{q.on_call + q.on_hold + q.ringing} on call  ")
    t.append("◑ ", style=pal.info)
    t.append(f"{q.acw} wrap")
    t.append("\n")
    t.append("‖ ", style=pal.warn if q.paused else pal.muted)
    t.append(f"{q.paused} paused")
    if q.unavailable:
        t.append("  ✖ ", style=pal.bad)
        t.append(f"{q.unavailable} unavailable", style=pal.bad)
    t.append("\n")
    t.append_text(erlang_text(q, pal))
    t.append("\n")
    span = f"{covered_min}m" if covered_min < 60 else "60m"
    t.append("wait ", style=pal.muted)
    t.append(
        fmt.sparkline(downsample(wait_hist, SPARK_WIDTH), SPARK_WIDTH),
        style=pal.warn if any(wait_hist[-5:]) else pal.info,
    )
    t.append(f" {span}", style=pal.muted)
    t.append("\n")
    t.append("SL   ", style=pal.muted)
    t.append(
        fmt.sparkline(downsample(sl_hist, SPARK_WIDTH, keep="min"), SPARK_WIDTH), style=pal.info
    )
    t.append(f" {span}", style=pal.muted)
    return t
