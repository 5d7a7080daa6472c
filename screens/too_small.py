"""Shown instead of the console when the terminal is below 80×24 (btop does the same).

A squeezed table that hides the waiting column is worse than an honest request to resize;
the console comes back by itself as soon as the window is large enough.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH = 80
MIN_HEIGHT = 24


class TooSmallScreen(Screen[None]):
    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; }
    TooSmallScreen > Static { width: auto; height: auto; text-align: center; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="msg", markup=False)

    def on_mount(self) -> None:
        self.show_size(self.app.size.width, self.app.size.height)

    def show_size(self, width: int, height: int) -> None:
        self.query_one("#msg", Static).update(
            f"Terminal too small: {width}×{height}.\n"
            f"ccops needs at least {MIN_WIDTH}×{MIN_HEIGHT}.\n"
            "Enlarge the window; the console comes back by itself.\n"
            "ctrl+q quits."
        )
