"""A DataTable that is kept in sync with a list of keyed rows, in place.

Why: clearing and re-adding a table on every update makes rows vanish and reappear, loses
the cursor, and costs a full repaint (k9s #455). Here rows are identified by a stable key:
a row that stays is updated cell by cell (only cells whose text or style changed), new
rows are added, gone rows are removed, and the order is fixed with one ``sort`` only when
it actually changed. The selected row keeps the cursor across updates and re-sorts.

Sorting uses each cell's ``sort_value`` (a :class:`Cell` is a Rich ``Text`` that also
knows the raw value it shows), so ``3m05s`` sorts after ``59s``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist, RowKey


class Cell(Text):
    """Rich text plus the raw value used for sorting."""

    __slots__ = ("order", "row_key", "sort_value")

    def __init__(
        self, text: str, style: Style | str = "", sort_value: Any = None, justify: Any = None
    ) -> None:
        super().__init__(text, style=style, justify=justify, no_wrap=True, overflow="ellipsis")
        self.sort_value: Any = text.lower() if sort_value is None else sort_value
        self.order = 0
        self.row_key = ""

    def signature(self) -> tuple[str, str, tuple[Any, ...]]:
        return (self.plain, str(self.style), tuple(self.spans))


def _sortable(value: Any) -> tuple[int, Any]:
    """Comparable whatever the type: unknowns (None) sort last, numbers before text."""
    if value is None:
        return (2, 0)
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, tuple):
        return (1, tuple(_sortable(v) for v in value))
    return (1, str(value))


@dataclass(frozen=True, slots=True)
class Column:
    """One column: a key, a header, a fixed width (None = fits its content)."""

    key: str
    label: str
    width: int | None = None
    right: bool = False


Row = tuple[str, Sequence[Cell]]


class LiveTable(DataTable[Cell]):
    """A keyed, sortable, in-place-updated table."""

    DEFAULT_CSS = """
    LiveTable { height: auto; max-height: 100%; }
    """

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        id: str | None = None,
        classes: str | None = None,
        sort: str | None = None,
        reverse: bool = False,
    ) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self.spec = list(columns)
        self.sort_column: str | None = sort
        self.sort_reverse = reverse
        self._cells: dict[str, list[tuple[str, str, tuple[Any, ...]]]] = {}
        self._auto = {c.key for c in self.spec if c.width is None}
        self.updates = 0  # cells updated in place (for tests and diagnostics)
        self.rebuilds = 0  # always 0: this table never clears itself
        self._patched: set[RowKey] = set()  # rows changed in place in the current sync

    def on_mount(self) -> None:
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        """Columns are added on first use (mount or the first sync, whichever comes first:
        a screen may sync a table before the table's own mount handler ran)."""
        if not self.columns:
            for col in self.spec:
                self.add_column(self._label(col), key=col.key, width=col.width)

    def _label(self, col: Column) -> Text:
        mark = ""
        if self.sort_column == col.key:
            mark = " ▼" if self.sort_reverse else " ▲"
        return Text(col.label.upper() + mark, justify="right" if col.right else "left")

    # ------------------------------------------------------------------ public

    @property
    def keys(self) -> list[str]:
        """Row keys in display order."""
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
        """Sort by ``column``; the same column again reverses the order."""
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        for col in self.spec:
            if col.key in self.columns:
                self.columns[col.key].label = self._label(col)  # type: ignore[index]
        self._reorder(None, force=True)
        self.refresh()

    def sync(self, rows: Iterable[Row]) -> None:
        """Make the table show exactly ``rows`` (in this order unless sorted)."""
        self._ensure_columns()
        selected = self.selected_key
        wanted: dict[str, Sequence[Cell]] = {}
        order: list[str] = []
        for key, cells in rows:
            if key in wanted:
                continue
            wanted[key] = cells
            order.append(key)
        for key in [k for k in self._cells if k not in wanted]:
            self._cells.pop(key, None)
            with contextlib.suppress(RowDoesNotExist):
                self.remove_row(key)
        first = self.spec[0].key if self.spec else None
        for index, key in enumerate(order):
            cells = wanted[key]
            for cell in cells:
                cell.row_key = key
            sigs = [c.signature() for c in cells]
            old = self._cells.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            else:
                for col, cell, sig, before in zip(self.spec, cells, sigs, old, strict=False):
                    if sig != before:
                        self._patch_cell(key, col.key, cell, auto=col.key in self._auto)
                        self.updates += 1
            self._cells[key] = sigs
            if first is not None:
                stored = self.get_cell(key, first)
                if isinstance(stored, Cell):
                    stored.order = index
        self._repaint_patched()
        self._reorder(order)
        if selected is not None and selected in self._cells:
            self.select_key(selected)

    def _patch_cell(self, key: str, column: str, cell: Cell, *, auto: bool) -> None:
        """Replace one cell; its row is repainted by :meth:`_repaint_patched` after the sync.

        Why not plain ``update_cell``: it bumps the table's update counter, which is part of
        every render-cache key, so one changed cell re-renders every visible cell of the
        table through Rich (the bulk of a console's CPU in a surge: docs/performance.md).
        Here only the changed rows' cached renders are dropped and only their lines are
        repainted; the other rows keep their cached strips. A cell wider than its
        auto-sized column still goes through ``update_cell`` (the column must grow).
        """
        row_key, col_key = RowKey(key), ColumnKey(column)
        col = self.columns.get(col_key)
        data = self._data.get(row_key)
        if col is None or data is None or (auto and cell.cell_len > col.content_width):
            self.update_cell(key, column, cell, update_width=auto)
            return
        data[col_key] = cell
        self._patched.add(row_key)

    def _repaint_patched(self) -> None:
        """Drop the patched rows' cached renders (one pass over the caches) and repaint
        only their lines. The caches are DataTable's own (Textual 8: renderables, cells,
        rows, lines); tests/tui/test_live_table_patch.py checks the screen, so a Textual
        that caches differently fails there rather than showing stale cells."""
        rows, self._patched = self._patched, set()
        if not rows:
            return
        # LRUCache has keys() but no __iter__ (iterating it would index it by integers)
        for cell_key in [k for k in self._cell_render_cache.keys() if k[0] in rows]:  # noqa: SIM118
            self._cell_render_cache.discard(cell_key)
        for row_cache_key in [k for k in self._row_render_cache.keys() if k[0] in rows]:  # noqa: SIM118
            self._row_render_cache.discard(row_cache_key)
        self._line_cache.clear()  # keyed by screen line; cheap to rebuild from the row cache
        for row_key in rows:
            with contextlib.suppress(RowDoesNotExist):
                index = self.get_row_index(row_key)
                self._row_renderable_cache.discard((self._update_count, index))
                self.refresh_row(index)

    # ------------------------------------------------------------------ ordering

    def _reorder(self, natural: list[str] | None, *, force: bool = False) -> None:
        current = self.keys
        if self.sort_column is not None and self.sort_column in self._column_keys():
            selected = self.selected_key
            column = self.sort_column

            def by_value(cell: Any) -> Any:
                return (_sortable(getattr(cell, "sort_value", None)), getattr(cell, "row_key", ""))

            rows_now = {k: self.get_cell(k, column) for k in current}
            desired = sorted(
                current, key=lambda k: by_value(rows_now[k]), reverse=self.sort_reverse
            )
            if force or desired != current:
                self.sort(column, key=by_value, reverse=self.sort_reverse)
                if selected is not None:
                    self.select_key(selected)
            return
        if natural is not None and natural != current:
            self.sort(key=lambda cells: getattr(cells[0], "order", 0))

    def _column_keys(self) -> set[str]:
        return {str(k.value) for k in self.columns}
