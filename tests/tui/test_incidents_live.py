"""Playbooks and incidents through the console, against the real daemon on the simulator:
start (with the drill toggle), complete a step with its record, acknowledge, note, move a
timer, set the surge level, run a PBX step (preview, Cancel first, read-back), close (gates
shown, refused with the reason, then closed), the report; a stale action refused with who
did it first; the status-bar badge; notices filtered by role; and roles (a viewer cannot
start or complete, a supervisor can)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input
from tui_helpers import daemon_settings, make_app, screen_text, until

from ccops.config import PlaybooksConfig
from ccops.core.commands import CompleteStep, StartIncident
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.screens.incident import IncidentScreen, IncidentsScreen, ReportModal
from ccops.screens.incident_close import CloseIncidentModal
from ccops.screens.playbooks import PlaybooksScreen
from ccops.tui.app import CcopsApp
from ccops.tui.dialogs import ChoiceModal, ConfirmModal, FormModal, LiveBody
from ccops.tui.widgets.bars import StatusBar
from ccops.tui.widgets.live_table import LiveTable

PARAMS = {
    "a8_call_surge": {"pbx": "sim", "surge_queue": "hotline", "overflow_destination": "voicemail"}
}
BOB = Operator(name="bob", role=Role.SUPERVISOR, session_id="t-bob", via="local")


@pytest.fixture
async def pb_daemon(state_dir: Path) -> AsyncIterator[Daemon]:
    settings = daemon_settings(state_dir)
    settings = settings.model_copy(update={"playbooks": PlaybooksConfig(parameters=PARAMS)})
    d = Daemon(settings)
    await d.start()
    yield d
    with contextlib.suppress(Exception):
        await d.stop()


def as_role(daemon: Daemon, role: Role, name: str) -> None:
    def identify(uid: int, pid: int) -> Operator:
        return Operator(name=name, role=role, session_id=f"t-{secrets.token_hex(3)}", via="local")

    assert daemon.api is not None
    daemon.api.identify = identify


async def results(pilot: Any, app: CcopsApp, n: int) -> dict[str, Any]:
    await until(pilot, lambda: len(app.results) >= n, what=f"{n} command results")
    return app.results[n - 1]


async def open_playbooks(pilot: Any, app: CcopsApp) -> PlaybooksScreen:
    await until(pilot, lambda: app.link.attached, what="attached")
    await pilot.press("colon", *"playbooks", "enter")
    await until(pilot, lambda: isinstance(app.screen, PlaybooksScreen), what="playbooks")
    screen = app.screen
    assert isinstance(screen, PlaybooksScreen)
    table = screen.query_one("#playbooks", LiveTable)
    await until(pilot, lambda: table.row_count == 19, what="19 playbooks listed")
    return screen


async def start_a8(pilot: Any, app: CcopsApp, *, drill: bool) -> IncidentScreen:
    screen = await open_playbooks(pilot, app)
    screen.query_one("#playbooks", LiveTable).select_key("a8_call_surge")
    if drill:
        await pilot.press("d")
    await pilot.press("s")
    if drill:  # the playbook's drill scenarios are offered; the default comes first
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), what="scenario choice")
        await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="start confirmation")
    body = app.screen.query_one(LiveBody).plain
    assert "a8_call_surge" in body and "Variant: none" in body
    assert ("Scenario: surge-x3" in body) == drill
    assert ("DRILL" in body) == drill and ("REAL" in body) == (not drill)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="incident screen")
    inc = app.screen
    assert isinstance(inc, IncidentScreen)
    await until(pilot, lambda: inc.data is not None, what="incident loaded")
    return inc


async def select_step(pilot: Any, inc: IncidentScreen, step: str) -> None:
    table = inc.query_one("#steps", LiveTable)
    await until(pilot, lambda: step in table.keys, what=f"step {step}")
    table.select_key(step)
    table.focus()
    await pilot.pause(0.05)


async def test_supervisor_runs_a_surge_drill_from_the_console(pb_daemon: Daemon) -> None:
    as_role(pb_daemon, Role.SUPERVISOR, "li")
    app = make_app(pb_daemon.socket_path)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        inc = await start_a8(pilot, app, drill=True)
        assert app.results[0]["status"] == "ok", app.results[0]
        engine = pb_daemon.incidents.engine  # type: ignore[union-attr]
        [live] = engine.open_incidents
        assert live.is_drill and live.playbook_id == "a8_call_surge"
        text = screen_text(app)
        assert "DRILL" in text and "surge level L1" in text and "next escalation" in text
        assert "DRILL — scenario: surge-x3 (running)" in text
        assert "unified_command" in text and "cc_supervisor" in text
        # the badge on every screen, drill labelled
        await until(
            pilot,
            lambda: f"DRILL {live.id} A8 L1" in inc.query_one(StatusBar).plain,
            what="badge",
        )
        assert "next 29:" in inc.query_one(StatusBar).plain
        # the engine's level-1 notice (team leader, cc supervisor) reaches this supervisor
        await until(pilot, lambda: (live.id, "support_levels") in app.notices, what="notice")
        assert app.notices[(live.id, "support_levels")]["drill"] is True
        # ? lists this screen's keys from the registry
        await pilot.press("question_mark")
        await until(pilot, lambda: "Run PBX step" in screen_text(app), what="help")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is inc, what="back from help")

        # complete a step, recording what it asks for
        await select_step(pilot, inc, "unified_command")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="complete form")
        await pilot.press(*"team B moved", "enter", "enter")
        assert (await results(pilot, app, 2))["status"] == "ok"
        row = live.steps["unified_command"]
        assert row.state.value == "done" and row.record == {"agents_added": "team B moved"}
        assert row.done_by == "li"

        # a note; a timer change (note required); the surge level (note required)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="note form")
        await pilot.press(*"callers up 3x", "enter")
        assert (await results(pilot, app, 3))["status"] == "ok"
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="timer form")
        await pilot.press("enter", *"10", "enter", "enter")  # no note: refused in the form
        assert isinstance(app.screen, FormModal)
        assert "note" in str(app.screen.query_one("#errors").render())
        await pilot.press(*"vendor says 10 min", "enter")
        assert (await results(pilot, app, 4))["status"] == "ok"
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="level form")
        await pilot.press("enter", *"many abandons", "enter")
        assert (await results(pilot, app, 5))["status"] == "ok"
        assert live.level == 2
        kinds = [e.kind for e in live.timeline]
        assert "note" in kinds

        # the PBX step: preview, Cancel focused first, Tab to run, read-back on the step
        await select_step(pilot, inc, "overflow")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="pbx confirm")
        body = app.screen.query_one(LiveBody).plain
        assert "set_routing_flag" in body and "hotline" in body and "voicemail" in body
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        await pilot.press("enter")  # Enter on Cancel: nothing sent
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="back")
        assert len(app.results) == 5
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="pbx confirm")
        await pilot.press("tab", "enter")
        pbx = await results(pilot, app, 6)
        assert pbx["status"] == "ok", pbx
        assert pbx["readback"]["value"] == "voicemail"  # Asterisk's read-back, shown
        flags = pb_daemon.sessions["sim"].state.flags
        assert any(f.key == "overflow/hotline" and f.value == "voicemail" for f in flags.values())
        await until(pilot, lambda: live.steps["overflow"].state.value == "done", what="done")

        # close: the gates and the open PBX change are shown; the daemon refuses with the
        # reason before undoing anything
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, CloseIncidentModal), what="close")
        body = app.screen.query_one(LiveBody).plain
        assert "NOT met" in body and "controlled" in body
        assert "overflow hotline → voicemail" in body
        await pilot.press("u")
        refused = await results(pilot, app, 7)
        assert refused["status"] != "ok" and "cannot close" in str(refused.get("detail"))
        assert "no PBX change was undone" in str(refused.get("detail"))
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="back")
        await until(pilot, lambda: "NOT closed" in str(inc.query_one("#gates").render()),
                    what="the refusal shown under the gates")
        assert any(f.value == "voicemail" for f in flags.values())

        # the report, as Markdown
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ReportModal), what="report")
        assert "a8_call_surge" in app.screen.markdown or "surge" in app.screen.markdown.lower()
        assert "# Drill record: incident" in app.screen.markdown  # a drill's report view
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="back")
        # the drill record's evaluation, a report item of drills
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="report form")
        await pilot.press(*"evaluation", "enter", *"calm and quick", "enter")
        assert (await results(pilot, app, 8))["status"] == "ok"
        assert live.report["evaluation"] == "calm and quick"
        await pilot.resize_terminal(80, 24)  # the smallest supported terminal still renders
        await pilot.pause(0.3)
        assert "⚠DRILL A8 L2" in inc.query_one(StatusBar).plain
    assert app.display_errors == 0, app.last_display_error


async def test_stale_action_shows_who_did_it_first(pb_daemon: Daemon) -> None:
    as_role(pb_daemon, Role.SUPERVISOR, "li")
    app = make_app(pb_daemon.socket_path)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        inc = await start_a8(pilot, app, drill=False)
        await select_step(pilot, inc, "unified_command")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="complete form")
        # meanwhile bob completes it from another console
        done = await pb_daemon.execute(
            BOB,
            CompleteStep(
                incident_id=inc.incident_id, step="unified_command", record={"agents_added": "x"}
            ),
        )
        assert done.ok, done.detail
        await pilot.press(*"mine", "enter", "enter")
        stale = await results(pilot, app, 2)
        assert stale["status"] != "ok"
        assert "already completed by bob" in str(stale.get("detail")), stale
        # and the screen shows bob's completion without anyone pressing anything
        await until(pilot, lambda: "bob" in screen_text(app), what="bob's completion shown")
        # the list view and Enter reach the same incident
        await pilot.press("escape", "escape")
        await pilot.press("colon", *"incidents", "enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen), what="list")
        table = app.screen.query_one("#incidents", LiveTable)
        await until(pilot, lambda: table.row_count == 1, what="one incident")
        assert "REAL" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="opened")
    assert app.display_errors == 0, app.last_display_error


async def test_viewer_cannot_start_or_complete(pb_daemon: Daemon) -> None:
    as_role(pb_daemon, Role.VIEWER, "vera")
    app = make_app(pb_daemon.socket_path)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        screen = await open_playbooks(pilot, app)
        assert screen.check_action("start_incident", ()) is False  # hidden
        assert "Start" not in screen_text(app).splitlines()[-1]
        screen.query_one("#playbooks", LiveTable).select_key("a8_call_surge")
        await pilot.press("s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, PlaybooksScreen) and app.results == []
        # an incident started by a supervisor: the viewer sees it, cannot act on it
        started = await pb_daemon.execute(BOB, StartIncident(playbook="a8_call_surge"))
        assert started.ok
        app.push_screen(IncidentScreen(1))
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="incident")
        inc = app.screen
        assert isinstance(inc, IncidentScreen)
        await until(pilot, lambda: inc.data is not None, what="loaded")
        for action in (
            "complete_step",
            "waive_step",
            "acknowledge_step",
            "run_pbx_step",
            "close_incident",
            "page_person",
            "add_note",
        ):
            assert inc.check_action(action, ()) is False, action
        await select_step(pilot, inc, "unified_command")
        await pilot.press("c")
        await pilot.pause(0.2)
        assert isinstance(app.screen, IncidentScreen) and app.results == []
        assert "INC 1 A8" in inc.query_one(StatusBar).plain  # the badge is for everyone


async def test_notices_reach_only_their_roles(pb_daemon: Daemon) -> None:
    as_role(pb_daemon, Role.SUPERVISOR, "li")
    app = make_app(pb_daemon.socket_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        pb_daemon.publisher.push_now({
            "type": "incident_notice", "incident_id": 4, "step": "report_5min",
            "roles": ["admin"], "job_roles": ["center_manager"], "message": "not for li",
            "drill": False, "repeat": False,
        })  # fmt: skip
        pb_daemon.publisher.push_now({
            "type": "incident_notice", "incident_id": 4, "step": "support_levels",
            "roles": ["supervisor"], "job_roles": ["cc_supervisor"], "message": "level 2 now",
            "drill": False, "repeat": True,
        })  # fmt: skip
        await until(pilot, lambda: (4, "support_levels") in app.notices, what="notice")
        assert (4, "report_5min") not in app.notices
        assert any("level 2 now" in str(n.message) for n in app._notifications)
        assert not any("not for li" in str(n.message) for n in app._notifications)
        pb_daemon.publisher.push_now({
            "type": "page", "change": "dialing", "attempt": 1,
            "page": {"person": "wang", "detail": "", "attempts": []},
        })  # fmt: skip
        await until(pilot, lambda: app.page_events, what="page progress")
        assert any("paging wang" in str(n.title) for n in app._notifications)


async def test_page_command_runs_in_the_background(pb_daemon: Daemon) -> None:
    as_role(pb_daemon, Role.SUPERVISOR, "li")
    app = make_app(pb_daemon.socket_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        await pilot.press("colon", *"page nobody server room", "enter")
        await until(pilot, lambda: isinstance(app.screen, FormModal), what="page form")
        assert app.screen.query_one("#f-person", Input).value == "nobody"
        await pilot.press("enter", "enter")
        result = await results(pilot, app, 1)
        # not on the roster: refused by the pager with the reason, never dialled
        assert result["status"] != "ok" and "nobody" in str(result), result


async def test_viewer_has_no_page_command(pb_daemon: Daemon) -> None:
    as_role(pb_daemon, Role.VIEWER, "vera")
    app = make_app(pb_daemon.socket_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        await pilot.press("colon", *"page wang", "enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, FormModal)
        assert any("needs 'start_playbook'" in str(n.message) for n in app._notifications)


async def test_variant_is_asked_when_the_playbook_has_several(pb_daemon: Daemon) -> None:
    as_role(pb_daemon, Role.ADMIN, "ada")
    app = make_app(pb_daemon.socket_path)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        screen = await open_playbooks(pilot, app)
        with_variants = [p for p in screen.playbooks if p.get("variants")]
        if not with_variants:
            pytest.skip("no shipped playbook has variants")
        pb = with_variants[0]
        screen.query_one("#playbooks", LiveTable).select_key(str(pb["id"]))
        await pilot.press("d", "s")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), what="variant picker")
        first = next(iter(pb["variants"]))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        assert f"Variant: {first}" in app.screen.query_one(LiveBody).plain
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.results == []
