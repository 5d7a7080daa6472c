"""The close dialog of an incident with PBX changes still in force, driven by its keys
against the real daemon on the simulator: it lists the change (what, since when, what undo
sets), opens on Cancel (Enter and Esc change nothing), ``u`` undoes and closes (the result,
with what Asterisk read back, stays on the incident screen), ``k`` asks for the required
note and keeps the change; and
a step can be waived with a note from the incident screen."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Static
from tui_helpers import daemon_settings, make_app, until

from ccops.config import PlaybooksConfig
from ccops.core.commands import CompleteStep, RunPbxStep, StartIncident
from ccops.core.execute import Operator
from ccops.core.incident_state import IncidentStatus
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.screens.incident import IncidentScreen
from ccops.screens.incident_close import CloseIncidentModal
from ccops.store.incidents import IncidentStore
from ccops.tui import view
from ccops.tui.app import CcopsApp
from ccops.tui.dialogs import FormModal, LiveBody
from ccops.tui.widgets.live_table import LiveTable

PARAMS = {
    "a8_call_surge": {"pbx": "sim", "surge_queue": "hotline", "overflow_destination": "voicemail"}
}
LI = Operator(name="li", role=Role.SUPERVISOR, session_id="t-li", via="local")
KEY = "/ccops/overflow/hotline"


@pytest.fixture
async def d(state_dir: Path) -> AsyncIterator[Daemon]:
    settings = daemon_settings(state_dir)
    settings = settings.model_copy(update={"playbooks": PlaybooksConfig(parameters=PARAMS)})
    daemon = Daemon(settings)
    await daemon.start()

    def identify(uid: int, pid: int) -> Operator:
        return Operator(name="li", role=Role.SUPERVISOR, session_id=f"t-{secrets.token_hex(3)}",
                        via="local")

    assert daemon.api is not None
    daemon.api.identify = identify
    yield daemon
    with contextlib.suppress(Exception):
        await daemon.stop()


async def surge_with_overflow(d: Daemon) -> None:
    """A surge drill whose overflow step ran on the simulator, surge controlled."""
    assert (await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True))).ok
    ran = await d.execute(LI, RunPbxStep(incident_id=1, step="overflow"))
    assert ran.ok, ran.detail
    assert (await d.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                             record={"controlled_at": "drill end"}))).ok


async def open_incident(pilot: Any, app: CcopsApp) -> IncidentScreen:
    await until(pilot, lambda: app.link.attached, what="attached")
    app.push_screen(IncidentScreen(1))
    await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="incident screen")
    inc = app.screen
    assert isinstance(inc, IncidentScreen)
    await until(pilot, lambda: inc.data is not None and inc.data.get("pbx_changes"),
                what="incident with its PBX change loaded")
    return inc


async def open_close_dialog(pilot: Any, app: CcopsApp) -> CloseIncidentModal:
    await pilot.press("C")
    await until(pilot, lambda: isinstance(app.screen, CloseIncidentModal), what="close dialog")
    modal = app.screen
    assert isinstance(modal, CloseIncidentModal)
    return modal


async def test_undo_and_close_from_the_dialog(d: Daemon) -> None:
    await surge_with_overflow(d)
    app = make_app(d.socket_path)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        inc = await open_incident(pilot, app)
        await until(pilot, lambda: any(f.key == "overflow/hotline" for f in view.flags(app.doc)),
                    what="flag on in the console")
        modal = await open_close_dialog(pilot, app)
        body = modal.query_one(LiveBody).plain
        assert "overflow hotline → voicemail — step overflow, since " in body
        assert "by li; undo sets: off" in body and "DRILL" in body
        labels = {str(b.id): str(b.label) for b in modal.query(Button)}
        assert labels == {"undo-close": "Undo 1 change(s) and close",
                          "keep-close": "Keep changes and close…", "cancel": "Cancel"}
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        await pilot.press("enter")  # Enter lands on Cancel: nothing sent
        await until(pilot, lambda: app.screen is inc, what="back after Enter")
        await open_close_dialog(pilot, app)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is inc, what="back after Esc")
        assert app.results == []
        assert d.sim is not None and d.sim.astdb.get(KEY) == "voicemail"

        await open_close_dialog(pilot, app)
        await pilot.press("u")
        await until(pilot, lambda: len(app.results) == 1, what="close result")
        result = app.results[0]
        assert result["status"] == "ok", result
        assert result["command"] == "close_incident"
        await until(pilot, lambda: app.screen is inc, what="back on the incident screen")
        gates = inc.query_one("#gates", Static)
        await until(pilot, lambda: "Incident 1 closed" in str(gates.render()), what="result")
        shown = str(gates.render())
        assert "✓ overflow hotline → voicemail (step overflow" in shown
        assert "Asterisk now says off" in shown
        assert KEY not in d.sim.astdb
        assert d.incidents is not None and d.incidents.engine.open_incidents == []
        await until(pilot, lambda: inc.data is not None and inc.data["status"] == "closed",
                    what="closed shown")
        # the console's own live document follows: the flag is gone (what :routing shows)
        await until(pilot, lambda: all(f.key != "overflow/hotline" for f in view.flags(app.doc)),
                    what="flag off in the console")
    assert app.display_errors == 0, app.last_display_error


async def test_keep_changes_asks_for_a_note(d: Daemon) -> None:
    await surge_with_overflow(d)
    app = make_app(d.socket_path)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        await open_incident(pilot, app)
        await open_close_dialog(pilot, app)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="note form")
        assert "overflow hotline → voicemail" in app.screen.query_one(LiveBody).plain
        await pilot.press("enter")  # no note: refused in the form, nothing sent
        assert isinstance(app.screen, FormModal)
        assert "note saying why" in str(app.screen.query_one("#errors").render())
        assert app.results == []
        await pilot.press(*"overflow stays tonight", "enter")
        await until(pilot, lambda: len(app.results) == 1, what="close result")
        assert app.results[0]["status"] == "ok", app.results[0]
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="back")
        assert d.sim is not None and d.sim.astdb.get(KEY) == "voicemail"  # kept
        assert d.store is not None
        stored = await IncidentStore(d.store).get_incident(1)
        assert stored is not None and stored.status is IncidentStatus.CLOSED
        assert stored.timeline[-1].detail == ("closed (PBX changes kept): "
                                              "overflow stays tonight")
    assert app.display_errors == 0, app.last_display_error


async def test_a_step_is_waived_with_a_note(d: Daemon) -> None:
    await surge_with_overflow(d)
    app = make_app(d.socket_path)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        inc = await open_incident(pilot, app)
        table = inc.query_one("#steps", LiveTable)
        await until(pilot, lambda: "standby_callout" in table.keys, what="steps listed")
        table.select_key("standby_callout")
        table.focus()
        await pilot.pause(0.05)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="waive form")
        assert "Waiving records" in app.screen.query_one(LiveBody).plain
        await pilot.press("enter")
        assert isinstance(app.screen, FormModal) and app.results == []
        assert "note saying why" in str(app.screen.query_one("#errors").render())
        await pilot.press(*"no standby staff tonight", "enter")
        await until(pilot, lambda: len(app.results) == 1, what="waive result")
        assert app.results[0]["status"] == "ok", app.results[0]
        assert d.incidents is not None
        row = d.incidents.engine.incident(1).steps["standby_callout"]
        assert row.state.value == "waived" and row.done_by == "li"
        last = d.incidents.engine.incident(1).timeline[-1]
        assert last.kind == "step_waived" and "no standby staff tonight" in last.detail
    assert app.display_errors == 0, app.last_display_error
