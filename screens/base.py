"""The base of every live screen: the chrome, the registry's keys, filter, sort, back.

Every screen shows, top to bottom: the status bar, the stale banner (only when stale), the
breadcrumbs with the filter chip and sort, the screen's content, the ``:``/``/`` prompt
and the footer. Key bindings come from :mod:`ccops.tui.registry` (scope = the screen's
``SCOPE``); ``check_action`` asks the registry whether the operator's role and the links
allow each one: hidden when the role may not, shown disabled when the link is down. A
key pressed for something disabled or hidden says why instead of doing nothing.

Screens are refreshed by the app only while they are the visible screen
(:meth:`refresh_live`); a screen coming back to view is refreshed at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer

from ccops.tui import registry
from ccops.tui.chrome import COMPACT_BELOW, AttachInfo, banner, status_line
from ccops.tui.context import Console, console_of
from ccops.tui.registry import Availability, UiCommand
from ccops.tui.widgets.bars import Banner, Crumbs, StatusBar, crumbs_text
from ccops.tui.widgets.command_bar import CommandBar
from ccops.tui.widgets.live_table import Cell, LiveTable


class LiveScreen(Screen[None]):
    """A screen fed by the live document."""

    SCOPE: ClassVar[str] = registry.ALL
    TITLE_TEXT: ClassVar[str] = ""
    # Each subclass sets BINDINGS = registry.bindings_for(SCOPE): its own keys, then the
    # global ones (kept out of this base so the footer lists the screen's own keys first).
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.filter_text = ""
        self.ready = False  # composed and mounted: only then may the app refresh it
        self._filter_shown: int | None = None
        self._filter_total: int | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Banner(id="banner")
        yield Crumbs(id="crumbs")
        yield from self.compose_body()
        yield CommandBar(self._completions, id="prompt")
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    @property
    def console(self) -> Console:
        return console_of(self)

    def crumbs(self) -> list[str]:
        return [self.TITLE_TEXT] if self.TITLE_TEXT else []

    # ------------------------------------------------------------------ refresh hooks

    def on_mount(self) -> None:
        self.ready = True
        self.refresh_chrome()
        self.refresh_live()

    @property
    def can_refresh(self) -> bool:
        """Composed, mounted and not being torn down (``display`` turns False while the
        screen is pruned at exit)."""
        return self.ready and bool(self.display)

    def on_screen_resume(self) -> None:
        if not self.ready:
            return  # a screen just pushed: on_mount refreshes it once it is composed
        self.refresh_bindings()
        self.refresh_chrome()
        self.refresh_live()

    def refresh_live(self) -> None:
        """Update the content from the current document (override)."""

    def document_changed(self) -> None:
        """The app calls this (at most ~1 Hz) while the screen is visible."""
        self.refresh_live()

    def refresh_alerts(self) -> None:
        """An alert changed (pushed at once, not at the table cadence)."""
        self.refresh_live()

    def refresh_chrome(self) -> None:
        con = self.console
        doc = con.doc
        now = con.now()
        link = con.link
        attach = AttachInfo(
            attached=link.attached,
            ever_attached=link.ever_attached,
            lost_since=link.lost_since,
            next_retry_at=link.next_retry_at,
            reason=link.reason,
            can_retry=link.can_retry,
        )
        self.query_one(StatusBar).show(
            status_line(
                doc,
                attach,
                link.operator_name,
                link.role,
                now,
                con.palette,
                compact=self.app.size.width < COMPACT_BELOW,
            )
        )
        self.query_one(Banner).show(banner(doc, attach, now, con.palette))
        table = self.primary_table()
        sort = None
        if table is not None and table.sort_column:
            label = next(
                (c.label for c in table.spec if c.key == table.sort_column), table.sort_column
            )
            sort = f"{label} {'▼' if table.sort_reverse else '▲'}"
        self.query_one(Crumbs).show(
            crumbs_text(
                self.crumbs(), self.filter_text, self._filter_shown, self._filter_total, sort
            )
        )

    # ------------------------------------------------------------------ tables, filter, sort

    def primary_table(self) -> LiveTable | None:
        """The table ``/`` filters and sort keys sort (the focused one if several)."""
        focused = self.focused
        if isinstance(focused, LiveTable):
            return focused
        tables = list(self.query(LiveTable))
        return tables[0] if tables else None

    def matches(self, cells: list[Cell] | tuple[Cell, ...]) -> bool:
        """Does a row pass the filter (case-insensitive substring of any cell)?"""
        if not self.filter_text:
            return True
        needle = self.filter_text.lower()
        return any(needle in c.plain.lower() for c in cells)

    def filtered(self, rows: list[tuple[str, list[Cell]]]) -> list[tuple[str, list[Cell]]]:
        """Apply the filter and remember the counts for the chip."""
        if not self.filter_text:
            self._filter_shown = self._filter_total = None
            return rows
        kept = [r for r in rows if self.matches(r[1])]
        self._filter_shown, self._filter_total = len(kept), len(rows)
        return kept

    def action_sort(self, column: str) -> None:
        table = self.primary_table()
        if table is None:
            return
        if column not in {c.key for c in table.spec}:
            tables = [t for t in self.query(LiveTable) if column in {c.key for c in t.spec}]
            if not tables:
                return
            table = tables[0]
        table.set_sort(column)
        self.refresh_chrome()

    def action_filter(self) -> None:
        self.query_one(CommandBar).open("filter", self.filter_text)

    def action_command_line(self) -> None:
        self.query_one(CommandBar).open("command")

    def action_back(self) -> None:
        if self.filter_text:
            self.set_filter("")
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        elif self.SCOPE != "dashboard":
            self.console.show_view("dashboard")

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self.refresh_live()
        self.refresh_chrome()

    def preview_filter(self, text: str) -> None:
        """The filter as it is being typed (every keystroke); Enter calls :meth:`set_filter`.
        Screens whose filter costs a daemon request apply only the local part here."""
        self.set_filter(text)

    @on(CommandBar.FilterChanged)
    def _filter_changed(self, event: CommandBar.FilterChanged) -> None:
        self.preview_filter(event.value)

    @on(CommandBar.Submitted)
    def _prompt_submitted(self, event: CommandBar.Submitted) -> None:
        if event.mode == "command":
            self.console.run_command_line(event.value)
        else:
            self.set_filter(event.value)
        self._refocus()

    @on(CommandBar.Closed)
    def _prompt_closed(self, event: CommandBar.Closed) -> None:
        if event.cancelled and event.mode == "filter":
            self.filter_cancelled()
        self._refocus()

    def filter_cancelled(self) -> None:
        """Esc in the filter prompt (the cleared preview already removed the filter)."""

    def _refocus(self) -> None:
        table = self.primary_table()
        if table is not None:
            table.focus()
        else:
            self.focus_next()

    def _completions(self) -> list[str]:
        words = [r.name for r in registry.RESOURCES]
        words += [f"queue {q}" for q in sorted(self._queue_names())]
        words += ["theme dark", "theme light", "theme contrast", "help", "quit"]
        return words

    def _queue_names(self) -> set[str]:
        from ccops.tui.view import queues

        return {q.name for q in queues(self.console.doc)}

    # ------------------------------------------------------------------ role and link gating

    def availability_of(self, cmd: UiCommand) -> Availability:
        return registry.availability(cmd, self.console.situation(), self.target_pbx())

    def target_pbx(self) -> str | None:
        """The PBX the selected row belongs to (for link checks); None = any."""
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        cmd = registry.find_action(self.SCOPE, action)
        if cmd is None or cmd.action.startswith("app."):
            return True
        avail = self.availability_of(cmd)
        if not avail.visible:
            return False
        return True if avail.enabled else None

    def explain(self, cmd: UiCommand) -> bool:
        """Tell the operator why ``cmd`` cannot run; True if it cannot."""
        avail = self.availability_of(cmd)
        if avail.visible and avail.enabled:
            return False
        self.notify(
            f"{cmd.title}: {avail.reason}", title="Not available", severity="warning", timeout=6
        )
        return True

    def on_key(self, event: events.Key) -> None:
        """A key bound to something hidden or disabled: say why rather than nothing."""
        if isinstance(self.focused, CommandBar) or self.query_one(CommandBar).is_open:
            return
        cmd = registry.find_key(self.SCOPE, event.key)
        if cmd is None or cmd.action.startswith("app."):
            return
        if self.explain(cmd):
            event.stop()

    def guard(self, command_id: str) -> bool:
        """For actions: True when allowed now (else the reason was shown)."""
        return not self.explain(registry.BY_ID[command_id])


def tone_cell(
    text: str, tone: str, console: Console, sort_value: Any = None, right: bool = False
) -> Cell:
    """A table cell styled by tone through the current theme's palette."""
    style = console.palette.style(tone) if tone else ""
    return Cell(text, style=style, sort_value=sort_value, justify="right" if right else None)


def plain_cell(text: str, sort_value: Any = None, right: bool = False) -> Cell:
    return Cell(text, sort_value=sort_value, justify="right" if right else None)


def section_title(text: str) -> Text:
    return Text(text, style="bold")
