"""Audit: who did what, when, with what result (the daemon's hash-chained log).

The records come from the daemon's ``audit`` request, paged by sequence number; while this
screen is visible it fetches the new ones every few seconds (and at once after an action).
``/`` filters on any column (operator, action, result, parameters…).
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ccops.daemon.client import DaemonUnavailable
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry
from ccops.tui.widgets.live_table import Column, LiveTable

COLUMNS = [
    Column("seq", "#", 6, right=True),
    Column("at", "when", 15),
    Column("operator", "operator", 12),
    Column("role", "role", 10),
    Column("action", "action", 18),
    Column("result", "result", 10),
    Column("what", "parameters"),
]
PAGE = 500
KEEP = 5000
POLL_S = 5.0


def entry_of(rec: dict[str, Any]) -> dict[str, Any]:
    """The audit fields of a record: flat (the store's rows) or under ``entry``."""
    inner = rec.get("entry")
    return inner if isinstance(inner, dict) else rec


def params_text(params: Any) -> str:
    if not isinstance(params, dict):
        return str(params)
    return ", ".join(f"{k}={v}" for k, v in params.items() if v is not None)


class AuditScreen(LiveScreen):
    SCOPE = "audit"
    TITLE_TEXT = "Audit"
    BINDINGS = registry.bindings_for("audit")

    DEFAULT_CSS = """
    AuditScreen #detail { height: auto; max-height: 8; border-top: solid $panel; padding: 0 1; }
    AuditScreen #state { color: $text-muted; height: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []
        self.last_seq = 0
        self.error = ""
        self._loading = False

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="state", markup=False)
            yield LiveTable(COLUMNS, id="audit", sort="seq", reverse=True)
            yield Static("", id="detail", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(POLL_S, self._poll)
        self.reload()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.reload()

    def document_changed(self) -> None:
        """The audit log is not in the status document: it is polled, not pushed."""

    def _poll(self) -> None:
        if self.app.screen is self:
            self.reload()

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        if not self._loading:
            self.run_worker(self._fetch(), group="audit")

    async def _fetch(self) -> None:
        self._loading = True
        try:
            while True:
                reply = await self.console.link.request(
                    "audit", after_seq=self.last_seq, limit=PAGE
                )
                if reply.get("type") == "error":
                    self.error = str(reply.get("message"))
                    break
                records = (reply.get("result") or {}).get("records") or []
                if not records:
                    self.error = ""
                    break
                self.records.extend(r for r in records if isinstance(r, dict))
                self.last_seq = max(int(r.get("seq", 0)) for r in self.records)
                del self.records[:-KEEP]
                if len(records) < PAGE:
                    self.error = ""
                    break
        except (DaemonUnavailable, TimeoutError) as exc:
            self.error = f"cannot read the audit log: {exc}"
        finally:
            self._loading = False
        self.refresh_live()

    def refresh_live(self) -> None:
        con = self.console
        now = con.now()
        rows = []
        for rec in self.records:
            e = entry_of(rec)
            seq = int(rec.get("seq", 0))
            result = str(e.get("result", ""))
            look = fmt.result_look(result)
            at = e.get("at") if isinstance(e.get("at"), int | float) else None
            rows.append(
                (
                    str(seq),
                    [
                        plain_cell(str(seq), sort_value=seq, right=True),
                        plain_cell(fmt.day_clock(at, now), sort_value=at),
                        plain_cell(str(e.get("operator", ""))),
                        plain_cell(str(e.get("role", ""))),
                        plain_cell(str(e.get("action", ""))),
                        tone_cell(look.label, look.tone, con),
                        plain_cell(params_text(e.get("params"))),
                    ],
                )
            )
        self.query_one(LiveTable).sync(self.filtered(rows))
        state = self.query_one("#state", Static)
        if self.error:
            state.update(Text(self.error, style=con.palette.bad))
        else:
            state.update(
                f"{len(self.records)} records loaded (newest first); "
                f"refreshes every {POLL_S:.0f}s while shown"
            )
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        key = self.query_one(LiveTable).selected_key
        rec = next((r for r in self.records if str(r.get("seq")) == key), None)
        detail = self.query_one("#detail", Static)
        if rec is None:
            detail.update("")
            return
        e = entry_of(rec)
        t = Text()
        t.append(
            f"#{rec.get('seq')} {e.get('action')} by {e.get('operator')} "
            f"({e.get('role')}, via {e.get('via')}, session {e.get('session_id')})\n",
            style="bold",
        )
        t.append(f"result: {e.get('result')} — {e.get('detail') or ''}\n")
        if e.get("readback"):
            t.append("read-back: " + json.dumps(e.get("readback"), sort_keys=True) + "\n")
        if e.get("pbx_response"):
            t.append("PBX said: " + json.dumps(e.get("pbx_response"), sort_keys=True))
        detail.update(t)
