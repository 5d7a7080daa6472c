"""Themes (dark, light, high-contrast) and the tone → style palette derived from them.

Why tones: a cell says *how bad* something is (``good``, ``warn``, ``bad``, ``info``,
``muted``); the theme decides the colour. Nothing hard-codes a colour, so the light theme
is readable on a white terminal (k9s #169) and the high-contrast one on a projector. Every
state also carries a glyph and a word (:mod:`ccops.tui.fmt`), so with ``NO_COLOR`` or a
monochrome terminal nothing is lost; ``bad`` is also bold, which survives monochrome.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.theme import Theme

DARK = Theme(
    name="ccops-dark",
    primary="#5fafff",
    secondary="#87afd7",
    accent="#d787ff",
    foreground="#e4e4e4",
    background="#121212",
    surface="#1c1c1c",
    panel="#303030",
    success="#5fd75f",
    warning="#ffaf00",
    error="#ff5f5f",
    dark=True,
)

LIGHT = Theme(
    name="ccops-light",
    primary="#005faf",
    secondary="#005f87",
    accent="#870087",
    foreground="#1c1c1c",
    background="#f5f5f5",
    surface="#ffffff",
    panel="#dadada",
    success="#006f00",
    warning="#875f00",
    error="#c00000",
    dark=False,
)

CONTRAST = Theme(
    name="ccops-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#00ffff",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#303030",
    success="#00ff00",
    warning="#ffff00",
    error="#ff4040",
    dark=True,
    luminosity_spread=0.3,
    text_alpha=1.0,
)

THEMES: tuple[Theme, ...] = (DARK, LIGHT, CONTRAST)
THEME_ALIASES = {
    "dark": DARK.name,
    "light": LIGHT.name,
    "contrast": CONTRAST.name,
    "high-contrast": CONTRAST.name,
    "hc": CONTRAST.name,
}


def theme_name(word: str) -> str | None:
    """The registered theme a user's word means (``dark``, ``light``, ``contrast``…)."""
    w = word.strip().lower()
    if w in THEME_ALIASES:
        return THEME_ALIASES[w]
    for theme in THEMES:
        if w == theme.name:
            return theme.name
    return None


@dataclass(frozen=True, slots=True)
class Palette:
    """Rich styles per tone for the current theme."""

    good: Style
    warn: Style
    bad: Style
    info: Style
    muted: Style
    strong: Style

    def style(self, tone: str) -> Style:
        return {
            "good": self.good,
            "warn": self.warn,
            "bad": self.bad,
            "info": self.info,
            "muted": self.muted,
        }.get(tone, Style())

    def text(self, text: str, tone: str = "") -> Text:
        return Text(text, style=self.style(tone)) if tone else Text(text)


def palette_for(theme: Theme) -> Palette:
    fg = theme.foreground or ("#e4e4e4" if theme.dark else "#1c1c1c")
    return Palette(
        good=Style(color=theme.success or "green"),
        warn=Style(color=theme.warning or "yellow", bold=True),
        bad=Style(color=theme.error or "red", bold=True),
        info=Style(color=theme.primary),
        muted=Style(color=fg, dim=True),
        strong=Style(bold=True),
    )
