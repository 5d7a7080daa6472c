"""The incident screen pinned as a text snapshot (fixed incident, frozen clock), and the
status-bar badge and incident reading as pure functions."""

from __future__ import annotations

import copy
from typing import Any

from test_snapshots import check, stable_text
from tui_docs import NOW, status_doc
from tui_helpers import StaticLink, until

from ccops.core.roles import Role
from ccops.screens.incident import IncidentScreen
from ccops.tui import incident_view
from ccops.tui.app import CcopsApp
from ccops.tui.themes import DARK, palette_for

PAL = palette_for(DARK)
T0 = NOW - 20 * 60  # detected 20 minutes before the frozen clock

SUMMARY = {
    "id": 3, "playbook": "a8_call_surge", "version": 1, "title": "Abnormal inbound call surge",
    "variant": None, "drill": False, "level": 2, "detected_at": T0, "started_at": T0 + 60,
    "next_due": NOW + 252, "steps": {"active": 1, "done": 1, "pending": 4},
}  # fmt: skip


def _step(sid: str, kind: str, title: str, state: str, **extra: Any) -> dict[str, Any]:
    base = {
        "id": sid, "kind": kind, "title": title, "actor": "cc_supervisor", "source": "S001-P1",
        "optional": False, "state": state, "done_at": None, "done_by": None, "acked_at": None,
        "acked_by": None, "overdue_since": None, "record": {}, "detail": {}, "text": "",
        "needs": [], "fields": [], "pbx": None,
    }  # fmt: skip
    base.update(extra)
    return base


INCIDENT = {
    "id": 3, "playbook": "a8_call_surge", "version": 1, "digest": "x",
    "title": "Abnormal inbound call surge", "variant": None, "site": "hall 2", "drill": False,
    "status": "open", "level": 2, "level_started_at": T0 + 60 + 1800 - 1800,
    "detected_at": T0, "started_at": T0 + 60, "started_by": "li", "closed_at": None,
    "closed_by": None, "report_fields": {},
    "steps": [
        _step("support_levels", "escalation", "Support levels", "active"),
        _step("unified_command", "check", "All agents on inbound calls (unified command)",
              "done", done_at=T0 + 300, done_by="li", record={"agents_added": "team B"}),
        _step("overflow", "pbx", "Overflow routing for the surge queue", "pending",
              optional=True,
              pbx={"command": "set_routing_flag", "summary": "set overflow for hotline",
                   "params": {"pbx": "sim", "kind": "overflow", "target": "hotline"}}),
        _step("controlled", "check", "Surge under control", "pending",
              fields=[{"name": "controlled_at", "label": "time", "type": "time",
                       "required": True, "choices": []}]),
    ],
    "timers": [
        {"key": "support_levels:L3", "step": "support_levels", "kind": "level",
         "state": "armed", "due_at": NOW + 252, "level": 3, "fired_at": None,
         "lateness": None, "note": ""},
    ],
    "notifications": [],
    "timeline": [
        {"at": T0 + 60, "actor": "li", "kind": "started", "step": None,
         "detail": "Abnormal inbound call surge"},
        {"at": T0 + 300, "actor": "li", "kind": "step_done", "step": "unified_command",
         "detail": "agents_added=team B"},
        {"at": T0 + 600, "actor": "bob", "kind": "note", "step": None,
         "detail": "callers up 3x since 10:00"},
    ],
    "closure_problems": ["step controlled (Surge under control) is not done"],
    "report": "# Incident report\n\nsite: hall 2\n",
}  # fmt: skip


class IncidentLink(StaticLink):
    """A static link that also answers ``{"op": "incident"}`` with :data:`INCIDENT`."""

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        if op == "incident" and fields.get("incident_id") == 3:
            return {"type": "incident", "incident": copy.deepcopy(INCIDENT)}
        return {"type": "error", "message": f"no {op}"}


def doc_with_incident() -> dict[str, Any]:
    doc = status_doc()
    doc["incidents"] = [dict(SUMMARY)]
    return doc


