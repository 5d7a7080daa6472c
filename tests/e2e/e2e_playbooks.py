"""Helpers for the playbook end-to-end tests: a ``ccops serve`` whose wall clock the test
moves (libfaketime), that can be stopped and started again on the same state directory,
with an on-call roster, paging and the site parameters the PBX steps need.

Why libfaketime rather than a fake clock inside the daemon: these tests must show the
daemon an operator runs, unmodified, firing its timers on time — including after a
restart — so the clock is moved from outside the process. ``FAKETIME_TIMESTAMP_FILE``
holds an offset such as ``+1799.5`` that the preloaded library re-reads on every call
(``FAKETIME_NO_CACHE``); ``FAKETIME_DONT_FAKE_MONOTONIC`` leaves the monotonic clock (the
event loop's timers, the simulator's traffic) alone, exactly as an NTP step would. That
setting makes ``time.sleep`` fail with EINVAL; the daemon never calls it (asyncio only).

The console processes the gateway starts do not see the fake clock: the gateway builds
their environment from scratch (no ``LD_PRELOAD``). So what the tests read on screen about
timers is what the daemon decided (levels, timeline times, states), not the console's own
countdown arithmetic.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from e2e_ssh import Served, launch_serve, make_key, stop_serve, wait_for_ssh_port

from ccops.daemon.client import DaemonClient


class Screen(Protocol):
    """What the flows need of a client: e2e_ssh.Terminal (asyncssh + pyte) or
    TmuxTerminal (OpenSSH in tmux)."""

    @property
    def text(self) -> str: ...

    def line(self, row: int) -> str: ...

    async def wait_for(
        self, what: str | Callable[[str], bool], timeout: float = 15.0
    ) -> str: ...

    async def absent_for(self, what: str, seconds: float) -> None: ...

    async def keys(self, *chunks: str, gap: float = ...) -> None: ...


KEY_GAP = 0.12  # between typed chunks: a quick operator (bursts are held by the console)


class Typist:
    """A :class:`Screen` whose keys come quicker than e2e_ssh's person-paced default: the
    console holds keys typed ahead of an Enter (command line and forms), so a fast typist
    loses nothing, and these long flows stay short."""

    def __init__(self, term: Screen) -> None:
        self.term = term

    @property
    def text(self) -> str:
        return self.term.text

    def line(self, row: int) -> str:
        return self.term.line(row)

    async def wait_for(self, what: str | Callable[[str], bool], timeout: float = 15.0) -> str:
        return await self.term.wait_for(what, timeout)

    async def absent_for(self, what: str, seconds: float) -> None:
        await self.term.absent_for(what, seconds)

    async def keys(self, *chunks: str, gap: float = KEY_GAP) -> None:
        await self.term.keys(*chunks, gap=gap)


def _libfaketime() -> Path:
    """libfaketime.so.1 of Debian's ``faketime`` package, whatever the architecture."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    return found[0] if found else Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


LIBFAKETIME = _libfaketime()


class FakeWall:
    """The daemon's wall clock: real time plus an offset kept in a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{self.offset:+.6f}\n")
        os.replace(tmp, self.path)  # never a half-written file for the daemon to read

    def now(self) -> float:
        """What the daemon's ``time.time()`` returns at this moment."""
        return time.time() + self.offset

    def set(self, wall: float) -> None:
        """Make the daemon's wall clock read ``wall`` now (and run on from there)."""
        self.offset = wall - time.time()
        self._write()

    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }


def operators_toml(pubs: dict[str, str]) -> str:
    return f"""
[[operator]]
name = "lead"
role = "supervisor"
display_name = "Duty team leader"
keys = ["{pubs['lead']}"]
"""


@dataclass
class Site:
    """A ccops installation in a temp dir: config, keys, fake clock, and its daemon."""

    root: Path
    config: Path
    keys: dict[str, Path]
    wall: FakeWall
    process: subprocess.Popen[bytes] | None = None
    served: Served | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def socket(self) -> Path:
        return self.state_dir / "ccops.sock"

    def start(self, timeout: float = 30.0) -> Served:
        """``python -m ccops serve`` under the fake clock; returns once SSH listens."""
        assert self.process is None, "already running"
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CCOPS_", "FAKETIME"))}
        env.update(self.wall.env())
        log = self.root / f"serve{self.starts}.log"
        out = self.root / f"serve{self.starts}.out"
        self.logs.append(log)
        proc = launch_serve(self.config, self.root, env, log, out)
        self.process = proc
        port = wait_for_ssh_port(proc, out, log, timeout)
        self.served = Served(proc, port, self.root, self.state_dir, self.keys, log)
        return self.served

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        proc, self.process, self.served = self.process, None, None
        if proc is None:
            return 0
        code = stop_serve(proc)
        if code is None:
            raise AssertionError("ccops serve did not stop on SIGTERM within 20 s")
        return code

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


