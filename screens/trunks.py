"""Trunks: reachability, registration, RTT, channels against capacity, up/down history.

The table is one line per trunk; the panel below shows the selected trunk's contacts and its
recent up/down flips with their cause, which is what the maintenance engineer needs to tell
a carrier outage from a registration problem.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry, view
from ccops.tui.widgets.live_table import Column, LiveTable

COLUMNS = [
    Column("name", "trunk"),
    Column("state", "state", 10),
    Column("registration", "registration", 16),
    Column("rtt", "RTT", 8, right=True),
    Column("contacts", "contacts", 9, right=True),
    Column("channels", "channels", 9, right=True),
    Column("usage", "usage", 6, right=True),
    Column("changed", "last change", 12),
    Column("history", "recent up/down"),
]


def history_text(hist: tuple[tuple[float, bool, str], ...], now: float, n: int = 4) -> str:
    if not hist:
        return "no flips seen"
    return "  ".join(f"{'↑' if up else '↓'}{fmt.day_clock(at, now)}" for at, up, _ in hist[-n:])


class TrunksScreen(LiveScreen):
    SCOPE = "trunks"
    TITLE_TEXT = "Trunks"
    BINDINGS = registry.bindings_for("trunks")

    DEFAULT_CSS = """
    TrunksScreen #detail { height: auto; margin-top: 1; padding: 0 1; border-top: solid $panel; }
    """

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield LiveTable(COLUMNS, id="trunks")
            yield Static("", id="detail", markup=False)

    def refresh_live(self) -> None:
        con = self.console
        now = con.now()
        multi = len(view.pbxs(con.doc)) > 1
        rows = []
        for t in view.trunks(con.doc):
            look = fmt.trunk_look(t.up, t.reachable)
            reg = t.registration_status or ("none" if not t.registration else "?")
            reg_tone = "good" if reg == "Registered" else ("muted" if reg == "none" else "bad")
            usage = t.usage or 0.0
            usage_tone = "bad" if usage >= 0.9 else ("warn" if usage >= 0.75 else "")
            label = f"{t.pbx}:{t.name}" if multi else t.name
            rows.append(
                (
                    t.key,
                    [
                        plain_cell(label),
                        tone_cell(
                            look.label,
                            look.tone,
                            con,
                            sort_value={"DOWN": 0, "unknown": 1, "UP": 2}.get(look.word, 1),
                        ),
                        tone_cell(reg, reg_tone, con),
                        plain_cell(
                            f"{t.rtt_ms:.0f}ms" if t.rtt_ms is not None else fmt.DASH,
                            sort_value=t.rtt_ms,
                            right=True,
                        ),
                        plain_cell(
                            f"{t.contacts_up}/{len(t.contacts)}",
                            sort_value=t.contacts_up,
                            right=True,
                        ),
                        tone_cell(
                            f"{t.channels_in_use}/{t.capacity or '?'}",
                            usage_tone,
                            con,
                            sort_value=t.channels_in_use,
                            right=True,
                        ),
                        tone_cell(
                            fmt.pct(t.usage), usage_tone, con, sort_value=t.usage, right=True
                        ),
                        plain_cell(fmt.day_clock(t.last_change, now), sort_value=t.last_change),
                        plain_cell(history_text(t.history, now)),
                    ],
                )
            )
        table = self.query_one(LiveTable)
        table.sync(self.filtered(rows))
        self._detail()

    def on_strip_table_row_highlighted(self) -> None:  # LiveTable's cursor moved
        self._detail()

    def _detail(self) -> None:
        con = self.console
        pal = con.palette
        now = con.now()
        key = self.query_one(LiveTable).selected_key
        trunk = next((t for t in view.trunks(con.doc) if t.key == key), None)
        out = Text()
        if trunk is None:
            out.append(
                "No trunks reported by the PBX." if not view.trunks(con.doc) else "Select a trunk.",
                style=pal.muted,
            )
            self.query_one("#detail", Static).update(out)
            return
        out.append(f"{trunk.name}", style=pal.strong)
        out.append(
            f"  device {trunk.device_state or fmt.DASH}  registration "
            f"{trunk.registration or 'none'} {trunk.registration_status}\n"
        )
        out.append("Contacts: ", style=pal.strong)
        if not trunk.contacts:
            out.append("none")
        for c in trunk.contacts:
            status = str(c.get("status") or "not qualified")
            tone = (
                "good"
                if status.lower() == "reachable"
                else ("bad" if status.lower() == "unreachable" else "muted")
            )
            rtt = c.get("rtt_usec")
            out.append(f"\n  {c.get('uri', '?')}  ")
            out.append(status, style=pal.style(tone))
            if isinstance(rtt, int | float) and rtt:
                out.append(f"  rtt {rtt / 1000:.0f}ms")
        out.append("\nHistory: ", style=pal.strong)
        if not trunk.history:
            out.append("no up/down flips since the daemon started", style=pal.muted)
        for at, up, cause in reversed(trunk.history[-8:]):
            out.append(f"\n  {fmt.day_clock(at, now)}  ")
            out.append("↑ UP  " if up else "↓ DOWN", style=pal.good if up else pal.bad)
            out.append(f"  {cause}  ({fmt.since(at, now)} ago)", style=pal.muted)
        self.query_one("#detail", Static).update(out)
