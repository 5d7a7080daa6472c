"""The gateway's parts without SSH: operators file, failure throttle, child environment,
host key, ``[ssh]`` settings, and the daemon's pre-authenticated attach."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from ccops.config import ConfigError, load_settings
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.api import ApiServer
from ccops.daemon.publisher import Publisher
from ccops.gateway.childenv import DEFAULT_TERM, child_environment, sane_term
from ccops.gateway.hostkey import load_or_create_host_key
from ccops.gateway.operators import OperatorDirectory, load_operators
from ccops.gateway.throttle import FailureThrottle
from ccops.tui.link import InheritedSocketClient


def pub(comment: str) -> tuple[asyncssh.SSHKey, str]:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    return key, key.export_public_key().decode().strip()


# --------------------------------------------------------------------------- operators


def write_ops(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_operators_key_belongs_to_that_user_only(tmp_path: Path) -> None:
    alice, alice_pub = pub("alice")
    bob, bob_pub = pub("bob")
    stranger, _ = pub("x")
    path = write_ops(tmp_path / "ops.toml", f"""
[[operator]]
name = "alice"
role = "supervisor"
keys = ["{alice_pub}"]
[[operator]]
name = "bob"
role = "viewer"
display_name = "Bob B."
theme = "high-contrast"
keys = ["{bob_pub}"]
""")
    d = OperatorDirectory(path)
    login = d.check("alice", alice)
    assert login is not None and login.role is Role.SUPERVISOR and login.display_name == "alice"
    assert login.fingerprint.startswith("SHA256:")
    bob_login = d.check("bob", bob)
    assert bob_login is not None and bob_login.theme == "high-contrast"
    assert d.check("alice", bob) is None  # bob's key does not log in as alice
    assert d.check("alice", stranger) is None
    assert d.check("carol", alice) is None


def test_operators_errors_are_located(tmp_path: Path) -> None:
    _, good = pub("a")
    path = write_ops(tmp_path / "ops.toml", f"""
[[operator]]
name = "alice"
role = "supervisor"
keys = ["{good}"]

[[operator]]
name = "bob"
role = "superuser"
keys = ["ssh-ed25519 AAAAnot-a-key bob@x"]
colour = "red"
""")
    with pytest.raises(ConfigError) as err:
        load_operators(path)
    text = "\n".join(err.value.problems)
    assert f"{path} line 9: operator[1].role" in text
    assert f"{path} line 10: operator[1].keys" in text and "keys[0] is not an OpenSSH" in text
    assert "operator[1].colour" in text


def test_operators_one_key_one_operator_and_not_empty(tmp_path: Path) -> None:
    _, k = pub("shared")
    path = write_ops(tmp_path / "ops.toml", f"""
