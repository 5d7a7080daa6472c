"""Every screen against the real daemon on the simulator: navigation, live updates, filter,
sort, help, breadcrumbs, minimum size, themes."""

from __future__ import annotations

from tui_helpers import screen_text, until

from ccops.daemon.service import Daemon
from ccops.screens.agents import AgentsScreen
from ccops.screens.alerts import AlertsScreen
from ccops.screens.audit import AuditScreen
from ccops.screens.base import LiveScreen
from ccops.screens.dashboard import DashboardScreen
from ccops.screens.help import HelpScreen
from ccops.screens.queue_detail import QueueDetailScreen
from ccops.screens.queues import QueuesScreen
from ccops.screens.routing import RoutingScreen
from ccops.screens.too_small import TooSmallScreen
from ccops.screens.trunks import TrunksScreen
from ccops.tui.app import CcopsApp
from ccops.tui.widgets.bars import Crumbs, StatusBar
from ccops.tui.widgets.live_table import LiveTable
from ccops.tui.widgets.tile import QueueTile

QUEUES = {"billing", "hotline", "repairs"}


def status(app: CcopsApp) -> str:
    return app.screen.query_one(StatusBar).plain


def crumbs(app: CcopsApp) -> str:
    return app.screen.query_one(Crumbs).plain


async def test_dashboard_shows_tiles_status_and_trunks(app: CcopsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.screen.query(QueueTile)) == 3, what="3 tiles")
        assert isinstance(app.screen, DashboardScreen)
        keys = {t.key.split("/")[1] for t in app.screen.query(QueueTile)}
        assert keys == QUEUES
        await until(pilot, lambda: "● LIVE" in status(app), what="LIVE in status bar")
        bar = status(app)
        assert "sim LIVE" in bar and "SIMULATED" in bar and "(admin)" in bar
        assert "READ-ONLY" not in bar
        text = screen_text(app)
        assert "carrier-a" in text and "Routing flags on" in text
        assert "waiting" in text and "Erlang C" in text
        assert crumbs(app).startswith("ccops › Dashboard")


async def test_command_line_opens_every_view_with_breadcrumbs(app: CcopsApp) -> None:
    views = {
        "queues": QueuesScreen,
        "agents": AgentsScreen,
        "trunks": TrunksScreen,
        "alerts": AlertsScreen,
        "routing": RoutingScreen,
        "audit": AuditScreen,
        "dashboard": DashboardScreen,
    }
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        for name, cls in views.items():
            await pilot.press("colon", *name[:3], "tab", "enter")  # completion fills it
            await until(pilot, lambda cls=cls: isinstance(app.screen, cls), what=name)
            assert cls.TITLE_TEXT in crumbs(app)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, QueuesScreen), what="key 2")
        await pilot.press("colon", *"nonsense", "enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, QueuesScreen)  # unknown command: stays, says so


async def test_queues_drill_down_and_back(app: CcopsApp, daemon: Daemon) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await until(
            pilot, lambda: app.screen.query_one(LiveTable).row_count == 3, what="3 queue rows"
        )
        table = app.screen.query_one(LiveTable)
        assert {k.split("/")[1] for k in table.keys} == QUEUES
        table.select_key("sim/hotline")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        detail = app.screen
        assert isinstance(detail, QueueDetailScreen)
        assert crumbs(app).startswith("ccops › Queues › hotline")
        members = detail.query_one("#members", LiveTable)
        await until(pilot, lambda: members.row_count > 0, what="members")
        expected = set(daemon.sessions["sim"].state.queues["hotline"].members)
        assert set(members.keys) == expected
        intervals = detail.query_one("#intervals", LiveTable)
        await until(pilot, lambda: intervals.row_count >= 1, what="an interval row")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueuesScreen), what="back")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")


async def test_queue_by_name_from_command_line(app: CcopsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.link.attached and "hotline" in str(app.doc), what="doc")
        await pilot.press("colon", *"queue billing", "enter")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        assert app.screen.queue == "billing"  # type: ignore[attr-defined]


async def test_filter_chip_and_escape(app: CcopsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: app.screen.query_one(LiveTable).row_count == 3, what="rows")
        await pilot.press("slash", *"hot")
        await until(pilot, lambda: app.screen.query_one(LiveTable).row_count == 1, what="filtered")
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert "filter: hot (1 of 3)" in crumbs(app)
        # stays filtered across live updates
        refreshes = app.refreshes
        await until(pilot, lambda: app.refreshes > refreshes + 2, what="updates")
        assert app.screen.query_one(LiveTable).keys == ["sim/hotline"]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.query_one(LiveTable).row_count == 3, what="cleared")
        assert "filter" not in crumbs(app)
        assert isinstance(app.screen, QueuesScreen)  # Esc cleared the filter, did not leave