def start_pbx(root: Path, scenario: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``ccops sim`` in its own process: a PBX that keeps running (calls, AstDB) while
    the daemon is restarted, as Asterisk does. Returns the process and its AMI port."""
    out = root / "pbx.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCOPS_")}
    with out.open("wb") as out_fh, (root / "pbx.log").open("wb") as err_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccops", "sim", "--listen", "127.0.0.1:0",
             "--scenario", str(scenario), "--seed", "11"],
            stdout=out_fh, stderr=err_fh, env=env, cwd=root,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"AMI on 127\.0\.0\.1:(\d+)", out.read_text())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise AssertionError(f"ccops sim did not start: {(root / 'pbx.log').read_text()}")


@contextmanager
def site(scenario: str, config_extra: str = "", *, own_pbx: bool = False) -> Iterator[Site]:
    """A fresh site (not started); its daemon is stopped and the directory removed after.

    The PBX is the daemon's embedded simulator, or with ``own_pbx`` a separate ``ccops sim``
    process configured as ``[[pbx]] name = "main"`` (not labelled simulated: production as
    far as ccops knows), which outlives daemon restarts like a real Asterisk."""
    root = Path(tempfile.mkdtemp(prefix="ccops-pb-", dir="/tmp"))
    keys = {who: root / f"{who}_key" for who in ("lead",)}
    pubs = {who: make_key(path) for who, path in keys.items()}
    (root / "operators.toml").write_text(operators_toml(pubs))
    (root / "scenario.toml").write_text(scenario)
    pbx: subprocess.Popen[bytes] | None = None
    if own_pbx:
        pbx, ami_port = start_pbx(root, root / "scenario.toml")
        source = f"""
[[pbx]]
name = "main"
host = "127.0.0.1"
port = {ami_port}
username = "ccops"
secret = "ccops-sim"
"""
    else:
        source = f"""
[sim]
scenario = "{root / 'scenario.toml'}"
seed = 11
"""
    config = root / "ccops.toml"
    config.write_text(
        f"""
[daemon]
state_dir = "{root / 'state'}"
publish_hz = 2.0
{source}
[ssh]
enabled = true
host = "127.0.0.1"
port = 0
operators = "{root / 'operators.toml'}"
failure_delay = 0.2
failure_delay_max = 1.0
{config_extra}
"""
    )
    s = Site(root, config, keys, FakeWall(root / "faketime"))
    try:
        yield s
    finally:
        try:
            s.stop()
        finally:
            if pbx is not None:
                pbx.send_signal(signal.SIGTERM)
                try:
                    pbx.wait(10)
                except subprocess.TimeoutExpired:
                    pbx.kill()
                    pbx.wait()
            if not os.environ.get("E2E_KEEP"):  # keep the logs to read a failure
                shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- reading


async def incident(socket: Path, incident_id: int) -> dict[str, Any]:
    """One incident as the daemon's store has it (the cross-check, not the test's input)."""
    client = DaemonClient(socket)
    await client.connect(subscribe=False)
    try:
        reply = await client.request("incident", incident_id=incident_id)
    finally:
        await client.close()
    found = reply.get("incident")
    assert isinstance(found, dict), reply
    return found


def report_cli(config: Path, incident_id: int, *flags: str) -> str:
    """``ccops incident report ID`` against the site's store, as an admin would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCOPS_", "FAKETIME"))}
    env.pop("LD_PRELOAD", None)
    out = subprocess.run(
        [sys.executable, "-m", "ccops", "incident", "report", str(incident_id),
         "--config", str(config), *flags],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr}"
    return out.stdout


def console_clock(at: float) -> str:
    """``HH:MM:SS`` as the console shows a time (its local zone; the gateway sets no TZ)."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def without_notices(line: str) -> str:
    """A screen line without the part a notice (toast, on the right) covers."""
    at = line.rfind("▌")
    return line[:at] if at > len(line) // 2 else line


def row_of(text: str, *needles: str) -> str:
    """The first screen line holding every needle, notices left out (empty when none)."""
    lines = (without_notices(ln) for ln in text.splitlines())
    return next((ln for ln in lines if all(n in ln for n in needles)), "")


def notices(text: str) -> str:
    """The text of the notices (toasts) on the right, their wrapped lines joined."""
    parts = []
    for line in text.splitlines():
        at = line.rfind("▌")
        if at > len(line) // 2:
            parts.append(line[at + 1:].strip())
    return " ".join(" ".join(parts).split())


async def wait_notice(term: Screen, *needles: str, timeout: float = 15.0) -> str:
    """Wait for a notice holding every needle; all the notices' text."""
    text = await term.wait_for(lambda t: all(n in notices(t) for n in needles), timeout=timeout)
    return notices(text)


