"""Incidents: the open ones (``:incidents``) and one incident in full (Enter).

The list reads the status document (``incidents``); one incident is asked of the daemon
(``{"op": "incident", "incident_id": N}``: steps with owner and state, timers,
notifications, timeline, closure gates and the report) when it opens, whenever the status
document's summary of it changes (another operator completed a step), and every few
seconds while visible, so the timeline is live. Countdowns to the next deadline and the next
escalation tick every second from the timers' absolute due times.

Every action is a core command sent through the daemon, which authorises it, checks the
step's actor role and refuses a stale one with who did it first (the refusal is shown as
the daemon words it). Forms are validated with the daemon's own command models first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown, Static

from ccops.core.commands import CommandError, ReportField, parse_command
from ccops.daemon.client import DaemonUnavailable
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.screens.incident_close import close_flow
from ccops.tui import fmt, incident_view, registry
from ccops.tui.dialogs import ConfirmModal, Field, FormModal
from ccops.tui.widgets.live_table import Cell, Column, LiveTable

POLL_S = 2.0  # re-read the open incident this often while it is visible (live timeline)
STATE_TONE = {
    "pending": "warn", "fired": "bad", "active": "bad", "armed": "muted", "done": "good",
    "waived": "muted", "acknowledged": "good", "cancelled": "muted",
}  # fmt: skip


def problems_of(name: str, params: dict[str, Any]) -> list[str]:
    """The daemon's own validation of a command, as short messages for a form."""
    try:
        parse_command(name, params)
    except CommandError as exc:
        return [p.split(": ", 1)[-1] for p in exc.problems]
    return []


# --------------------------------------------------------------------------- the list


class IncidentsScreen(LiveScreen):
    SCOPE = "incidents"
    TITLE_TEXT = "Incidents"
    BINDINGS = registry.bindings_for("incidents")

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="summary")
            yield LiveTable(
                [
                    Column("id", "#", 5, right=True),
                    Column("kind", "kind", 6),
                    Column("playbook", "playbook", 24),
                    Column("title", "title"),
                    Column("level", "level", 6, right=True),
                    Column("next", "next due", 14, right=True),
                    Column("steps", "steps", 28),
                ],
                id="incidents",
            )

    def refresh_live(self) -> None:
        con = self.console
        now = con.now()
        incs = incident_view.incidents(con.doc)
        rows: list[tuple[str, list[Cell]]] = []
        for i in incs:
            steps = ", ".join(f"{n} {s}" for s, n in sorted(i.steps.items()))
            rows.append(
                (
                    str(i.id),
                    [
                        plain_cell(str(i.id), sort_value=i.id, right=True),
                        tone_cell(
                            "DRILL" if i.drill else "REAL", "warn" if i.drill else "bad", con
                        ),
                        plain_cell(i.playbook + (f" ({i.variant})" if i.variant else "")),
                        plain_cell(i.title),
                        plain_cell(f"L{i.level}" if i.level else fmt.DASH, right=True),
                        plain_cell(
                            incident_view.countdown(i.next_due, now),
                            sort_value=i.next_due,
                            right=True,
                        ),
                        plain_cell(steps),
                    ],
                )
            )
        self.query_one("#incidents", LiveTable).sync(self.filtered(rows))
        self.query_one("#summary", Static).update(
            f"{len(incs)} open incident(s); Enter opens one"
            if incs
            else "No open incident. Start one from :playbooks."
        )

    def refresh_chrome(self) -> None:
        super().refresh_chrome()
        if self.can_refresh:
            self.refresh_live()  # countdowns move every second

    def action_open_incident(self) -> None:
        key = self.query_one("#incidents", LiveTable).selected_key
        if key is None:
            self.notify("No incident selected.", severity="warning")
            return
        self.app.push_screen(IncidentScreen(int(key)))

    def on_strip_table_row_selected(self) -> None:  # Enter on the focused table
        self.action_open_incident()


# --------------------------------------------------------------------------- one incident


