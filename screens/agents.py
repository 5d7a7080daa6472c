"""Agents across queues: state and time in it, occupancy, calls, pause time by reason.

``p``/``u`` pause or unpause the selected agent in all their queues (a mass action on the
agent: the pause dialog lists every queue it touches with its live numbers).
"""

from __future__ import annotations

from textual.app import ComposeResult

from ccops.screens import flows
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry, view
from ccops.tui.widgets.live_table import Column, LiveTable

COLUMNS = [
    Column("name", "agent"),
    Column("interface", "interface"),
    Column("state", "state", 20),
    Column("time", "in state", 8, right=True),
    Column("queues", "queues"),
    Column("calls", "calls", 5, right=True),
    Column("occupancy", "occup", 6, right=True),
    Column("talk", "talk", 7, right=True),
    Column("pauses", "pause time by reason"),
]


def pause_summary(reasons: dict[str, float]) -> str:
    if not reasons:
        return fmt.DASH
    parts = sorted(reasons.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k or 'none'} {fmt.age(v)}" for k, v in parts)


class AgentsScreen(LiveScreen):
    SCOPE = "agents"
    TITLE_TEXT = "Agents"
    BINDINGS = registry.bindings_for("agents")

    def compose_body(self) -> ComposeResult:
        yield LiveTable(COLUMNS, id="agents", sort="name")

    def refresh_alerts(self) -> None:
        """No alert list here: an alert costs the chrome (and the toast), not the table."""
        self.refresh_chrome()

    def refresh_live(self) -> None:
        con = self.console
        now = con.now()
        multi = len(view.pbxs(con.doc)) > 1
        rows = []
        for a in view.agents(con.doc, now):
            look = fmt.member_look(a.state)
            label = f"{a.pbx}:{a.label}" if multi else a.label
            rows.append(
                (
                    a.key,
                    [
                        plain_cell(label, sort_value=label.lower()),
                        plain_cell(a.interface),
                        tone_cell(look.label, look.tone, con, sort_value=a.state),
                        plain_cell(
                            fmt.age(a.time_in_state), sort_value=a.time_in_state, right=True
                        ),
                        plain_cell(", ".join(a.queues) or fmt.DASH),
                        plain_cell(fmt.num(a.calls), sort_value=a.calls, right=True),
                        plain_cell(fmt.pct(a.occupancy), sort_value=a.occupancy, right=True),
                        plain_cell(fmt.secs(a.talk_time), sort_value=a.talk_time, right=True),
                        plain_cell(
                            pause_summary(a.pause_by_reason),
                            sort_value=sum(a.pause_by_reason.values()),
                        ),
                    ],
                )
            )
        self.query_one(LiveTable).sync(self.filtered(rows))

    def target_pbx(self) -> str | None:
        key = self.query_one(LiveTable).selected_key
        return key.partition("/")[0] if key else None

    def _agent(self) -> view.AgentView | None:
        key = self.query_one(LiveTable).selected_key
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
