"""The console on the daemon's own host, in a real terminal (tmux): ``ccops tui`` attached
to a running daemon's socket, and plain ``ccops`` (private daemon on the simulator plus the
console). Also: stopping the daemon ends SSH sessions cleanly and audits why."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

import pytest
from e2e_ssh import Served, Tmux, connect, open_terminal, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not shutil.which("tmux") and os.environ.get("CI") != "true",
        reason="needs tmux (scripts/test installs them; in CI they must run)",
    ),
]


def shell(*argv: str, home: Path) -> str:
    env = f"env -u CCOPS_CONFIG -u COLUMNS -u LINES HOME={home} XDG_STATE_HOME={home / 'state'}"
    return f"{env} {shlex.join(argv)}; echo CCOPS-EXIT=$?; sleep 30"


async def test_ccops_tui_attaches_to_the_running_daemon(served: Served) -> None:
    home = Path(tempfile.mkdtemp(prefix="ccops-home-", dir="/tmp"))
    t = Tmux("ccops-e2e-local-tui", shell(sys.executable, "-m", "ccops", "tui", "--socket",
                                          str(served.socket), "--theme", "light", home=home))
    try:
        text = await t.wait_for(lambda s: "SIMULATED" in s and "billing" in s)
        assert "(admin)" in text.splitlines()[0]  # the daemon's own user, by SO_PEERCRED
        await t.type(":", "quit", "Enter")
        text = await t.wait_for(lambda s: "CCOPS-EXIT=" in s)
        assert "CCOPS-EXIT=0" in text and "Traceback" not in text
        assert (home / "state" / "ccops" / "console.log").exists()  # logs: a file
    finally:
        t.kill()
        shutil.rmtree(home, ignore_errors=True)


async def test_plain_ccops_runs_the_console_on_a_private_simulator() -> None:
    home = Path(tempfile.mkdtemp(prefix="ccops-home-", dir="/tmp"))
    t = Tmux("ccops-e2e-plain", shell(sys.executable, "-m", "ccops", home=home))
    try:
        text = await t.wait_for(lambda s: "SIMULATED" in s and "hotline" in s, timeout=30)
        print(text)
        await t.type(":", "quit", "Enter")
        text = await t.wait_for(lambda s: "CCOPS-EXIT=" in s)
        assert "CCOPS-EXIT=0" in text and "Traceback" not in text
    finally:
        t.kill()
        shutil.rmtree(home, ignore_errors=True)


async def test_daemon_shutdown_ends_ssh_sessions_and_audits_why() -> None:
    with serve() as own:
        async with await connect(own, "alice") as conn:
            term = await open_terminal(conn, 100, 30)
            try:
                await term.wait_for("billing")
                own.process.terminate()
                await asyncio.wait_for(term.process.wait_closed(), 15)
                assert term.process.exit_status == 1
                said = await asyncio.wait_for(term.process.stderr.read(), 5)
                assert b"the ccops daemon is shutting down" in said
                await term.drained()
                assert b"\x1b[?1049l" in term.tail  # the terminal was given back
            finally:
                await term.close()
        assert own.process.wait(20) == 0
        db = sqlite3.connect(own.state_dir / "ccops.sqlite3")
        try:
            rows = db.execute("SELECT action, detail FROM audit ORDER BY seq").fetchall()
        finally:
            db.close()
        assert ("session.end", "gateway stopping") in rows, rows