class ReportModal(ModalScreen[None]):
    """The incident report as Markdown, as ``ccops incident report ID`` exports it."""

    DEFAULT_CSS = """
    ReportModal { align: center middle; }
    ReportModal > Vertical {
        width: 96; max-width: 98%; height: 90%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    ReportModal .title { text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, title: str, markdown: str) -> None:
        super().__init__()
        self.title_text = title
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.title_text} — Esc closes", classes="title")
            with VerticalScroll():
                yield Markdown(self.markdown, id="report")

    def action_close(self) -> None:
        self.dismiss(None)


class IncidentScreen(LiveScreen):
    SCOPE = "incident"
    BINDINGS = registry.bindings_for("incident")

    DEFAULT_CSS = """
    IncidentScreen #head { height: auto; margin-bottom: 1; }
    IncidentScreen #steps { max-height: 45%; }
    IncidentScreen .section { text-style: bold; margin-top: 1; }
    IncidentScreen #gates { height: auto; }
    IncidentScreen #pbx_readback { height: auto; max-height: 12; }
    """

    def __init__(self, incident_id: int) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.data: dict[str, Any] | None = None
        self.load_error = ""
        self._summary_sig: Any = None
        self._fetching = False
        self.close_result: Text | None = None  # what the last close from here did

    def crumbs(self) -> list[str]:
        short = ""
        if self.data is not None:
            short = " " + str(self.data.get("playbook", "")).split("_", 1)[0].upper()
        return ["Incidents", f"#{self.incident_id}{short}"]

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="head")
            yield LiveTable(
                [
                    Column("id", "step", 16),
                    Column("kind", "kind", 10),
                    Column("title", "what", 36),
                    Column("actor", "owner", 14),
                    Column("state", "state", 12),
                    Column("when", "due / by", 18),
                ],
                id="steps",
            )
            yield Static("", id="gates")
            yield Static("", id="pbx_readback")  # per-person PBX read-back (standby call-out)
            yield Static("Timeline", classes="section")
            yield LiveTable(
                [
                    Column("at", "time", 9),
                    Column("actor", "who", 12),
                    Column("kind", "event", 14),
                    Column("step", "step", 14),
                    Column("detail", "detail"),
                ],
                id="timeline",
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.fetch()
        self.set_interval(POLL_S, self._poll)

    # ------------------------------------------------------------------ data

    def fetch(self) -> None:
        if self._fetching or not self.console.link.attached:
            return
        self._fetching = True
        self.run_worker(self._fetch(), group="incident-fetch")

    async def _fetch(self) -> None:
        try:
            reply = await self.console.link.request("incident", incident_id=self.incident_id)
        except (DaemonUnavailable, TimeoutError) as exc:
            self.load_error = f"incident not refreshed: {exc}"
        else:
            found = reply.get("incident")
            if reply.get("type") == "error" or not isinstance(found, dict):
                self.load_error = str(reply.get("message") or "no such incident")
            else:
                self.data = found
                self.load_error = ""
        finally:
            self._fetching = False
        if self.can_refresh:
            self.refresh_live()
            self.refresh_chrome()

    def _poll(self) -> None:
        if self.app.screen is self and self.can_refresh:
            self.fetch()

    def document_changed(self) -> None:
        sig = next(
            (
                (i.level, i.next_due, tuple(sorted(i.steps.items())))
                for i in incident_view.incidents(self.console.doc)
                if i.id == self.incident_id
            ),
            None,
        )
        if sig != self._summary_sig:  # a change by anyone: re-read at once
            self._summary_sig = sig
            self.fetch()
        self.refresh_live()

    def step(self, step_id: str | None) -> dict[str, Any] | None:
        if self.data is None or step_id is None:
            return None
        return next((s for s in self.data.get("steps") or [] if s.get("id") == step_id), None)

    def selected_step(self) -> dict[str, Any] | None:
        return self.step(self.query_one("#steps", LiveTable).selected_key)

    # ------------------------------------------------------------------ display

    def head_text(self) -> Text:
        con = self.console
        pal = con.palette
        now = con.now()
        t = Text()
        d = self.data
        if d is None:
            t.append(
                self.load_error or f"loading incident {self.incident_id}…",
                style=pal.bad if self.load_error else pal.muted,
            )
            return t
        if d.get("drill"):
            t.append(" DRILL ", style=pal.warn + Style(reverse=True))
            t.append(" ")
            sc = d.get("scenario")
            if isinstance(sc, dict):  # the drill caused its incident on the simulator
                t.append(f"DRILL — scenario: {sc.get('name')} ({sc.get('state')})  ",
                         style=pal.warn)
        status = str(d.get("status"))
        t.append(f"#{d.get('id')} {d.get('title')}", style=pal.strong)
        t.append(f"  ({d.get('playbook')} v{d.get('version')}")
        t.append(f", {d.get('variant')})" if d.get("variant") else ")")
        t.append(f"  {status.upper()}", style=pal.good if status == "closed" else pal.bad)
        t.append("\n")
        t.append(
            f"detected {fmt.clock(d.get('detected_at'))}, started "
            f"{fmt.clock(d.get('started_at'))} by {d.get('started_by') or '?'}"
        )
        if d.get("site"):
            t.append(f", site {d.get('site')}")
        level = int(d.get("level") or 0)
        if level:
            t.append("   surge level ")
            t.append(f"L{level}", style=pal.bad)
            t.append(f" since {fmt.clock(d.get('level_started_at'))}")
        t.append("\n")
        nxt = incident_view.next_timer(d, ("deadline", "watchdog"))
        esc = incident_view.next_timer(d, ("level",))
        t.append("next deadline: ")
        if nxt is not None:
            t.append(incident_view.countdown(float(nxt["due_at"]), now), style=pal.warn)
            t.append(f" ({nxt['step']}, {nxt['kind']})")
        else:
            t.append("none armed", style=pal.muted)
        t.append("   next escalation: ")
        if esc is not None:
            t.append(incident_view.countdown(float(esc["due_at"]), now), style=pal.warn)
            t.append(f" (to L{esc.get('level')})")
        else:
            t.append("none armed", style=pal.muted)
        if self.load_error:
            t.append(f"\n{self.load_error}", style=pal.bad)
        return t

    def _when(self, s: dict[str, Any], now: float) -> str:
        state = s.get("state")
        if state in ("done", "waived") and s.get("done_at"):
            return f"{fmt.clock(s['done_at'])} {s.get('done_by') or ''}".strip()
        if state == "acknowledged" and s.get("acked_at"):
            return f"ack {fmt.clock(s['acked_at'])} {s.get('acked_by') or ''}".strip()
        assert self.data is not None
        due = incident_view.step_due(self.data, str(s.get("id")))
        if due is not None:
            return f"in {incident_view.countdown(due, now)}"
        if s.get("overdue_since"):
            return f"OVERDUE {incident_view.countdown(float(s['overdue_since']), now)}"
        return fmt.DASH

    def refresh_live(self) -> None:
        con = self.console
        now = con.now()
        self.query_one("#head", Static).update(self.head_text())
        d = self.data
        if d is None:
            return
        rows: list[tuple[str, list[Cell]]] = []
        for i, s in enumerate(d.get("steps") or []):
            state = str(s.get("state"))
            title = str(s.get("title") or "")
            if s.get("optional"):
                title = "(opt) " + title
            rows.append(
                (
                    str(s.get("id")),
                    [
                        plain_cell(str(s.get("id")), sort_value=i),
                        plain_cell(str(s.get("kind"))),
                        plain_cell(title),
                        plain_cell(str(s.get("actor"))),
                        tone_cell(state, STATE_TONE.get(state, ""), con),
                        plain_cell(self._when(s, now)),
                    ],
                )
            )
        self.query_one("#steps", LiveTable).sync(self.filtered(rows))
        gates = Text()
        problems = d.get("closure_problems") or []
        if d.get("status") == "open":
            if problems:
                gates.append("Closure blocked: ", style=con.palette.bad)
                gates.append("; ".join(str(p) for p in problems))
                if d.get("pbx_changes"):
                    gates.append("  (C offers to undo the PBX changes and close)")
            else:
                gates.append("Closure requirements met: C closes.", style=con.palette.good)
        if self.close_result is not None:
            gates.append("\n" if gates.plain else "")
            gates.append_text(self.close_result)
        self.query_one("#gates", Static).update(gates)
        readback = incident_view.pbx_readback(d, con.palette)
        box = self.query_one("#pbx_readback", Static)
        box.display = readback is not None
        if readback is not None:
            box.update(readback)
        timeline: list[tuple[str, list[Cell]]] = []
        for n, e in enumerate(reversed(d.get("timeline") or [])):
            timeline.append(
                (
                    f"e{len(d.get('timeline') or []) - n}",
                    [
                        plain_cell(fmt.clock(e.get("at")), sort_value=-n),
                        plain_cell(str(e.get("actor") or "")),
                        plain_cell(str(e.get("kind") or "")),
                        plain_cell(str(e.get("step") or "")),
                        plain_cell(str(e.get("detail") or "")),
                    ],
                )
            )
        self.query_one("#timeline", LiveTable).sync(timeline)

    def refresh_chrome(self) -> None:
        super().refresh_chrome()
        if self.can_refresh:
            self.refresh_live()  # countdowns move every second

    def primary_table(self) -> LiveTable:
        focused = self.focused
        if isinstance(focused, LiveTable):
            return focused
        return self.query_one("#steps", LiveTable)

    # ------------------------------------------------------------------ actions

    def _ready(self, command_id: str, *, need_step: bool = True) -> dict[str, Any] | None:
        """Guard (role, links), then the selected step; None when the action cannot go on."""
        if not self.guard(command_id):
            return None
        if self.data is None:
            self.notify("The incident is not loaded yet.", severity="warning")
            return None
        if self.data.get("status") != "open":
            self.notify(
                f"Incident {self.incident_id} is {self.data.get('status')}.", severity="warning"
            )
            return None
        if not need_step:
            return self.data
        step = self.selected_step()
        if step is None:
            self.notify("Select a step first.", severity="warning")
        return step

    def _send(self, name: str, params: dict[str, Any]) -> None:
        async def go() -> None:
            await self.console.execute_command(name, params)
            self.fetch()

        self.run_worker(go(), group="command")

    def _form(
        self,
        title: str,
        body: Callable[[], Text],
        fields: list[Field],
        name: str,
        build: Callable[[dict[str, Any]], dict[str, Any]],
        label: str,
    ) -> None:
        async def flow() -> None:
            values = await self.app.push_screen_wait(
                FormModal(
                    title,
                    body,
                    fields,
                    validate=lambda v: problems_of(name, build(v)),
                    action_label=label,
                )
            )
            if values is None:
                return
            await self.console.execute_command(name, build(values))
            self.fetch()

        self.run_worker(flow(), group="command")

    def _step_body(self, step: dict[str, Any], extra: str = "") -> Callable[[], Text]:
        def body() -> Text:
            t = Text(
                f"Incident {self.incident_id}, step {step.get('id')} ({step.get('kind')}, "
                f"owner {step.get('actor')}): {step.get('title')}\n"
            )
            if step.get("text"):
                t.append(str(step["text"]) + "\n", style=self.console.palette.muted)
            fresh = self.step(str(step.get("id"))) or step
            t.append(f"state now: {fresh.get('state')}")
            if extra:
                t.append("\n" + extra)
            return t

        return body

    def action_complete_step(self) -> None:
        step = self._ready("incident.complete")
        if step is None:
            return
        sid = str(step.get("id"))
        specs = [f for f in step.get("fields") or [] if isinstance(f, dict)]
        fields = []
        for f in specs:
            hint = f.get("type") or "text"
            if f.get("choices"):
                hint = " | ".join(f["choices"])
            elif hint == "bool":
                hint = "yes | no"
            fields.append(
                Field(
                    f"r_{f['name']}",
                    str(f.get("label") or f["name"]),
                    placeholder=str(hint),
                    optional=not f.get("required", True),
                )
            )
        fields.append(Field("note", "Note", placeholder="optional", optional=True))

        def build(v: dict[str, Any]) -> dict[str, Any]:
            record = {k[2:]: str(x) for k, x in v.items() if k.startswith("r_") and str(x)}
            out: dict[str, Any] = {"incident_id": self.incident_id, "step": sid, "record": record}
            if v.get("note"):
                out["note"] = v["note"]
            return out

        self._form(
            f"Complete step {sid}",
            self._step_body(step),
            fields,
            "complete_step",
            build,
            "Complete",
        )

    def action_waive_step(self) -> None:
        step = self._ready("incident.waive")
        if step is None:
            return
        sid = str(step.get("id"))

        def build(v: dict[str, Any]) -> dict[str, Any]:
            return {"incident_id": self.incident_id, "step": sid, "waive": True,
                    "note": str(v.get("note") or "")}

        def validate(v: dict[str, Any]) -> list[str]:
            if not str(v.get("note") or "").strip():
                return ["a note saying why the step is waived is required"]
            return problems_of("complete_step", build(v))

        async def flow() -> None:
            body = self._step_body(
                step, "Waiving records that this step was not done, and why; it then counts "
                "as finished for closure. The note goes on the timeline and in the report."
            )
            values = await self.app.push_screen_wait(
                FormModal(f"Waive step {sid}", body, [Field("note", "Why (required)")],
                          validate=validate, action_label="Waive")
            )
            if values is None:
                return
            await self.console.execute_command("complete_step", build(values))
            self.fetch()

        self.run_worker(flow(), group="command")

    def action_acknowledge_step(self) -> None:
        step = self._ready("incident.ack")
        if step is None:
            return
        sid = str(step.get("id"))

        async def flow() -> None:
            ok = await self.app.push_screen_wait(
                ConfirmModal(
                    f"Acknowledge step {sid}", self._step_body(step), action_label="Acknowledge"
                )
            )
            if ok:
                await self.console.execute_command(
                    "acknowledge_step", {"incident_id": self.incident_id, "step": sid}
                )
                self.fetch()

        self.run_worker(flow(), group="command")

    def action_add_note(self) -> None:
        if self._ready("incident.note", need_step=False) is None:
            return
        self._form(
            f"Note on incident {self.incident_id}",
            lambda: Text("The note lands on the timeline with your name and the time."),
            [Field("text", "Note")],
            "add_incident_note",
            lambda v: {"incident_id": self.incident_id, "text": v.get("text", "")},
            "Add note",
        )

    def action_change_timer(self) -> None:
        d = self._ready("incident.timer", need_step=False)
        if d is None:
            return
        nxt = incident_view.next_timer(d)
        armed = [str(t["key"]) for t in d.get("timers") or [] if t.get("state") == "armed"]

        def body() -> Text:
            now = self.console.now()
            t = Text("Move a timer; a note saying why is required.\nArmed timers: ")
            timers = [x for x in (self.data or d).get("timers") or [] if x.get("state") == "armed"]
            t.append(
                ", ".join(
                    f"{x['key']} in {incident_view.countdown(x.get('due_at'), now)}" for x in timers
                )
                or "none"
            )
            return t

        self._form(
            f"Change a timer of incident {self.incident_id}",
            body,
            [
                Field(
                    "timer",
                    "Timer",
                    default=str(nxt["key"]) if nxt else "",
                    placeholder=" | ".join(armed),
                ),
                Field("due_in_min", "Due in (minutes from now)", integer=True),
                Field("note", "Why (required)"),
            ],
            "change_timer",
            lambda v: {"incident_id": self.incident_id, **v},
            "Move timer",
        )

    def action_set_level(self) -> None:
        d = self._ready("incident.level", need_step=False)
        if d is None:
            return
        level = int(d.get("level") or 0)
        self._form(
            f"Surge level of incident {self.incident_id}",
            lambda: Text(f"Current support level: L{level}. A note saying why is required."),
            [
                Field("level", "Level", default=str(level + 1), integer=True),
                Field("note", "Why (required)"),
            ],
            "set_surge_level",
            lambda v: {"incident_id": self.incident_id, **v},
            "Set level",
        )

    def action_set_report_field(self) -> None:
        d = self.data
        drill = bool(d and d.get("drill"))
        if drill and d is not None and d.get("status") != "open":
            # A closed drill still takes its record's evaluation and participants (debrief).
            if not self.guard("incident.report_field"):
                return
            items = [ReportField.EVALUATION.value, ReportField.PARTICIPANTS.value]
        elif self._ready("incident.report_field", need_step=False) is None:
            return
        else:
            drill_items = (ReportField.EVALUATION, ReportField.PARTICIPANTS)
            items = [f.value for f in ReportField if drill or f not in drill_items]
        self._form(
            f"Report of incident {self.incident_id}",
            lambda: Text("Items of the incident report (domain.md §2.5)"
                         + ("; a drill's record also takes evaluation and participants."
                            if drill else ".")),
            [
                Field("field", "Item", placeholder=" | ".join(items)),
                Field("text", "Text"),
            ],
            "set_report_field",
            lambda v: {"incident_id": self.incident_id, **v},
            "Save",
        )

    def action_standby_callout(self) -> None:
        """The palette's "Standby call-out": this incident's ``page_standby`` step, run like
        any PBX step (preview, confirm, read-back) wherever the cursor was."""
        steps = [s for s in (self.data or {}).get("steps") or []
                 if isinstance(s.get("pbx"), dict) and s["pbx"].get("command") == "page_standby"]
        if not steps:
            self.notify("This incident has no standby call-out step ready to run (select a "
                        "PBX step and press x to see why).", severity="warning")
            return
        self.query_one("#steps", LiveTable).select_key(str(steps[0]["id"]))
        self.action_run_pbx_step()

    def action_run_pbx_step(self) -> None:
        step = self._ready("incident.pbx")
        if step is None:
            return
        sid = str(step.get("id"))
        preview = step.get("pbx")
        if step.get("kind") != "pbx" or not isinstance(preview, dict):
            self.notify(f"Step {sid} is not a PBX action.", severity="warning")
            return
        if preview.get("error"):
            self.notify(f"Step {sid} cannot run: {preview['error']}", severity="error", timeout=10)
            return
        drill = bool(self.data and self.data.get("drill"))
        standby = preview.get("command") == "page_standby"  # pages: minutes, not seconds

        def body() -> Text:
            pal = self.console.palette
            t = self._step_body(step)()
            t.append("\n\nThis will run on the PBX:\n", style=pal.strong)
            t.append(f"  {preview.get('summary')}\n", style=pal.bad)
            t.append(f"  {preview.get('command')} {json.dumps(preview.get('params'))}\n")
            t.append("Its undo is recorded; closing the incident offers to undo it.")
            if standby:
                t.append("\nEach person is phoned; whoever presses 1 is added to the queue (one "
                         "undo each). Pages take minutes: progress shows as notices, the "
                         "per-person read-back under the steps.")
            if drill:
                t.append("\nDRILL: sent to the simulator only.", style=pal.warn)
            return t

        async def flow() -> None:
            ok = await self.app.push_screen_wait(
                ConfirmModal(
                    f"Run PBX step {sid}", body, action_label="Run on PBX", destructive=True
                )
            )
            if ok:
                await self.console.execute_command(
                    "run_pbx_step", {"incident_id": self.incident_id, "step": sid},
                    timeout=PAGE_TIMEOUT_S if standby else None,
                )
                self.fetch()

        self.run_worker(flow(), group="command")

    def action_close_incident(self) -> None:
        d = self._ready("incident.close", need_step=False)
        if d is None:
            return
        close_flow(self, self.incident_id, lambda: self.data or d, self.fetch,
                   self._show_close_result)

    def _show_close_result(self, text: Text) -> None:
        self.close_result = text
        if self.can_refresh:
            self.refresh_live()

    def action_show_report(self) -> None:
        if self.data is None:
            self.notify("The incident is not loaded yet.", severity="warning")
            return
        self.app.push_screen(
            ReportModal(f"Incident {self.incident_id} report", str(self.data.get("report") or ""))
        )

    def action_page_person(self) -> None:
        d = self._ready("incident.page", need_step=False)
        if d is None:
            return
        step = self.selected_step()
        ref = f"incident {self.incident_id}" + (f" step {step.get('id')}" if step else "")
        # A notification step's phone target (not yet acknowledged) is who to page again.
        person = next(
            (
                str(n.get("target"))
                for n in reversed(d.get("notifications") or [])
                if n.get("channel") == "phone"
                and n.get("acked_at") is None
                and (step is None or n.get("step") == step.get("id"))
            ),
            "",
        )
        page_flow(self, person, f"incident {self.incident_id}: {d.get('title')}"[:200], ref)


# --------------------------------------------------------------------------- paging

PAGE_TIMEOUT_S = 900.0  # a page retries for minutes; progress comes as pager frames


def page_flow(screen: LiveScreen, person: str, message: str, ref: str | None) -> None:
    """Ask who to page (and why), then page them in the background: the dialling,
    answered, acknowledged or failed frames of the pager show as notifications meanwhile,
    so the console never waits on the phone."""

    def build(v: dict[str, Any]) -> dict[str, Any]:
        out = {k: x for k, x in v.items() if x}
        if ref:
            out["ref"] = ref
        return out

    async def flow() -> None:
        values = await screen.app.push_screen_wait(
            FormModal(
                "Page an on-call person",
                lambda: Text(
                    "The PBX calls their extension or mobile (on-call roster) until "
                    "they press 1. Emergency numbers are never dialled."
                ),
                [
                    Field("person", "Person (roster name)", default=person),
                    Field("message", "Why", default=message or "page"),
                ],
                validate=lambda v: problems_of("page_person", build(v)),
                action_label="Page",
            )
        )
        if values is None:
            return
        screen.notify(f"paging {values.get('person')}… progress follows", timeout=4)
        await screen.console.execute_command("page_person", build(values), timeout=PAGE_TIMEOUT_S)

    screen.run_worker(flow(), group="page")
