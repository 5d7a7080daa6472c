"""LiveTable on its own strip renderer: what the screen shows after in-place updates, adds,
removes and re-sorts; the cursor staying on its row; and that only changed lines are
rebuilt and repainted.

Why these tests: the table keeps one cached line per row and repaints only the lines that
changed, so a stale cache would show an old value on screen while the table's data is
right. What is checked is the rendered screen, plus counts (lines built, lines repainted,
layouts) — never time.
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.containers import Vertical
from tui_helpers import screen_text

from ccops.tui.widgets.live_table import Cell, Column, LiveTable
from ccops.tui.widgets.strip_table import StripTable

COLUMNS = [Column("name", "name"), Column("n", "n", 6, right=True), Column("note", "note", 8)]


class _App(App[None]):
    CSS = "#t { height: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self.highlighted: list[tuple[int, str | None]] = []
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield LiveTable(COLUMNS, id="t")

    def on_strip_table_row_highlighted(self, event: StripTable.RowHighlighted) -> None:
        self.highlighted.append((event.cursor_row, event.row_key))

    def on_strip_table_row_selected(self, event: StripTable.RowSelected) -> None:
        self.selected.append(event.row_key)


def _rows(data: list[tuple[str, int]], note: str = "") -> list[tuple[str, list[Cell]]]:
    return [
        (k, [Cell(k), Cell(str(v), sort_value=v, justify="right"), Cell(note)]) for k, v in data
    ]


def _shown(app: App[Any]) -> list[str]:
    """The table's lines on screen: header first, then rows, without trailing blanks."""
    lines = screen_text(app).splitlines()  # type: ignore[arg-type]
    return [line for line in lines if line.strip()]


async def test_in_place_update_rebuilds_and_repaints_only_that_line() -> None:
    app = _App()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([("alpha", 1), ("beta", 2), ("gamma", 3)]))
        await pilot.pause()
        assert _shown(app) == [
            " NAME        N  NOTE",
            " alpha       1",
            " beta        2",
            " gamma       3",
        ]
        builds = table.strip_builds
        painted: list[int] = []
        original = table.render_line

        def counting(y: int) -> Any:
            painted.append(y)
            return original(y)

        table.render_line = counting  # type: ignore[method-assign]
        table.sync(_rows([("alpha", 1), ("beta", 22), ("gamma", 3)]))
        await pilot.pause()
        assert _shown(app)[1:] == [" alpha       1", " beta       22", " gamma       3"]
        assert table.updates == 1
        assert table.strip_builds == builds + 1  # beta's line only
        assert painted == [2]  # and only its screen line was repainted
        painted.clear()
        table.sync(_rows([("alpha", 1), ("beta", 22), ("gamma", 3)]))  # nothing changed
        await pilot.pause()
        assert table.strip_builds == builds + 1 and painted == [] and table.updates == 1


async def test_adds_and_removes_show_on_screen_and_move_only_lines_below() -> None:
    app = _App()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([("a", 1), ("b", 2), ("c", 3)]))
        await pilot.pause()
        builds = table.strip_builds
        table.sync(_rows([("a", 1), ("c", 3), ("d", 4)]))  # b gone, d new
        await pilot.pause()
        assert [line.split()[0] for line in _shown(app)[1:]] == ["a", "c", "d"]
        assert table.keys == ["a", "c", "d"] and table.row_count == 3
        assert table.strip_builds == builds + 1  # only the new row was built
        table.sync([])
        await pilot.pause()
        assert _shown(app) == [" NAME       N  NOTE"] and table.selected_key is None


async def test_resort_keeps_the_cursor_on_its_row_and_marks_the_header() -> None:
    app = _App()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([("a", 3), ("b", 1), ("c", 2)]))
        await pilot.pause()
        table.select_key("c")
        table.set_sort("n")
        await pilot.pause()
        assert table.keys == ["b", "c", "a"] and table.selected_key == "c"
        assert "N ▲" in _shown(app)[0]
        table.set_sort("n")
        await pilot.pause()
        assert table.keys == ["a", "c", "b"] and table.selected_key == "c"
        assert "N ▼" in _shown(app)[0]
        assert [line.split()[0] for line in _shown(app)[1:]] == ["a", "c", "b"]
        # c's value changes so that it moves to the top: the cursor goes with it
        table.sync(_rows([("a", 3), ("b", 1), ("c", 9)]))
        await pilot.pause()
        assert table.keys == ["c", "a", "b"] and table.selected_key == "c"
        assert table.cursor_row == 0
        assert [line.split()[0] for line in _shown(app)[1:]] == ["c", "a", "b"]
        assert app.highlighted[-1] == (0, "c")


