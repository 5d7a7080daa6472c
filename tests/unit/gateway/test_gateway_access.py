"""Access changes while sessions are open: operators file reload and validation, what a
reload ends, the daemon-side revocation, the idle timeout and the pre-authentication cap."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from ccops.config import ConfigError, SshConfig, load_settings
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.api import ApiServer
from ccops.daemon.publisher import Publisher
from ccops.gateway.operators import Login, OperatorDirectory, fingerprint
from ccops.gateway.preauth import PreAuthLimiter
from ccops.gateway.server import SshGateway
from ccops.gateway.session import ConsoleSession, SessionContext, fmt_span
from ccops.tui.link import InheritedSocketClient


def pub(comment: str) -> tuple[asyncssh.SSHKey, str]:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    return key, key.export_public_key().decode().strip()


def op_table(name: str, role: str, *keys: str, extra: str = "") -> str:
    listed = ", ".join(f'"{k}"' for k in keys)
    return f'[[operator]]\nname = "{name}"\nrole = "{role}"\nkeys = [{listed}]\n{extra}\n'


def rewrite(path: Path, text: str) -> None:
    """Write and move the stamp, so a change inside one clock tick is still seen."""
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


# --------------------------------------------------------------------------- revocation


def test_revocation_names_what_changed(tmp_path: Path) -> None:
    alice, a1 = pub("alice")
    _, a2 = pub("alice2")
    bob, b1 = pub("bob")
    path = tmp_path / "ops.toml"
    rewrite(path, op_table("alice", "supervisor", a1, a2) + op_table("bob", "viewer", b1))
    d = OperatorDirectory(path)
    alice_login = d.check("alice", alice)
    bob_login = d.check("bob", bob)
    assert alice_login is not None and bob_login is not None
    assert d.revocation(alice_login) is None and d.revocation(bob_login) is None

    # a display name or theme edit is not an access change
    rewrite(path, op_table("alice", "supervisor", a1, a2, extra='display_name = "Al"')
            + op_table("bob", "viewer", b1, extra='theme = "light"'))
    assert d.reload_if_changed() is True
    assert d.revocation(alice_login) is None and d.revocation(bob_login) is None

    # the key alice logged in with removed (her other key stays): her session goes
    rewrite(path, op_table("alice", "supervisor", a2) + op_table("bob", "admin", b1))
    assert d.reload_if_changed() is True
    why = d.revocation(alice_login)
    assert why is not None and fingerprint(alice) in why and "removed" in why
    # a role change, even upwards, ends the session (it runs with one role throughout)
    assert d.revocation(bob_login) == "role changed from viewer to admin"

    rewrite(path, op_table("alice", "supervisor", a2))
    d.reload_if_changed()
    assert d.revocation(bob_login) == "operator bob was removed"


def test_reload_sees_content_not_touches_and_keeps_last_good(tmp_path: Path) -> None:
    alice, a1 = pub("alice")
    path = tmp_path / "ops.toml"
    rewrite(path, op_table("alice", "viewer", a1))
    d = OperatorDirectory(path)
    assert d.reload_if_changed() is None  # nothing changed
    rewrite(path, path.read_text())  # touched, same bytes: not a reload
    assert d.reload_if_changed() is None and d.reloads == 1

    rewrite(path, op_table("alice", "viewer", a1) + op_table("alice", "admin", a1))
    assert d.reload_if_changed() is False  # refused: duplicate, located
    assert any("repeated: alice" in p for p in d.problems), d.problems
    assert d.reload_if_changed() is None  # the same broken file is reported once
    rewrite(path, '[[operator]]\nname = "alice"\nrole = "root"\n' f'keys = ["{a1}"]\n')
    assert d.reload_if_changed() is False
    assert any("line 3" in p and "role" in p for p in d.problems), d.problems
    path.write_bytes(b"\xff\xfe not text")
    assert d.reload_if_changed() is False and "not UTF-8" in d.problems[0]
    path.unlink()
    assert d.reload_if_changed() is False and "cannot read" in d.problems[0]
    # through all of that the last good file stayed in force
    login = d.check("alice", alice)
    assert login is not None and login.role is Role.VIEWER and d.load_errors == 4


class FakeSession:
    def __init__(self, login: Login) -> None:
        self.login = login
        self.operator = Operator(login.name, login.role, f"ssh-{login.name}", "ssh")
        self.ended: tuple[str, str] | None = None

    def end(self, reason: str, farewell: str) -> None:
        self.ended = (reason, farewell)


async def test_gateway_reload_ends_only_sessions_the_file_no_longer_grants(
    tmp_path: Path,
) -> None:
    alice, a1 = pub("alice")
    bob, b1 = pub("bob")
    carol, c1 = pub("carol")
    path = tmp_path / "ops.toml"
    rewrite(path, op_table("alice", "supervisor", a1) + op_table("bob", "viewer", b1)
            + op_table("carol", "admin", c1))
    audited: list[tuple[str, str, dict[str, Any], str]] = []

    async def attach(sock: socket.socket, op: Operator) -> None:
        raise AssertionError("no session starts here")

    async def audit(op: Operator, action: str, params: dict[str, Any], detail: str) -> None:
        audited.append((op.name, action, params, detail))

    gw = SshGateway(SshConfig(enabled=True, operators=path, port=0), state_dir=tmp_path,
                    attach=attach, audit=audit)
    logins = [gw.operators.check(n, k) for n, k in (("alice", alice), ("bob", bob),
                                                     ("carol", carol))]
    sessions = [FakeSession(lg) for lg in logins if lg is not None]
    for s in sessions:
        gw.ctx.active[s.operator.session_id] = s  # type: ignore[assignment]

    # a broken edit: nobody is cut off, the problems are audited
    rewrite(path, "[[operator]\n")
    assert gw.check_operators() is False
    await asyncio.sleep(0.05)
    assert all(s.ended is None for s in sessions)
    assert audited[-1][1] == "operators.reload" and "refused" in audited[-1][3]
    assert "not valid TOML" in audited[-1][2]["problems"][0]

    # bob removed, carol demoted, alice untouched
    rewrite(path, op_table("alice", "supervisor", a1) + op_table("carol", "viewer", c1))
    assert gw.reload_operators() is True
    await asyncio.sleep(0.05)
    alice_s, bob_s, carol_s = sessions
    assert alice_s.ended is None
    assert bob_s.ended is not None and "operator bob was removed" in bob_s.ended[0]
    assert bob_s.ended[1] == ("your access was changed by the administrator: operator bob "
                              "was removed; reconnect")
    assert carol_s.ended is not None and "from admin to viewer" in carol_s.ended[1]
    name, action, params, detail = audited[-1]
    assert (name, action, detail) == ("ccops", "operators.reload", "taken")
    assert params["sessions_ended"] == ["ssh-bob", "ssh-carol"]
    assert gw.ended_by_reload == 2


# --------------------------------------------------------------------------- daemon side


async def test_revoked_session_identity_stops_working(tmp_path: Path) -> None:
    served: list[str] = []

    async def handle(op: Any, frame: dict[str, Any]) -> dict[str, Any]:
        served.append(str(frame.get("op")))
        return {"type": "result", "id": frame.get("id"), "result": {}}

    server = ApiServer(
        tmp_path / "ccops.sock", Publisher(lambda: {"pbx": {}}),
        identify=lambda uid, pid: None, handle=handle,
        describe_operator=lambda op: {"name": op.name, "role": op.role.value},
    )
    await server.start()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        vera = Operator(name="vera", role=Role.SUPERVISOR, session_id="ssh-v", via="ssh")
        await server.attach_preauthenticated(ours, vera)
        theirs.setblocking(False)
        client = InheritedSocketClient(theirs)
        pushed: list[dict[str, Any]] = []
        client.on_alert = pushed.append
        # a notice for a console still starting is held until its hello
        assert server.notify_session("ssh-v", {"type": "session_notice", "message": "early"})
        await client.connect(subscribe=True)
        await client.request("ping")
        assert server.notify_session("ssh-v", {"type": "session_notice", "message": "hi"})
        for _ in range(50):
            if len(pushed) == 2:
                break
            await asyncio.sleep(0.02)
        assert pushed == [{"type": "session_notice", "message": "early"},
                          {"type": "session_notice", "message": "hi"}]

        assert server.revoke_session("ssh-v") is True
        await asyncio.wait_for(client.closed.wait(), 2)  # the daemon hung up
        with pytest.raises(Exception):  # noqa: B017 - closed, whichever way it says so
            await client.request("ping", timeout=1)
        assert served == ["ping"] and not server.publisher.clients
        assert server.revoke_session("ssh-v") is False  # gone; nothing left to revoke
        assert server.notify_session("ssh-v", {"type": "x"}) is False
    finally:
        theirs.close()
        await server.stop()


# --------------------------------------------------------------------------- idle timeout


class IdleProcess:
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("10.0.0.9", 5555) if name == "peername" else default


async def test_idle_watch_warns_then_ends_and_input_resets_it(tmp_path: Path) -> None:
    notices: list[dict[str, Any]] = []
    revoked: list[str] = []

    async def nothing(*_a: Any) -> None:
        return None

    ctx = SessionContext(attach=nothing, audit=nothing, state_dir=tmp_path,
                         log_file=tmp_path / "c.log", stall_timeout=1, max_sessions=1,
                         revoke=revoked.append,
                         notify=lambda sid, frame: notices.append(frame),
                         idle_timeout=1.0)
    login = Login("alice", Role.SUPERVISOR, "alice", "dark", "SHA256:x")
    session = ConsoleSession(ctx, IdleProcess(), login)  # type: ignore[arg-type]

    watch = asyncio.create_task(session._idle_watch(1.0))
    await asyncio.sleep(0.7)  # warned at 0.5 s (half the timeout: shorter than 2 min)
    assert [n.get("clear") for n in notices] == [None]
    assert "ends in 1 s. Press any key to stay connected." in notices[0]["message"]
    session.last_input = time.monotonic()  # a key
    session._input_seen.set()
    await asyncio.sleep(0.1)
    assert notices[-1].get("clear") is True and not watch.done()
    started = time.monotonic()
    reason = await asyncio.wait_for(watch, 3)
    assert 0.8 < time.monotonic() - started < 1.5  # a full timeout after that key
    assert reason == "idle timeout (1 s without keyboard input)"
    assert revoked == [session.operator.session_id]
    assert "without keyboard input (idle timeout); reconnect" in session.farewell
    assert fmt_span(900) == "15 min" and fmt_span(5400) == "90 min"
    assert fmt_span(3 * 3600) == "3 h"


# --------------------------------------------------------------------------- pre-auth cap


def test_preauth_cap_total_and_per_address(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    lim = PreAuthLimiter(5, 2, clock=lambda: now[0])
    assert lim.admit("a") and lim.admit("a")
    assert not lim.admit("a")  # the per-address cap
    assert lim.admit("b") and lim.admit("b") and lim.admit("c")
    assert not lim.admit("d")  # the total cap, though d holds none
    assert lim.pending == 5 and lim.refused == 2
    lim.release("a")
    assert lim.admit("d") and lim.held("a") == 1
    lim.release("zzz")  # never admitted: nothing happens
    assert lim.pending == 5
    for addr in ("a", "b", "b", "c", "d"):
        lim.release(addr)
    assert lim.pending == 0 and lim.held("b") == 0
    # refusals are logged at most once per 10 s, with the count since the last line
    for _ in range(9):
        lim.admit("x")  # 2 admitted, 7 refused (the total refused so far: 9)
    now[0] = 30.0
    lim.admit("x")
    lines = [r.getMessage() for r in caplog.records if "before authentication" in r.message]
    assert len(lines) == 2 and lines[-1].startswith("ssh: refused 9 connection(s)"), lines


def test_access_settings_defaults_and_located_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[ssh]\n")
    ssh = load_settings(cfg).ssh
    assert ssh.idle_timeout == 0  # off: wall displays stay up
    assert (ssh.max_unauthenticated, ssh.max_unauthenticated_per_address) == (16, 4)
    cfg.write_text("[ssh]\nidle_timeout = -5\nmax_unauthenticated = 0\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    text = "\n".join(err.value.problems)
    assert "line 2: ssh.idle_timeout" in text and "line 3: ssh.max_unauthenticated" in text
