"""Audit: who did what, when, with what result (the daemon's hash-chained log).

The daemon decides who may read it (``view_audit``) and does the filtering and paging, so
this screen asks for exactly what it shows: the newest page first, older pages on ``b``
(or when the cursor reaches the last row), and — while the screen is visible — the records
added since, every few seconds and at once after an action, which appear at the top.

``/`` takes ``field:value`` words that the daemon filters on (``operator:bob
result:refused kind:member action:pause_member since:02:00 until:-1h``); any other words
filter the loaded rows as text, like everywhere else. The chip shows the whole filter.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ccops.daemon.client import DaemonUnavailable
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry
from ccops.tui.audit_filter import FIELDS, AuditFilter, AuditFilterError, parse_filter
from ccops.tui.widgets.live_table import Cell, Column, LiveTable

COLUMNS = [
    Column("seq", "#", 6, right=True),
    Column("at", "when", 15),
    Column("operator", "operator", 12),
    Column("role", "role", 10),
    Column("action", "action", 18),
    Column("result", "result", 10),
    Column("what", "parameters"),
]
PAGE = 200
KEEP = 5000
POLL_S = 5.0
NEWEST = 2**53  # "before the end of the log" (a JSON-safe integer)


def entry_of(rec: dict[str, Any]) -> dict[str, Any]:
    """The audit fields of a record: flat (the daemon's rows) or under ``entry``."""
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
        self.records: dict[int, dict[str, Any]] = {}
        self.query_filter = AuditFilter()
        self.more_older = False
        self.new_since_open = 0
        self.error = ""
        self._loading = False
        self._older_wanted = False  # "b" pressed while a fetch was in flight
        self._generation = 0
        self._applied_text = ""

    # ------------------------------------------------------------------ layout

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
        self._poll()

    def document_changed(self) -> None:
        """The audit log is not in the status document: it is polled, not pushed."""

    @property
    def newest_seq(self) -> int:
        return max(self.records, default=0)

    @property
    def oldest_seq(self) -> int:
        return min(self.records, default=NEWEST)

    # ------------------------------------------------------------------ fetching

    def _poll(self) -> None:
        if self.app.screen is not self or self._loading:
            return
        if self.records:
            self._start(self._fetch_newer())
        else:
            self._start(self._fetch_page(NEWEST))

    def action_reload(self) -> None:
        self.reload()

    def action_older(self) -> None:
        if not self.more_older:
            self.notify("no older records" + (" match the filter" if self.query_filter.server
                                              else ""), timeout=3)
            return
        if self._loading:  # a poll is in flight: page when it is done, never drop the key
            self._older_wanted = True
            return
        self._start(self._fetch_page(self.oldest_seq))

    def _after_fetch(self) -> None:
        """A fetch finished: run the older page asked for while it was in flight."""
        if self._older_wanted and not self._loading:
            self._older_wanted = False
            if self.more_older:
                self._start(self._fetch_page(self.oldest_seq))

    def reload(self) -> None:
        """Start again from the newest page (after a filter change or on ``r``)."""
        self._generation += 1
        self._older_wanted = False
        self.records.clear()
        self.more_older = False
        self.new_since_open = 0
        self._start(self._fetch_page(NEWEST), exclusive=True)

    def _start(self, work: Any, exclusive: bool = False) -> None:
        self._loading = True
        self.run_worker(work, group="audit", exclusive=exclusive)

    async def _ask(self, **page: Any) -> dict[str, Any] | None:
        """One page from the daemon with the current filter; None (error shown) if refused."""
        gen = self._generation
        try:
            reply = await self.console.link.request(
                "audit", limit=PAGE, **self.query_filter.server, **page
            )
        except (DaemonUnavailable, TimeoutError) as exc:
            self.error = f"cannot read the audit log: {exc}"
            return None
        if gen != self._generation:
            return None  # the filter changed while this was in flight
        if reply.get("type") == "error":
            self.error = f"the daemon refused: {reply.get('message')}"
            return None
        self.error = ""
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    def _take(self, records: Any) -> int:
        added = 0
        for rec in records or []:
            if isinstance(rec, dict) and isinstance(rec.get("seq"), int):
                if rec["seq"] not in self.records:
                    added += 1
                self.records[rec["seq"]] = rec
        if len(self.records) > KEEP:  # keep the newest; the rest can be paged in again
            for seq in sorted(self.records)[: len(self.records) - KEEP]:
                del self.records[seq]
            self.more_older = True
        return added

    async def _fetch_page(self, before: int) -> None:
        try:
            result = await self._ask(before_seq=before)
            if result is not None:
                self._take(result.get("records"))
                self.more_older = bool(result.get("more"))
        finally:
            self._loading = False
        self.refresh_live()
        self._after_fetch()

    async def _fetch_newer(self) -> None:
        try:
            while True:
                result = await self._ask(after_seq=self.newest_seq)
                if result is None:
                    break
                self.new_since_open += self._take(result.get("records"))
                if not result.get("more"):
                    break
        finally:
            self._loading = False
        self.refresh_live()
        self._after_fetch()

    # ------------------------------------------------------------------ filter

    def set_filter(self, text: str) -> None:
        try:
            parsed = parse_filter(text, self.console.now())
        except AuditFilterError as exc:
            self.notify(f"{exc}. The filter was not changed.", title="Filter not applied",
                        severity="warning", timeout=8)
            super().set_filter(self._applied_text)  # the chip shows what still applies
            return
        self._applied_text = text.strip()
        server_changed = parsed.server != self.query_filter.server
        self.query_filter = parsed
        super().set_filter(text)
        if server_changed:
            self.reload()

    def preview_filter(self, text: str) -> None:
        """While typing: only the plain-text words filter (locally); ``field:value`` words
        are sent to the daemon on Enter, so a half-typed one costs no request or error."""
        if text.strip() == self._applied_text:
            return
        local = " ".join(w for w in text.split() if w.partition(":")[0].lower() not in FIELDS)
        self.query_filter = AuditFilter(self.query_filter.server, local)
        self.filter_text = text.strip()
        self.refresh_live()
        self.refresh_chrome()

    def filter_cancelled(self) -> None:
        self.set_filter("")

    def matches(self, cells: list[Cell] | tuple[Cell, ...]) -> bool:
        needle = self.query_filter.text.lower()
        return not needle or any(needle in c.plain.lower() for c in cells)

    # ------------------------------------------------------------------ painting

    def refresh_live(self) -> None:
        con = self.console
        now = con.now()
        rows = []
        for seq, rec in self.records.items():
            e = entry_of(rec)
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
        self.query_one("#state", Static).update(self._state_text())
        self._detail()

    def _state_text(self) -> Text:
        pal = self.console.palette
        if self.error:
            return Text(self.error, style=pal.bad)
        t = Text()
        described = self.query_filter.describe()
        if described:
            t.append(f"daemon filter: {described} · ", style=pal.strong)
        t.append(f"{len(self.records)} records, newest first")
        if self.new_since_open:
            t.append(f" · {self.new_since_open} new since opened", style=pal.good)
        t.append(" · b: older page" if self.more_older else " · start of the log reached")
        t.append(f" · new records every {POLL_S:.0f}s")
        return t

    def on_strip_table_row_highlighted(self) -> None:  # LiveTable's cursor moved
        self._detail()
        table = self.query_one(LiveTable)
        at_end = table.row_count > 0 and table.cursor_row >= table.row_count - 1
        if at_end and self.more_older and not self._loading:
            self._start(self._fetch_page(self.oldest_seq))

    def _detail(self) -> None:
        key = self.query_one(LiveTable).selected_key
        rec = self.records.get(int(key)) if key and key.isdigit() else None
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