[[operator]]
name = "alice"
role = "admin"
keys = ["{k}"]
[[operator]]
name = "bob"
role = "viewer"
keys = ["{k}"]
""")
    with pytest.raises(ConfigError, match="listed for both alice and bob"):
        load_operators(path)
    with pytest.raises(ConfigError, match="no \\[\\[operator\\]\\] entries"):
        load_operators(write_ops(tmp_path / "empty.toml", "# nobody\n"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_operators(write_ops(tmp_path / "bad.toml", "[[operator]\n"))


def test_operators_reload_on_change_keeps_last_good(tmp_path: Path) -> None:
    alice, alice_pub = pub("alice")
    carol, carol_pub = pub("carol")
    path = write_ops(tmp_path / "ops.toml",
                     f'[[operator]]\nname = "alice"\nrole = "viewer"\nkeys = ["{alice_pub}"]\n')
    d = OperatorDirectory(path)
    assert d.check("alice", alice) is not None and d.check("carol", carol) is None
    write_ops(path, f'[[operator]]\nname = "alice"\nrole = "viewer"\nkeys = ["{alice_pub}"]\n'
                    f'[[operator]]\nname = "carol"\nrole = "admin"\nkeys = ["{carol_pub}"]\n')
    os.utime(path, ns=(1, 1))  # a different stamp even within one clock tick
    d.reload_if_changed()
    assert d.check("carol", carol) is not None
    write_ops(path, "[[operator]]\nname = 'alice'\nrole = 'nobody'\nkeys = []\n")
    d.reload_if_changed()  # broken edit: logged, previous list stays
    assert d.load_errors == 1
    assert d.check("carol", carol) is not None and len(d) == 2


# --------------------------------------------------------------------------- throttle


def test_throttle_grows_caps_forgets_and_is_bounded() -> None:
    now = [0.0]
    t = FailureThrottle(1.0, 8.0, 60.0, clock=lambda: now[0], max_addresses=3)
    assert [t.record_failure("a") for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert t.failures("a") == 5 and t.total_failures == 5
    assert t.record_failure("b") == 1.0  # per address
    now[0] = 61.0
    assert t.failures("a") == 0 and t.record_failure("a") == 1.0  # forgotten after quiet
    t.record_success("a")
    assert t.failures("a") == 0
    for addr in ("c", "d", "e", "f"):
        t.record_failure(addr)
    assert len(t._by_addr) == 3  # a scan from many addresses cannot grow memory


# --------------------------------------------------------------------------- child env


def test_child_environment_is_built_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCOPS_PBX_MAIN_SECRET", "hunter2")
    client = {"CCOPS_ROLE": "admin", "COLORTERM": "truecolor", "LD_PRELOAD": "/tmp/x.so",
              "TERM": "vt100"}
    env = child_environment("tmux-256color", client, home=Path("/var/lib/ccops"))
    assert env["TERM"] == "tmux-256color" and env["LANG"] == "C.UTF-8"
    assert env["COLORTERM"] == "truecolor"
    assert not any(k.startswith("CCOPS_") for k in env)
    assert "LD_PRELOAD" not in env and "hunter2" not in str(env)
    assert set(env) == {"TERM", "LANG", "PATH", "HOME", "TEXTUAL_ANIMATIONS",
                        "PYTHONDONTWRITEBYTECODE", "COLORTERM"}
    odd = child_environment("xterm;rm -rf /", {"COLORTERM": "$(evil)"}, home=Path("/"))
    assert odd["TERM"] == DEFAULT_TERM and "COLORTERM" not in odd
    assert sane_term(None) == DEFAULT_TERM


# --------------------------------------------------------------------------- host key


def test_host_key_made_once_kept_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "host"
    key, created = load_or_create_host_key(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_host_key(path)
    assert not created_again
    assert again.get_fingerprint() == key.get_fingerprint()
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        load_or_create_host_key(path)
    path.chmod(0o600)
    path.write_text("not a key")
    with pytest.raises(ConfigError, match="not a usable SSH private key"):
        load_or_create_host_key(path)


# --------------------------------------------------------------------------- settings


def test_ssh_settings_validation(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[ssh]\nenabled = true\n")
    with pytest.raises(ConfigError, match="operators file is required"):
        load_settings(cfg)
    cfg.write_text("[ssh]\nallow_passwords = true\nport = 70000\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    text = "\n".join(err.value.problems)
    assert "line 2: ssh.allow_passwords" in text and "public keys" in text
    assert "line 3: ssh.port" in text
    cfg.write_text("[ssh]\nenabled = true\noperators = 'ops.toml'\n")
    s = load_settings(cfg)
    assert s.ssh.port == 2222 and s.ssh.host == "127.0.0.1" and not s.ssh.allow_passwords
    assert s.ssh.resolved_host_key(tmp_path) == tmp_path / "ssh_host_ed25519_key"


# --------------------------------------------------------------------------- daemon attach


async def test_preauthenticated_socket_is_the_operator_the_daemon_chose(tmp_path: Path) -> None:
    seen: list[Any] = []

    async def handle(op: Any, frame: dict[str, Any]) -> dict[str, Any]:
        seen.append(op)
        return {"type": "result", "id": frame.get("id"), "result": {"who": op.name}}

    server = ApiServer(
        tmp_path / "ccops.sock",
        Publisher(lambda: {"pbx": {}}),
        identify=lambda uid, pid: None,  # no local peer is an operator here
        handle=handle,
        describe_operator=lambda op: {"name": op.name, "role": op.role.value, "via": op.via},
    )
    await server.start()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        vera = Operator(name="vera", role=Role.VIEWER, session_id="ssh-1", via="ssh")
        await server.attach_preauthenticated(ours, vera)
        theirs.setblocking(False)
        client = InheritedSocketClient(theirs)
        await client.connect(subscribe=True)
        assert client.operator == {"name": "vera", "role": "viewer", "via": "ssh"}
        # what the client claims in its frames changes nothing
        reply = await client.request("ping", operator="carol", role="admin")
        assert reply["result"] == {"who": "vera"} and seen == [vera]
        await client.close()
        for _ in range(50):
            if not server.publisher.clients:
                break
            await asyncio.sleep(0.02)
        assert not server.publisher.clients
    finally:
        await server.stop()


# --------------------------------------------------------------------------- bridge


async def test_output_stops_reading_while_the_client_is_slow_then_drops_it() -> None:
    from ccops.gateway.bridge import ClientStalled, pump_output

    master, slave = os.openpty()
    os.set_blocking(master, False)
    sent: list[bytes] = []
    gate = asyncio.Event()

    async def drain() -> None:  # the client has stopped reading
        await gate.wait()

    try:
        os.write(slave, b"first frame")
        task = asyncio.create_task(pump_output(master, sent.append, drain, stall_timeout=0.5))
        await asyncio.sleep(0.1)
        os.write(slave, b"second frame")
        await asyncio.sleep(0.2)
        assert sent == [b"first frame"]  # nothing more is read (or buffered) meanwhile
        with pytest.raises(ClientStalled):
            await task
    finally:
        os.close(master)
        os.close(slave)


async def test_output_ends_when_the_console_closes_its_terminal() -> None:
    from ccops.gateway.bridge import pump_output

    master, slave = os.openpty()
    os.set_blocking(master, False)
    sent: list[bytes] = []

    async def drain() -> None:
        return None

    os.write(slave, b"bye")
    os.close(slave)
    await asyncio.wait_for(pump_output(master, sent.append, drain, stall_timeout=1), 5)
    os.close(master)
    assert b"".join(sent) == b"bye"


# --------------------------------------------------------------------------- session gate


class FakeProcess:
    """Just enough of asyncssh's server process for the request checks."""

    def __init__(self, login: Any, *, command: str | None = None, subsystem: str | None = None,
                 term: str | None = "xterm") -> None:
        self.login = login
        self.command = command
        self.subsystem = subsystem
        self.term = term
        self.err = bytearray()
        self.exit_status: int | None = None
        outer = self

        class _Err:
            def write(self, data: bytes) -> None:
                outer.err.extend(data)

        self.stderr = _Err()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"ccops_login": self.login, "peername": ("10.0.0.9", 5555)}.get(name, default)

    def get_terminal_type(self) -> str | None:
        return self.term

    def exit(self, status: int) -> None:
        self.exit_status = status