async def wait_row(
    term: Screen, *needles: str, check: Callable[[str], bool] | None = None,
    timeout: float = 15.0,
) -> str:
    """Wait for a screen line holding every needle (and passing ``check``)."""
    def ok(text: str) -> bool:
        line = row_of(text, *needles)
        return bool(line) and (check is None or check(line))

    text = await term.wait_for(ok, timeout=timeout)
    return row_of(text, *needles)


# --------------------------------------------------------------------------- console flows


STEP_COL = 16  # the steps table's id column: longer ids end in an ellipsis


def steps_row(text: str, step: str) -> str:
    """The steps table's row of ``step`` (its id, maybe cut, is the first cell)."""
    shown = step if len(step) <= STEP_COL else step[: STEP_COL - 1] + "…"
    lines = (without_notices(ln) for ln in text.splitlines())
    return next((ln for ln in lines if ln.startswith(f" {shown} ")), "")


async def open_playbook(term: Screen, playbook: str) -> None:
    """``:playbooks``, filter to one, ``s``, confirm: the incident screen opens."""
    await term.keys(":", "playbooks", "\r")
    await term.wait_for(playbook)
    await term.keys("/", playbook, "\r")
    await term.wait_for(lambda t: "filter: " in t and "(1 of" in t)
    await term.keys("s")


async def select_step(term: Screen, step: str, match: str = "") -> None:
    """Filter the steps table down to ``step`` alone (Esc first clears an earlier filter):
    the filter text is ``match`` when the id also appears in another step's row."""
    if "filter: " in term.line(1):
        await term.keys("\x1b")
        await term.wait_for(lambda t: "filter: " not in term.line(1))
    match = match or step
    await term.keys("/", match, "\r")
    await term.wait_for(lambda t: f"filter: {match} (1 of" in term.line(1)
                        and steps_row(t, step) != "")


async def complete_step(term: Screen, step: str, values: list[str], match: str = "") -> str:
    """``c`` on the step, its record fields (Enter moves on), Enter on the note: done."""
    await select_step(term, step, match)
    await term.keys("c")
    await term.wait_for(f"Complete step {step}")
    for value in values:
        if value:
            await term.keys(value)
        await term.keys("\r")
    await term.keys("\r")  # the (optional) note, last field: submits
    return await wait_step(term, step, "done")


async def wait_step(term: Screen, step: str, state: str, timeout: float = 15.0) -> str:
    """Wait until the steps table shows ``step`` in ``state``; its row. Filters the table
    to the step first when an earlier filter hides it."""
    if not steps_row(term.text, step):
        await select_step(term, step)
    text = await term.wait_for(lambda t: f" {state} " in steps_row(t, step), timeout=timeout)
    return steps_row(text, step)


async def close_incident(term: Screen, incident_id: int) -> None:
    """``C``, the gates are met, Tab to the action button, Enter: CLOSED on screen."""
    if "filter: " in term.line(1):
        await term.keys("\x1b")
    await term.wait_for("Closure requirements met")
    await term.keys("C")
    await term.wait_for(f"Close incident {incident_id}")
    await term.wait_for("All closure requirements hold")
    await term.keys("\t", "\r")
    await term.wait_for(lambda t: f"#{incident_id} " in t and "CLOSED" in t)


async def open_incident(term: Screen, incident_id: int) -> None:
    """``:incidents``, Enter on the (only) open one: its screen with the timeline."""
    await term.keys(":", "incidents", "\r")
    await term.wait_for(lambda t: row_of(t, f" {incident_id} ", "REAL") != "")
    await term.keys("\r")
    await term.wait_for(f"#{incident_id} ")
    await term.wait_for("Timeline")


class TmuxTerminal:
    """The real OpenSSH client in tmux, read and typed like :class:`Terminal`, so one
    flow runs over both clients. Control characters go in as tmux key names."""

    KEYS: ClassVar[dict[str, str]] = {"\r": "Enter", "\t": "Tab", "\x1b": "Escape"}

    def __init__(self, tmux: Any) -> None:
        self.tmux = tmux

    @property
    def text(self) -> str:
        return str(self.tmux.screen())

    def line(self, row: int) -> str:
        lines = self.text.splitlines()
        return lines[row] if row < len(lines) else ""

    async def wait_for(self, what: str | Callable[[str], bool], timeout: float = 15.0) -> str:
        check = what if callable(what) else (lambda text: what in text)
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.text
            if check(text):
                return text
            await asyncio.sleep(0.15)
        raise AssertionError(f"timed out waiting for {what!r}; screen:\n{text}")

    async def absent_for(self, what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.text
            assert what not in text, f"{what!r} appeared:\n{text}"
            await asyncio.sleep(0.15)

    async def keys(self, *chunks: str, gap: float = 0.35) -> None:
        for chunk in chunks:
            if chunk in self.KEYS:
                self.tmux.send(self.KEYS[chunk])
            else:
                self.tmux.send("-l", chunk)
            await asyncio.sleep(gap)
