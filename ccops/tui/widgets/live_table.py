"""A table kept in sync with a list of keyed rows, in place, optionally sorted.

Why: clearing and re-adding a table on every update makes rows vanish and reappear, loses
the cursor, and costs a full repaint (k9s #455). Here rows are identified by a stable key:
a row that stays is replaced only when one of its cells shows something else (text or
style), new rows are added, gone rows are removed, and the order is changed only when it
actually changed. The selected row keeps the cursor across updates and re-sorts. Drawing
(one cached line per row, only changed lines repainted) is
:class:`~ccops.tui.widgets.strip_table.StripTable`'s job.

Sorting uses each cell's ``sort_value`` (:class:`~ccops.tui.widgets.cells.Cell`), so
``3m05s`` sorts after ``59s``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ccops.tui.widgets.cells import Cell, Column, sortable
from ccops.tui.widgets.strip_table import StripTable

__all__ = ["Cell", "Column", "LiveTable", "Row", "_sortable"]

_sortable = sortable  # the name the screens and tests have used

Row = tuple[str, Sequence[Cell]]


class LiveTable(StripTable):
    """A keyed, sortable, in-place-updated table."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        id: str | None = None,
        classes: str | None = None,
        sort: str | None = None,
        reverse: bool = False,
    ) -> None:
        # set before the base class sizes the columns from their headers (the sort mark)
        self.sort_column: str | None = sort
        self.sort_reverse = reverse
        super().__init__(columns, id=id, classes=classes)
        self.updates = 0  # cells whose shown value changed in place (tests, diagnostics)
        self.rebuilds = 0  # always 0: this table never clears itself

    def header_label(self, column: Column) -> str:
        mark = ""
        if self.sort_column == column.key:
            mark = " ▼" if self.sort_reverse else " ▲"
        return column.label.upper() + mark

    # ------------------------------------------------------------------ public

    def set_sort(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        with self.batch_rows():
            self.refresh_header()
            self._reorder(self._natural())

    def sync(self, rows: Iterable[Row]) -> None:
        """Make the table show exactly ``rows`` (in this order unless sorted)."""
        selected = self.selected_key
        wanted: dict[str, Sequence[Cell]] = {}
        for key, cells in rows:
            wanted.setdefault(key, cells)
        with self.batch_rows():
            for key in [k for k in self._rows if k not in wanted]:
                self.remove_row(key)
            for index, (key, cells) in enumerate(wanted.items()):
                if cells:
                    cells[0].order = index
                for cell in cells:
                    cell.row_key = key
                old = self._rows.get(key)
                if old is None:
                    self.add_row(*cells, key=key)
                    continue
                changed = sum(
                    1
                    for a, b in zip(old, cells, strict=False)
                    if a.text != b.text or a.style != b.style
                )
                if changed or len(old) != len(cells):
                    self.update_row(key, cells)
                    self.updates += changed
                elif old:
                    old[0].order = index  # the natural order of this sync
            self._reorder(list(wanted))
            if selected is not None and selected in self._index:
                self.select_key(selected)

    # ------------------------------------------------------------------ ordering

    def _natural(self) -> list[str]:
        return sorted(self._keys, key=lambda k: self._rows[k][0].order if self._rows[k] else 0)

    def _reorder(self, natural: list[str]) -> None:
        """Sorted by the sort column's values (ties by key), else in the rows' order."""
        selected = self.selected_key
        column = self.sort_column
        index = next((i for i, c in enumerate(self.spec) if c.key == column), None)
        if index is None:
            order = natural
        else:
            rows = self._rows

            def by_value(key: str) -> tuple[tuple[int, object], str]:
                cells = rows[key]
                value = cells[index].sort_value if index < len(cells) else None
                return (sortable(value), key)

            order = sorted(natural, key=by_value, reverse=self.sort_reverse)
        if order != self._keys:
            self.set_order(order)
            if selected is not None:
                self.select_key(selected)
