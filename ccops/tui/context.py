"""What screens and widgets may ask of the console app (a Protocol, to avoid an import cycle).

Screens live in ``ccops.screens`` and the app in ``ccops.tui.app`` imports them; screens
reach the app only through this interface, via :func:`console_of`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.dom import DOMNode

from ccops.tui.history import History
from ccops.tui.link import ConsoleLink
from ccops.tui.registry import Situation
from ccops.tui.themes import Palette
from ccops.tui.view import AlertView

if TYPE_CHECKING:
    pass


class Console(Protocol):
    """The console app as screens see it."""

    link: ConsoleLink
    palette: Palette
    history: History

    def now(self) -> float: ...

    @property
    def doc(self) -> dict[str, Any]: ...

    def situation(self) -> Situation: ...

    def active_alerts(self) -> list[AlertView]: ...

    def show_view(self, name: str) -> None: ...

    async def execute_command(
        self, name: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any] | None: ...

    def run_command_line(self, text: str) -> None: ...

    def link_summary(self) -> str: ...


def console_of(node: DOMNode) -> Console:
    """The console app behind any widget or screen."""
    return cast(Console, node.app)
