"""Roles: a viewer sees READ-ONLY, has no PBX actions offered, and the daemon still refuses
when the UI is bypassed (the daemon is the authority, the UI only avoids offering)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from textual.widgets import Footer
from tui_helpers import make_app, screen_text, until

from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.screens.dashboard import DashboardScreen
from ccops.screens.queue_detail import QueueDetailScreen
from ccops.tui import registry
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


ROLE_MATRIX = [
    # role, receives trunks, may pause, may read audit
    (Role.VIEWER, False, False, False),
    (Role.SUPERVISOR, True, True, True),
    (Role.MAINTENANCE, True, False, True),
    (Role.DISPATCHER, False, False, False),
    (Role.ADMIN, True, True, True),
]


@pytest.mark.parametrize(("role", "trunks", "pause", "audit"), ROLE_MATRIX)
async def test_each_role_gets_its_data_and_its_commands(
    daemon: Daemon, role: Role, trunks: bool, pause: bool, audit: bool
) -> None:
    as_role(daemon, role, f"op-{role.value}")
    app = make_app(daemon.socket_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.link.attached and "billing" in str(app.doc), what="doc")
        # what the daemon sent, not what the UI chose to show
        sim = app.doc["pbx"]["sim"]
        assert ("trunks" in sim) is trunks, sorted(sim)
        assert all(
            not str(a.get("metric", "")).startswith("trunk_") for a in app.doc["alerts"]
        ) or trunks
        await pilot.press("colon", *"queue billing", "enter")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        await until(pilot, lambda: app.screen.query_one("#members", LiveTable).row_count > 0,
                    what="members")
        assert (app.screen.check_action("pause_member", ()) is True) is pause
        await until(pilot, lambda: ("Pause" in footer_text(app)) is pause, what="footer")
        await pilot.press("question_mark")
        await until(pilot, lambda: "Esc" in screen_text(app) and "Pause" in screen_text(app),
                    what="help")
        help_text = screen_text(app)
        if not pause:
            assert "⊘ READ-ONLY for" in help_text  # wording wraps with the role's length
            reason = registry.availability(registry.BY_ID["member.pause"], app.situation()).reason
            assert reason == f"READ-ONLY for role {role.value}: needs 'member_control'"
        await pilot.press("escape")
        await pilot.pause(0.1)
        app.show_view("dashboard")
        app.show_view("trunks")
        await pilot.pause(0.2)
        assert (app.current_mode == "trunks") is trunks
        app.show_view("dashboard")
        app.show_view("audit")
        await pilot.pause(0.2)
        assert (app.current_mode == "audit") is audit
    await app.link.stop()
