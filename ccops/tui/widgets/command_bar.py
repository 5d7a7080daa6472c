"""The k9s-style prompt at the bottom: ``:`` command line and ``/`` filter.

Why one widget for both: they look and behave alike (one line, Enter accepts, Esc leaves,
Tab completes), and only one is ever open. The command line completes against a callable
(views, ``queue <name>`` for every live queue, themes), so new queues complete without a
restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Label


class DynamicSuggester(Suggester):
    """Suggests the first candidate that starts with what was typed."""

    def __init__(self, candidates: Callable[[], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self._candidates = candidates

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        low = value.lower()
        for cand in self._candidates():
            if cand.lower().startswith(low) and len(cand) > len(value):
                return cand
        return None


class PromptInput(Input):
    """An Input where Tab accepts the completion and Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    class Cancelled(Message):
        """Esc in the prompt."""

    def action_complete(self) -> None:
        self.action_end()
        self.action_cursor_right()  # at the end, this accepts the suggestion

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())


class CommandBar(Horizontal):
    """Hidden until ``:`` or ``/``; posts :class:`Submitted`, :class:`FilterChanged`,
    :class:`Closed`."""

    DEFAULT_CSS = """
    CommandBar { height: 1; display: none; }
    CommandBar.-open { display: block; }
    CommandBar > Label { width: 2; }
    CommandBar > PromptInput { border: none; height: 1; padding: 0; width: 1fr; }
    """

    class Submitted(Message):
        def __init__(self, mode: str, value: str) -> None:
            super().__init__()
            self.mode = mode
            self.value = value

    class FilterChanged(Message):
        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    class Closed(Message):
        def __init__(self, mode: str, cancelled: bool) -> None:
            super().__init__()
            self.mode = mode
            self.cancelled = cancelled

    def __init__(self, candidates: Callable[[], list[str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = ""
        self._candidates = candidates

    def compose(self) -> ComposeResult:
        yield Label(":")
        yield PromptInput(
            suggester=DynamicSuggester(self._candidates_for_mode), select_on_focus=False
        )

    def _candidates_for_mode(self) -> list[str]:
        return self._candidates() if self.mode == "command" else []

    @property
    def input(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, mode: str, value: str = "") -> None:
        self.mode = mode
        self.query_one(Label).update(":" if mode == "command" else "/")
        self.input.placeholder = (
            "queues, agents, trunks, alerts, routing, audit, playbooks, incidents, "
            "dashboard, queue NAME, page NAME, theme NAME, help, quit"
            if mode == "command"
            else "type to filter rows"
        )
        self.input.value = value
        self.add_class("-open")
        # Focus now, not on the next message-loop turn (``Input.focus`` defers): keys that
        # arrive in the same burst as the ``:`` must already find the prompt focused.
        self.screen.set_focus(self.input)

    def close(self, *, cancelled: bool) -> None:
        if not self.is_open:
            return
        mode = self.mode
        self.remove_class("-open")
        self.mode = ""
        self.post_message(self.Closed(mode, cancelled))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter":
            self.post_message(self.FilterChanged(event.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        mode = self.mode
        value = event.value
        self.close(cancelled=False)
        self.post_message(self.Submitted(mode, value))

    @on(PromptInput.Cancelled)
    def _cancelled(self, event: PromptInput.Cancelled) -> None:
        event.stop()
        if self.mode == "filter":
            self.post_message(self.FilterChanged(""))
        self.close(cancelled=True)
