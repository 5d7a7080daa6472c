"""``?`` help: this view's keys and commands, generated from the registry, with availability.

Generated, never written by hand, so it cannot disagree with the real bindings. Each line
says whether the operator can use it now, and if not, why (role, PBX link, daemon).
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ccops.core.roles import capabilities
from ccops.tui import registry
from ccops.tui.context import console_of
from ccops.tui.registry import Situation
from ccops.tui.themes import Palette


def help_renderable(
    scope: str, situation: Situation, pal: Palette, pbx: str | None = None
) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
    table.add_column("key", width=10, no_wrap=True)
    table.add_column("command", width=22)
    table.add_column("what it does", ratio=3)
    table.add_column("now", ratio=2)
    own = registry.commands_for(scope, include_global=False) if scope != registry.ALL else []
    glob = registry.commands_for(registry.ALL, include_global=False)
    for title, cmds in (("This view", own), ("Everywhere", glob)):
        if not cmds:
            continue
        table.add_row("", Text(title, style="bold underline"), "", "")
        for cmd in cmds:
            avail = registry.availability(cmd, situation, pbx)
            if avail.visible and avail.enabled:
                now = Text("✔ available", style=pal.good)
            elif avail.visible:
                now = Text("✖ disabled: " + avail.reason, style=pal.warn)
            else:
                now = Text("⊘ " + avail.reason, style=pal.muted)
            what = Text(cmd.help)
            if cmd.core:
                what.append(f" (sends {cmd.core})", style=pal.muted)
            table.add_row(cmd.shown_key or "palette", cmd.title, what, now)
    table.add_row("", "", "", "")
    table.add_row("", Text("Views (:name)", style="bold underline"), "", "")
    for res in registry.RESOURCES:
        ok = (
            res.capability is None
            or situation.role is None
            or res.capability in capabilities(situation.role)
        )
        table.add_row(
            f":{res.name}",
            res.title,
            "aliases: " + ", ".join(res.aliases),
            Text(
                "✔" if ok else f"⊘ not for role {situation.role}",
                style=pal.good if ok else pal.muted,
            ),
        )
    return table


class HelpScreen(ModalScreen[None]):
    """Modal help over the current view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen .title { text-style: bold; }
    """

    def __init__(self, scope: str, title: str, pbx: str | None = None) -> None:
        super().__init__()
        self.scope = scope
        self.title_text = title
        self.pbx = pbx

    def compose(self) -> ComposeResult:
        con = console_of(self)
        role = con.link.role
        who = f"{con.link.operator_name} ({role.value if role else 'role unknown'})"
        with VerticalScroll():
            yield Static(
                f"Help — {self.title_text} — you are {who}. Esc closes. "
                "ctrl+p opens the command palette; ctrl+q quits.",
                classes="title",
            )
            yield Static(
                help_renderable(self.scope, con.situation(), con.palette, self.pbx), id="help"
            )

    def action_close(self) -> None:
        self.dismiss(None)
