"""Agents across queues: state and time in it, occupancy, calls, pause time by reason.

``p``/``u`` pause or unpause the selected agent in all their queues (a mass action on the
agent: the pause dialog lists every queue it touches with its live numbers).

The columns follow the width (:func:`columns_for`), at fixed widths so a long interface
or queue list can never push the pause column off screen: from 120 columns every column
with its full header; from 100 every column, narrower, with short headers; below 100
(down to the 80-column minimum) the interface and total talk time give way so that state,
time in state, calls, occupancy and pauses stay on screen: the interface is on the
queue's member list and the talk time is what occupancy already says. An interface too
long for its column keeps its end (``…t12@agents/n``), the part that tells agents apart.
The table is rebuilt only when the width crosses a step; sort and selection carry over.
"""

from __future__ import annotations

from textual.app import ComposeResult

from ccops.screens import flows
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry, view
from ccops.tui.widgets.live_table import Column, LiveTable

MEDIUM_WIDTH = 100
WIDE_WIDTH = 120

COLUMNS = [
    Column("name", "agent", 14),
    Column("interface", "interface", 15),
    Column("state", "state", 16),
    Column("time", "in state", 8, right=True),
    Column("queues", "queues", 14),
    Column("calls", "calls", 5, right=True),
    Column("occupancy", "occup", 5, right=True),
    Column("talk", "talk", 7, right=True),
    Column("pauses", "pauses by reason"),
]
MEDIUM_COLUMNS = [
    Column("name", "agent", 14),
    Column("interface", "interface", 12),
    Column("state", "state", 14),
    Column("time", "for", 6, right=True),
    Column("queues", "queues", 8),
    Column("calls", "calls", 5, right=True),
    Column("occupancy", "occup", 5, right=True),
    Column("talk", "talk", 6, right=True),
    Column("pauses", "pauses"),
]
NARROW_COLUMNS = [c for c in MEDIUM_COLUMNS if c.key not in ("interface", "talk")]


def columns_for(width: int) -> list[Column]:
    """The agents table's columns at a screen ``width``."""
    if width >= WIDE_WIDTH:
        return COLUMNS
    return MEDIUM_COLUMNS if width >= MEDIUM_WIDTH else NARROW_COLUMNS


def keep_end(text: str, width: int | None) -> str:
    """``text`` cut from the left to ``width`` cells (ASCII interface names)."""
    if width is None or len(text) <= width:
        return text
    return "…" + text[-(width - 1):]


def pause_summary(reasons: dict[str, float]) -> str:
    if not reasons:
        return fmt.DASH
    parts = sorted(reasons.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k or 'none'} {fmt.age(v)}" for k, v in parts)


class AgentsScreen(LiveScreen):
    SCOPE = "agents"
    TITLE_TEXT = "Agents"
    BINDINGS = registry.bindings_for("agents")

    _columns: list[Column] = COLUMNS
    _table: LiveTable | None = None

    def compose_body(self) -> ComposeResult:
        self._columns = columns_for(self.app.size.width)
        self._table = LiveTable(self._columns, classes="agents", sort="name")
        yield self._table

    def primary_table(self) -> LiveTable | None:
        return self._table

    def on_resize(self) -> None:
        """A new column set when the width crosses a step (the old table is replaced at
        once, so no refresh ever sees two tables or none)."""
        wanted = columns_for(self.size.width)
        old = self._table
        if wanted is self._columns or old is None:
            return
        keys = {c.key for c in wanted}
        sort = old.sort_column if old.sort_column in keys else "name"
        selected = old.selected_key
        had_focus = old.has_focus
        self._columns = wanted
        table = LiveTable(wanted, classes="agents", sort=sort, reverse=old.sort_reverse)
        self._table = table
        self.mount(table, after=old)
        old.remove()
        if self.can_refresh:
            self.refresh_live()
        if selected:
            table.select_key(selected)
        if had_focus:
            table.focus()

    def refresh_alerts(self) -> None:
        """No alert list here: an alert costs the chrome (and the toast), not the table."""
        self.refresh_chrome()

    def refresh_live(self) -> None:
        con = self.console
        now = con.now()
        multi = len(view.pbxs(con.doc)) > 1
        iface_width = next((c.width for c in self._columns if c.key == "interface"), None)
        rows = []
        for a in view.agents(con.doc, now):
            look = fmt.member_look(a.state)
            label = f"{a.pbx}:{a.label}" if multi else a.label
            cells = {
                "name": plain_cell(label, sort_value=label.lower()),
                "interface": plain_cell(keep_end(a.interface, iface_width), a.interface),
                "state": tone_cell(look.label, look.tone, con, sort_value=a.state),
                "time": plain_cell(
                    fmt.age(a.time_in_state), sort_value=a.time_in_state, right=True
                ),
                "queues": plain_cell(", ".join(a.queues) or fmt.DASH),
                "calls": plain_cell(fmt.num(a.calls), sort_value=a.calls, right=True),
                "occupancy": plain_cell(fmt.pct(a.occupancy), sort_value=a.occupancy, right=True),
                "talk": plain_cell(fmt.secs(a.talk_time), sort_value=a.talk_time, right=True),
                "pauses": plain_cell(
                    pause_summary(a.pause_by_reason),
                    sort_value=sum(a.pause_by_reason.values()),
                ),
            }
            rows.append((a.key, [cells[c.key] for c in self._columns]))
        assert self._table is not None
        self._table.sync(self.filtered(rows))

    def target_pbx(self) -> str | None:
        key = self._table.selected_key if self._table else None
        return key.partition("/")[0] if key else None

    def _agent(self) -> view.AgentView | None:
        key = self._table.selected_key if self._table else None
        found = next(
            (a for a in view.agents(self.console.doc, self.console.now()) if a.key == key), None
        )
        if found is None:
            self.notify("Select an agent first.", severity="warning")
        return found

    def action_pause_member(self) -> None:
        if self.guard("member.pause") and (a := self._agent()):
            self.run_worker(flows.pause(self, a.pbx, None, a.interface, a.label), group="command")

    def action_unpause_member(self) -> None:
        if self.guard("member.unpause") and (a := self._agent()):
            self.run_worker(flows.unpause(self, a.pbx, None, a.interface, a.label), group="command")
