"""Roles: a viewer sees READ-ONLY, has no PBX actions offered, and the daemon still refuses
when the UI is bypassed (the daemon is the authority, the UI only avoids offering)."""

from __future__ import annotations

import secrets
from typing import Any

from textual.widgets import Footer
from tui_helpers import make_app, screen_text, until

from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.screens.dashboard import DashboardScreen
from ccops.screens.queue_detail import QueueDetailScreen
from ccops.tui.widgets.bars import StatusBar
from ccops.tui.widgets.live_table import LiveTable


def as_role(daemon: Daemon, role: Role, name: str) -> None:
    """Make the daemon identify every local peer as ``name`` with ``role``."""

    def identify(uid: int, pid: int) -> Operator:
        return Operator(name=name, role=role, session_id=f"t-{secrets.token_hex(3)}", via="local")

    assert daemon.api is not None
    daemon.api.identify = identify


def footer_text(app: Any) -> str:
    lines = screen_text(app).splitlines()
    return lines[-1] if lines else ""


async def test_viewer_is_read_only_and_refused_by_the_daemon(daemon: Daemon) -> None:
    as_role(daemon, Role.VIEWER, "vera")
    app = make_app(daemon.socket_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        assert app.link.role is Role.VIEWER
        await until(
            pilot,
            lambda: "vera (viewer)" in app.screen.query_one(StatusBar).plain,
            what="operator and role in the status bar",
        )
        assert "READ-ONLY" in app.screen.query_one(StatusBar).plain
        # viewers hold no view_trunks: the dashboard's trunk strip is not shown
        assert isinstance(app.screen, DashboardScreen)
        assert not app.screen.query_one("#trunks").display

        await pilot.press("colon", *"queue billing", "enter")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        screen = app.screen
        assert isinstance(screen, QueueDetailScreen)
        members = screen.query_one("#members", LiveTable)
        await until(pilot, lambda: members.row_count > 0, what="members")
        for action in (
            "pause_member",
            "unpause_member",
            "remove_member",
            "add_member",
            "set_penalty",
            "toggle_overflow",
        ):
            assert screen.check_action(action, ()) is False, action  # hidden
        footer = footer_text(app)
        assert "Pause" not in footer and "Remove" not in footer and "Help" in footer
        assert app.screen.query_one(Footer) is not None

        await pilot.press("p")  # the key still explains why
        await until(
            pilot,
            lambda: any("READ-ONLY for role viewer" in n.message for n in app._notifications),
            what="explanation",
        )
        assert not isinstance(app.screen, type(None)) and app.results == []

        await pilot.press("colon", *"trunks", "enter")
        await until(
            pilot,
            lambda: any("not available to role viewer" in n.message for n in app._notifications),
            what="trunks refused",
        )
        assert isinstance(app.screen, QueueDetailScreen)

        # bypass the UI: the daemon refuses and audits
        iface = sorted(members.keys)[0]
        result = await app.execute_command(
            "pause_member",
            {"pbx": "sim", "queue": "billing", "interface": iface, "reason": "break"},
        )
        assert result is not None and result["status"] == "refused", result
        assert not daemon.sessions["sim"].state.queues["billing"].members[iface].paused
    await app.link.stop()


async def test_dispatcher_may_acknowledge_but_not_pause(daemon: Daemon) -> None:
    as_role(daemon, Role.DISPATCHER, "dora")
    app = make_app(daemon.socket_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        await pilot.press("5")
        await until(
            pilot, lambda: app.screen.check_action("acknowledge", ()) is True, what="ack offered"
        )
        await pilot.press("colon", *"queue billing", "enter")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        assert app.screen.check_action("pause_member", ()) is False
        assert "READ-ONLY" in app.screen.query_one(StatusBar).plain
    await app.link.stop()
