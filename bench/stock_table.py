"""The same-run baseline of ``bench/console_latency.py --stock-consoles N``: Textual's own
``DataTable`` fed exactly the rows the console's LiveTable gets.

Why it lives here: the console no longer uses DataTable (docs/decisions.md, "The console's
own table widget"), but its cost is the reference the figures are compared with, measured
in the same run under the same load. This adapter gives a DataTable the few things the
queue screen asks of its tables (``sync``, ``keys``, ``selected_key``, ``select_key``,
``set_sort``, ``get_row``, ``spec``, ``sort_column``) and does what a careful DataTable
user does: rows stay, only changed cells go through ``update_cell`` (widening an
auto-sized column), removed rows are removed, and the table is sorted only when the order
changed. It is never shipped in the console.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from ccops.tui.widgets.cells import Cell, Column, sortable


class StockCell(Text):
    """A Rich Text that knows its sort value and row (what DataTable sorts by)."""

    def __init__(self, cell: Cell, key: str, order: int) -> None:
        super().__init__(
            cell.text, style=cell.style, justify=cell.justify or "left",  # type: ignore[arg-type]
            no_wrap=True, overflow="ellipsis",
        )
        self.sort_value = cell.sort_value
        self.row_key = key
        self.order = order


class StockLiveTable(DataTable[Text]):
    """LiveTable's interface on Textual's DataTable (bench baseline only)."""

    DEFAULT_CSS = "StockLiveTable { height: auto; max-height: 100%; }"

    def __init__(
        self, columns: Sequence[Column], *, id: str | None = None, classes: str | None = None,
        sort: str | None = None, reverse: bool = False,
    ) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self.spec = list(columns)
        self.sort_column = sort
        self.sort_reverse = reverse
        self._shown: dict[str, list[tuple[str, Any]]] = {}
        self.updates = 0
        self.rebuilds = 0

    def on_mount(self) -> None:
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        if not self.columns:
            for col in self.spec:
                self.add_column(self._label(col), key=col.key, width=col.width)

    def _label(self, col: Column) -> Text:
        mark = ""
        if self.sort_column == col.key:
            mark = " ▼" if self.sort_reverse else " ▲"
        return Text(col.label.upper() + mark, justify="right" if col.right else "left")

    @property
    def keys(self) -> list[str]:
        return [str(r.key.value) for r in self.ordered_rows]

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return None if key.value is None else str(key.value)

    def select_key(self, key: str) -> None:
        with contextlib.suppress(RowDoesNotExist):
            self.move_cursor(row=self.get_row_index(key))

    def set_sort(self, column: str) -> None:
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        for col in self.spec:
            self.columns[col.key].label = self._label(col)  # type: ignore[index]
        self._reorder(force=True)

    def sync(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> None:
        self._ensure_columns()
        selected = self.selected_key
        wanted: dict[str, Sequence[Cell]] = {}
        for key, cells in rows:
            wanted.setdefault(key, cells)
        for key in [k for k in self._shown if k not in wanted]:
            del self._shown[key]
            with contextlib.suppress(RowDoesNotExist):
                self.remove_row(key)
        for order, (key, cells) in enumerate(wanted.items()):
            shown = [(c.text, c.style) for c in cells]
            before = self._shown.get(key)
            if before is None:
                self.add_row(*(StockCell(c, key, order) for c in cells), key=key)
            else:
                for col, cell, now, was in zip(self.spec, cells, shown, before, strict=False):
                    if now != was:
                        self.update_cell(key, col.key, StockCell(cell, key, order),
                                         update_width=col.width is None)
                        self.updates += 1
                first = self.get_cell(key, self.spec[0].key)
                if isinstance(first, StockCell):
                    first.order = order
            self._shown[key] = shown
        self._reorder(natural=list(wanted))
        if selected is not None and selected in self._shown:
            self.select_key(selected)

    def _reorder(self, natural: list[str] | None = None, *, force: bool = False) -> None:
        column = self.sort_column
        current = self.keys
        if column is not None and column in {c.key for c in self.spec}:
            def by_value(cell: Any) -> Any:
                return (sortable(getattr(cell, "sort_value", None)), getattr(cell, "row_key", ""))

            values = {k: self.get_cell(k, column) for k in current}
            desired = sorted(current, key=lambda k: by_value(values[k]),
                             reverse=self.sort_reverse)
            if force or desired != current:
                selected = self.selected_key
                self.sort(column, key=by_value, reverse=self.sort_reverse)
                if selected is not None:
                    self.select_key(selected)
        elif natural is not None and natural != current:
            self.sort(key=lambda cells: getattr(cells[0], "order", 0))
