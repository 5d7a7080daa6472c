"""The status bar, the stale banner and the breadcrumb line at the top of every screen.

They only repaint when their text changed, so the 1 Hz clock tick costs one line.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from ccops.tui.widgets.quiet import signature


class _Line(Static):
    """A Static that ignores updates that would not change what is shown."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self._shown: tuple[str, tuple[Any, ...], Any] | None = None

    def show(self, text: Text | None) -> None:
        sig = ("", (), None) if text is None else signature(text)
        if sig == self._shown:
            return
        before = self._shown
        self._shown = sig
        visible = text is not None
        # A relayout of the screen only when this line's size can change: shown/hidden, or
        # text of another length or line count (a text may wrap). The clock's tick keeps
        # the length: one repainted line, not a reflow of the screen.
        layout = self.display != visible or before is None or len(before[0]) != len(sig[0])
        self.display = visible
        self.update(text if text is not None else "", layout=layout)

    @property
    def plain(self) -> str:
        return self._shown[0] if self._shown else ""


class StatusBar(_Line):
    """PBX links, SIMULATED, operator and role, READ-ONLY, LIVE/STALE, clock."""


class Banner(_Line):
    """Why the data is stale (shown only then)."""


class Crumbs(_Line):
    """Where you are (``ccops › Queues › hotline``), the filter chip and the sort."""


def crumbs_text(
    parts: list[str], filter_text: str, shown: int | None, total: int | None, sort: str | None
) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("ccops", style="bold")
    for p in parts:
        t.append(" › ")
        t.append(p, style="bold")
    if filter_text:
        t.append("   ")
        count = f" ({shown} of {total})" if shown is not None and total is not None else ""
        t.append(f" ⌕ filter: {filter_text}{count} ", style="reverse")
        t.append(" Esc clears", style="dim")
    if sort:
        t.append(f"   sort: {sort}", style="dim")
    return t
