"""The dashboard and the agents table at the minimum size (80×24) and the steps above it.

At 80×24 the dashboard must show, without scrolling, every queue tile, the trunk strip,
the active alerts and the routing flags that are on; the agents table must show calls,
occupancy and pauses. Checked on what the terminal would show (the screen's text) and on
where the widgets are (inside the screen, not under the footer).
"""

from __future__ import annotations

from typing import Any

from tui_docs import NOW, stale, status_doc
from tui_helpers import StaticLink, screen_text, until

from ccops.screens.agents import AgentsScreen, columns_for, keep_end
from ccops.screens.dashboard import DashboardScreen, fit_layout
from ccops.tui import view
from ccops.tui.app import CcopsApp
from ccops.tui.compact import compact_tile_text, flag_line, trunk_line
from ccops.tui.themes import DARK, palette_for
from ccops.tui.widgets.live_table import LiveTable
from ccops.tui.widgets.strip_table import PAD
from ccops.tui.widgets.tile import QueueTile


def app_for(doc: dict[str, Any], role: str = "admin") -> CcopsApp:
    return CcopsApp(StaticLink(doc, role=role), now=lambda: NOW, refresh_min=0.0)


async def settled(pilot: Any, app: CcopsApp) -> None:
    await until(pilot, lambda: len(app.screen.query(QueueTile)) == 3, what="tiles")
    for _ in range(6):
        await pilot.pause(0.05)


def fully_visible(app: CcopsApp, selector: str) -> bool:
    """The widget is displayed and wholly inside the screen above the footer."""
    widget = app.screen.query_one(selector)
    region = widget.region
    footer_top = app.size.height - 1
    return bool(widget.display) and region.height > 0 and region.bottom <= footer_top


async def test_dashboard_at_80x24_shows_tiles_trunks_alerts_and_flags() -> None:
    app = app_for(status_doc())
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert screen.fitted.compact_tiles and screen.fitted.compact_strips
        assert screen.fitted.fits
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) <= 24
        assert "Active alerts (2)" in text and "hotline: 6 callers waiting" in text
        assert "carrier-b unreachable" in text
        assert "Trunks 1/2 up │ ▼ carrier-b DOWN 0/30 │ ▲ carrier-a 24/30 12ms" in text
        assert "Flags on (1) │ ⚑ overflow hotline = billing" in text
        for sel in ("#alerts", "#trunks-line", "#flags-line"):
            assert fully_visible(app, sel), sel
        box = screen.query_one("#tiles-box").region
        for tile in screen.query(QueueTile):  # every tile whole, none scrolled away
            assert box.contains_region(tile.region), (tile.key, tile.region, box)
        # what the compact tiles keep: the alarm word, waiting, SL, members, Erlang C
        assert "‼ CRITICAL" in text and "waiting   3   longest 1m35s" in text
        assert "SL  72% ▼ target 80%" in text and "●0 free ◉2 call ◑1 wrap ‖1 paused" in text
        assert "✖1 unavail Erlang +3 needed" in text


async def test_dashboard_at_80x24_stale_keeps_the_strips_on_screen() -> None:
    app = app_for(stale(status_doc()))
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        await pilot.pause(0.3)  # the banner's height is measured after its first layout
        text = screen_text(app)
        assert "STALE" in text and "Trunks 1/2 up" in text and "Flags on (1)" in text
        assert fully_visible(app, "#trunks-line") and fully_visible(app, "#flags-line")


async def test_dashboard_viewer_at_80x24_has_no_trunk_strip_but_flags() -> None:
    app = app_for(status_doc(), role="viewer")
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        text = screen_text(app)
        assert "Trunks" not in text and "carrier-a" not in text
        assert "Flags on (1)" in text and fully_visible(app, "#flags-line")


