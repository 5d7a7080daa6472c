"""Access over SSH changes while sessions are open, against a real ``ccops serve``.

* The administrator edits the operators file: a removed operator's open session ends with
  a sentence on their terminal within a few seconds and their key no longer logs in; a
  changed role ends the session and the next login has the new role.
* ``[ssh] idle_timeout``: an untouched session is warned, then ended; one that types stays.
* The pre-authentication cap: silent TCP connections (that never speak SSH) beyond the cap
  are closed at once, without an SSH banner, and an operator still logs in meanwhile.

The file edits add and remove operators of their own, so the shared daemon's other
operators (used by the other e2e tests) are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import Iterator

import asyncssh
import pytest
from e2e_ssh import Served, audit_records, connect, make_key, open_terminal, process_gone, serve

pytestmark = pytest.mark.slow

ACCESS_CHANGED = "your access was changed by the administrator"


def add_operator(served: Served, name: str, role: str) -> None:
    key_path = served.root / f"{name}_key"
    if name not in served.keys:
        served.keys[name] = key_path
        public = make_key(key_path)
    else:
        public = asyncssh.read_private_key(key_path).export_public_key().decode().strip()
    ops = served.root / "operators.toml"
    text = remove_block(ops.read_text(), name)
    ops.write_text(text + f'\n[[operator]]\nname = "{name}"\nrole = "{role}"\n'
                          f'keys = ["{public}"]\n')


def remove_block(text: str, name: str) -> str:
    """The operators file without ``name``'s ``[[operator]]`` table."""
    blocks = re.split(r"(?=^\[\[operator\]\])", text, flags=re.M)
    return "".join(b for b in blocks if f'name = "{name}"' not in b)


def remove_operator(served: Served, name: str) -> None:
    ops = served.root / "operators.toml"
    ops.write_text(remove_block(ops.read_text(), name))


async def test_removed_operator_is_cut_off_and_cannot_log_in_again(served: Served) -> None:
    add_operator(served, "rita", "supervisor")
    try:
        async with await connect(served, "rita") as conn:
            term = await open_terminal(conn, 100, 30)
            await term.wait_for(lambda t: "rita (supervisor)" in term.line(0), timeout=20)
            pid = int(re.findall(r"ssh session start: rita .* pid (\d+)",
                                 served.log_text())[-1])
            remove_operator(served, "rita")
            edited = time.monotonic()
            await term.drained(timeout=10)  # the server closed the session
            took = time.monotonic() - edited
            flat = term.text.replace("\n", "")  # the sentence wraps at 100 columns
            assert ACCESS_CHANGED in flat, term.text
            assert "operator rita was removed; reconnect" in flat, term.text
            assert took < 6, took  # polled every 2 s
            assert term.process.exit_status == 1
            await term.close()
        for _ in range(50):
            if process_gone(pid):
                break
            await asyncio.sleep(0.1)
        assert process_gone(pid), "the console process outlived the revoked session"
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(served, "rita")
        ends = [r for r in await audit_records(served)
                if r.get("operator") == "rita" and r.get("action") == "session.end"]
        assert ends and "access changed: operator rita was removed" in str(ends[-1]["detail"])
        reloads = [r for r in await audit_records(served) if r.get("action") == "operators.reload"]
        assert reloads and any(
            r["params"].get("sessions_ended") for r in reloads  # type: ignore[union-attr]
        ), reloads
    finally:
        remove_operator(served, "rita")


async def test_role_change_ends_the_session_and_the_next_login_has_the_new_role(
    served: Served,
) -> None:
    add_operator(served, "rolf", "viewer")
    try:
        async with await connect(served, "rolf") as conn:
            term = await open_terminal(conn, 100, 30)
            await term.wait_for(lambda t: "rolf (viewer)" in term.line(0), timeout=20)
            add_operator(served, "rolf", "supervisor")
            await term.drained(timeout=10)
            flat = term.text.replace("\n", "")  # the sentence wraps at 100 columns
            assert "role changed from viewer to supervisor; reconnect" in flat, term.text
            await term.close()
        async with await connect(served, "rolf") as conn:
            term = await open_terminal(conn, 100, 30)
            await term.wait_for(lambda t: "rolf (supervisor)" in term.line(0), timeout=20)
            assert "READ-ONLY" not in term.line(0)
            conn.close()
            await term.close()
    finally:
        remove_operator(served, "rolf")


async def test_broken_edit_keeps_sessions_and_logins(served: Served) -> None:
    add_operator(served, "bea", "viewer")
    ops = served.root / "operators.toml"
    good = ops.read_text()
    try:
        async with await connect(served, "bea") as conn:
            term = await open_terminal(conn, 100, 30)
            await term.wait_for(lambda t: "bea (viewer)" in term.line(0), timeout=20)
            ops.write_text(good.replace('role = "viewer"', 'role = "viewr"'))
            await asyncio.sleep(3)  # more than a poll
            assert "operators file not reloaded" in served.log_text()
            assert ACCESS_CHANGED not in term.text and "bea (viewer)" in term.line(0)
            async with await connect(served, "bea") as again:  # the old file still applies
                result = await again.run("id", check=False)
                assert result.exit_status == 1 and "commands are not run" in str(result.stderr)
            conn.close()
            await term.close()
    finally:
        ops.write_text(good)
        remove_operator(served, "bea")


