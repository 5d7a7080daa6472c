"""Every action through the console against the real daemon and simulated PBX: the modal says
what will happen, Enter/Tab choose, the daemon executes and Asterisk's read-back is shown."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button
from tui_helpers import daemon_settings, make_app, screen_text, until

from ccops.config import AlertRule
from ccops.daemon.service import Daemon
from ccops.screens.alerts import AlertsScreen
from ccops.screens.audit import AuditScreen
from ccops.screens.queue_detail import QueueDetailScreen
from ccops.screens.queues import QueuesScreen
from ccops.tui.app import CcopsApp
from ccops.tui.dialogs import ChoiceModal, ConfirmModal, FormModal, LiveBody
from ccops.tui.widgets.live_table import LiveTable


def member(daemon: Daemon, queue: str, iface: str) -> Any:
    return daemon.sessions["sim"].state.queues[queue].members.get(iface)


async def open_queue(pilot: Any, app: CcopsApp, queue: str) -> QueueDetailScreen:
    await until(pilot, lambda: app.link.attached and queue in str(app.doc), what="doc")
    await pilot.press("colon", *f"queue {queue}", "enter")
    await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
    screen = app.screen
    assert isinstance(screen, QueueDetailScreen)
    members = screen.query_one("#members", LiveTable)
    await until(pilot, lambda: members.row_count > 0, what="members")
    return screen


def pick_member(screen: QueueDetailScreen) -> str:
    table = screen.query_one("#members", LiveTable)
    key = sorted(table.keys)[0]
    table.select_key(key)
    return key


async def result_count(pilot: Any, app: CcopsApp, n: int) -> dict[str, Any]:
    await until(pilot, lambda: len(app.results) >= n, what=f"{n} command results")
    return app.results[n - 1]


async def test_pause_with_reason_then_unpause(app: CcopsApp, daemon: Daemon) -> None:
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_queue(pilot, app, "billing")
        iface = pick_member(screen)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), what="reason picker")
        body = app.screen.query_one(LiveBody).plain
        assert "Pause" in body and iface in body and "billing now:" in body
        await pilot.press("down", "enter")  # second reason: meal
        result = await result_count(pilot, app, 1)
        assert result["status"] == "ok", result
        assert result["readback"]["billing"]["paused"] == "1"
        m = member(daemon, "billing", iface)
        assert m.paused and m.paused_reason == "meal"
        await until(pilot, lambda: "meal" in screen_text(app), what="reason on screen")

        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        assert isinstance(app.focused, Button) and app.focused.id == "confirm"
        await pilot.press("enter")
        result = await result_count(pilot, app, 2)
        assert result["status"] == "ok" and not member(daemon, "billing", iface).paused


async def test_escape_cancels_without_sending(app: CcopsApp, daemon: Daemon) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot, app, "billing")
        iface = pick_member(screen)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), what="picker")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="closed")
        await pilot.pause(0.2)
        assert app.results == [] and not member(daemon, "billing", iface).paused


async def test_penalty_change_with_validation(app: CcopsApp, daemon: Daemon) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot, app, "billing")
        iface = pick_member(screen)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="form")
        await pilot.press("ctrl+u", *"99999", "enter")  # out of range: the core model says so
        await pilot.pause(0.1)
        assert isinstance(app.screen, FormModal)
        assert "65535" in screen_text(app)
        await pilot.press("ctrl+u", "3", "enter")
        result = await result_count(pilot, app, 1)
        assert result["status"] == "ok", result
        assert member(daemon, "billing", iface).penalty == 3


async def test_add_then_remove_member_defaults_to_cancel(app: CcopsApp, daemon: Daemon) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot, app, "repairs")
        await pilot.press("plus")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="form")
        await pilot.press(*"PJSIP/7777", "enter", *"Standby Seat", "enter", "ctrl+u", "2", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm add")
        assert (
            "Add Standby Seat (PJSIP/7777) to queue repairs" in app.screen.query_one(LiveBody).plain
        )
        await pilot.press("enter")
        result = await result_count(pilot, app, 1)
        assert result["status"] == "ok", result
        assert member(daemon, "repairs", "PJSIP/7777") is not None
        table = screen.query_one("#members", LiveTable)
        await until(pilot, lambda: "PJSIP/7777" in table.keys, what="new row")
        table.select_key("PJSIP/7777")

        await pilot.press("minus")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm remove")
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        await pilot.press("enter")  # Enter on the default: Cancel
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="closed")
        await pilot.pause(0.2)
        assert len(app.results) == 1 and member(daemon, "repairs", "PJSIP/7777") is not None

        table.select_key("PJSIP/7777")
        await pilot.press("minus")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm again")
        await pilot.press("tab", "enter")
        result = await result_count(pilot, app, 2)
        assert result["status"] == "ok", result
        assert member(daemon, "repairs", "PJSIP/7777") is None


async def test_overflow_toggle_states_live_numbers_and_reads_back(
    app: CcopsApp, daemon: Daemon
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        table = app.screen.query_one(LiveTable)
        await until(pilot, lambda: table.row_count == 3, what="queues")
        table.select_key("sim/hotline")
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="flag form")
        await pilot.press("enter", "enter", "ctrl+u", *"billing", "enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        body = app.screen.query_one(LiveBody).plain
        waiting = daemon.status_document()["pbx"]["sim"]["queues"]["hotline"]["waiting"]
        assert "Overflow queue hotline to billing on sim" in body
        assert "Calls waiting now" in body and str(waiting) in body
        assert "Asterisk says now: not set" in body
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        await pilot.press("tab", "enter")
        result = await result_count(pilot, app, 1)
        assert result["status"] == "ok", result
        assert result["readback"]["value"] == "billing"
        flags = daemon.sessions["sim"].state.flags
        assert any(f.key == "overflow/hotline" and f.value == "billing" for f in flags.values())
        await until(
            pilot,
            lambda: "ccops/overflow/hotline" in str(app.doc["pbx"]["sim"]["flags"]),
            what="flag in the document",
        )

        await pilot.press("o")  # it is on now: offers to clear
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="clear")
        assert "Clear overflow for hotline" in app.screen.query_one(LiveBody).plain
        await pilot.press("tab", "enter")
        result = await result_count(pilot, app, 2)
        assert result["status"] == "ok", result
        assert result["readback"]["value"] is None
        assert isinstance(app.screen, QueuesScreen)


@pytest.fixture
async def alerting_daemon(state_dir: Path) -> AsyncIterator[Daemon]:
    rule = AlertRule(
        name="t-staffed",
        metric="agents_available",
        scope="sim:billing",
        op=">=",
        raise_at=0,
        severity="warning",
        message="billing staffed",
    )
    d = Daemon(daemon_settings(state_dir, alerts=[rule]))
    await d.start()
    yield d
    with contextlib.suppress(Exception):
        await d.stop()


async def test_acknowledge_alert_and_audit_shows_it(alerting_daemon: Daemon) -> None:
    app = make_app(alerting_daemon.socket_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.active_alerts(), what="an active alert")
        assert any("alert raised" in (n.title or "") for n in app._notifications)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen), what="alerts")
        table = app.screen.query_one("#alerts", LiveTable)
        await until(pilot, lambda: table.row_count == 1, what="alert row")
        await pilot.press("a")
        result = await result_count(pilot, app, 1)
        assert result["status"] == "ok", result
        await until(
            pilot, lambda: app.active_alerts()[0].acknowledged_by != "", what="acknowledged"
        )
        # the model changes before the repaint that shows it: wait for the screen
        await until(pilot, lambda: "✔" in screen_text(app), what="ack mark on screen")

        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, AuditScreen), what="audit")
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        await until(pilot, lambda: audit.query_one(LiveTable).row_count >= 1, what="records")
        await until(
            pilot,
            lambda: "acknowledge_alert" in screen_text(app) and "ok" in screen_text(app),
            what="the acknowledgement in the audit table",
        )
        await pilot.press("slash", *"nothing-like-this")
        await until(pilot, lambda: audit.query_one(LiveTable).row_count == 0, what="filtered")
    await app.link.stop()
