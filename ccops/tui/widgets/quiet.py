"""Update a ``Static`` only when what it shows changed, and without a screen relayout.

Why: ``Static.update`` re-lays the whole screen out by default (Textual cannot know the new
text is the same size), and a live screen calls it for every title and summary on every
repaint. With the widget's size fixed in CSS, a changed text only needs its own region
repainted, and an unchanged text needs nothing at all (docs/performance.md, "Console").
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from rich.text import Text
from textual.widgets import Static

_SHOWN: WeakKeyDictionary[Static, tuple[str, tuple[Any, ...], Any]] = WeakKeyDictionary()


def show(widget: Static, content: Text | str, *, layout: bool = False) -> bool:
    """Show ``content`` in ``widget`` if it differs from what it shows; True if repainted.

    ``layout=False`` (the default) is only right for a widget whose size does not depend
    on its text (a fixed ``height`` in CSS, full width): pass True otherwise.
    """
    sig = signature(content)
    if _SHOWN.get(widget) == sig:
        return False
    _SHOWN[widget] = sig
    widget.update(content, layout=layout)
    return True


def signature(content: Text | str) -> tuple[str, tuple[Any, ...], Any]:
    """What ``content`` shows: its text, its spans and its base style, compared by value
    (not through ``repr``, which cost more than the comparison saved on a busy screen)."""
    if isinstance(content, Text):
        return (content.plain, tuple(content.spans), content.style)
    return (content, (), "")
