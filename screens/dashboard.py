"""Dashboard: one tile per queue, the trunk strip, active alerts and routing flags that are on.

Built for the 2 a.m. glance: the tiles carry the queue's alarm word in their border (from
the daemon's alert engine), the trunk strip and flag strip are one line per item, and the
active alerts table is the one place to acknowledge from (``a``). Enter on a tile drills
into that queue.

Everything fits without scrolling down to 80×24 (the minimum size). The layout is chosen
from the screen's size and what there is to show (:func:`fit_layout`): full tiles and a
line per trunk and flag when they fit; else one-line trunk and flag strips; else compact
five-line tiles too (:mod:`ccops.tui.compact`). The strips sit at the bottom of the
screen at every size, so they are where the eye expects them and a miscount of the rows
can never push them out of sight; if even the short forms do not fit (many queues), only
the tiles scroll.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.widgets import Static

from ccops.core.roles import Capability, allows
from ccops.screens.alerts import AlertActions, alert_cells
from ccops.screens.base import LiveScreen
from ccops.tui import fmt, registry, view
from ccops.tui.compact import compact_tile_text, flag_line, trunk_line
from ccops.tui.tiles import tile_look, tile_text
from ccops.tui.widgets import quiet
from ccops.tui.widgets.live_table import Column, LiveTable
from ccops.tui.widgets.tile import QueueTile

TILE_WIDTH = 38
TILE_HEIGHT = 10  # 8 lines and the border
COMPACT_TILE_HEIGHT = 7  # 5 lines and the border
ALERT_ROWS = 5  # alerts shown before the table scrolls (the title counts them all)
COMPACT_ALERT_ROWS = 3
CHROME_ROWS = 3  # status bar, breadcrumbs, footer


@dataclass(frozen=True, slots=True)
class Layout:
    """How the dashboard is drawn at a size: which parts use their short forms."""

    compact_tiles: bool
    compact_strips: bool
    fits: bool  # everything on screen without scrolling


def fit_layout(
    width: int,
    height: int,
    *,
    queues: int,
    alerts: int,
    trunk_lines: int | None,
    flag_lines: int,
) -> Layout:
    """The fullest layout that shows every part in ``height`` rows (the body's).

    ``trunk_lines`` is None when the role may not see trunks. The parts, top to bottom:
    the alerts (a title, then a header and up to a few rows), the tiles, the trunk strip
    and the flag strip (full: a blank line, a title and a line each; short: one line).
    """
    cols = max(1, width // TILE_WIDTH)
    rows = -(-max(queues, 1) // cols)

    def alerts_h(cap: int) -> int:
        return 1 + (min(alerts, cap) + 1 if alerts else 0)

    full_strips = 2 + max(1, flag_lines) + (2 + max(1, trunk_lines) if trunk_lines else 0)
    short_strips = 1 + (1 if trunk_lines is not None else 0)
    if trunk_lines == 0:
        full_strips += 3  # "no trunks reported" still takes its title and line
    if alerts_h(ALERT_ROWS) + rows * TILE_HEIGHT + full_strips <= height:
        return Layout(False, False, True)
    if alerts_h(ALERT_ROWS) + rows * TILE_HEIGHT + short_strips <= height:
        return Layout(False, True, True)
    fits = alerts_h(COMPACT_ALERT_ROWS) + rows * COMPACT_TILE_HEIGHT + short_strips <= height
    return Layout(True, True, fits)


class DashboardScreen(AlertActions, LiveScreen):
    SCOPE = "dashboard"
    TITLE_TEXT = "Dashboard"
    BINDINGS = registry.bindings_for("dashboard")
    AUTO_FOCUS = "#tiles-box"  # Enter opens a queue; arrows scroll the tiles when they must

    DEFAULT_CSS = f"""
    DashboardScreen #body {{ height: 1fr; }}
    DashboardScreen #tiles-box {{ height: 1fr; }}
    DashboardScreen.-fits #tiles-box {{ height: auto; }}
    DashboardScreen #tiles {{ grid-size: 2; grid-gutter: 0 1; height: auto; }}
    DashboardScreen .section {{ text-style: bold; }}
    DashboardScreen #strips {{ height: auto; }}
    DashboardScreen #strips .section {{ margin-top: 1; }}
    DashboardScreen .short {{ display: none; }}
    DashboardScreen.-short-strips .full {{ display: none; }}
    DashboardScreen.-short-strips .short {{ display: block; }}
    DashboardScreen #alerts {{ height: auto; max-height: {ALERT_ROWS + 1}; }}
    DashboardScreen.-compact-tiles #alerts {{ max-height: {COMPACT_ALERT_ROWS + 1}; }}
    DashboardScreen.-compact-tiles QueueTile {{ height: {COMPACT_TILE_HEIGHT}; }}
    DashboardScreen QueueTile.-stale {{ text-opacity: 60%; }}
    """

    fitted = Layout(False, False, True)
    _trunk_lines: int | None = 0  # counted at each refresh; None: the role sees no trunks
    _flag_lines = 0

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Static("Active alerts", classes="section", id="alerts-title")
            yield LiveTable(
                [
                    Column("sev", "sev", 10),
                    Column("age", "age", 7, right=True),
                    Column("ack", "ack", 12),
                    Column("message", "alert"),
                ],
                id="alerts",
            )
            yield Static("", id="empty", markup=False)
            with VerticalScroll(id="tiles-box"):
                yield Grid(id="tiles")
            with Vertical(id="strips"):
                yield Static("Trunks", classes="section full", id="trunks-title")
                yield Static("", id="trunks", classes="full", markup=False)
                yield Static("", id="trunks-line", classes="short", markup=False)
                yield Static("Routing flags on", classes="section full")
                yield Static("", id="flags", classes="full", markup=False)
                yield Static("", id="flags-line", classes="short", markup=False)

    def on_mount(self) -> None:
        self._fit_grid()
        super().on_mount()

    def on_resize(self) -> None:
        self._fit_grid()
        self._fit_layout()

    def _fit_grid(self) -> None:
        cols = max(1, (self.size.width or 120) // TILE_WIDTH)
        self.query_one("#tiles", Grid).styles.grid_size_columns = cols

    def _body_rows(self) -> int:
        """Rows left for the dashboard once the chrome (and a banner or prompt) is drawn."""
        rows = (self.size.height or 24) - CHROME_ROWS
        for chrome in ("#banner", "#prompt"):
            with contextlib.suppress(Exception):
                widget = self.query_one(chrome)
                if widget.display:
                    rows -= max(1, widget.outer_size.height)  # the banner wraps
        return rows

    def refresh_chrome(self) -> None:
        """The chrome changes height when the stale banner comes or goes: refit after it."""
        super().refresh_chrome()
        self.call_after_refresh(self._fit_layout)

    def _fit_layout(self) -> None:
        """Choose the layout for the current size and content; repaint only on a change."""
        table = self.primary_table()
        layout = fit_layout(
            self.size.width or 120,
            self._body_rows(),
            queues=len(self.query(QueueTile)),
            alerts=table.row_count if table.display else 0,
            trunk_lines=self._trunk_lines,
            flag_lines=self._flag_lines,
        )
        # Everything fits: the strips follow the tiles (no gap on a tall screen); it does
        # not: the tiles box takes what is left and scrolls, the strips stay at the bottom.
        self.set_class(layout.fits, "-fits")  # a no-op when unchanged
        if layout == self.fitted:
            return
        compact_changed = layout.compact_tiles != self.fitted.compact_tiles
        self.fitted = layout
        self.set_class(layout.compact_tiles, "-compact-tiles")
        self.set_class(layout.compact_strips, "-short-strips")
        if compact_changed:
            con = self.console
            self._refresh_tiles(con.doc, con.now())  # the tiles' text has another form

    def primary_table(self) -> LiveTable:
        return self.query_one("#alerts", LiveTable)

    # ------------------------------------------------------------------ refresh

    def refresh_live(self) -> None:
        con = self.console
        doc = con.doc
        now = con.now()
        self._refresh_tiles(doc, now)
        self._refresh_trunks(doc, now)
        self._refresh_flags(doc, now)
        self._refresh_alert_table()
        self._fit_layout()

    def refresh_alerts(self) -> None:
        con = self.console
        self._refresh_alert_table()
        self._refresh_tiles(con.doc, con.now())  # tiles carry alarm words too
        self._fit_layout()

    def _refresh_alert_table(self) -> None:
        con = self.console
        rows = []
        for a in con.active_alerts():
            sev, age, message, _scope, ack = alert_cells(a, con, con.now())
            rows.append((a.key, [sev, age, ack, message]))
        if self.filter_text:
            rows = [r for r in rows if self.matches(r[1])]
        table = self.primary_table()
        table.sync(rows)
        table.display = bool(rows)
        n = len(rows)
        quiet.show(
            self.query_one("#alerts-title", Static),
            f"Active alerts ({n})" if n else "Active alerts: none",
            layout=True,
        )

    def _refresh_tiles(self, doc: view.Doc, now: float) -> None:
        con = self.console
        grid = self.query_one("#tiles", Grid)
        every = view.queues(doc)
        queues = [
            q for q in every if not self.filter_text or self.filter_text.lower() in q.key.lower()
        ]
        if self.filter_text:
            self._filter_shown, self._filter_total = len(queues), len(every)
        existing = {t.key: t for t in grid.query(QueueTile)}
        wanted = [q.key for q in queues]
        for key, tile in existing.items():
            if key not in wanted:
                tile.remove()
        empty = self.query_one("#empty", Static)
        if not queues:
            empty.display = True
            empty.update(
                Text(
                    "No queues yet: waiting for the PBX to report its queues."
                    if not self.filter_text
                    else f"No queue matches '{self.filter_text}'.",
                    style=con.palette.muted,
                )
            )
        else:
            empty.display = False
        multi = len({q.pbx for q in queues}) > 1
        covered = con.history.covered_minutes(now)
        alerts = con.active_alerts()
        stale = {v.pbx for v in view.links(doc) if v.stale}
        for q in queues:
            found = existing.get(q.key)
            if found is None:
                tile = QueueTile(q.key)
                grid.mount(tile)
                if self.focused is None:
                    self.call_after_refresh(tile.focus)
            else:
                tile = found
            worst = next((a for a in alerts if a.scope == q.scope), None)
            look = tile_look(worst)
            is_stale = q.pbx in stale or not con.link.attached
            tile.set_class(is_stale, "-stale")
            word = f"◌ STALE · {look.word}" if is_stale else look.word
            if self.fitted.compact_tiles:
                body = compact_tile_text(q, con.palette)
            else:
                body = tile_text(
                    q,
                    con.history.values(q.key, "waiting", now),
                    con.history.values(q.key, "sl", now),
                    covered,
                    con.palette,
                )
            title = f"{q.pbx}:{q.name}" if multi else q.name
            tile.show(title, word, look.tone, body)

    def _refresh_trunks(self, doc: view.Doc, now: float) -> None:
        con = self.console
        pal = con.palette
        widget = self.query_one("#trunks", Static)
        role = con.link.role
        if role is not None and not allows(role, Capability.VIEW_TRUNKS):
            for hidden in ("#trunks-title", "#trunks", "#trunks-line"):
                self.query_one(hidden, Static).styles.display = "none"
            self._trunk_lines = None
            return
        trunks = view.trunks(doc)
        self._trunk_lines = len(trunks)
        quiet.show(self.query_one("#trunks-line", Static), trunk_line(trunks, pal), layout=True)
        t = Text(no_wrap=True, overflow="ellipsis")
        if not trunks:
            t.append("no trunks reported", style=pal.muted)
        for i, tr in enumerate(trunks):
            if i:
                t.append("\n")
            look = fmt.trunk_look(tr.up, tr.reachable)
            t.append(f"{look.glyph} {look.word:<7}", style=pal.style(look.tone))
            t.append(f" {tr.name:<14}", style=pal.strong)
            reg = tr.registration_status or ("no registration" if not tr.registration else "?")
            reg_tone = (
                "good" if reg == "Registered" else ("muted" if not tr.registration else "bad")
            )
            t.append(f" reg {reg:<15}", style=pal.style(reg_tone))
            rtt = f"{tr.rtt_ms:.0f}ms" if tr.rtt_ms is not None else fmt.DASH
            t.append(f" rtt {rtt:>6}")
            cap = fmt.num(tr.capacity) if tr.capacity else "?"
            usage_tone = (
                "bad" if (tr.usage or 0) >= 0.9 else ("warn" if (tr.usage or 0) >= 0.75 else "")
            )
            t.append(
                f"  channels {tr.channels_in_use}/{cap}",
                style=pal.style(usage_tone) if usage_tone else "",
            )
            if tr.usage is not None:
                t.append(f" ({fmt.pct(tr.usage)})", style=pal.muted)
            if tr.last_change:
                t.append(f"  changed {fmt.since(tr.last_change, now)} ago", style=pal.muted)
        quiet.show(widget, t, layout=True)  # unchanged text: nothing; changed: may grow

    def _refresh_flags(self, doc: view.Doc, now: float) -> None:
        pal = self.console.palette
        on = [f for f in view.flags(doc) if f.is_on]
        self._flag_lines = len(on)
        quiet.show(self.query_one("#flags-line", Static), flag_line(on, pal), layout=True)
        t = Text(no_wrap=True, overflow="ellipsis")
        if not on:
            t.append("none — normal routing", style=pal.good)
        for i, f in enumerate(on):
            if i:
                t.append("\n")
            t.append("⚑ ON ", style=pal.warn)
            t.append(f"{f.kind.replace('_', ' ')} {f.target}", style=pal.strong)
            t.append(f" = {f.value}")
            t.append(
                f"  ({f.pbx}: {f.family}/{f.key}, read {fmt.since(f.read_at, now)} ago)",
                style=pal.muted,
            )
        quiet.show(self.query_one("#flags", Static), t, layout=True)

    # ------------------------------------------------------------------ drill-down

    def action_open_queue(self) -> None:
        focused = self.focused
        if isinstance(focused, QueueTile):
            self._open(focused.key)
            return
        tiles = list(self.query(QueueTile))
        if tiles:
            tiles[0].focus()

    @on(QueueTile.Opened)
    def _tile_clicked(self, event: QueueTile.Opened) -> None:
        self._open(event.key)

    def _open(self, key: str) -> None:
        from ccops.screens.queue_detail import QueueDetailScreen

        pbx, _, queue = key.partition("/")
        self.app.push_screen(QueueDetailScreen(pbx, queue))
