"""LiveTable's in-place cell patch: the screen shows the new value, other rows keep their
cached renders, and a value wider than its auto-sized column still widens the column.

Why these tests: the patch bypasses DataTable.update_cell (which re-renders every visible
cell) by dropping only the changed rows' cached renders; a stale cache would show an old
value on screen while the table's data is right, so what is checked is the rendered text.
"""

from __future__ import annotations

from textual.app import App, ComposeResult

from ccops.tui.widgets.live_table import Cell, Column, LiveTable


class _App(App[None]):
    def compose(self) -> ComposeResult:
        yield LiveTable([Column("name", "name"), Column("n", "n", 6, right=True)], id="t")


def _rows(data: list[tuple[str, str]]) -> list[tuple[str, list[Cell]]]:
    return [(k, [Cell(k), Cell(v)]) for k, v in data]


def _lines(table: LiveTable) -> list[str]:
    return [table.render_line(y).text.rstrip() for y in range(1, table.row_count + 1)]


async def test_patched_cell_is_what_the_screen_shows() -> None:
    app = _App()
    async with app.run_test() as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([("alpha", "1"), ("beta", "2"), ("gamma", "3")]))
        await pilot.pause()
        before = _lines(table)
        assert [line.split()[-1] for line in before] == ["1", "2", "3"]
        cached = dict.fromkeys(table._cell_render_cache.keys())
        table.sync(_rows([("alpha", "1"), ("beta", "22"), ("gamma", "3")]))
        await pilot.pause()
        after = _lines(table)
        assert after[0] == before[0] and after[2] == before[2]
        assert after[1].split()[-1] == "22"
        kept = [k for k in cached if k[0].value != "beta"]
        assert kept and all(k in table._cell_render_cache for k in kept)  # not re-rendered
        assert table.updates == 1


async def test_wider_value_in_an_auto_column_widens_it() -> None:
    app = _App()
    async with app.run_test() as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([("a", "1"), ("b", "2")]))
        await pilot.pause()
        table.sync(_rows([("a", "1"), ("b-with-a-much-longer-name", "2")]))
        await pilot.pause()
        assert "b-with-a-much-longer-name" in _lines(table)[1]
        assert table.columns[next(iter(table.columns))].content_width >= 25
