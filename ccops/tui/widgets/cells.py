"""What a table cell is, and how it is fitted to its column as plain segments.

Why not Rich ``Text``: a console rebuilds every visible cell on every update (1–10 Hz per
table), and a ``Text`` per cell plus Rich's console render per cell (padding, wrapping,
cropping) was the bulk of a console's CPU in a surge (docs/performance.md, "Console").
A cell here is a light slotted value — the text, its style, the raw value it sorts by and
its justification — and fitting it to a column is string arithmetic on terminal cells
(:func:`fit`). Nothing in the screens needs spans inside a cell: a cell is one style.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.style import Style

ELLIPSIS = "…"


@lru_cache(maxsize=512)
def parse_style(style: str) -> Style:
    """A style string parsed once (cells are built fresh on every update)."""
    return Style.parse(style) if style else Style.null()


class Cell:
    """One table cell: text, one style, the raw value it sorts by, and its justification.

    ``sort_value`` defaults to the lower-cased text, so a column of names sorts
    case-insensitively and ``3m05s`` can sort after ``59s`` when given the seconds.
    """

    __slots__ = ("justify", "order", "row_key", "sort_value", "style", "text")

    def __init__(
        self,
        text: str,
        style: Style | str = "",
        sort_value: Any = None,
        justify: str | None = None,
    ) -> None:
        self.text = text
        self.style = style
        self.sort_value: Any = text.lower() if sort_value is None else sort_value
        self.justify = justify
        self.order = 0  # position in the rows given to the last sync (natural order)
        self.row_key = ""

    @property
    def plain(self) -> str:
        """The text (the name Rich ``Text`` uses: screens filter on it)."""
        return self.text

    @property
    def rich_style(self) -> Style:
        style = self.style
        return style if isinstance(style, Style) else parse_style(style)

    @property
    def cell_len(self) -> int:
        """Terminal cells the text takes (wide characters count two)."""
        return cell_len(self.text)

    def signature(self) -> tuple[str, Style | str]:
        """What the screen shows of this cell: equal signatures render identically."""
        return (self.text, self.style)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Cell({self.text!r}, style={self.style!r}, sort_value={self.sort_value!r})"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: a key, a header, a fixed width (None = fits its content)."""

    key: str
    label: str
    width: int | None = None
    right: bool = False


def sortable(value: Any) -> tuple[int, Any]:
    """Comparable whatever the type: unknowns (None) sort last, numbers before text."""
    if value is None:
        return (2, 0)
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, tuple):
        return (1, tuple(sortable(v) for v in value))
    return (1, str(value))


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` in exactly ``width`` terminal cells: padded (on the left when ``right``),
    or cut with an ellipsis when it does not fit."""
    if width <= 0:
        return ""
    n = cell_len(text)
    if n == width:
        return text
    if n < width:
        pad = " " * (width - n)
        return pad + text if right else text + pad
    return set_cell_size(text, width - 1) + ELLIPSIS