async def test_session_gate_refuses_with_a_sentence(tmp_path: Path) -> None:
    from ccops.gateway.operators import Login
    from ccops.gateway.session import SessionContext, handle_process

    attached: list[Any] = []

    async def attach(sock: socket.socket, op: Operator) -> None:
        attached.append(op)

    async def audit(op: Operator, action: str, params: dict[str, Any], detail: str) -> None:
        raise AssertionError("nothing starts, nothing is audited")

    ctx = SessionContext(attach=attach, audit=audit, state_dir=tmp_path,
                         log_file=tmp_path / "c.log", stall_timeout=1, max_sessions=1)
    login = Login("alice", Role.SUPERVISOR, "alice", "dark", "SHA256:x")
    cases = [
        (FakeProcess(None), "not authenticated"),
        (FakeProcess(login, command="cat /etc/passwd"), "commands are not run"),
        (FakeProcess(login, subsystem="sftp"), "subsystem 'sftp' is not offered"),
        (FakeProcess(login, term=None), "needs a terminal"),
    ]
    for proc, said in cases:
        await handle_process(ctx, proc)  # type: ignore[arg-type]
        assert proc.exit_status == 1 and said in proc.err.decode(), proc.err
    ctx.active["other"] = object()  # type: ignore[assignment]
    busy = FakeProcess(login)
    await handle_process(ctx, busy)  # type: ignore[arg-type]
    assert busy.exit_status == 1 and "all 1 console sessions are in use" in busy.err.decode()
    assert attached == [] and ctx.refused == 5


def test_ccops_check_validates_the_operators_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ccops.cli import EXIT_CONFIG, EXIT_OK, main

    monkeypatch.delenv("CCOPS_CONFIG", raising=False)
    _, k = pub("alice")
    ops = write_ops(tmp_path / "ops.toml",
                    f'[[operator]]\nname = "alice"\nrole = "admin"\nkeys = ["{k}"]\n')
    cfg = tmp_path / "ccops.toml"
    cfg.write_text(f'[ssh]\nenabled = true\nport = 2200\noperators = "{ops}"\n')
    assert main(["check", "--config", str(cfg)]) == EXIT_OK
    assert "ssh enabled on 127.0.0.1:2200 for 1 operators" in capsys.readouterr().out
    ops.write_text(ops.read_text().replace('"admin"', '"root"'))
    assert main(["check", "--config", str(cfg)]) == EXIT_CONFIG
    assert f"{ops} line 3: operator[0].role" in capsys.readouterr().err