async def test_dashboard_uses_the_full_forms_when_they_fit() -> None:
    app = app_for(status_doc())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert not screen.fitted.compact_tiles and not screen.fitted.compact_strips
        assert fully_visible(app, "#trunks") and fully_visible(app, "#flags")
        assert not screen.query_one("#trunks-line").display
        # shrink: the short forms come in; grow again: they go
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: screen.fitted.compact_tiles, what="compact")
        await pilot.pause(0.1)
        assert fully_visible(app, "#trunks-line") and fully_visible(app, "#flags-line")
        await pilot.resize_terminal(100, 30)
        await until(pilot, lambda: not screen.fitted.compact_tiles, what="full tiles")
        assert screen.fitted.compact_strips  # at 100×30 the tiles are full, the strips short


def test_fit_layout_steps() -> None:
    kw: dict[str, Any] = {"queues": 3, "alerts": 2, "trunk_lines": 2, "flag_lines": 1}
    full = fit_layout(120, 37, **kw)
    assert (full.compact_tiles, full.compact_strips, full.fits) == (False, False, True)
    mid = fit_layout(100, 27, **kw)
    assert (mid.compact_tiles, mid.compact_strips, mid.fits) == (False, True, True)
    small = fit_layout(80, 21, **kw)
    assert (small.compact_tiles, small.compact_strips, small.fits) == (True, True, True)
    many = fit_layout(80, 21, **{**kw, "queues": 9})
    assert many.compact_tiles and not many.fits  # then only the tiles scroll
    no_trunks = fit_layout(80, 21, **{**kw, "trunk_lines": None})
    assert no_trunks.fits


def test_compact_forms_are_short() -> None:
    doc = status_doc()
    pal = palette_for(DARK)
    for q in view.queues(doc):
        lines = compact_tile_text(q, pal).plain.splitlines()
        assert len(lines) == 5 and max(len(line) for line in lines) <= 35, lines
    trunks = view.trunks(doc)
    line = trunk_line(trunks, pal).plain
    assert line.index("carrier-b") < line.index("carrier-a")  # the problem first
    assert flag_line([], pal).plain == "Flags on none — normal routing"


def agents_header(app: CcopsApp) -> str:
    return screen_text(app).splitlines()[2]


async def test_agents_table_fits_at_80_100_and_120_columns() -> None:
    app = app_for(status_doc())
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        app.push_screen(AgentsScreen())
        await until(pilot, lambda: isinstance(app.screen, AgentsScreen), what="agents")
        await pilot.pause(0.2)
        for width, wanted in (
            (80, ("AGENT", "STATE", "FOR", "QUEUES", "CALLS", "OCCUP", "PAUSES")),
            (100, ("AGENT", "INTERFACE", "STATE", "FOR", "QUEUES", "CALLS", "OCCUP", "TALK",
                   "PAUSES")),
            (120, ("AGENT", "INTERFACE", "STATE", "IN STATE", "QUEUES", "CALLS", "OCCUP",
                   "TALK", "PAUSES BY REASON")),
        ):
            if width != app.size.width:
                await pilot.resize_terminal(width, 30)
                await pilot.pause(0.2)
            table = app.screen.query_one(LiveTable)
            assert [c.key for c in table.spec] == [c.key for c in columns_for(width)]
            fixed = [c.width for c in table.spec if c.key != "pauses"]
            assert all(w is not None for w in fixed)
            used = sum(w or 0 for w in fixed) + 2 * PAD * len(table.spec)
            assert width - used >= 12, (width, used)  # room for "break 10m00s"
            header = agents_header(app)
            assert len(header.rstrip()) <= width and header.rstrip().endswith(wanted[-1])
            for label in wanted:
                assert label in header, (width, header)
            assert "break 10m00s" in screen_text(app)
        # sort and selection carry over a change of step
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        table = app.screen.query_one(LiveTable)
        table.set_sort("occupancy")
        table.select_key(table.keys[2])
        chosen = table.selected_key
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        table = app.screen.query_one(LiveTable)
        assert table.sort_column == "occupancy" and table.selected_key == chosen
        assert "PAUSES BY REASON" in agents_header(app)


def test_long_interfaces_keep_the_part_that_tells_agents_apart() -> None:
    assert keep_end("Local/agent12@agents/n", 12) == "…12@agents/n"
    assert keep_end("PJSIP/1001", 12) == "PJSIP/1001"
    assert keep_end("PJSIP/1001", None) == "PJSIP/1001"