async def test_sort_keys_reorder_and_reverse(app: CcopsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        table = app.screen.query_one(LiveTable)
        await until(pilot, lambda: table.row_count >= 10, what="agents")

        def names() -> list[str]:
            return [str(table.get_cell(k, "name").plain) for k in table.keys]

        assert names() == sorted(names(), key=str.lower)
        await pilot.press("N")  # same column again: reverse
        await pilot.pause(0.05)
        assert names() == sorted(names(), key=str.lower, reverse=True)
        assert "sort: agent ▼" in crumbs(app)
        await pilot.press("C")
        await pilot.pause(0.05)
        assert table.sort_column == "calls" and "sort: calls ▲" in crumbs(app)


async def test_tables_update_in_place_never_rebuilt(app: CcopsApp, monkeypatch: object) -> None:
    calls = {"clear": 0, "add": 0}
    original_add = LiveTable.add_row

    def no_clear(self: LiveTable, columns: bool = False) -> LiveTable:
        calls["clear"] += 1
        raise AssertionError("a live table must never be cleared")

    def counting_add(self: LiveTable, *cells: object, **kw: object) -> object:
        calls["add"] += 1
        return original_add(self, *cells, **kw)  # type: ignore[arg-type]

    import pytest

    mp = pytest.MonkeyPatch()
    mp.setattr(LiveTable, "clear", no_clear)
    mp.setattr(LiveTable, "add_row", counting_add)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("3")
            table = app.screen.query_one(LiveTable)
            await until(pilot, lambda: table.row_count >= 10, what="agents")
            rows = table.row_count
            adds = calls["add"]
            updates = table.updates
            start = app.refreshes
            await until(pilot, lambda: app.refreshes >= start + 6, what="6 refreshes")
            assert table.row_count == rows
            assert calls["add"] == adds  # the same agents were never re-added
            assert table.updates > updates  # time-in-state cells changed in place
            assert calls["clear"] == 0
    finally:
        mp.undo()


async def test_hidden_screens_are_not_refreshed(app: CcopsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        agents = app.screen
        assert isinstance(agents, AgentsScreen)
        table = agents.query_one(LiveTable)
        await until(pilot, lambda: table.row_count >= 10, what="agents")
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, QueuesScreen), what="queues")
        frozen = table.updates
        start = app.refreshes
        await until(pilot, lambda: app.refreshes >= start + 4, what="refreshes")
        assert table.updates == frozen  # agents view is not shown: nothing rendered for it
        await pilot.press("3")
        await until(pilot, lambda: table.updates > frozen, what="refreshed on return")


async def test_help_lists_registry_commands(app: CcopsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: app.screen.query_one(LiveTable).row_count == 3, what="rows")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = screen_text(app)
        for words in ("Pause", "Unpause", "Remove member", "pause_member", ":queues"):
            assert words in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="closed")


async def test_minimum_size_notice_and_recovery(app: CcopsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        await pilot.resize_terminal(70, 20)
        await until(pilot, lambda: isinstance(app.screen, TooSmallScreen), what="too small")
        assert "70×20" in screen_text(app) and "80×24" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back")


async def test_themes_switch_and_keep_working(app: CcopsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.screen.query(QueueTile)) == 3, what="tiles")
        dark = app.palette.bad
        await pilot.press("colon", *"theme light", "enter")
        await pilot.pause(0.1)
        assert app.theme == "ccops-light" and app.palette.bad != dark
        await pilot.press("f2")
        await pilot.pause(0.1)
        assert app.theme == "ccops-contrast"
        assert isinstance(app.screen, LiveScreen)
        assert "sim" in status(app)


async def test_member_state_and_asterisk_status_match_the_status_document(
    app: CcopsApp,
) -> None:
    """The queue view shows the daemon's derived state and Asterisk's own Status side by side,
    both exactly as in the status document, and the member counts agree with its totals."""
    from ccops.tui import fmt

    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.link.attached and "hotline" in str(app.doc), what="doc")
        app.open_queue("hotline")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        detail = app.screen
        assert isinstance(detail, QueueDetailScreen)
        await until(pilot, lambda: detail.query_one("#members", LiveTable).row_count > 0,
                    what="members")
        members = detail.query_one("#members", LiveTable)
        for _ in range(5):  # several refreshes: on-call, ringing and available members
            await pilot.pause(0.4)
            detail.refresh_live()  # paint from the document as it is at this instant
            q = app.doc["pbx"]["sim"]["queues"]["hotline"]
            column = {c.key: i for i, c in enumerate(members.spec)}
            for iface, m in q["members"].items():
                row = members.get_row(iface)
                state = str(row[column["state"]])
                assert state.startswith(fmt.member_look(m["state"]).label), (state, m)
                assert (state.endswith("(other)")) == (
                    m["busy_elsewhere"] and m["state"] in ("on_call", "on_hold")
                )
                assert str(row[column["asterisk"]]) == fmt.asterisk_status(m["device_status"])
            counts = q["agents"]
            title = str(detail.query_one("#members-title").render())
            assert f"{counts['available']} available" in title
            assert f"{counts['acw']} wrap-up" in title and f"{counts['paused']} paused" in title
