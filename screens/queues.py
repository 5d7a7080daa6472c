"""Queues: every queue in one table; Enter drills into one, ``o`` toggles its overflow."""

from __future__ import annotations

from textual.app import ComposeResult

from ccops.screens import flows
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry, view
from ccops.tui.view import QueueView
from ccops.tui.widgets.live_table import Cell, Column, LiveTable

COLUMNS = [
    Column("name", "queue"),
    Column("alarm", "alarm", 7),
    Column("waiting", "wait", 5, right=True),
    Column("longest", "longest", 7, right=True),
    Column("sl", "SL today", 8, right=True),
    Column("sl60", "SL 60m", 7, right=True),
    Column("abandon", "aband", 6, right=True),
    Column("asa", "ASA", 6, right=True),
    Column("aht", "AHT", 6, right=True),
    Column("offered", "offer", 5, right=True),
    Column("avail", "avail", 5, right=True),
    Column("call", "call", 4, right=True),
    Column("wrap", "wrap", 4, right=True),
    Column("paused", "pause", 5, right=True),
    Column("need", "erlang", 9),
]


class QueuesScreen(LiveScreen):
    SCOPE = "queues"
    TITLE_TEXT = "Queues"
    BINDINGS = registry.bindings_for("queues")

    def compose_body(self) -> ComposeResult:
        yield LiveTable(COLUMNS, id="queues")

    def refresh_live(self) -> None:
        con = self.console
        alerts = con.active_alerts()
        multi = len({q.pbx for q in view.queues(con.doc)}) > 1
        rows = []
        for q in view.queues(con.doc):
            worst = next((a for a in alerts if a.scope == q.scope), None)
            rows.append((q.key, self._cells(q, worst, multi)))
        self.query_one(LiveTable).sync(self.filtered(rows))

    def _cells(self, q: QueueView, worst: view.AlertView | None, multi: bool) -> list[Cell]:
        con = self.console
        wait_tone = "bad" if q.waiting and not q.available else ("warn" if q.waiting else "")
        sl_text = fmt.pct(q.sl) + (" ▼" if q.below_target else "")
        if q.gap is None:
            need = tone_cell(fmt.DASH, "muted", con, sort_value=None)
        elif q.gap > 0:
            need = tone_cell(f"needs +{q.gap}", "bad", con, sort_value=q.gap)
        else:
            need = tone_cell("ok", "good", con, sort_value=q.gap)
        look = fmt.severity_look(worst.severity) if worst else None
        return [
            plain_cell(f"{q.pbx}:{q.name}" if multi else q.name, sort_value=q.key),
            tone_cell(
                f"{look.glyph} {look.word[:4]}" if look else "● ok",
                look.tone if look else "good",
                con,
                sort_value=-(worst.rank if worst else 0),
            ),
            tone_cell(str(q.waiting), wait_tone, con, sort_value=q.waiting, right=True),
            tone_cell(
                fmt.secs(q.longest_wait) if q.waiting else fmt.DASH,
                wait_tone,
                con,
                sort_value=q.longest_wait if q.waiting else 0,
                right=True,
            ),
            tone_cell(sl_text, "bad" if q.below_target else "", con, sort_value=q.sl, right=True),
            plain_cell(fmt.pct(q.sl_rolling), sort_value=q.sl_rolling, right=True),
            plain_cell(fmt.pct(q.abandon_rate, 1), sort_value=q.abandon_rate, right=True),
            plain_cell(fmt.secs(q.asa), sort_value=q.asa, right=True),
            plain_cell(fmt.secs(q.aht), sort_value=q.aht, right=True),
            plain_cell(fmt.num(q.offered), sort_value=q.offered, right=True),
            tone_cell(
                str(q.available),
                "bad" if q.waiting and not q.available else "",
                con,
                sort_value=q.available,
                right=True,
            ),
            plain_cell(
                str(q.on_call + q.on_hold + q.ringing),
                right=True,
                sort_value=q.on_call + q.on_hold + q.ringing,
            ),
            plain_cell(str(q.acw), sort_value=q.acw, right=True),
            tone_cell(
                str(q.paused), "warn" if q.paused else "", con, sort_value=q.paused, right=True
            ),
            need,
        ]

    def target_pbx(self) -> str | None:
        key = self.query_one(LiveTable).selected_key
        return key.partition("/")[0] if key else None

    def _selected(self) -> tuple[str, str] | None:
        key = self.query_one(LiveTable).selected_key
        if not key:
            self.notify("No queue selected.", severity="warning")
            return None
        pbx, _, queue = key.partition("/")
        return pbx, queue

    def action_open_queue(self) -> None:
        from ccops.screens.queue_detail import QueueDetailScreen

        sel = self._selected()
        if sel:
            self.app.push_screen(QueueDetailScreen(*sel))

    def on_strip_table_row_selected(self) -> None:  # Enter on the table
        self.action_open_queue()

    def action_toggle_overflow(self) -> None:
        sel = self._selected()
        if sel and self.guard("queues.overflow"):
            self.run_worker(flows.toggle_overflow(self, *sel), group="command")
