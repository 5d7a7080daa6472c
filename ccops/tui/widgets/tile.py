"""A dashboard queue tile: focusable, so Tab/arrows select one and Enter drills in."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import Static


class QueueTile(Static, can_focus=True):
    """One queue; :meth:`show` repaints only when the text or the alarm changed."""

    DEFAULT_CSS = """
    QueueTile {
        border: round $panel-lighten-2;
        height: 10;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    QueueTile:focus { border: double $primary; }
    QueueTile.-bad { border: heavy $error; }
    QueueTile.-bad:focus { border: double $error; }
    QueueTile.-warn { border: round $warning; }
    QueueTile.-warn:focus { border: double $warning; }
    """

    class Opened(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, key: str, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.key = key
        self._sig: tuple[str, str, str] | None = None

    def show(self, title: str, look_word: str, tone: str, body: Text) -> None:
        sig = (title + look_word + tone, body.plain, repr(body.spans))
        if sig == self._sig:
            return
        self._sig = sig
        self.border_title = f" {title} "
        self.border_subtitle = f" {look_word} "
        for t in ("-bad", "-warn", "-good"):
            self.set_class(t == f"-{tone}", t)
        self.update(body, layout=False)  # fixed size (CSS height, grid cell): no relayout

    def on_click(self) -> None:
        self.post_message(self.Opened(self.key))
