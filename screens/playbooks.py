"""Playbooks: the centre's procedures, what the live alerts suggest, and starting one.

The list comes from the daemon (``{"op": "playbooks"}``: the playbooks it loaded, shipped
plus the site's own), the suggestions from the status document (``incident_suggestions``),
so an A8 suggestion shows the Erlang C staffing gap the daemon computed. ``s`` starts an
incident from the selected playbook: the variant is asked when the playbook has several,
and a confirmation names the playbook, the variant and whether it is a drill. ``d`` toggles
drill mode: a drill runs the same engine against the simulator only and never counts in
production statistics. Who may start is the playbook's own ``start_roles`` on top of the
role's capability; the daemon checks both again. A drill of a playbook with drill
scenarios (``trunk-down``, ``surge-x3``…) asks which one the simulator plays.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ccops.daemon.client import DaemonUnavailable
from ccops.screens.base import LiveScreen, plain_cell, tone_cell
from ccops.tui import incident_view, registry
from ccops.tui.dialogs import ChoiceModal, ConfirmModal
from ccops.tui.widgets.live_table import Column, LiveTable


def suggestion_text(s: dict[str, Any]) -> str:
    """One suggestion in words: the playbook, why, and the staffing gap when known."""
    why = "; ".join(str(r) for r in s.get("reasons") or []) or ", ".join(s.get("signals") or [])
    gap = s.get("staffing_gap")
    extra = ""
    if isinstance(gap, int | float) and gap > 0:
        extra = f" — Erlang C: {gap:g} agent(s) short"
    scopes = ", ".join(str(x) for x in s.get("scopes") or [])
    where = f" [{scopes}]" if scopes else ""
    drill = "DRILL scenario — " if s.get("drill") else ""
    return f"★ {drill}{s.get('title') or s.get('playbook')}{where}: {why}{extra}"


class PlaybooksScreen(LiveScreen):
    SCOPE = "playbooks"
    TITLE_TEXT = "Playbooks"
    BINDINGS = registry.bindings_for("playbooks")

    DEFAULT_CSS = """
    PlaybooksScreen #suggestions { height: auto; margin-bottom: 1; }
    PlaybooksScreen #mode { height: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.playbooks: list[dict[str, Any]] = []
        self.load_error = ""
        self.drill = False
        self._seen_suggestions: set[str] = set()
        self._loading = False

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="suggestions")
            yield Static("", id="mode")
            yield LiveTable(
                [
                    Column("id", "playbook", 26),
                    Column("title", "title"),
                    Column("category", "category", 13),
                    Column("roles", "who may start", 22),
                    Column("suggested", "suggested", 10),
                ],
                id="playbooks",
            )

    def on_mount(self) -> None:
        super().on_mount()
        self._load()

    def _load(self) -> None:
        if self._loading or not self.console.link.attached:
            return
        self._loading = True
        self.run_worker(self._fetch(), group="playbooks", exclusive=True)

    async def _fetch(self) -> None:
        try:
            reply = await self.console.link.request("playbooks")
        except (DaemonUnavailable, TimeoutError) as exc:
            self.load_error = f"playbook list not loaded: {exc}"
        else:
            if reply.get("type") == "error":
                self.load_error = f"playbook list not loaded: {reply.get('message')}"
            else:
                self.playbooks = [p for p in reply.get("playbooks") or [] if isinstance(p, dict)]
                self.load_error = ""
        finally:
            self._loading = False
        self.refresh_live()

    def document_changed(self) -> None:
        if not self.playbooks:
            self._load()
        self.refresh_live()

    def _suggested(self) -> dict[str, dict[str, Any]]:
        return {str(s.get("playbook")): s for s in incident_view.suggestions(self.console.doc)}

    def refresh_live(self) -> None:
        con = self.console
        pal = con.palette
        sugg = self._suggested()
        head = Text()
        if sugg:
            head.append("Suggested by the live alerts (the cursor goes to a new one; s starts "
                        "the selected playbook):\n", style=pal.strong)
            for i, s in enumerate(sugg.values()):
                if i:
                    head.append("\n")
                head.append(suggestion_text(s), style=pal.warn)
        else:
            head.append("No playbook suggested by the live alerts.", style=pal.muted)
        if self.load_error:
            head.append(f"\n{self.load_error}", style=pal.bad)
        self.query_one("#suggestions", Static).update(head)
        mode = Text()
        if self.drill:
            mode.append(" DRILL MODE ", style=pal.warn + Style(reverse=True))
            mode.append(" s starts a drill on the simulator (d: back to real incidents)")
        else:
            mode.append("s starts a REAL incident (d: drill mode)", style=pal.muted)
        self.query_one("#mode", Static).update(mode)
        rows = []
        for pb in self.playbooks:
            pid = str(pb.get("id"))
            is_sugg = pid in sugg
            rows.append(
                (
                    pid,
                    [
                        plain_cell(pid, sort_value=(not is_sugg, pid)),
                        plain_cell(str(pb.get("title") or "")),
                        plain_cell(str(pb.get("category") or "").replace("_", " ")),
                        plain_cell(", ".join(pb.get("start_roles") or [])),
                        tone_cell("★ yes" if is_sugg else "", "warn", con),
                    ],
                )
            )
        rows.sort(key=lambda r: (r[0] not in sugg, r[0]))
        table = self.query_one("#playbooks", LiveTable)
        table.sync(self.filtered(rows))
        new = [pid for pid in sorted(sugg) if pid not in self._seen_suggestions]
        self._seen_suggestions = set(sugg)
        if new and new[0] in table.keys:
            # A suggestion that just appeared is what the operator came for: put the cursor
            # on it, so `s` starts what the header shows rather than the row it sat on.
            table.select_key(new[0])

    def selected(self) -> dict[str, Any] | None:
        key = self.query_one("#playbooks", LiveTable).selected_key
        return next((p for p in self.playbooks if str(p.get("id")) == key), None)

    # ------------------------------------------------------------------ actions

    def action_toggle_drill(self) -> None:
        self.drill = not self.drill
        self.refresh_live()

    def action_start_incident(self) -> None:
        if not self.guard("playbooks.start"):
            return
        pb = self.selected()
        if pb is None:
            self.notify("Select a playbook first.", severity="warning")
            return
        role = self.console.link.role
        roles = [str(r) for r in pb.get("start_roles") or []]
        if role is None or role.value not in roles:
            self.notify(
                f"{pb.get('id')}: only {', '.join(roles) or 'nobody'} may start it "
                f"(you are {role.value if role else '?'})",
                title="Not available",
                severity="warning",
            )
            return
        self.run_worker(self._start_flow(pb, self.drill), group="command")

    async def _start_flow(self, pb: dict[str, Any], drill: bool) -> None:
        pid = str(pb.get("id"))
        variants: dict[str, str] = dict(pb.get("variants") or {})
        variant: str | None = None
        if variants:
            picked = await self.app.push_screen_wait(
                ChoiceModal(
                    f"{pid}: which case?",
                    lambda: Text(f"{pb.get('title')} has variants; the steps differ per case."),
                    [(k, f"{k}: {v}") for k, v in variants.items()],
                    hint="↑/↓ then Enter picks the case. Esc cancels.",
                )
            )
            if not picked:
                return
            variant = str(picked)
        scenario: str | None = None
        scenarios = [sc for sc in pb.get("drill_scenarios") or [] if isinstance(sc, dict)]
        if drill and scenarios:  # a drill may cause its own incident on the simulator
            picked_sc = await self.app.push_screen_wait(
                ChoiceModal(
                    f"{pid}: drill scenario",
                    lambda: Text("The simulator plays the scenario when the drill starts; "
                                 "closing the drill ends it."),
                    [(str(sc.get("name")), f"{sc.get('name')}: {sc.get('title')}"
                      + (" (default)" if sc.get("default") else "")) for sc in scenarios]
                    + [("-", "none: the drill without a scenario")],
                    hint="↑/↓ then Enter picks the scenario. Esc cancels.",
                )
            )
            if not picked_sc:
                return
            scenario = None if picked_sc == "-" else str(picked_sc)
        sugg = self._suggested().get(pid)

        def body() -> Text:
            pal = self.console.palette
            t = Text()
            kind = "a DRILL of" if drill else "a REAL incident from"
            t.append(f"Start {kind} playbook {pid} v{pb.get('version')}: {pb.get('title')}\n")
            t.append(f"Variant: {variant + ' — ' + variants[variant] if variant else 'none'}\n")
            if drill:
                t.append(
                    "Drill: PBX steps run on the simulator only; never counted in production "
                    "statistics.\n",
                    style=pal.warn,
                )
                t.append(f"Scenario: {scenario or 'none'}\n")
            else:
                t.append("Timers start now; notifications and pages go out.\n", style=pal.bad)
            if sugg is not None:
                t.append(suggestion_text(sugg) + "\n", style=pal.warn)
            unset = pb.get("unset_parameters") or []
            if unset:
                t.append(
                    f"Unset site parameters (PBX steps needing them will refuse): "
                    f"{', '.join(unset)}",
                    style=pal.muted,
                )
            return t

        ok = await self.app.push_screen_wait(
            ConfirmModal(
                f"Start {'drill' if drill else 'incident'}: {pid}",
                body,
                action_label="Start drill" if drill else "Start incident",
            )
        )
        if not ok:
            return
        params: dict[str, Any] = {"playbook": pid, "drill": drill}
        if scenario:
            params["scenario"] = scenario
        if variant:
            params["variant"] = variant
        result = await self.console.execute_command("start_incident", params)
        if result and result.get("status") == "ok":
            inc_id = (result.get("readback") or {}).get("incident_id")
            if isinstance(inc_id, int):
                from ccops.screens.incident import IncidentScreen

                self.app.push_screen(IncidentScreen(inc_id))
