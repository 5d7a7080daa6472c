"""The audit screen against the real daemon: newest first, daemon-side filters from the
``/`` chip, paging back, and records added while the screen is open appear at the top."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from tui_helpers import make_app, screen_text, until

import ccops.screens.audit as audit_screen
from ccops.core.commands import PauseMember, PauseReason, UnpauseMember
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon
from ccops.screens.audit import AuditScreen
from ccops.tui.widgets.live_table import LiveTable


def who(role: Role, name: str) -> Operator:
    return Operator(name=name, role=role, session_id=f"t-{secrets.token_hex(3)}", via="local")


async def some_actions(daemon: Daemon, n: int) -> None:
    """``n`` pause/unpause pairs by alice (ok) and one refused attempt by vera per pair."""
    state = daemon.sessions["sim"].state
    for _ in range(200):
        if state.synced_at and "billing" in state.queues:
            break
        await asyncio.sleep(0.05)
    q = state.queues["billing"]
    iface = sorted(q.members)[0]
    for _ in range(n):
        for cmd in (
            PauseMember(pbx="sim", queue="billing", interface=iface, reason=PauseReason.BREAK),
            UnpauseMember(pbx="sim", queue="billing", interface=iface),
        ):
            await daemon.execute(who(Role.SUPERVISOR, "alice"), cmd)
        await daemon.execute(
            who(Role.VIEWER, "vera"),
            PauseMember(pbx="sim", queue="billing", interface=iface, reason=PauseReason.BREAK),
        )


def seqs(screen: AuditScreen) -> list[int]:
    return sorted(screen.records)


async def test_audit_pages_filters_and_follows(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_screen, "PAGE", 4)
    monkeypatch.setattr(audit_screen, "POLL_S", 0.3)
    await some_actions(daemon, 4)  # 12 records: 8 ok, 4 refused
    app = make_app(daemon.socket_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, AuditScreen), what="audit")
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await until(pilot, lambda: len(screen.records) == 4, what="first page")
        assert seqs(screen) == [9, 10, 11, 12] and screen.more_older  # newest page only
        assert "b: older page" in screen_text(app)

        # "b" while a poll is in flight is kept and served when the poll is done
        await until(pilot, lambda: not screen._loading, what="no fetch in flight")
        screen._loading = True  # as during a poll (no new poll starts while it is set)
        await pilot.press("b")
        await pilot.pause(0.2)
        assert len(screen.records) == 4 and screen._older_wanted
        screen._loading = False
        screen._after_fetch()  # what the poll does when it finishes
        await until(pilot, lambda: len(screen.records) == 8, what="older page")
        assert seqs(screen)[0] == 5

        await pilot.press("slash", *"result:refused", "enter")
        await until(
            pilot,
            lambda: seqs(screen) and all(r["result"] == "refused" for r in screen.records.values())
            and len(screen.records) == 4,
            what="daemon-side filter",
        )
        assert {r["operator"] for r in screen.records.values()} == {"vera"}
        text = screen_text(app)
        assert "filter: result:refused" in text  # the chip
        assert "daemon filter: result=refused" in text
        assert not screen.more_older  # exactly 4 refused records exist

        await some_actions(daemon, 1)  # one new refused record while the screen is open
        await until(pilot, lambda: len(screen.records) == 5, what="live new entry")
        assert screen.new_since_open == 1
        table = screen.query_one(LiveTable)
        await until(pilot, lambda: table.keys and table.keys[0] == str(max(screen.records)),
                    what="newest on top")

        await pilot.press("slash", *["backspace"] * 20, *"operator:", "enter")
        await until(
            pilot,
            lambda: any("Filter not applied" in (n.title or "") for n in app._notifications),
            what="bad filter explained",
        )
        text = screen_text(app)
        assert "result=refused" in text and "filter: result:refused" in text, text

        await pilot.press("escape")  # clear the filter: back to everything, newest first
        await until(
            pilot,
            lambda: 15 in screen.records
            and {r["result"] for r in screen.records.values()} >= {"ok", "refused"},
            what="unfiltered again",
        )
        assert screen.query_filter.server == {} and "daemon filter" not in screen_text(app)
    await app.link.stop()


async def test_a_role_without_view_audit_is_refused_by_the_daemon(daemon: Daemon) -> None:
    assert daemon.api is not None
    daemon.api.identify = lambda uid, pid: who(Role.DISPATCHER, "dora")
    app = make_app(daemon.socket_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.link.attached, what="attached")
        reply: dict[str, Any] = await app.link.request("audit", before_seq=10)
        assert reply["type"] == "error" and reply["code"] == "refused"
        assert "view_audit" in reply["message"]
    await app.link.stop()
