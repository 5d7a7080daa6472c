"""The standby call-out from the incident screen: run A8's standby_callout step (preview,
confirm) against the real daemon on the simulator, and see each person's outcome — who
pressed 1 and was added as which member, who did not — under the steps."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from tui_helpers import daemon_settings, make_app, screen_text, until

from ccops.config import OnCallPerson, PagingConfig, PlaybooksConfig
from ccops.core.commands import StartIncident
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.screens.incident import IncidentScreen
from ccops.tui import incident_view
from ccops.tui.dialogs import ConfirmModal, LiveBody
from ccops.tui.themes import palette_for
from ccops.tui.widgets.live_table import LiveTable

LI = Operator(name="li", role=Role.SUPERVISOR, session_id="t-li", via="local")
ROSTER = [
    OnCallPerson(name="ann", role="standby_staff", extension="desk-201",
                 queue_interface="PJSIP/desk-201"),
    OnCallPerson(name="bo", role="standby_staff", extension="desk-202",
                 queue_interface="PJSIP/desk-202"),
]


@pytest.fixture
async def standby_daemon(state_dir: Path) -> AsyncIterator[Daemon]:
    settings = daemon_settings(state_dir).model_copy(update={
        "playbooks": PlaybooksConfig(parameters={"a8_call_surge": {
            "pbx": "sim", "surge_queue": "repairs"}}),
        "paging": PagingConfig(max_attempts=1, ring_timeout_s=5, ack_timeout_s=20),
        "oncall": ROSTER,
    })
    d = Daemon(settings)
    await d.start()
    assert d.sim is not None
    d.sim.phones.program("desk-201", answer_after=(0.2, 0.2), digit="1",
                         digit_after=(0.3, 0.3), hangup_after=0.2)
    d.sim.phones.program("desk-202", answer_after=(0.2, 0.2), digit="2",
                         digit_after=(0.3, 0.3), hangup_after=0.2)

    def identify(uid: int, pid: int) -> Operator:
        return Operator(name="li", role=Role.SUPERVISOR, session_id=secrets.token_hex(3),
                        via="local")

    assert d.api is not None
    d.api.identify = identify
    yield d
    with contextlib.suppress(Exception):
        await d.stop()


async def test_the_incident_screen_shows_each_persons_outcome(standby_daemon: Daemon) -> None:
    d = standby_daemon
    started = await d.execute(LI, StartIncident(playbook="a8_call_surge", drill=True))
    assert started.ok, started.detail
    iid = int((started.readback or {})["incident_id"])
    app = make_app(d.socket_path)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        inc = IncidentScreen(iid)
        await app.push_screen(inc)
        await until(pilot, lambda: inc.data is not None, what="incident loaded")
        assert not inc.query_one("#pbx_readback").display  # nothing run yet: no space taken
        table = inc.query_one("#steps", LiveTable)
        await until(pilot, lambda: "standby_callout" in table.keys, what="step")
        table.select_key("standby_callout")
        table.focus()
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        body = app.screen.query_one(LiveBody).plain
        assert "page_standby" in body and "whoever presses 1 is added" in body
        assert "DRILL: sent to the simulator only" in body
        await pilot.press("tab", "enter")
        await until(pilot, lambda: len(app.results) >= 1, timeout=40, what="step result")
        assert app.results[0]["status"] == "ok", app.results[0]
        await until(pilot, lambda: inc.query_one("#pbx_readback").display, what="read-back")
        text = screen_text(app)
        assert "standby_callout read-back" in text and "1 added of 2 paged" in text
        assert "ann: pressed 1 → added to repairs as PJSIP/desk-201" in text
        assert "bo: answered and pressed 2, not 1 (declined)" in text
        # the palette's "Standby call-out" finds the step wherever the cursor is
        table.select_key("unified_command")
        inc.action_standby_callout()
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm again")
        assert "Run PBX step standby_callout" in screen_text(app)
        await pilot.press("escape")
    assert app.display_errors == 0, app.last_display_error


def test_readback_lines_and_tones() -> None:
    from textual.theme import BUILTIN_THEMES

    pal = palette_for(BUILTIN_THEMES["textual-dark"])
    person: dict[str, Any] = {"person": "ann", "status": "added", "text": "pressed 1 → added"}
    step = {"id": "standby_callout", "detail": {"runs": [
        {"at": 0, "ok": False, "simulated": False, "people": [
            {"person": "ann", "status": "failed", "text": "not reached"}]},
        {"at": 0, "ok": True, "simulated": True, "people": [
            person, {"person": "bo", "status": "not_answered", "text": "not answered"}]},
    ]}}
    shown = incident_view.pbx_readback({"steps": [{"id": "overflow", "detail": {}}, step]}, pal)
    assert isinstance(shown, Text)
    assert shown.plain.splitlines()[1:] == ["  ✔ ann: pressed 1 → added",
                                            "  ✖ bo: not answered"]  # the last run only
    assert "(DRILL: simulator): 1 added of 2 paged" in shown.plain.splitlines()[0]
    tones = {span.style for span in shown.spans}
    assert pal.good in tones and pal.warn in tones
    assert incident_view.pbx_readback({"steps": [{"id": "x", "detail": {"runs": [
        {"ok": True}]}}]}, pal) is None
