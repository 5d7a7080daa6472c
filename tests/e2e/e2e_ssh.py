"""Helpers for the SSH end-to-end tests: a real ``ccops serve`` with the gateway, keys,
an asyncssh terminal read through pyte, and a tmux-driven OpenSSH client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pyte

from ccops.daemon.client import DaemonClient

# A steady, busy centre with no random agent pauses: what the tests pause is theirs.
SCENARIO = """
name = "ssh e2e"
[sim]
profile = "flat"
rate_scale = 15
agent_pauses = false
"""


@dataclass
class Served:
    """A running ``ccops serve`` with SSH on ``port``."""

    process: subprocess.Popen[bytes]
    port: int
    root: Path
    state_dir: Path
    keys: dict[str, Path]  # operator (or "stranger") → private key file
    log: Path

    @property
    def socket(self) -> Path:
        return self.state_dir / "ccops.sock"

    def key(self, who: str) -> asyncssh.SSHKey:
        return asyncssh.read_private_key(self.keys[who])

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def make_key(path: Path) -> str:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=path.name)
    key.write_private_key(path)
    path.chmod(0o600)
    return key.export_public_key().decode().strip()


def write_files(root: Path, extra_ssh: str = "") -> tuple[Path, dict[str, Path]]:
    keys = {who: root / f"{who}_key" for who in ("alice", "vera", "stranger")}
    pubs = {who: make_key(path) for who, path in keys.items()}
    (root / "operators.toml").write_text(
        f"""
[[operator]]
name = "alice"
role = "supervisor"
display_name = "Alice"
keys = ["{pubs['alice']}"]

[[operator]]
name = "vera"
role = "viewer"
keys = ["{pubs['vera']}"]
"""
    )
    (root / "scenario.toml").write_text(SCENARIO)
    config = root / "ccops.toml"
    config.write_text(
        f"""
[daemon]
state_dir = "{root / 'state'}"
publish_hz = 2.0

[sim]
scenario = "{root / 'scenario.toml'}"
seed = 5

[ssh]
enabled = true
host = "127.0.0.1"
port = 0
operators = "{root / 'operators.toml'}"
failure_delay = 0.2
failure_delay_max = 1.0
{extra_ssh}
"""
    )
    return config, keys


@contextlib.contextmanager
def serve(extra_ssh: str = "") -> Iterator[Served]:
    """``python -m ccops serve`` in a fresh short-path directory; SIGTERM at the end.
    ``extra_ssh``: more ``[ssh]`` settings (TOML lines) for a test that needs its own."""
    root = Path(tempfile.mkdtemp(prefix="ccops-e2e-", dir="/tmp"))
    config, keys = write_files(root, extra_ssh)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCOPS_")}
    log = root / "serve.log"
    proc = launch_serve(config, root, env, log, root / "serve.out")
    try:
        port = wait_for_ssh_port(proc, root / "serve.out", log)
        yield Served(proc, port, root, root / "state", keys, log)
    finally:
        stop_serve(proc)
        shutil.rmtree(root, ignore_errors=True)


def launch_serve(
    config: Path, root: Path, env: dict[str, str], log: Path, out: Path
) -> subprocess.Popen[bytes]:
    """``python -m ccops serve --config CONFIG`` in ``root``: stderr to ``log``, stdout
    (where it says its SSH port) to ``out``."""
    with log.open("wb") as err_fh, out.open("wb") as out_fh:
        return subprocess.Popen(
            [sys.executable, "-m", "ccops", "serve", "--config", str(config)],
            stdout=out_fh, stderr=err_fh, env=env, cwd=root,
        )


def wait_for_ssh_port(
    proc: subprocess.Popen[bytes], out: Path, log: Path, timeout: float = 30.0
) -> int:
    """The port ``ccops serve`` says its SSH gateway listens on (fails if it exits first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"ccops ssh: listening on 127\.0\.0\.1:(\d+)", out.read_text())
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            raise AssertionError(f"ccops serve exited {proc.returncode}: {log.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"ccops serve did not start the gateway: {log.read_text()}")


def stop_serve(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> int | None:
    """SIGTERM, as a service manager stops it; the exit status, or None if it had to be
    killed after ``timeout``."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


async def connect(served: Served, who: str, **kwargs: Any) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1", served.port, username=kwargs.pop("username", who),
        client_keys=[served.key(who)], known_hosts=None, agent_path=None, **kwargs,
    )


class Terminal:
    """An asyncssh PTY session rendered by pyte: what an operator's terminal shows."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes], cols: int, rows: int) -> None:
        self.process = process
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.received = 0
        self.tail = b""  # the last bytes received, raw
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            data = await self.process.stdout.read(65536)
            if not data:
                return
            self.received += len(data)
            self.tail = (self.tail + data)[-4096:]
            self.stream.feed(data)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def line(self, row: int) -> str:
        return str(self.screen.display[row])

    async def wait_for(
        self, what: str | Callable[[str], bool], timeout: float = 15.0
    ) -> str:
        check = what if callable(what) else (lambda text: what in text)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check(self.text):
                return self.text
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what!r}; screen:\n{self.text}")

    async def absent_for(self, what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert what not in self.text, f"{what!r} appeared:\n{self.text}"
            await asyncio.sleep(0.1)

    async def keys(self, *chunks: str, gap: float = 0.35) -> None:
        """Type like a person: each chunk arrives separately, with a short gap."""
        for chunk in chunks:
            self.process.stdin.write(chunk.encode())
            await asyncio.sleep(gap)

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)
        self.process.change_terminal_size(cols, rows)

    async def drained(self, timeout: float = 5.0) -> None:
        """Wait until everything the server sent before closing has been read."""
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


async def open_terminal(
    conn: asyncssh.SSHClientConnection, cols: int = 120, rows: int = 40, **kwargs: Any
) -> Terminal:
    process = await conn.create_process(
        term_type=kwargs.pop("term_type", "xterm-256color"), term_size=(cols, rows),
        encoding=None, **kwargs,
    )
    return Terminal(process, cols, rows)


async def audit_records(served: Served, **query: Any) -> list[dict[str, Any]]:
    """The daemon's audit log, read as the local admin (this test's own uid)."""
    client = DaemonClient(served.socket)
    await client.connect(subscribe=False)
    try:
        reply = await client.request("audit", after_seq=0, limit=500, **query)
    finally:
        await client.close()
    assert reply.get("type") == "result", reply
    return list(reply["result"]["records"])


def process_gone(pid: int) -> bool:
    """No such process, not even a zombie waiting to be reaped."""
    return not Path(f"/proc/{pid}").exists()


class Tmux:
    """A private tmux server (``-L``) with one window running ``command``."""

    def __init__(self, name: str, command: str, cols: int = 120, rows: int = 40) -> None:
        self.name = name
        self._run("new-session", "-d", "-s", "t", "-x", str(cols), "-y", str(rows), command)

    def _run(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", "t")

    def send(self, *keys: str) -> None:
        self._run("send-keys", "-t", "t", *keys)

    async def type(self, *chunks: str, gap: float = 0.35) -> None:
        for chunk in chunks:
            if chunk in ("Enter", "Escape"):
                self.send(chunk)
            else:
                self.send("-l", chunk)
            await asyncio.sleep(gap)

    async def wait_for(self, check: Callable[[str], bool], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if check(text):
                return text
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out; screen:\n{text}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True, timeout=10)
