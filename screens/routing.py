"""Routing: the flags exactly as Asterisk reports them (AstDB read-back), set and clear.

The table shows what the PBX says (``DBGet``), not what someone asked for: after every change
the daemon reads the key back and the row shows the new value and when it was read. Queues
with overflow off are listed too, so "is overflow on for billing?" has an answer even when
the key does not exist.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ccops.screens import flows
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry, view
from ccops.tui.widgets.live_table import Column, LiveTable

COLUMNS = [
    Column("state", "state", 8),
    Column("kind", "flag", 22),
    Column("target", "queue / DID", 16),
    Column("value", "value (Asterisk)", 18),
    Column("key", "AstDB key"),
    Column("read", "read", 10),
]


class RoutingScreen(LiveScreen):
    SCOPE = "routing"
    TITLE_TEXT = "Routing"
    BINDINGS = registry.bindings_for("routing")

    DEFAULT_CSS = """
    RoutingScreen #hint { color: $text-muted; margin-top: 1; height: auto; }
    """

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield LiveTable(COLUMNS, id="flags")
            yield Static(
                "s: set a flag (overflow per queue, night mode / forced route per DID, "
                "emergency announcement)   x: clear the selected flag   "
                "Every change is read back from AstDB and audited; the undo is recorded.",
                id="hint",
            )

    def _rows(self) -> list[view.FlagView]:
        doc = self.console.doc
        flags = view.flags(doc)
        have = {(f.pbx, f.kind, f.target) for f in flags}
        rows = list(flags)
        for q in view.queues(doc):
            if (q.pbx, "overflow", q.name) not in have:
                rows.append(
                    view.FlagView(
                        pbx=q.pbx,
                        family="",
                        key=f"overflow/{q.name}",
                        kind="overflow",
                        target=q.name,
                        value="",
                        read_at=None,
                    )
                )
        return rows

    def refresh_live(self) -> None:
        con = self.console
        now = con.now()
        rows = []
        multi = len(view.pbxs(con.doc)) > 1
        for f in self._rows():
            state = ("⚑ ON", "warn") if f.is_on else ("○ off", "muted")
            target = f"{f.pbx}:{f.target}" if multi else f.target
            rows.append(
                (
                    f.row_key if f.family else f"{f.pbx}/-/{f.key}",
                    [
                        tone_cell(state[0], state[1], con, sort_value=0 if f.is_on else 1),
                        plain_cell(
                            f.kind.replace("_", " ") if f.known_kind else f"{f.kind} (unknown)"
                        ),
                        plain_cell(target),
                        tone_cell(
                            f.value if f.family else "not set", "" if f.family else "muted", con
                        ),
                        plain_cell(f"{f.family}/{f.key}" if f.family else fmt.DASH),
                        plain_cell(
                            fmt.since(f.read_at, now) + " ago" if f.read_at else fmt.DASH,
                            sort_value=f.read_at,
                        ),
                    ],
                )
            )
        rows.sort(key=lambda r: (r[1][0].sort_value, r[0]))
        self.query_one(LiveTable).sync(self.filtered(rows))

    def _selected(self) -> view.FlagView | None:
        key = self.query_one(LiveTable).selected_key
        for f in self._rows():
            if (f.row_key if f.family else f"{f.pbx}/-/{f.key}") == key:
                return f
        return None

    def target_pbx(self) -> str | None:
        f = self._selected()
        return f.pbx if f else None

    def action_set_flag(self) -> None:
        if not self.guard("routing.set"):
            return
        f = self._selected()
        pbx = f.pbx if f else next((p for p, _ in view.pbxs(self.console.doc)), "")
        if not pbx:
            self.notify("No PBX in the live state.", severity="warning")
            return
        kind = f.kind if f and f.known_kind else "overflow"
        target = f.target if f else ""
        self.run_worker(flows.set_flag(self, pbx, kind=kind, target=target), group="command")

    def action_clear_flag(self) -> None:
        if not self.guard("routing.clear"):
            return
        f = self._selected()
        if f is None or not f.family:
            self.notify("Select a flag that is set (value shown by Asterisk).", severity="warning")
            return
        self.run_worker(flows.clear_flag(self, f), group="command")
