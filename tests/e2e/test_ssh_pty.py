"""Over SSH with a PTY, screen read through a terminal emulator (pyte): what an operator sees.

A real ``ccops serve`` (daemon, simulated PBX, gateway) in its own process; an asyncssh
client with a PTY; keys typed one chunk at a time as a person would.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from e2e_ssh import Served, audit_records, connect, open_terminal, process_gone

pytestmark = pytest.mark.slow

PAUSED_ROW = re.compile(r"Local/agent\d+@agents/n\b.*\bbreak\b")
ON_CALL = re.compile(r"◉ [1-9]\d* on call")  # a tile counting a call in progress


def body(text: str) -> str:
    """The screen without the status bar (its clock changes every second by itself)."""
    return "\n".join(text.splitlines()[1:])


async def test_supervisor_live_dashboard_resize_pause_and_quit(served: Served) -> None:
    async with await connect(served, "alice") as conn:
        term = await open_terminal(conn, 120, 40)
        try:
            text = await term.wait_for(
                lambda t: "SIMULATED" in t and "billing" in t and "hotline" in t
            )
            status = term.line(0)
            assert "alice (supervisor)" in status and "LIVE" in status, status
            assert "READ-ONLY" not in status

            # live: the tiles change by themselves (the simulator keeps calls coming)
            first = body(text)
            await term.wait_for(lambda t: body(t) != first, timeout=15)
            await term.wait_for(lambda t: ON_CALL.search(t) is not None, timeout=20)

            # resize: the console re-lays out for the new window
            term.resize(100, 30)
            await term.wait_for(
                lambda t: "alice (supervisor)" in term.line(0) and "Help" in term.line(29)
            )
            # the footer was redrawn for 100 columns: its right-hand end is on screen
            await term.wait_for(lambda t: term.line(29).rstrip().endswith("palette"))

            # a supervisor pauses an agent: open the queue, p, pick a reason, Enter
            await term.keys(":", "queue billing", "\r")
            await term.wait_for("Members (")
            await term.keys("p")
            await term.wait_for("Choose the reason")
            await term.keys("\r")
            after = await term.wait_for(lambda t: "read-back:" in t and "paused=1" in t)
            assert "✔ pause" in after and ": ok" in after, after
            # the member's row shows the reason (state may be "on call": paused mid-call)
            await term.wait_for(lambda t: PAUSED_ROW.search(t) is not None)

            # quit from the command line: the session ends with status 0
            await term.keys(":", "quit", "\r")
            await asyncio.wait_for(term.process.wait_closed(), 10)
            assert term.process.exit_status == 0
        finally:
            await term.close()

    records = await audit_records(served, operator="alice")
    actions = [(r["action"], r["via"], r["result"]) for r in records]
    assert ("session.start", "ssh", "ok") in actions
    assert ("pause_member", "ssh", "ok") in actions
    # the served daemon is shared: earlier tests' sessions of alice are in the log too, so
    # this test's session is alice's newest one
    sessions = await audit_records(served, operator="alice", kind="session")
    start = [r for r in sessions if r["action"] == "session.start"][-1]
    assert start["params"]["key"].startswith("SHA256:")
    assert start["params"]["address"].startswith("127.0.0.1:")
    pid = int(start["params"]["pid"])
    for _ in range(50):
        records = await audit_records(served, operator="alice", kind="session")
        if any(r["action"] == "session.end" and r["session_id"] == start["session_id"]
               for r in records):
            break
        await asyncio.sleep(0.1)
    end = next(r for r in records
               if r["action"] == "session.end" and r["session_id"] == start["session_id"])
    assert end["detail"] == "console exited"
    assert process_gone(pid), f"console pid {pid} still exists (not reaped?)"
    log = served.log_text()
    assert "ssh session start: alice (supervisor) from 127.0.0.1" in log
    assert f"pid {pid}" in log and "ssh session end: alice" in log


async def test_viewer_is_read_only_whatever_the_client_sends(served: Served) -> None:
    # The client claims to be an admin in its environment: it must change nothing.
    async with await connect(served, "vera") as conn:
        term = await open_terminal(
            conn, 120, 40, env={"CCOPS_ROLE": "admin", "CCOPS_OPERATOR": "carol"}
        )
        try:
            await term.wait_for(lambda t: "vera (viewer)" in term.line(0) and "billing" in t)
            assert "READ-ONLY" in term.line(0)
            await term.keys(":", "queue billing", "\r")
            await term.wait_for("Members (")
            assert "Pause" not in term.line(39), term.line(39)
            await term.keys("p")
            await term.wait_for("READ-ONLY for role viewer")  # said, not silently ignored
            await term.absent_for("Choose the reason", 1.0)
        finally:
            await term.close()
    records = await audit_records(served, operator="vera")
    assert [r["action"] for r in records if not r["action"].startswith("session")] == []
    assert all(r["role"] == "viewer" for r in records)


async def test_disconnect_kills_and_reaps_the_console(served: Served) -> None:
    conn = await connect(served, "alice")
    term = await open_terminal(conn, 100, 30)
    await term.wait_for("billing")
    # this session is alice's newest (the served daemon is shared with earlier tests)
    mine = [r for r in await audit_records(served, operator="alice", kind="session")
            if r["action"] == "session.start"][-1]
    await term.close()
    conn.close()
    await conn.wait_closed()
    for _ in range(100):
        ends = [r for r in await audit_records(served, operator="alice", kind="session")
                if r["action"] == "session.end" and r["session_id"] == mine["session_id"]]
        if ends:
            break
        await asyncio.sleep(0.1)
    assert ends, "no session.end audited after the client went away"
    assert ends[0]["detail"] != "console exited", ends[0]
    assert process_gone(int(mine["params"]["pid"]))
