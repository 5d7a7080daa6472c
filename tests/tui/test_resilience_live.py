"""Links going away: the console never exits, keeps the last data marked STALE with the
since-time and retry countdown, disables PBX actions with the reason, and comes back."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

from tui_helpers import daemon_settings, kill_daemon, make_app, screen_text, until

from ccops.daemon.service import Daemon
from ccops.screens.dashboard import DashboardScreen
from ccops.screens.queue_detail import QueueDetailScreen
from ccops.tui.app import CcopsApp
from ccops.tui.link import ConsoleLink
from ccops.tui.widgets.bars import Banner, StatusBar
from ccops.tui.widgets.live_table import LiveTable
from ccops.tui.widgets.tile import QueueTile


def bar(app: CcopsApp) -> str:
    return app.screen.query_one(StatusBar).plain


def banner(app: CcopsApp) -> str:
    return app.screen.query_one(Banner).plain


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_pbx_link_down_keeps_data_marks_stale_and_disables_actions(
    app: CcopsApp, daemon: Daemon
) -> None:
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("colon", *"queue hotline", "enter")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        screen = app.screen
        members = screen.query_one("#members", LiveTable)
        await until(pilot, lambda: members.row_count > 0, what="members")
        assert screen.check_action("pause_member", ()) is True
        rows = members.row_count

        await daemon.sim.stop()  # the PBX goes away
        await until(pilot, lambda: "STALE" in bar(app), what="STALE")
        await until(pilot, lambda: "retry" in banner(app).lower(), what="retry countdown")
        assert "PBX sim link" in banner(app) and "since" in banner(app)
        assert "PBX actions are disabled" in banner(app)
        assert members.row_count == rows  # last data kept
        assert screen.check_action("pause_member", ()) is None  # shown, disabled
        await pilot.press("p")
        await until(
            pilot,
            lambda: any("PBX sim link" in n.message for n in app._notifications),
            what="reason for the disabled key",
        )
        assert app.results == []
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        assert len(app.screen.query(QueueTile)) == 3  # tiles still there, stale


async def test_start_with_pbx_down_opens_and_says_why(state_dir: Path) -> None:
    port = free_port()
    settings = daemon_settings(
        state_dir, pbx=[{"name": "pbx1", "host": "127.0.0.1", "port": port, "secret": "x"}]
    )
    daemon = Daemon(settings)
    await daemon.start()
    app = make_app(daemon.socket_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.link.attached, what="attached to the daemon")
            await until(pilot, lambda: "PBX pbx1 link" in banner(app), what="banner")
            assert "STALE" in bar(app) and "SIMULATED" not in bar(app)
            assert "No queues yet" in screen_text(app)
    finally:
        await app.link.stop()
        await daemon.stop()


async def test_daemon_lost_then_reattached(state_dir: Path) -> None:
    settings = daemon_settings(state_dir)
    daemon = Daemon(settings)
    await daemon.start()
    app = make_app(daemon.socket_path)
    second: Daemon | None = None
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: len(app.screen.query(QueueTile)) == 3, what="tiles")
            await kill_daemon(daemon)
            await until(pilot, lambda: "DAEMON LOST" in bar(app), what="lost")
            assert "Daemon connection lost since" in banner(app)
            assert len(app.screen.query(QueueTile)) == 3  # last data kept
            assert not app.situation().attached
            second = Daemon(settings)
            await second.start()
            await until(pilot, lambda: app.link.attached, timeout=20, what="re-attached")
            await until(pilot, lambda: "● LIVE" in bar(app), what="LIVE again")
            assert "DAEMON" not in bar(app)
    finally:
        await app.link.stop()
        if second is not None:
            with contextlib.suppress(Exception):
                await second.stop()


async def test_start_without_daemon_opens_and_retries(state_dir: Path) -> None:
    sock = state_dir / "ccops.sock"
    app = make_app(sock)
    daemon: Daemon | None = None
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: "NOT ATTACHED" in bar(app), what="not attached")
            assert "Not attached to the ccops daemon" in banner(app)
            assert isinstance(app.screen, DashboardScreen)
            daemon = Daemon(daemon_settings(state_dir))
            await daemon.start()
            await until(pilot, lambda: app.link.attached, timeout=20, what="attached")
    finally:
        await app.link.stop()
        if daemon is not None:
            await daemon.stop()


async def test_inherited_socket_fd(daemon: Daemon) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(daemon.socket_path))
    fd = sock.detach()
    link = ConsoleLink(fd=fd, retry_initial=0.1)
    app = CcopsApp(link, refresh_min=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached over the fd")
        await until(pilot, lambda: len(app.screen.query(QueueTile)) == 3, what="tiles")
        await kill_daemon(daemon)
        await until(pilot, lambda: not link.can_retry, what="gave up (cannot re-open)")
        assert "reconnect" in banner(app)
        assert "DAEMON LOST" in bar(app)
    await link.stop()