async def test_columns_fit_grow_truncate_and_justify() -> None:
    app = _App()
    async with app.run_test(size=(50, 10)) as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([("a", 1)], note="a note far too long"))
        await pilot.pause()
        assert _shown(app)[1] == " a          1  a note …"  # fixed width 8: cut with …
        table.sync(_rows([("a-much-longer-name", 1)], note="short"))
        await pilot.pause()
        assert table.column_widths()[0] == len("a-much-longer-name")  # auto column grew
        assert _shown(app)[1] == " a-much-longer-name       1  short"
        assert _shown(app)[0] == " NAME                     N  NOTE"  # header follows
        table.sync([("short", [Cell("short")])])  # fewer cells than columns: blanks
        await pilot.pause()
        assert _shown(app)[1] == " short"
        assert table.render_line(1).cell_length == table.render_line(0).cell_length


async def test_keys_move_the_cursor_and_enter_selects() -> None:
    app = _App()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([(f"r{i:02d}", i) for i in range(20)]))
        table.focus()
        await pilot.pause()
        await pilot.press("down", "down")
        assert table.selected_key == "r02"
        await pilot.press("end")
        assert table.selected_key == "r19"
        await pilot.pause()
        shown = _shown(app)
        assert shown[0].startswith(" NAME")  # the header stays when scrolled
        assert any(line.startswith(" r19") for line in shown)  # the cursor row is visible
        assert not any(line.startswith(" r00") for line in shown)
        await pilot.press("home")
        assert table.selected_key == "r00"
        await pilot.press("pagedown")
        assert table.cursor_row > 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [table.selected_key]
        assert app.highlighted[-1] == (table.cursor_row, table.selected_key)


async def test_click_puts_the_cursor_on_the_row() -> None:
    app = _App()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([("a", 1), ("b", 2), ("c", 3)]))
        await pilot.pause()
        await pilot.click(LiveTable, offset=(3, 3))  # line 3 = the third row
        await pilot.pause()
        assert table.selected_key == "c"
        assert app.selected == []
        await pilot.click(LiveTable, offset=(3, 3))  # again on the same row: selected
        await pilot.pause()
        assert app.selected == ["c"]


async def test_row_count_changes_relayout_only_an_auto_height_box() -> None:
    async def layouts(css: str) -> int:
        class Sized(_App):
            CSS = css

        app = Sized()
        async with app.run_test(size=(40, 12)) as pilot:
            table = app.query_one(LiveTable)
            table.sync(_rows([("a", 1)]))
            await pilot.pause()
            await pilot.pause()
            counted = [0]
            screen: Any = app.screen
            original = screen._refresh_layout

            def counting(*args: Any, **kw: Any) -> Any:
                counted[0] += 1
                return original(*args, **kw)

            screen._refresh_layout = counting
            for n in range(2, 6):
                table.sync(_rows([(f"k{i}", i) for i in range(n)]))
                await pilot.pause()
            assert len(_shown(app)) == 6  # header + 5 rows, whichever the box
            return counted[0]

    assert await layouts("#t { height: 1fr; }") == 0  # the queue screen's boxes
    assert await layouts("#t { height: auto; }") > 0  # the box follows its rows


async def test_a_scrollbar_once_needed_stays_so_rows_coming_and_going_never_relayout() -> None:
    class Small(_App):
        CSS = "#t { height: 4; }"  # a header and three rows

    app = Small()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([(f"k{i}", i) for i in range(2)]))
        await pilot.pause()
        assert not table.show_vertical_scrollbar
        table.sync(_rows([(f"k{i}", i) for i in range(8)]))  # overflows: the bar appears
        await pilot.pause()
        await pilot.pause()
        assert table.show_vertical_scrollbar
        counted = [0]
        screen: Any = app.screen
        original = screen._refresh_layout

        def counting(*args: Any, **kw: Any) -> Any:
            counted[0] += 1
            return original(*args, **kw)

        screen._refresh_layout = counting
        for n in (2, 9, 1, 6):  # in and out of the box's height
            table.sync(_rows([(f"k{i}", i) for i in range(n)]))
            await pilot.pause()
        assert table.show_vertical_scrollbar and counted[0] == 0
        assert [line.split()[0] for line in _shown(app)[1:4]] == ["k0", "k1", "k2"]