# --------------------------------------------------------------------------- pre-auth cap


def silent(source: str, port: int) -> socket.socket:
    """A TCP connection from ``source`` (a loopback address) that never speaks SSH."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    return s


def greeted(s: socket.socket) -> bool:
    """True when the server sent its SSH banner; False when it closed without a word."""
    try:
        data = s.recv(64)
    except (TimeoutError, ConnectionResetError):
        return False
    return data.startswith(b"SSH-2.0-")


@contextlib.contextmanager
def held(sockets: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield sockets
    finally:
        for s in sockets:
            s.close()


async def test_preauth_cap_refuses_floods_and_lets_an_operator_in(served: Served) -> None:
    # one address opens 20: 4 (the per-address cap) are held, 16 closed at once, no banner
    with held([silent("127.0.0.2", served.port) for _ in range(20)]) as flood:
        answers = [greeted(s) for s in flood]
        assert answers.count(True) == 4 and answers.count(False) == 16, answers
        # an operator from another address logs in while they hang
        async with await connect(served, "alice") as conn:
            result = await conn.run("id", check=False)
            assert result.exit_status == 1 and "commands are not run" in str(result.stderr)
        # more addresses fill the total cap (16): then even a good login is refused at once
        more = [silent(f"127.0.0.{i}", served.port) for i in (3, 4, 5) for _ in range(4)]
        with held(more):
            assert all(greeted(s) for s in more)
            started = time.monotonic()
            with pytest.raises((asyncssh.Error, OSError)):
                await connect(served, "alice", login_timeout=5)
            assert time.monotonic() - started < 2  # refused at once, not timed out
    await asyncio.sleep(0.5)  # the gateway sees the hang-ups and frees the slots
    async with await connect(served, "alice") as conn:
        result = await conn.run("id", check=False)
        assert result.exit_status == 1
    assert re.search(r"ssh: refused \d+ connection\(s\) before authentication",
                     served.log_text()), served.log_text()[-2000:]


# --------------------------------------------------------------------------- idle timeout


@pytest.fixture(scope="module")
def idle_served() -> Iterator[Served]:
    """A daemon of its own: an 8 s idle timeout would end the shared one's sessions."""
    with serve("idle_timeout = 8") as s:
        yield s


async def test_idle_timeout_ends_an_untouched_session_not_a_typing_one(
    idle_served: Served,
) -> None:
    served = idle_served
    async with await connect(served, "alice") as idle_conn, \
            await connect(served, "vera") as busy_conn:
        idle = await open_terminal(idle_conn, 120, 40)
        busy = await open_terminal(busy_conn, 120, 40)

        async def type_now_and_then() -> None:
            while True:
                await busy.keys("\x1b[B", gap=1.0)  # arrow down: moves between tiles

        typing = asyncio.create_task(type_now_and_then())
        try:
            await idle.wait_for("idle session", timeout=12)  # warned 4 s before the end
            await idle.drained(timeout=10)
            assert ("session closed after 8 s without keyboard input (idle timeout); "
                    "reconnect to continue") in idle.text.replace("\n", ""), idle.text
            await asyncio.sleep(3)  # well past the timeout for the typing session
            assert busy.process.exit_status is None
            assert "idle timeout" not in busy.text
            assert "vera (viewer)" in busy.line(0)
        finally:
            typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await typing
            await idle.close()
            await busy.close()
    ends = [r for r in await audit_records(served)
            if r.get("operator") == "alice" and r.get("action") == "session.end"]
    assert ends and "idle timeout (8 s without keyboard input)" in str(ends[-1]["detail"])


# --------------------------------------------------------------------------- 80×24


async def test_dashboard_at_80x24_over_ssh_shows_every_part(served: Served) -> None:
    """The minimum terminal: every queue tile whole, the trunk strip, the alerts line and
    the routing flags line, all on one screen of the real console on the simulator."""
    async with await connect(served, "alice") as conn:
        term = await open_terminal(conn, 80, 24)
        try:
            text = await term.wait_for(
                lambda t: "Trunks 2/2 up" in t and "Flags on" in t and "repairs" in t,
                timeout=20,
            )
            lines = text.splitlines()
            assert "Active alerts" in lines[2], text
            starts = [line.strip()[:9] for line in lines]
            trunks = next(i for i, head in enumerate(starts) if head.startswith("Trunks "))
            flags = next(i for i, head in enumerate(starts) if head.startswith("Flags on"))
            last_tile = max(i for i, line in enumerate(lines) if "╰" in line)
            # below the last tile, above the footer, in this order
            assert last_tile < trunks < flags < len(lines) - 1, text
            for queue in ("billing", "hotline", "repairs"):
                assert f"─  {queue}  ─" in text, text
            assert text.count("╰") >= 3, text  # each tile's bottom border is on screen
            conn.close()
        finally:
            await term.close()