async def test_snapshot_incident_screen() -> None:
    app = CcopsApp(
        IncidentLink(doc_with_incident(), role="supervisor"), now=lambda: NOW, refresh_min=0.0
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        app.push_screen(IncidentScreen(3))
        await until(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.data is not None,
            what="incident",
        )
        text = await stable_text(pilot, app)
    assert "⚠ INC 3 A8 L2 · next hh:mm" in text  # times are masked in snapshots
    assert "next escalation: hh:mm (to L3)" in text
    check("incident_a8_supervisor", text)


def test_badge_countdown_and_drill() -> None:
    doc = doc_with_incident()
    badge = incident_view.badge(doc, NOW, PAL)
    assert badge is not None and badge.plain == "⚠ INC 3 A8 L2 · next 04:12"
    doc["incidents"][0].update(drill=True, next_due=NOW - 65)
    doc["incidents"].append(dict(SUMMARY, id=4, drill=False, level=0, next_due=None))
    badge = incident_view.badge(doc, NOW, PAL)
    assert badge is not None and badge.plain == "⚠ INC 4 A8 +1"  # real ones first
    doc["incidents"].pop()
    badge = incident_view.badge(doc, NOW, PAL)
    assert badge is not None and badge.plain == "⚠ DRILL 3 A8 L2 · next +01:05 late"
    assert incident_view.badge(status_doc(), NOW, PAL) is None


def test_compact_badge_keeps_live_and_clock_in_80_columns() -> None:
    from test_console_units import LIVE

    from ccops.tui.chrome import status_line

    line = status_line(
        doc_with_incident(), LIVE, "alice", Role.SUPERVISOR, NOW, PAL, compact=True
    ).plain
    assert len(line) <= 80 and line.endswith("⚠A8 L2 04:12")
    assert "● LIVE" in line


def test_notice_roles_and_page_progress() -> None:
    frame = {"type": "incident_notice", "roles": ["supervisor", "admin"]}
    assert incident_view.notice_for(frame, Role.SUPERVISOR)
    assert not incident_view.notice_for(frame, Role.VIEWER)
    assert not incident_view.notice_for(frame, None)
    title, body, sev = incident_view.page_progress(
        {"type": "page", "change": "failed", "attempt": 3,
         "page": {"person": "wang", "detail": "no answer after 3 calls"}}
    )  # fmt: skip
    assert (title, body, sev) == ("✖ page to wang FAILED", "no answer after 3 calls", "error")
    assert incident_view.countdown(None, NOW) == "—"
    assert incident_view.countdown(NOW + 3725, NOW) == "1:02:05"


class PlaybookLink(StaticLink):
    """A static link that answers ``{"op": "playbooks"}`` with two playbooks."""

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        pbs = [
            {"id": "a1_seat_equipment", "version": 1, "title": "Seat equipment failure",
             "category": "call_center", "start_roles": ["supervisor", "maintenance", "admin"],
             "variants": {}, "unset_parameters": []},
            {"id": "a8_call_surge", "version": 1, "title": "Abnormal inbound call surge",
             "category": "call_center", "start_roles": ["supervisor", "admin"],
             "variants": {}, "unset_parameters": ["busy_sound"]},
        ]  # fmt: skip
        return {"type": "playbooks", "playbooks": pbs}


async def test_playbooks_screen_puts_suggestions_first_with_the_staffing_gap() -> None:
    from ccops.screens.playbooks import PlaybooksScreen
    from ccops.tui.dialogs import ConfirmModal, LiveBody
    from ccops.tui.widgets.live_table import LiveTable

    doc = status_doc()
    doc["incident_suggestions"] = [
        {"playbook": "a8_call_surge", "title": "Abnormal inbound call surge",
         "signals": ["waiting_calls_high"], "reasons": ["hotline: 23 waiting (> 10)"],
         "scopes": ["sim/hotline"], "staffing_gap": 3.0},
    ]  # fmt: skip
    link = PlaybookLink(doc, role="maintenance")
    app = CcopsApp(link, now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        app.show_view("playbooks")
        await until(
            pilot,
            lambda: isinstance(app.screen, PlaybooksScreen) and app.screen.can_refresh,
            what="playbooks",
        )
        screen = app.screen
        assert isinstance(screen, PlaybooksScreen)
        table = screen.query_one("#playbooks", LiveTable)
        await until(pilot, lambda: table.row_count == 2, what="rows")
        assert table.keys[0] == "a8_call_surge"  # the suggested one first
        text = str(screen.query_one("#suggestions").render())
        assert "hotline: 23 waiting" in text and "Erlang C: 3 agent(s) short" in text
        # maintenance may start playbooks, but A8 names only supervisor and admin
        table.select_key("a8_call_surge")
        table.focus()
        await pilot.press("s")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmModal) and link.sent == []
        table.select_key("a1_seat_equipment")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        assert (
            "REAL incident from playbook a1_seat_equipment" in app.screen.query_one(LiveBody).plain
        )
        await pilot.press("enter")
        await until(pilot, lambda: bool(link.sent), what="sent")
        assert link.sent == [("start_incident", {"playbook": "a1_seat_equipment", "drill": False})]


async def test_a_new_suggestion_takes_the_cursor_so_s_starts_it() -> None:
    """The header says "s starts the selected playbook": when the alerts suggest a playbook
    that was not suggested before, the cursor moves to it (and stays where the operator
    puts it afterwards)."""
    from ccops.screens.playbooks import PlaybooksScreen
    from ccops.tui.widgets.live_table import LiveTable

    doc = status_doc()
    doc["incident_suggestions"] = []
    link = PlaybookLink(doc, role="supervisor")
    app = CcopsApp(link, now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        app.show_view("playbooks")
        await until(
            pilot,
            lambda: isinstance(app.screen, PlaybooksScreen) and app.screen.can_refresh,
            what="playbooks",
        )
        table = app.screen.query_one("#playbooks", LiveTable)
        await until(pilot, lambda: table.row_count == 2, what="rows")
        assert table.selected_key == "a1_seat_equipment"
        suggested = dict(doc, incident_suggestions=[
            {"playbook": "a8_call_surge", "title": "Abnormal inbound call surge",
             "signals": ["waiting_calls_high"], "reasons": ["hotline: 23 waiting (> 10)"],
             "scopes": ["sim/hotline"], "staffing_gap": 3.0}])  # fmt: skip
        link.set_document(suggested)
        await until(pilot, lambda: table.selected_key == "a8_call_surge", what="cursor moved")
        table.select_key("a1_seat_equipment")  # the operator's choice is kept after that
        link.set_document(dict(suggested))
        await pilot.pause(0.3)
        assert table.selected_key == "a1_seat_equipment"
