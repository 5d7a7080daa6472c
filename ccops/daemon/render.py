"""Human rendering of the status document (``ccops status`` and the interim live view).

Reads only the ``ccops.status/1`` document, so it shows exactly what a script would get with
``--json``. States carry words, not only colours, so the output reads the same with
``NO_COLOR`` or on a monochrome terminal.
"""

from __future__ import annotations

import time
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}s"


def _link_line(name: str, pbx: dict[str, Any], now: float) -> Text:
    link = pbx.get("link", {})
    state = str(link.get("state", "unknown"))
    styles = {"live": "bold green", "syncing": "yellow", "connecting": "yellow"}
    style = styles.get(state, "bold red")
    line = Text()
    line.append(f"PBX {name} ", style="bold")
    if pbx.get("simulated"):
        line.append("[SIMULATED] ", style="bold magenta")
    line.append(state.upper(), style=style)
    if link.get("stale"):
        since = link.get("since")
        line.append(f"  STALE since {_age(now - since) if since else '?'} ago", style="red")
        retry = link.get("next_retry_at")
        if retry:
            line.append(f", retry in {_age(retry - now)}", style="red")
    if link.get("detail"):
        line.append(f"  ({link['detail']})")
    last = link.get("last_event_at")
    if last:
        line.append(f"  last event {_age(now - last)} ago", style="dim")
    return line


def _queues_table(pbx: dict[str, Any]) -> Table:
    table = Table(title="Queues (today)", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, padding=(0, 1), collapse_padding=True)
    table.add_column("queue", no_wrap=True, min_width=7)
    for col in ("wait", "max", "SL", "ab%", "ASA", "AHT", "idle", "call", "acw", "pse",
                "offr", "need"):
        table.add_column(col, justify="right", no_wrap=True, min_width=len(col))
    for name, q in sorted(pbx.get("queues", {}).items()):
        kpi = (q.get("kpi") or {}).get("today") or {}
        agents = q.get("agents") or {}
        erlang = (q.get("kpi") or {}).get("erlang") or {}
        gap = erlang.get("gap")
        table.add_row(
            name,
            str(q.get("waiting", 0)),
            _secs(q.get("longest_wait")),
            _pct(kpi.get("service_level")),
            _pct(kpi.get("abandon_rate")),
            _secs(kpi.get("asa")),
            _secs(kpi.get("aht")),
            str(agents.get("available", 0)),
            str(agents.get("on_call", 0)),
            str(agents.get("acw", 0)),
            str(agents.get("paused", 0)),
            str(kpi.get("offered", 0)),
            "–" if gap is None else (f"+{gap}" if gap > 0 else "ok"),
        )
    return table


def _trunks_table(pbx: dict[str, Any]) -> Table:
    table = Table(title="Trunks", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("trunk", "reach", "registration", "RTT", "channels"):
        table.add_column(col, justify="left" if col in ("trunk", "registration") else "right")
    for name, t in sorted(pbx.get("trunks", {}).items()):
        reach = t.get("reachable")
        reach_txt = Text("UP", style="green") if reach else (
            Text("DOWN", style="bold red") if reach is False else Text("?", style="yellow")
        )
        rtt = t.get("rtt_ms")
        table.add_row(
            name,
            reach_txt,
            str(t.get("registration_status") or ("–" if not t.get("registration") else "?")),
            "–" if rtt is None else f"{rtt:.0f}ms",
            f"{t.get('channels_in_use', 0)}/{t.get('capacity', '?')}",
        )
    return table


def _alerts_table(alerts: list[dict[str, Any]], now: float) -> Table:
    table = Table(title="Active alerts", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for col in ("severity", "alert", "scope", "value", "since"):
        table.add_column(col)
    for a in alerts:
        if a.get("cleared_at"):
            continue
        sev = str(a.get("severity", ""))
        style = {"critical": "bold red", "warning": "yellow"}.get(sev, "")
        raised = a.get("raised_at")
        table.add_row(
            Text(sev.upper(), style=style),
            str(a.get("message") or a.get("rule")),
            str(a.get("scope", "")),
            str(a.get("value", "")),
            _age(now - raised) if raised else "–",
        )
    return table


def status_renderable(doc: dict[str, Any], now: float | None = None) -> RenderableType:
    now = time.time() if now is None else now
    parts: list[RenderableType] = []
    for name, pbx in sorted((doc.get("pbx") or {}).items()):
        parts.append(_link_line(name, pbx, now))
        parts.append(_queues_table(pbx))
        if pbx.get("trunks"):
            parts.append(_trunks_table(pbx))
    alerts = [a for a in doc.get("alerts") or [] if not a.get("cleared_at")]
    if alerts:
        parts.append(_alerts_table(alerts, now))
    else:
        parts.append(Text("No active alerts.", style="green"))
    return Group(*parts)


def render_status(doc: dict[str, Any], console: Console | None = None) -> None:
    (console or Console()).print(status_renderable(doc))
