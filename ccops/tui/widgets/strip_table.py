"""A table drawn as one cached strip per row, repainting only the lines that changed.

Why not Textual's ``DataTable``: in a 13 000 events/s surge every visible table of a console
changes several times a second, and DataTable re-renders cells through Rich (a ``Text``, a
``Padding`` and a console render per cell, plus a relayout when rows come and go) — most of
a console's CPU (docs/performance.md, "Console"; docs/decisions.md, "The console's own
table widget"). Here a row's line is built straight from segments (each cell fitted to its
column by string arithmetic, :func:`~ccops.tui.widgets.cells.fit`) and kept until that
row's cells, the column widths, the cursor on it, the widget's width or its styles
change; a change repaints only its own line (lines below it when rows moved), and the box
is re-laid out only when its size depends on the rows (``height: auto``).

This module knows rows by key in display order, the header, the cursor, scrolling, keys
and the mouse. Which rows to show and in what order is
:class:`~ccops.tui.widgets.live_table.LiveTable`'s job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import ClassVar, Self

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ccops.tui.widgets.cells import Cell, Column, fit

PAD = 1  # blank cells on either side of every column (as Textual's DataTable)


class StripTable(ScrollView, can_focus=True):
    """Keyed rows under a header, one cached :class:`Strip` per row, a row cursor."""

    class _RowMessage(Message):
        """A message about the row under the cursor (its index and key)."""

        def __init__(self, table: StripTable, cursor_row: int, row_key: str | None) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> StripTable:
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor is on another row (moved, or the rows moved under it)."""

    class RowSelected(_RowMessage):
        """Enter (or a second click) on the row under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "cursor_first", "First row", show=False),
        Binding("end", "cursor_last", "Last row", show=False),
        Binding("ctrl+home", "cursor_first", "First row", show=False),
        Binding("ctrl+end", "cursor_last", "Last row", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"strip-table--header", "strip-table--cursor"}

    # The look of Textual's DataTable (same theme variables), so the three themes, NO_COLOR
    # and 256 colours behave as before: a bold header on $panel, the cursor row in the
    # block-cursor colours when focused and the dimmer "blurred" ones when not.
    DEFAULT_CSS = """
    StripTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .strip-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .strip-table--header { background-tint: $foreground 5%; }
        }
        & > .strip-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .strip-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .strip-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    def __init__(
        self, columns: Sequence[Column], *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.spec = list(columns)
        self.cursor_row = 0
        self.strip_builds = 0  # row strips built (tests: only changed rows are rebuilt)
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._rows: dict[str, Sequence[Cell]] = {}
        self._widths = [c.width if c.width is not None else 0 for c in self.spec]
        self._strips: dict[str, tuple[bool, Strip]] = {}  # key -> (has cursor, line)
        self._header: Strip | None = None
        self._blank: Strip | None = None
        self._look: tuple[object, ...] | None = None  # the styles and width lines are for
        self._restyled = True  # styles may have changed since the look was taken
        self._base = Style.null()
        self._header_style = Style.null()
        self._cursor_style = Style.null()
        self._cursor_post = Style.null()
        self._batch = 0
        self._changed: set[str] = set()  # rows whose line must be repainted
        self._moved_from: int | None = None  # first index whose row moved
        self._widths_changed = True
        self._announced: tuple[int, str | None] | None = None
        self._clicked: str | None = None
        for index, col in enumerate(self.spec):
            self._grow(index, self.header_label(col))

    # ------------------------------------------------------------------ reading

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self._keys)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor (None when there are no rows)."""
        if not self._keys:
            return None
        return self._keys[min(self.cursor_row, len(self._keys) - 1)]

    def get_row(self, key: str) -> list[Cell]:
        """The cells of row ``key`` (KeyError when there is no such row)."""
        return list(self._rows[key])

    def get_cell(self, key: str, column: str) -> Cell:
        index = [c.key for c in self.spec].index(column)
        return self._rows[key][index]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def column_widths(self) -> list[int]:
        """Content width of each column (without the padding)."""
        return list(self._widths)

    def header_label(self, column: Column) -> str:
        """The header text of ``column`` (a subclass adds the sort mark)."""
        return column.label.upper()

    # ------------------------------------------------------------------ changing rows

    @contextlib.contextmanager
    def batch_rows(self) -> Iterator[None]:
        """Group row changes: the size, the cursor and the repaint are settled once."""
        self._batch += 1
        try:
            yield
        finally:
            self._batch -= 1
            if not self._batch:
                self._flush()

    def add_row(self, *cells: Cell, key: str) -> str:
        """Append a row (its line is built when it is first shown)."""
        if key in self._rows:
            raise ValueError(f"duplicate row key {key!r}")
        self._rows[key] = cells
        self._index[key] = len(self._keys)
        self._keys.append(key)
        self._grow_row(cells)
        self._moved(len(self._keys) - 1)
        self._settle()
        return key

    def update_row(self, key: str, cells: Sequence[Cell]) -> None:
        """Replace the cells of row ``key``: only its line is rebuilt and repainted."""
        self._rows[key] = cells
        self._strips.pop(key, None)
        self._grow_row(cells)
        self._changed.add(key)
        self._settle()

    def remove_row(self, key: str) -> None:
        index = self._index.pop(key)
        del self._rows[key]
        self._strips.pop(key, None)
        self._changed.discard(key)
        del self._keys[index]
        for k in self._keys[index:]:
            self._index[k] -= 1
        self._moved(index)
        self._settle()

    def clear(self) -> None:
        """Remove every row."""
        self._keys.clear()
        self._index.clear()
        self._rows.clear()
        self._strips.clear()
        self._changed.clear()
        self._moved(0)
        self._settle()

    def set_order(self, keys: list[str]) -> None:
        """Show the rows in the order of ``keys`` (the same keys, rearranged)."""
        if keys == self._keys:
            return
        first = next((i for i, (a, b) in enumerate(zip(keys, self._keys, strict=True)) if a != b))
        self._keys = list(keys)
        self._index = {k: i for i, k in enumerate(self._keys)}
        self._moved(first)
        self._settle()

    def refresh_header(self) -> None:
        """The header text changed (a sort mark): rebuild and repaint its line only."""
        for index, col in enumerate(self.spec):
            self._grow(index, self.header_label(col))
        self._header = None
        if not self._widths_changed and self.is_mounted:
            self.refresh(Region(0, 0, self.size.width, 1))
        self._settle()

    # ------------------------------------------------------------------ cursor

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        """Put the cursor on display row ``row`` (clamped to the rows there are)."""
        before = self.selected_key
        self.cursor_row = max(0, min(row, len(self._keys) - 1))
        after = self.selected_key
        if before != after:
            for key in (before, after):
                if key is not None:
                    self._changed.add(key)
        if scroll:
            self._scroll_to_cursor()
        self._settle()

    def select_key(self, key: str) -> None:
        """Put the cursor on row ``key`` (nothing happens for an unknown key)."""
        index = self._index.get(key)
        if index is not None:
            self.move_cursor(row=index)

    def _scroll_to_cursor(self) -> None:
        if not self.is_mounted or not self._keys:
            return
        shown = self.scrollable_content_region.height - 1  # rows under the header
        if shown <= 0:
            return
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + shown:
            self.scroll_to(y=self.cursor_row - shown + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + max(1, self.scrollable_content_region.height - 1))

    def action_cursor_first(self) -> None:
        self.move_cursor(row=0)

    def action_cursor_last(self) -> None:
        self.move_cursor(row=len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, key))

    def on_click(self, event: events.Click) -> None:
        """A click on a row puts the cursor there; a second click on it selects it."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = offset.y - 1 + round(self.scroll_y)
        if not 0 <= index < len(self._keys):
            return
        key = self._keys[index]
        again = key == self.selected_key and self._clicked == key
        self._clicked = key
        self.move_cursor(row=index, scroll=False)
        if again or event.chain > 1:
            self.action_select_cursor()

    def on_focus(self) -> None:
        self._clicked = None

    # ------------------------------------------------------------------ settling changes

    def _settle(self) -> None:
        if not self._batch:
            self._flush()

    def _moved(self, index: int) -> None:
        if self._moved_from is None or index < self._moved_from:
            self._moved_from = index

    def _grow_row(self, cells: Sequence[Cell]) -> None:
        for index, cell in enumerate(cells[: len(self.spec)]):
            if self.spec[index].width is None:
                self._grow(index, cell.text)

    def _grow(self, index: int, text: str) -> None:
        """Auto-sized columns fit their widest content so far (they never shrink, so a
        value coming and going does not make every column jump)."""
        if self.spec[index].width is not None:
            return
        n = Cell(text).cell_len
        if n > self._widths[index]:
            self._widths[index] = n
            self._widths_changed = True

    def _flush(self) -> None:
        """Settle the pending changes: the virtual size, the cursor, and a repaint of only
        the lines that changed (everything when a column width changed)."""
        if self._keys:
            self.cursor_row = max(0, min(self.cursor_row, len(self._keys) - 1))
        else:
            self.cursor_row = 0
        changed, self._changed = self._changed, set()
        moved, self._moved_from = self._moved_from, None
        if self._widths_changed:
            self._widths_changed = False
            self._strips.clear()
            self._header = None
            self._set_virtual_size()
            self.refresh()
        else:
            if moved is not None:
                self._set_virtual_size()
            self._repaint(changed, moved)
        self._announce()

    def _set_virtual_size(self) -> None:
        """Rows and widths set the virtual size; the box is laid out again only when its
        own size depends on them (``height``/``width: auto``) or before the first layout."""
        size = Size(self._table_width(), len(self._keys) + 1)
        if size == self.virtual_size:
            return
        styles = self.styles
        follows = bool(
            (styles.height is not None and styles.height.is_auto)
            or (styles.width is not None and styles.width.is_auto)
        )
        if follows or not self.is_mounted or not self.container_size:
            self.virtual_size = size  # a reactive with layout=True
            return
        self.set_reactive(ScrollView.virtual_size, size)
        if styles.overflow_y == "auto" and size.height > self.size.height:
            # Once the rows overflow the box its scrollbar stays: a scrollbar coming and
            # going lays the screen out each time (a queue's waiting callers hover around
            # the box height in a surge) and shifts every column by a cell.
            styles.overflow_y = "scroll"
        self._scroll_update(size)  # scrollbars (a scrollbar appearing lays out by itself)

    def _repaint(self, changed: set[str], moved: int | None) -> None:
        if not self.is_mounted or not self.size:
            return
        width, height = self.size
        top = round(self.scroll_y)
        lines: set[int] = set()
        for key in changed:
            index = self._index.get(key)
            if index is not None:
                y = index - top + 1
                if 1 <= y < height:
                    lines.add(y)
        if moved is not None:
            lines.update(range(max(1, moved - top + 1), height))
        for start, count in _runs(sorted(lines)):
            self.refresh(Region(0, start, width, count))

    def _announce(self) -> None:
        """Tell the screen when the highlighted row changed (index or key)."""
        now = (self.cursor_row, self.selected_key)
        if now != self._announced:
            self._announced = now
            self.post_message(self.RowHighlighted(self, now[0], now[1]))

    # ------------------------------------------------------------------ rendering

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if repaint and not regions:
            self._restyled = True  # a full repaint (theme, scroll, resize) checks the look
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def notify_style_update(self) -> None:
        """Restyled (focus, theme, classes): the look is checked at the next render."""
        super().notify_style_update()
        self._restyled = True

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._restyled or self._look is None or self._look[3] != self.size.width:
            self._check_look()
        return super().render_lines(crop)

    def _check_look(self) -> None:
        """Cached lines are valid for one set of styles and one width: a theme, a focus
        change or a resize drops them (the styles are read only after a restyle: computing
        them walks every ancestor)."""
        base = self.rich_style
        header = self.get_component_styles("strip-table--header").rich_style
        cursor = self.get_component_rich_style("strip-table--cursor")
        look = (base, header, cursor, self.size.width)
        self._restyled = False
        if look == self._look:
            return
        self._look = look
        self._base, self._header_style = base, header
        self._cursor_style = base + cursor
        self._cursor_post = Style.from_color(color=cursor.color) if cursor.color else Style.null()
        self._strips.clear()
        self._header = None
        self._blank = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            if self._header is None:
                self._header = self._build_header()
            return self._crop(self._header, width)
        index = y - 1 + round(self.scroll_y)
        if not 0 <= index < len(self._keys):
            if self._blank is None:
                self._blank = Strip.blank(width, self._base)
            return self._blank
        key = self._keys[index]
        on_cursor = index == self.cursor_row
        cached = self._strips.get(key)
        if cached is None or cached[0] != on_cursor:
            strip = self._build_row(self._rows[key], on_cursor)
            self._strips[key] = (on_cursor, strip)
        else:
            strip = cached[1]
        return self._crop(strip, width)

    def _crop(self, strip: Strip, width: int) -> Strip:
        x = round(self.scroll_x)
        if x == 0 and strip.cell_length == width:
            return strip
        return strip.crop(x, x + width)

    def _table_width(self) -> int:
        return sum(w + 2 * PAD for w in self._widths)

    def _line_width(self) -> int:
        return max(self.size.width, self._table_width())

    def _build_header(self) -> Strip:
        style = self._header_style
        segments = []
        for col, w in zip(self.spec, self._widths, strict=True):
            text = fit(self.header_label(col), w, col.right)
            segments.append(Segment(" " * PAD + text + " " * PAD, style))
        return Strip(segments, self._table_width()).extend_cell_length(self._line_width(), style)

    def _build_row(self, cells: Sequence[Cell], on_cursor: bool) -> Strip:
        """One row's line from segments: padding in the row's style, each text in the
        row's style plus its own (on the cursor row the cursor's colour wins, as in
        DataTable)."""
        self.strip_builds += 1
        row = self._cursor_style if on_cursor else self._base
        post = self._cursor_post if on_cursor else None
        pad = Segment(" " * PAD, row)
        segments: list[Segment] = []
        for col, w, cell in zip(self.spec, self._widths, cells, strict=False):
            right = cell.justify == "right" if cell.justify else col.right
            text = fit(cell.text, w, right)
            style = cell.style
            if style:
                own = row + cell.rich_style
                if post is not None:
                    own += post
            else:
                own = row
            segments += (pad, Segment(text, own), pad)
        if len(cells) < len(self.spec):  # a short row: blank cells (kept the width right)
            blank = sum(w + 2 * PAD for w in self._widths[len(cells) :])
            segments.append(Segment(" " * blank, row))
        # the header band and the cursor bar run to the widget's edge, as in DataTable
        return Strip(segments, self._table_width()).extend_cell_length(self._line_width(), row)

    def on_resize(self) -> None:
        self._scroll_to_cursor()


def _runs(lines: list[int]) -> Iterator[tuple[int, int]]:
    """Sorted line numbers as (first, count) runs of consecutive lines."""
    start = prev = None
    for y in lines:
        if start is None or prev is None:
            start = prev = y
        elif y == prev + 1:
            prev = y
        else:
            yield start, prev - start + 1
            start = prev = y
    if start is not None and prev is not None:
        yield start, prev - start + 1
