"""Update a ``Static`` only when what it shows changed, and without a screen relayout.

Why: ``Static.update`` re-lays the whole screen out by default (Textual cannot know the new
text is the same size), and a live screen calls it for every title and summary on every
repaint. With the widget's size fixed in CSS, a changed text only needs its own region
repainted, and an unchanged text needs nothing at all (docs/performance.md, "Console").
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.text import Text
from textual.widgets import Static

_SHOWN: WeakKeyDictionary[Static, tuple[str, str]] = WeakKeyDictionary()


def show(widget: Static, content: Text | str, *, layout: bool = False) -> bool:
    """Show ``content`` in ``widget`` if it differs from what it shows; True if repainted.

    ``layout=False`` (the default) is only right for a widget whose size does not depend
    on its text (a fixed ``height`` in CSS, full width): pass True otherwise.
    """
    sig = (
        (content.plain, repr(content.spans) + str(content.style))
        if isinstance(content, Text)
        else (content, "")
    )
    if _SHOWN.get(widget) == sig:
        return False
    _SHOWN[widget] = sig
    widget.update(content, layout=layout)
    return True
