"""NO_COLOR and 256-colour terminals: the console stays readable because every state carries
a glyph or a word, and nothing in it needs truecolor."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.filter import Monochrome, NoColor
from tui_docs import NOW, stale, status_doc
from tui_helpers import StaticLink, until

from ccops.tui.app import CcopsApp
from ccops.tui.widgets.tile import QueueTile


def _lines(app: CcopsApp, *, filtered: bool) -> list[list[Segment]]:
    """The screen as Textual would write it, after the app's line filters (NO_COLOR)."""
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    console = Console(width=app.size.width, file=io.StringIO(), color_system="truecolor")
    lines = [
        [Segment(s.text, s.style or Style(), s.control) for s in line]
        for line in Segment.split_lines(console.render(update, console.options))
    ]
    if filtered:
        background = app.screen.styles.background
        for line_filter in app._filters:
            lines = [line_filter.apply(line, background) for line in lines]
    return lines


def _plain(lines: list[list[Segment]]) -> str:
    return "\n".join("".join(s.text for s in line) for line in lines)


async def test_no_color_keeps_states_readable_by_glyph_and_word(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = CcopsApp(StaticLink(stale(status_doc())), now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.screen.query(QueueTile)) == 3, what="tiles")
        await pilot.pause(0.2)
        assert app.no_color
        assert any(isinstance(f, Monochrome | NoColor) for f in app._filters)
        lines = _lines(app, filtered=True)
        colours = {
            s.style.color.triplet
            for line in lines
            for s in line
            if s.style and s.style.color and s.style.color.triplet
        }
        assert all(r == g == b for r, g, b in colours), colours  # greys only
        text = _plain(lines)
        for words in ("◌ STALE", "✖ sim DOWN", "alice (admin)"):
            assert words in text, words
        assert "PBX actions are disabled" in text  # the banner says it in words


async def test_256_colour_terminal_needs_no_truecolor() -> None:
    app = CcopsApp(StaticLink(status_doc()), now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.screen.query(QueueTile)) == 3, what="tiles")
        await pilot.pause(0.2)
        for theme in ("ccops-dark", "ccops-light", "ccops-contrast"):
            assert theme in app.available_themes
            app.theme = theme
            await pilot.pause(0.2)
            out = io.StringIO()
            console = Console(width=120, file=out, color_system="256", force_terminal=True)
            update = app.screen._compositor.render_update(
                full=True, screen_stack=app._background_screens, simplify=True
            )
            console.print(update)
            ansi = out.getvalue()
            assert "38;2;" not in ansi and "48;2;" not in ansi, theme  # downgraded
            assert "38;5;" in ansi, theme  # still coloured
            assert "● LIVE" in ansi and "● OK" in ansi, theme
