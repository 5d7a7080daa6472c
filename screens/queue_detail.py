"""One queue: waiting callers, members (with the supervisor's actions), today's intervals.

Members are the actionable table: ``p`` pause with a reason, ``u`` unpause, ``+`` add,
``-`` remove, ``e`` penalty, ``o`` overflow for this queue. Tab moves between tables.

Two states per member, on purpose: ``state`` is what ccops derives (the daemon's status
document: wrap-up after a call, the pause reason, "(other)" when the device is busy with a
call that is not this queue's), and ``asterisk says`` is the member ``Status`` Asterisk
itself reports, worded as in ``queue show`` — so a supervisor comparing with the Asterisk
CLI sees why "wrap-up" is shown for a phone Asterisk calls "not in use".
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ccops.screens import flows
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import fmt, registry, view
from ccops.tui.tiles import erlang_text
from ccops.tui.widgets import quiet
from ccops.tui.widgets.live_table import Column, LiveTable

MAX_CALLERS = 50  # rows in the waiting-callers table (its head: position 1 first)
CALLERS_VISIBLE = 7  # rows the callers box shows at most (8 lines less the header)
MEMBER_COLUMNS = [
    Column("name", "member"),
    Column("interface", "interface"),
    Column("state", "state", 20),
    Column("time", "in state", 8, right=True),
    Column("asterisk", "asterisk says", 13),
    Column("reason", "pause reason", 16),
    Column("calls", "calls", 5, right=True),
    Column("penalty", "pen", 4, right=True),
    Column("membership", "type", 8),
]
CALLER_COLUMNS = [
    Column("pos", "pos", 4, right=True),
    Column("num", "caller ID", 16),
    Column("cname", "name", 18),
    Column("wait", "wait", 8, right=True),
    Column("channel", "channel"),
]
INTERVAL_COLUMNS = [
    Column("interval", "interval", 13),
    Column("offered", "offer", 5, right=True),
    Column("answered", "answ", 5, right=True),
    Column("abandoned", "aband", 5, right=True),
    Column("sl", "SL", 6, right=True),
    Column("abandon", "aband%", 7, right=True),
    Column("asa", "ASA", 6, right=True),
    Column("aht", "AHT", 6, right=True),
    Column("longest", "longest", 8, right=True),
]


class QueueDetailScreen(LiveScreen):
    SCOPE = "queue"
    BINDINGS = registry.bindings_for("queue")

    DEFAULT_CSS = """
    QueueDetailScreen .section {
        text-style: bold; margin-top: 1; height: 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    QueueDetailScreen #summary { height: 2; padding: 0 1; }
    QueueDetailScreen #callers { height: 1fr; max-height: 8; }
    QueueDetailScreen #members { height: 2fr; }
    QueueDetailScreen #intervals { height: 1fr; max-height: 10; }
    """
    # Every box's size depends on the terminal only, never on its content, so a row count
    # or a number changing never re-lays the screen out: tables scroll inside their box
    # (members get the most room), and the callers title says how many are below ("+N").

    def __init__(self, pbx: str, queue: str) -> None:
        super().__init__()
        self.pbx = pbx
        self.queue = queue

    def crumbs(self) -> list[str]:
        multi = len(view.pbxs(self.console.doc)) > 1
        return ["Queues", f"{self.pbx}:{self.queue}" if multi else self.queue]

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="summary", markup=False)
            yield Static("Waiting callers", classes="section", id="callers-title")
            yield LiveTable(CALLER_COLUMNS, id="callers")
            yield Static("Members", classes="section", id="members-title")
            yield LiveTable(MEMBER_COLUMNS, id="members", sort="name")
            yield Static("Today by 15-minute interval (newest last)", classes="section")
            yield LiveTable(INTERVAL_COLUMNS, id="intervals")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#members", LiveTable).focus()

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        """The crumbs show the focused table's sort: repaint them when focus moves (Tab,
        or the screen's own auto-focus landing before ``on_mount`` picks the members)."""
        if self.ready:
            self.refresh_chrome()

    def primary_table(self) -> LiveTable:
        focused = self.focused
        if isinstance(focused, LiveTable):
            return focused
        return self.query_one("#members", LiveTable)

    def target_pbx(self) -> str | None:
        return self.pbx

    # ------------------------------------------------------------------ refresh

    def refresh_alerts(self) -> None:
        """No alert list here: an alert costs the chrome (and the toast), not the tables."""
        self.refresh_chrome()

    def refresh_live(self) -> None:
        con = self.console
        pal = con.palette
        q = view.queue_doc(con.doc, self.pbx, self.queue)
        summary = self.query_one("#summary", Static)
        if q is None:
            quiet.show(
                summary,
                Text(
                    f"Queue {self.queue} is not in the live state (removed, or the "
                    "PBX has not reported it since the last sync).",
                    style=pal.warn,
                )
            )
            for table in self.query(LiveTable):
                table.sync([])
            return
        qv = view.queue_view(self.pbx, self.queue, q)
        quiet.show(summary, self._summary(qv))
        callers = view.callers(q)
        caller_rows = []
        # In a surge hundreds wait; the table shows ~8 rows, so only the head of the queue
        # is built (all of it when filtering, so a caller ID can still be found).
        for c in callers if self.filter_text else callers[:MAX_CALLERS]:
            tone = "bad" if qv.sl_threshold and (c.wait or 0) > qv.sl_threshold else ""
            caller_rows.append(
                (
                    c.key,
                    [
                        plain_cell(str(c.position), sort_value=c.position, right=True),
                        plain_cell(c.caller_num or "unknown", sort_value=c.caller_num),
                        plain_cell(c.caller_name or fmt.DASH),
                        tone_cell(fmt.secs(c.wait), tone, con, sort_value=c.wait, right=True),
                        plain_cell(c.channel),
                    ],
                )
            )
        caller_table = self.query_one("#callers", LiveTable)
        caller_table.sync(self.filtered(caller_rows)[:MAX_CALLERS])
        title = f"Waiting callers ({len(callers)})" if callers else "Waiting callers: none"
        shown = caller_table.size.height - 1  # the box less its header (0 before layout)
        below = len(callers) - (shown if shown > 0 else CALLERS_VISIBLE)
        if below > 0:
            title += f" · +{below} more"
        if len(callers) > MAX_CALLERS:
            title += f" (the first {MAX_CALLERS} by position are listed; / finds any caller)"
        quiet.show(self.query_one("#callers-title", Static), title)
        members = view.members(q)
        member_rows = []
        for m in members:
            look = fmt.member_look(m.state)
            label = look.label
            if m.busy_elsewhere and m.state in ("on_call", "on_hold"):
                label += " (other)"  # busy, but not with a caller of this queue
            member_rows.append(
                (
                    m.key,
                    [
                        plain_cell(m.label, sort_value=m.label.lower()),
                        plain_cell(m.interface),
                        tone_cell(label, look.tone, con, sort_value=m.state),
                        plain_cell(
                            fmt.age(m.time_in_state), sort_value=m.time_in_state, right=True
                        ),
                        plain_cell(fmt.asterisk_status(m.device_status)),
                        tone_cell(
                            m.paused_reason or fmt.DASH, "warn" if m.paused else "muted", con
                        ),
                        plain_cell(str(m.calls_taken), sort_value=m.calls_taken, right=True),
                        plain_cell(str(m.penalty), sort_value=m.penalty, right=True),
                        plain_cell(m.membership or fmt.DASH),
                    ],
                )
            )
        self.query_one("#members", LiveTable).sync(self.filtered(member_rows))
        quiet.show(
            self.query_one("#members-title", Static),
            f"Members ({len(members)}): {qv.available} available, "
            f"{qv.on_call + qv.on_hold + qv.ringing} on call, {qv.acw} wrap-up, "
            f"{qv.paused} paused"
        )
        interval_rows = []
        for iv in view.intervals(q):
            label = f"{fmt.clock(iv.start, seconds=False)}–{fmt.clock(iv.end, seconds=False)}"
            if iv.current:
                label += " ◂"
            below = iv.sl is not None and qv.sl_target is not None and iv.sl < qv.sl_target
            interval_rows.append(
                (
                    iv.key,
                    [
                        tone_cell(label, "info" if iv.current else "", con, sort_value=iv.start),
                        plain_cell(fmt.num(iv.offered), sort_value=iv.offered, right=True),
                        plain_cell(fmt.num(iv.answered), sort_value=iv.answered, right=True),
                        plain_cell(fmt.num(iv.abandoned), sort_value=iv.abandoned, right=True),
                        tone_cell(
                            fmt.pct(iv.sl),
                            "bad" if below else "",
                            con,
                            sort_value=iv.sl,
                            right=True,
                        ),
                        plain_cell(
                            fmt.pct(iv.abandon_rate, 1), sort_value=iv.abandon_rate, right=True
                        ),
                        plain_cell(fmt.secs(iv.asa), sort_value=iv.asa, right=True),
                        plain_cell(fmt.secs(iv.aht), sort_value=iv.aht, right=True),
                        plain_cell(
                            fmt.secs(iv.longest_wait), sort_value=iv.longest_wait, right=True
                        ),
                    ],
                )
            )
        table = self.query_one("#intervals", LiveTable)
        at_end = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        table.sync(interval_rows)
        if at_end and table.row_count and self.focused is not table:
            table.move_cursor(row=table.row_count - 1)

    def _summary(self, qv: view.QueueView) -> Text:
        pal = self.console.palette
        t = Text()
        t.append(
            f"{qv.waiting} waiting",
            style=pal.bad
            if qv.waiting and not qv.available
            else (pal.warn if qv.waiting else pal.strong),
        )
        if qv.waiting:
            t.append(f" (longest {fmt.secs(qv.longest_wait)})")
        t.append("  ·  SL today ")
        t.append(fmt.pct(qv.sl), style=pal.bad if qv.below_target else pal.good)
        t.append(
            f" / target {fmt.pct(qv.sl_target)} in {qv.sl_threshold or '?'}s"
            f"  ·  60m {fmt.pct(qv.sl_rolling)}  ·  abandon {fmt.pct(qv.abandon_rate, 1)}"
            f"  ·  ASA {fmt.secs(qv.asa)}  ·  AHT {fmt.secs(qv.aht)}\n"
        )
        t.append_text(erlang_text(qv, pal))
        flag = view.flag_for(self.console.doc, self.pbx, "overflow", self.queue)
        t.append("  ·  overflow ")
        if flag is not None and flag.is_on:
            t.append(f"⚑ ON ({flag.value})", style=pal.warn)
        else:
            t.append("off", style=pal.muted)
        if qv.strategy:
            t.append(f"  ·  strategy {qv.strategy}", style=pal.muted)
        return t

    # ------------------------------------------------------------------ actions

    def action_focus_next_table(self) -> None:
        tables = list(self.query(LiveTable))
        focused = self.focused
        idx = tables.index(focused) if isinstance(focused, LiveTable) and focused in tables else -1
        tables[(idx + 1) % len(tables)].focus()

    def _member(self) -> view.MemberView | None:
        key = self.query_one("#members", LiveTable).selected_key
        q = view.queue_doc(self.console.doc, self.pbx, self.queue)
        found = next((m for m in view.members(q) if m.key == key), None) if q else None
        if found is None:
            self.notify("Select a member in the members table first.", severity="warning")
        return found

    def _run(self, command_id: str, flow: object) -> None:
        self.run_worker(flow, group="command")  # type: ignore[arg-type]

    def action_pause_member(self) -> None:
        if self.guard("member.pause") and (m := self._member()):
            self._run("member.pause", flows.pause(self, self.pbx, self.queue, m.interface, m.label))

    def action_unpause_member(self) -> None:
        if self.guard("member.unpause") and (m := self._member()):
            self._run(
                "member.unpause", flows.unpause(self, self.pbx, self.queue, m.interface, m.label)
            )

    def action_remove_member(self) -> None:
        if self.guard("member.remove") and (m := self._member()):
            self._run(
                "member.remove", flows.remove(self, self.pbx, self.queue, m.interface, m.label)
            )

    def action_set_penalty(self) -> None:
        if self.guard("member.penalty") and (m := self._member()):
            self._run(
                "member.penalty",
                flows.penalty(self, self.pbx, self.queue, m.interface, m.label, m.penalty),
            )

    def action_add_member(self) -> None:
        if self.guard("member.add"):
            self._run("member.add", flows.add(self, self.pbx, self.queue))

    def action_toggle_overflow(self) -> None:
        if self.guard("queues.overflow"):
            self._run("queues.overflow", flows.toggle_overflow(self, self.pbx, self.queue))
