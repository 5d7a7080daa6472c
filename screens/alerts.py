"""Alerts: the active ones (acknowledge with ``a``) and the recently cleared ones.

Alerts are pushed by the daemon at once (not at the 1 Hz table cadence), so this screen and
the dashboard repaint their alert tables as soon as one is raised, cleared or acknowledged.
Acknowledging goes through the daemon's ``acknowledge_alert`` command: it is authorised,
audited and the alert stays listed until its condition clears.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry, view
from ccops.tui.context import Console
from ccops.tui.view import AlertView
from ccops.tui.widgets.live_table import Cell, Column, LiveTable


def alert_cells(a: AlertView, con: Console, now: float) -> list[Cell]:
    look = fmt.severity_look(a.severity)
    ack = f"✔ {a.acknowledged_by}" if a.acknowledged_by else "not acked"
    return [
        tone_cell(look.label, look.tone, con, sort_value=-a.rank),
        plain_cell(fmt.since(a.raised_at, now), sort_value=-(a.raised_at or 0), right=True),
        plain_cell(a.message),
        plain_cell(a.scope),
        tone_cell(ack, "muted" if a.acknowledged_by else "warn", con),
    ]


class AlertActions:
    """``a``: acknowledge the selected active alert (dashboard and alerts screens)."""

    def action_acknowledge(self) -> None:
        screen = self
        assert isinstance(screen, LiveScreen)
        if not screen.guard("alert.ack"):
            return
        table = screen.query_one("#alerts", LiveTable)
        key = table.selected_key
        alert = next((a for a in screen.console.active_alerts() if a.key == key), None)
        if not screen.console.active_alerts():
            screen.notify("No active alerts to acknowledge.", severity="information")
            return
        if alert is None or alert.id is None:
            screen.notify("Select an active alert first.", severity="warning")
            return
        if alert.acknowledged_by:
            screen.notify(
                f"Alert {alert.id} was already acknowledged by {alert.acknowledged_by}.",
                severity="information",
            )
            return
        screen.run_worker(
            screen.console.execute_command("acknowledge_alert", {"alert_id": alert.id}),
            group="command",
        )


class AlertsScreen(AlertActions, LiveScreen):
    SCOPE = "alerts"
    TITLE_TEXT = "Alerts"
    BINDINGS = registry.bindings_for("alerts")

    DEFAULT_CSS = """
    AlertsScreen .section { text-style: bold; margin-top: 1; }
    AlertsScreen #alerts { max-height: 60%; }
    """

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield Static("Active", classes="section", id="active-title")
            yield LiveTable(
                [
                    Column("sev", "severity", 12),
                    Column("age", "age", 8, right=True),
                    Column("message", "alert"),
                    Column("scope", "scope", 20),
                    Column("ack", "acknowledged", 16),
                ],
                id="alerts",
            )
            yield Static("Recently cleared", classes="section")
            yield LiveTable(
                [
                    Column("sev", "severity", 12),
                    Column("raised", "raised", 9),
                    Column("cleared", "cleared", 9),
                    Column("lasted", "lasted", 8, right=True),
                    Column("message", "alert"),
                    Column("why", "cleared because", 22),
                    Column("ack", "acknowledged", 14),
                ],
                id="recent",
            )

    def primary_table(self) -> LiveTable:
        focused = self.focused
        if isinstance(focused, LiveTable):
            return focused
        return self.query_one("#alerts", LiveTable)

    def refresh_live(self) -> None:
        self.refresh_alerts()

    def refresh_alerts(self) -> None:
        con = self.console
        now = con.now()
        active = [(a.key, alert_cells(a, con, now)) for a in con.active_alerts()]
        self.query_one("#alerts", LiveTable).sync(self.filtered(active))
        self.query_one("#active-title", Static).update(
            f"Active ({len(active)})" if active else "Active: none — all clear"
        )
        recent = []
        for a in view.recent_alerts(con.doc):
            look = fmt.severity_look(a.severity)
            lasted = (a.cleared_at - a.raised_at) if a.cleared_at and a.raised_at else None
            recent.append(
                (
                    f"r{a.key}",
                    [
                        tone_cell(look.label, look.tone, con, sort_value=-a.rank),
                        plain_cell(fmt.day_clock(a.raised_at, now), sort_value=a.raised_at),
                        plain_cell(fmt.day_clock(a.cleared_at, now), sort_value=a.cleared_at),
                        plain_cell(fmt.age(lasted), sort_value=lasted, right=True),
                        plain_cell(a.message),
                        plain_cell(a.cleared_reason or fmt.DASH),
                        plain_cell(a.acknowledged_by or fmt.DASH),
                    ],
                )
            )
        if self.filter_text:
            recent = [r for r in recent if self.matches(r[1])]
        self.query_one("#recent", LiveTable).sync(recent)
