"""Closing an incident from the console, with the PBX changes it made still in force.

Why a dialog of its own: at the end of a surge the team leader must decide, for every PBX
change the incident made (overflow on, an announcement, a standby seat added), whether it
goes back now or stays. The daemon can undo them all in one action (``close_incident`` with
``undo_pbx_changes``: each undo authorised for this operator, audited and read back from
Asterisk, the incident closed only if all of them held), or close keeping them with a note.
So the dialog lists each change — what, since when, by whom, what its undo sets — and offers:

* **Undo N change(s) and close** (``u``), destructive;
* **Keep changes and close…** (``k``), which then asks for the required note;
* **Cancel** (Esc), focused when the dialog opens: Enter alone never changes the PBX.

Afterwards the result stays on the incident screen, under the closure gates, as the daemon
gave it: each undo and what Asterisk read back, or the refusal with the change still in
place (a notice says it too). Without open changes closing stays the plain confirmation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from ccops.core.commands import CommandError, parse_command
from ccops.screens.base import LiveScreen
from ccops.tui import fmt
from ccops.tui.dialogs import ConfirmModal, Field, FormModal, LiveBody

UNDO = "undo"
KEEP = "keep"
UNDO_TIMEOUT_S = 180.0  # several undos, each a PBX round trip and a read-back
_PBX_GATE = "PBX change of step "  # closure_problems() wording for an open undo


def undo_label(count: int) -> str:
    return f"Undo {count} change(s) and close"


def change_lines(changes: list[dict[str, Any]], t: Text, strong: Any) -> None:
    """One bullet per open change: what, step, since when and by whom, what undo sets."""
    for c in changes:
        t.append("  • ")
        t.append(str(c.get("what") or "?"), style=strong)
        t.append(
            f" — step {c.get('step')}, since {fmt.clock(c.get('since'))} by {c.get('by') or '?'}"
            f"; undo sets: {c.get('undo')}\n"
        )


class CloseIncidentModal(ModalScreen[str | None]):
    """The three-way close: undo and close, keep and close (note next), or cancel."""

    DEFAULT_CSS = """
    CloseIncidentModal { align: center middle; }
    CloseIncidentModal > Vertical {
        width: 96; max-width: 98%; height: auto; max-height: 90%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    CloseIncidentModal .title { text-style: bold; margin-bottom: 1; }
    CloseIncidentModal VerticalScroll { height: auto; max-height: 24; }
    CloseIncidentModal .hint { color: $text-muted; margin-top: 1; }
    CloseIncidentModal Horizontal.buttons { height: 1; margin-top: 1; align-horizontal: right; }
    CloseIncidentModal Button { margin-left: 2; min-width: 12; }
    CloseIncidentModal Button:focus { text-style: bold reverse; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("u", "choose('undo')", "Undo and close"),
        Binding("k", "choose('keep')", "Keep and close"),
    ]

    def __init__(self, title: str, body: Callable[[], Text], count: Callable[[], int]) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            with VerticalScroll():
                yield LiveBody(self.body, id="body")
            with Horizontal(classes="buttons"):
                yield Button(undo_label(self.count()), id="undo-close", variant="error",
                             compact=True)
                yield Button("Keep changes and close…", id="keep-close", variant="warning",
                             compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Label("u: undo and close   k: keep and close (asks a note)   Esc: cancel",
                        classes="hint")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def refresh_live(self) -> None:
        for body in self.query(LiveBody):
            body.recompute()
        self.query_one("#undo-close", Button).label = undo_label(self.count())

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss({"undo-close": UNDO, "keep-close": KEEP}.get(event.button.id or ""))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)


def result_text(result: dict[str, Any], incident_id: int, palette: Any) -> Text:
    """The daemon's answer for the incident screen: closed or not, then one line per undo
    it ran with what Asterisk read back (kept on screen under the closure gates)."""
    ok = result.get("status") == "ok"
    t = Text()
    t.append(f"Incident {incident_id} " + ("closed: " if ok else "NOT closed: "),
             style=palette.good if ok else palette.bad)
    t.append(str(result.get("detail") or result.get("status") or ""))
    readback = result.get("readback") or {}
    for name, row in (readback.items() if isinstance(readback, dict) else ()):
        if not isinstance(row, dict):
            continue
        mark = "✓" if row.get("ok") else "✗"
        audit = f", audit #{row['audit_seq']}" if row.get("audit_seq") else ""
        t.append(f"\n  {mark} {row.get('change')} (step {row.get('step')}, {name}): "
                 f"{row.get('asterisk')}{audit}",
                 style=None if row.get("ok") else palette.bad)
    return t


def _note_problems(params: dict[str, Any]) -> list[str]:
    if not str(params.get("note") or "").strip():
        return ["a note saying why the changes stay is required"]
    try:
        parse_command("close_incident", params)
    except CommandError as exc:
        return [p.split(": ", 1)[-1] for p in exc.problems]
    return []


def close_flow(
    screen: LiveScreen,
    incident_id: int,
    current: Callable[[], dict[str, Any]],
    refetch: Callable[[], None],
    show: Callable[[Text], None],
) -> None:
    """Ask how to close (three-way when PBX changes are open, else a plain confirmation),
    send ``close_incident`` and hand what the daemon did to ``show`` (the incident screen
    keeps it in view; no extra dialog to dismiss)."""
    con = screen.console

    def changes() -> list[dict[str, Any]]:
        return [c for c in current().get("pbx_changes") or [] if isinstance(c, dict)]

    def body() -> Text:
        pal = con.palette
        cur = current()
        t = Text(f"Close incident {incident_id}: {cur.get('title')}\n")
        now = changes()
        # the open changes are listed below in full; their gate lines would only repeat them
        gates = [str(p) for p in cur.get("closure_problems") or []
                 if not (now and str(p).startswith(_PBX_GATE))]
        if gates:
            t.append("Closure gates NOT met — the daemon will refuse"
                     + (" (nothing is undone)" if now else "") + ":\n", style=pal.bad)
            for g in gates:
                t.append(f"  • {g}\n")
        elif not now:
            t.append("All closure requirements hold and no PBX change is left undone.\n",
                     style=pal.good)
        if now:
            t.append(f"\nPBX changes this incident made, still in force ({len(now)}):\n",
                     style=pal.warn)
            change_lines(now, t, pal.strong)
            if cur.get("drill"):
                t.append("DRILL: these were made on the simulator; undone there only.\n",
                         style=pal.warn)
            t.append("\nu: undo them now, newest first — each read back from Asterisk and "
                     "audited; the incident closes only if every undo holds.\n"
                     "k: keep them and close; a note saying why is required.\n")
        t.append("Closing stops every timer and produces the incident report.",
                 style=pal.muted)
        return t

    async def send(params: dict[str, Any]) -> None:
        result = await con.execute_command("close_incident", params, timeout=UNDO_TIMEOUT_S)
        if result is not None:
            show(result_text(result, incident_id, con.palette))
        refetch()

    async def flow() -> None:
        base: dict[str, Any] = {"incident_id": incident_id}
        if not changes():
            ok = await screen.app.push_screen_wait(
                ConfirmModal(f"Close incident {incident_id}", body,
                             action_label="Close incident", destructive=True)
            )
            if ok:
                await con.execute_command("close_incident", base)
                refetch()
            return
        choice = await screen.app.push_screen_wait(
            CloseIncidentModal(f"Close incident {incident_id}", body, lambda: len(changes()))
        )
        if choice == UNDO:
            await send({**base, "undo_pbx_changes": True})
        elif choice == KEEP:

            def keep_body() -> Text:
                t = Text("These PBX changes stay in force after closing:\n")
                change_lines(changes(), t, con.palette.strong)
                t.append("The note goes on the timeline and in the report.")
                return t

            values = await screen.app.push_screen_wait(
                FormModal(
                    f"Keep PBX changes and close incident {incident_id}",
                    keep_body,
                    [Field("note", "Why they stay (required)")],
                    validate=lambda v: _note_problems({**base, "keep_pbx_changes": True, **v}),
                    action_label="Keep and close",
                )
            )
            if values is not None:
                await send({**base, "keep_pbx_changes": True, "note": values["note"]})

    screen.run_worker(flow(), group="command")
