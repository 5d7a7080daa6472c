"""A real Asterisk 22 for tests: one PBX per run, driven by sipp, watched over AMI.

Why real parts: the console's hardest problems (ActionIDs in odd places, lists that share
names with live events, permissions, event order under load, trunk failure) only show up
against the real thing. The simulated PBX in ``ccops.sim`` is checked against recordings
made here (``scripts/record_asterisk_stream.py``).

How it runs (see docs/asterisk-tier.md):

* Asterisk comes from a Debian sid chroot (``scripts/asterisk-chroot.sh`` builds it). Each
  :class:`AsteriskTier` writes its own configuration into ``<chroot>/run/ccops-tier/<id>``
  and starts ``chroot <root> asterisk -C /run/ccops-tier/<id>/etc/asterisk.conf -f``:
  no bind mounts, nothing shared between runs but read-only binaries and sounds.
* Everything is configured on 127.0.0.1, on ports picked at random from 20000-29990
  (checked free, re-picked if taken before Asterisk binds them), so two runs on one
  machine do not collide; RTP stays in 10000-19998.
* Carriers are sipp UAS processes (one per trunk) answering qualify OPTIONS, the
  outbound REGISTER (digest) and INVITEs; callers are sipp UAC processes.
* Only processes this object started are ever signalled (tracked by PID, and recorded in
  ``pids.json`` so a later run can reap what a crashed run left behind, after checking
  each PID's command line still names that run).

The module is plain Python (no pytest import) so scripts can use it too.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import csv
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
CONF_TEMPLATES = HERE / "asterisk_conf"
SIPP_SCENARIOS = HERE / "sipp"
MANAGER_EXAMPLE = REPO_ROOT / "config" / "asterisk" / "manager.conf"
#: The shipped routing-toggle dialplan, copied verbatim (the tier tests what admins get).
ROUTING_SNIPPET = REPO_ROOT / "config" / "asterisk" / "extensions_ccops.conf"
#: The shipped paging dialplan ([ccops-page]), copied verbatim as well.
PAGING_SNIPPET = REPO_ROOT / "config" / "asterisk" / "extensions_ccops_page.conf"

DEFAULT_CHROOT = Path("/var/cache/ccops/asterisk-sid")
RUNS_IN_CHROOT = "/run/ccops-tier"
ASTERISK_BIN = "/usr/sbin/asterisk"  # inside the chroot
# Absolute paths: CI shells and sudo do not always have the sbin directories on PATH.
CHROOT_BIN = shutil.which("chroot") or "/usr/sbin/chroot"
SIPP_BIN = shutil.which("sipp") or "/usr/bin/sipp"
LOOPBACK = "127.0.0.1"
PORT_BAND = (20000, 29990)

#: Queue name -> the DID a carrier delivers it on (extensions.conf [from-carrier]).
QUEUE_DIDS: dict[str, str] = {"hotline": "4930100", "billing": "4930200", "repairs": "4930300"}
TRUNKS: tuple[str, ...] = ("carrier-a", "carrier-b")
#: Static members as written in queues.conf: queue -> [(interface, member name)].
STATIC_MEMBERS: dict[str, list[tuple[str, str]]] = {
    "hotline": [
        ("Local/agent1@agents/n", "Anna Alder"),
        ("Local/agent2@agents/n", "Ben Brandt"),
        ("Local/agent3@agents/n", "Chris Cole"),
        ("Local/agent4@agents/n", "Dana Dorn"),
        ("Local/agent5@agents/n", "Emil Engel"),
    ],
    "billing": [
        ("Local/agent3@agents/n", "Chris Cole"),
        ("Local/agent6@agents/n", "Fay Fischer"),
        ("Local/agent7@agents/n", "Gina Graf"),
    ],
    "repairs": [
        ("Local/agent7@agents/n", "Gina Graf"),
        ("Local/agent8@agents/n", "Hugo Holm"),
    ],
}
#: The outbound registration's auth user (pjsip.conf [carrier-a-auth]).
REGISTRATION_USER = "ccops-trunk"
DESK_USER = "desk-201"
AMI_USERS: tuple[str, ...] = ("ccops", "monitor", "tier-admin", "legacy-filter")

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# =========================================================================== errors


class TierError(RuntimeError):
    """The tier could not do what was asked (process, port or configuration trouble)."""


class AsteriskStartError(TierError):
    """Asterisk did not come up; the message carries the tail of its own log."""


class AmiError(TierError):
    """An AMI exchange failed: connection, login or timeout."""


class PortTakenError(AsteriskStartError):
    """A port picked for this run was taken by someone else between check and bind."""


# =========================================================================== environment


def chroot_dir() -> Path:
    """The chroot to use: ``$CCOPS_ASTERISK_CHROOT`` or the default cache path."""
    return Path(os.environ.get("CCOPS_ASTERISK_CHROOT", str(DEFAULT_CHROOT)))


def unavailable_reason(root: Path | None = None) -> str | None:
    """Why the tier cannot run here, or None if it can.

    Checked before a session starts so tests skip (or, in CI, fail) with a reason a
    person can act on instead of a traceback from deep inside ``start()``.
    """
    root = root or chroot_dir()
    if os.geteuid() != 0:
        return "the Asterisk tier needs root (chroot)"
    if not (root / ASTERISK_BIN.lstrip("/")).exists():
        return f"no Asterisk chroot at {root}: run scripts/asterisk-chroot.sh"
    if not Path(SIPP_BIN).exists():
        return "sipp is not installed: run scripts/asterisk-chroot.sh (apt-get sip-tester)"
    try:
        out = subprocess.run(
            [CHROOT_BIN, str(root), ASTERISK_BIN, "-V"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"chroot {root} asterisk -V failed: {exc}"
    if out.returncode != 0 or "Asterisk" not in out.stdout:
        return f"chroot {root} asterisk -V failed: {out.stdout}{out.stderr}".strip()
    return None


def _port_is_free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def pick_port(*, udp: bool = False, span: int = 1, taken: Iterable[int] = ()) -> int:
    """A port in 20000-29990 that is free now (``span`` consecutive ports for sipp media).

    Random rather than kernel-assigned: ephemeral ports (32768+) are what outgoing
    connections use, and a port the kernel just handed out is likely to be handed out
    again to someone else. There is a window between this check and the real bind;
    Asterisk's binds are verified after start, sipp fails loudly.
    """
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    avoid = set(taken)
    for _ in range(500):
        port = random.randrange(PORT_BAND[0], PORT_BAND[1] - span)
        ports = range(port, port + span)
        if avoid.intersection(ports):
            continue
        if all(_port_is_free(p, kind) for p in ports):
            return port
    raise TierError("no free loopback port in 20000-29990")


def _render(text: str, values: Mapping[str, str]) -> str:
    """Fill ``@@NAME@@`` placeholders; any left over is a bug in the templates."""
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    leftover = re.findall(r"@@[A-Z_]+@@", text)
    if leftover:
        raise TierError(f"unfilled placeholders {sorted(set(leftover))}")
    return text


def ccops_manager_section(secret: str, example: Path = MANAGER_EXAMPLE) -> str:
    """The ``[ccops]`` section of the admin example, verbatim but for the secret.

    The point is that config/asterisk/manager.conf is the tested file: its permissions
    and eventfilter lines are what the tier's ``ccops`` user gets.
    """
    lines = example.read_text().splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            inside = stripped == "[ccops]"
        if inside:
            if re.match(r"^\s*secret\s*=", line):
                line = f"secret = {secret}"
            out.append(line)
    if not out:
        raise TierError(f"no [ccops] section in {example}")
    return "\n".join(out) + "\n"


# =========================================================================== AMI client


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI message with headers in wire order; repeated names are kept."""

    headers: tuple[tuple[str, str], ...]

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def names(self) -> list[str]:
        return [key for key, _ in self.headers]

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self.headers)

    @property
    def event(self) -> str:
        return self.get("Event")

    @property
    def response(self) -> str:
        """'Success', 'Error', 'Goodbye' ... for responses; '' for events.

        ``OriginateResponse`` is an event that carries a ``Response:`` header of its own
        (Success/Failure): it must not be mistaken for an action's answer.
        """
        return "" if "Event" in self else self.get("Response")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    @classmethod
    def parse(cls, raw: bytes) -> AmiMessage:
        headers: list[tuple[str, str]] = []
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            if not line:
                continue
            key, sep, value = line.partition(":")
            if not sep:
                headers.append(("", line))  # keep odd lines visible instead of dropping
                continue
            headers.append((key, value[1:] if value.startswith(" ") else value))
        return cls(tuple(headers))


@dataclass(slots=True)
class AmiResult:
    """An action's outcome: the response and, for list actions, items and Complete."""

    response: AmiMessage
    items: list[AmiMessage] = field(default_factory=list)
    complete: AmiMessage | None = None

    @property
    def ok(self) -> bool:
        return self.response.response == "Success"

    @property
    def message(self) -> str:
        return self.response.get("Message")


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[AmiResult]
    result: AmiResult | None = None


FieldsArg = Mapping[str, str] | Sequence[tuple[str, str]] | None


class AmiClient:
    """A deliberately small asyncio AMI client for checks and recordings.

    Not the product's client: it must stay simple enough to trust when the product's
    own AMI code is the thing under test. Every message is kept in :attr:`history` (in
    arrival order) and can be awaited with :meth:`wait_event`; ``tap`` sees the raw
    bytes exactly as read, greeting included, for recordings.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        tap: Callable[[bytes], None] | None = None,
        keep_history: bool = True,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._tap = tap
        self._keep_history = keep_history
        self._pending: dict[str, _Pending] = {}
        self._counter = 0
        self._prefix = secrets.token_hex(3)
        self._new_message = asyncio.Condition()
        self._closed = False
        self.greeting = ""
        self.history: list[AmiMessage] = []
        self.received = 0
        self._reader_task: asyncio.Task[None] | None = None
        self._reader_error: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        events: bool | str = True,
        tap: Callable[[bytes], None] | None = None,
        keep_history: bool = True,
        timeout: float = 10.0,
    ) -> AmiClient:
        """Connect, read the greeting and log in (``events``: True, False or a class list)."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), timeout=timeout
            )
        except (OSError, TimeoutError) as exc:
            raise AmiError(f"cannot connect to AMI {host}:{port}: {exc}") from exc
        client = cls(reader, writer, tap=tap, keep_history=keep_history)
        client._reader_task = asyncio.create_task(client._read_loop())
        try:
            await client._wait_greeting(timeout)
            events_value = ("on" if events else "off") if isinstance(events, bool) else events
            result = await client.request(
                "Login",
                {"Username": username, "Secret": secret, "Events": events_value},
                timeout=timeout,
            )
        except BaseException:
            await client.close(logoff=False)
            raise
        if not result.ok:
            await client.close(logoff=False)
            raise AmiError(f"AMI login as {username} failed: {result.message}")
        return client

    async def close(self, *, logoff: bool = True) -> None:
        """Log off (best effort) and close the socket."""
        if self._closed:
            return
        if logoff and self._reader_error is None:
            with contextlib.suppress(Exception):
                await self.request("Logoff", timeout=2.0)
        self._closed = True
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    async def __aenter__(self) -> AmiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ reading

    async def _wait_greeting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with self._new_message:
            while not self.greeting:
                if self._reader_error is not None:
                    raise AmiError(f"AMI closed before greeting: {self._reader_error}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AmiError("no AMI greeting")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_message.wait(), remaining)

    async def _read_loop(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = await self._reader.read(65536)
                if not chunk:
                    raise ConnectionResetError("AMI connection closed by Asterisk")
                if self._tap is not None:
                    self._tap(chunk)
                buffer += chunk
                if not self.greeting:
                    line_end = buffer.find(b"\r\n")
                    if line_end < 0:
                        continue
                    self.greeting = buffer[:line_end].decode("utf-8", "replace")
                    buffer = buffer[line_end + 2 :]
                    async with self._new_message:
                        self._new_message.notify_all()
                while True:
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    raw, buffer = buffer[:end], buffer[end + 4 :]
                    if raw.strip():
                        await self._dispatch(AmiMessage.parse(raw))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # report to waiters, then end the task quietly
            self._reader_error = exc
            for pending in self._pending.values():
                if not pending.future.done():
                    pending.future.set_exception(AmiError(f"AMI connection lost: {exc}"))
            async with self._new_message:
                self._new_message.notify_all()

    async def _dispatch(self, msg: AmiMessage) -> None:
        self.received += 1
        pending = self._pending.get(msg.action_id) if msg.action_id else None
        if pending is not None and not pending.future.done():
            if msg.response:
                pending.result = AmiResult(response=msg)
                if msg.get("EventList").lower() != "start":
                    self._finish(msg.action_id, pending)
            elif pending.result is not None and msg.event:
                if msg.get("EventList").lower() == "complete":
                    pending.result.complete = msg
                    self._finish(msg.action_id, pending)
                else:
                    pending.result.items.append(msg)
        if self._keep_history:
            self.history.append(msg)
        async with self._new_message:
            self._new_message.notify_all()

    def _finish(self, action_id: str, pending: _Pending) -> None:
        assert pending.result is not None
        pending.future.set_result(pending.result)
        del self._pending[action_id]

    # ------------------------------------------------------------------ actions

    def next_action_id(self) -> str:
        self._counter += 1
        return f"tier-{self._prefix}-{self._counter}"

    async def send(self, action: str, fields: FieldsArg = None, action_id: str = "") -> str:
        """Send an action without waiting; returns its ActionID."""
        action_id = action_id or self.next_action_id()
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields or [])
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in pairs]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._writer.drain()
        return action_id

    async def request(
        self, action: str, fields: FieldsArg = None, *, timeout: float = 10.0
    ) -> AmiResult:
        """Run an action; for list actions, wait for the ``...Complete`` event too."""
        if self._reader_error is not None:
            raise AmiError(f"AMI connection lost: {self._reader_error}")
        action_id = self.next_action_id()
        future: asyncio.Future[AmiResult] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(future)
        try:
            await self.send(action, fields, action_id)
            return await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise AmiError(f"AMI {action} got no (complete) answer in {timeout}s") from exc
        finally:
            self._pending.pop(action_id, None)

    async def command(self, cli: str, *, timeout: float = 10.0) -> str:
        """Run a CLI command through AMI (needs write=command) and return its output."""
        result = await self.request("Command", {"Command": cli}, timeout=timeout)
        if not result.ok:
            raise AmiError(f"Command {cli!r}: {result.message}")
        return "\n".join(result.response.all("Output"))

    # ------------------------------------------------------------------ events

    async def wait_event(
        self,
        predicate: Callable[[AmiMessage], bool],
        *,
        timeout: float = 10.0,
        since: int = 0,
    ) -> AmiMessage:
        """First message in :attr:`history` from index ``since`` on that matches."""
        deadline = time.monotonic() + timeout
        index = since
        async with self._new_message:
            while True:
                while index < len(self.history):
                    msg = self.history[index]
                    index += 1
                    if predicate(msg):
                        return msg
                if self._reader_error is not None:
                    raise AmiError(f"AMI connection lost: {self._reader_error}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AmiError(f"no matching AMI event within {timeout}s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_message.wait(), remaining)

    def events_named(self, name: str, since: int = 0) -> list[AmiMessage]:
        return [m for m in self.history[since:] if m.event == name]


def ami_login_probe(host: str, port: int, username: str, secret: str, timeout: float) -> str:
    """Blocking login + logoff; returns the greeting. Used while waiting for boot."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise AmiError("AMI closed before greeting")
            data += chunk
        greeting = data.split(b"\r\n", 1)[0].decode()
        sock.sendall(
            f"Action: Login\r\nActionID: probe\r\nUsername: {username}\r\n"
            f"Secret: {secret}\r\nEvents: off\r\n\r\n".encode()
        )
        while b"ActionID: probe" not in data or not data.endswith(b"\r\n\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise AmiError("AMI closed during login")
            data += chunk
        if b"Response: Success" not in data:
            raise AmiError(f"AMI login refused: {data.decode(errors='replace')}")
        with contextlib.suppress(OSError):
            sock.sendall(b"Action: Logoff\r\n\r\n")
        return greeting


# =========================================================================== sipp


@dataclass(frozen=True, slots=True)
class CallerStats:
    """What a sipp caller run reports (from its ``-trace_stat`` CSV)."""

    created: int
    successful: int
    failed: int
    returncode: int | None


class SippProcess:
    """One sipp process started by the tier (carrier UAS, caller UAC or desk phone)."""

    def __init__(self, name: str, args: list[str], workdir: Path):
        self.name = name
        self.args = args
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.stat_path = workdir / f"{name}.stat.csv"
        self.error_path = workdir / f"{name}.errors.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM, then SIGKILL: sipp needs no graceful shutdown for our purposes."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        return _tail(self.log_path, lines) + _tail(self.error_path, lines)

    def stats(self) -> CallerStats:
        """Cumulative counters from the last row of the stat CSV (zeros if none yet)."""
        created = successful = failed = 0
        if self.stat_path.exists():
            rows = list(csv.reader(self.stat_path.read_text().splitlines(), delimiter=";"))
            if len(rows) >= 2:
                header, last = rows[0], rows[-1]
                values = dict(zip(header, last, strict=False))
                created = int(values.get("TotalCallCreated", "0") or 0)
                successful = int(values.get("SuccessfulCall(C)", "0") or 0)
                failed = int(values.get("FailedCall(C)", "0") or 0)
        return CallerStats(created, successful, failed, self.proc.poll())


class CallerRun(SippProcess):
    """A batch of inbound calls; ends by itself after ``count`` calls."""

    def __init__(
        self,
        name: str,
        args: list[str],
        workdir: Path,
        *,
        count: int,
        queue: str,
        trunk: str,
    ):
        super().__init__(name, args, workdir)
        self.count = count
        self.queue = queue
        self.trunk = trunk

    def wait_done(self, timeout: float) -> CallerStats:
        """Block until every call of the batch ended; raise with sipp's log if it hangs."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise TierError(
                f"sipp {self.name} still running after {timeout}s\n{self.log_tail()}"
            ) from exc
        return self.stats()


def _tail(path: Path, lines: int) -> str:
    if not path.exists():
        return ""
    data = path.read_bytes()[-64_000:].decode("utf-8", "replace").splitlines()
    return "\n".join(data[-lines:]) + "\n"


# =========================================================================== the tier


@dataclass(frozen=True, slots=True)
class AmiEndpoint:
    """How to reach the tier's AMI as one user (what the product is configured with)."""

    host: str
    port: int
    username: str
    secret: str


@dataclass(slots=True)
class TierSettings:
    """Knobs of the call-center configuration; defaults suit a quick smoke test."""

    agent_ring_s: int = 1
    agent_talk_s: tuple[int, int] = (3, 8)
    max_wait_s: dict[str, int] = field(
        default_factory=lambda: {"hotline": 40, "billing": 60, "repairs": 30}
    )
    desk_phone: bool = True
    boot_timeout_s: float = 30.0


# Strong references on purpose: a tier dropped without close() must still be cleaned up.
_LIVE_TIERS: set[AsteriskTier] = set()


@atexit.register
def _close_live_tiers() -> None:
    """Last line of defence: no Asterisk or sipp outlives the Python that started it."""
    for tier in list(_LIVE_TIERS):
        with contextlib.suppress(Exception):
            tier.close()


class AsteriskTier:
    """One Asterisk 22 with a small call center, its carriers and its callers.

    Typical use (from async code use ``async with tier.ami("ccops") as ami``)::

        with AsteriskTier() as tier:
            tier.start()
            run = tier.start_callers("hotline", count=3, rate=1, patience_s=30)
            print(asyncio.run(tier.ami_command("QueueSummary", user="ccops")).items)
            run.wait_done(60)
    """

    def __init__(
        self,
        chroot: Path | None = None,
        *,
        settings: TierSettings | None = None,
        run_id: str | None = None,
        keep_files: bool = False,
    ) -> None:
        self.chroot = chroot or chroot_dir()
        self.settings = settings or TierSettings()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.run_id = run_id or f"{stamp}-{os.getpid()}-{secrets.token_hex(2)}"
        self.keep_files = keep_files
        self.run_in_chroot = f"{RUNS_IN_CHROOT}/{self.run_id}"
        self.run_dir = self.chroot / self.run_in_chroot.lstrip("/")
        self.sipp_dir = self.run_dir / "sipp"
        self.secrets: dict[str, str] = {user: secrets.token_urlsafe(12) for user in AMI_USERS}
        # Distinctive, so a leak is easy to grep for (and to redact in recordings).
        self.registration_password = f"RegPw-{secrets.token_hex(8)}"
        self.desk_password = f"DeskPw-{secrets.token_hex(8)}"
        self.ami_port = 0
        self.sip_port = 0
        self.carrier_ports: dict[str, int] = {}
        self._taken_ports: set[int] = set()
        self._pick_ports()
        self._asterisk: subprocess.Popen[bytes] | None = None
        self._carriers: dict[str, SippProcess] = {}
        self._callers: list[CallerRun] = []
        self._desk: SippProcess | None = None
        self._caller_seq = 0
        self._configured = False
        self._closed = False
        self._log_offset = 0
        self.timings: dict[str, list[float]] = {}
        _LIVE_TIERS.add(self)

    def _pick_ports(self) -> None:
        taken: set[int] = set()
        self.ami_port = pick_port(taken=taken)
        taken.add(self.ami_port)
        self.sip_port = pick_port(udp=True, taken=taken)
        taken.add(self.sip_port)
        for trunk in TRUNKS:
            self.carrier_ports[trunk] = pick_port(udp=True, taken=taken)
            taken.add(self.carrier_ports[trunk])
        self._taken_ports = taken

    # ------------------------------------------------------------------ context

    def __enter__(self) -> AsteriskTier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ credentials

    def endpoint(self, user: str = "ccops") -> AmiEndpoint:
        """AMI coordinates for a user of the tier's manager.conf.

        ``ccops`` (the product's user, from config/asterisk/manager.conf), ``monitor``
        (read-only), ``tier-admin`` (everything, unfiltered), ``legacy-filter`` (regex
        filters).
        """
        return AmiEndpoint(LOOPBACK, self.ami_port, user, self.secrets[user])

    @property
    def redactions(self) -> list[str]:
        """Secrets that must never be stored in recordings or shown in test output."""
        return [self.registration_password, self.desk_password, *self.secrets.values()]

    # ------------------------------------------------------------------ configuration

    def write_config(self) -> None:
        """(Re)write the per-run configuration tree inside the chroot."""
        reap_stale_runs(self.chroot)
        for sub in ("etc", "db", "keys", "log", "run", "spool", "cache", "sipp"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        s = self.settings
        values = {
            "RUN": self.run_in_chroot,
            "AMI_PORT": str(self.ami_port),
            "SIP_PORT": str(self.sip_port),
            "CARRIER_A_PORT": str(self.carrier_ports["carrier-a"]),
            "CARRIER_B_PORT": str(self.carrier_ports["carrier-b"]),
            "REG_PASSWORD": self.registration_password,
            "DESK_PASSWORD": self.desk_password,
            "MONITOR_SECRET": self.secrets["monitor"],
            "ADMIN_SECRET": self.secrets["tier-admin"],
            "LEGACY_SECRET": self.secrets["legacy-filter"],
            "CCOPS_SECTION": ccops_manager_section(self.secrets["ccops"]),
            "AGENT_RING_S": str(s.agent_ring_s),
            "AGENT_TALK_MIN": str(s.agent_talk_s[0]),
            "AGENT_TALK_MAX": str(s.agent_talk_s[1]),
            "MAXWAIT_HOTLINE": str(s.max_wait_s["hotline"]),
            "MAXWAIT_BILLING": str(s.max_wait_s["billing"]),
            "MAXWAIT_REPAIRS": str(s.max_wait_s["repairs"]),
        }
        for template in sorted(CONF_TEMPLATES.glob("*.conf")):
            target = self.run_dir / "etc" / template.name
            target.write_text(_render(template.read_text(), values))
        (self.run_dir / "etc" / ROUTING_SNIPPET.name).write_text(ROUTING_SNIPPET.read_text())
        (self.run_dir / "etc" / PAGING_SNIPPET.name).write_text(PAGING_SNIPPET.read_text())
        sipp_values = {
            "REG_USER": REGISTRATION_USER,
            "REG_PASSWORD": self.registration_password,
            "REALM": "carrier-a",
            "DESK_USER": DESK_USER,
            "DESK_PASSWORD": self.desk_password,
        }
        for scenario in ("carrier.xml", "desk_register.xml"):
            text = (SIPP_SCENARIOS / scenario).read_text()
            (self.sipp_dir / scenario).write_text(_render(text, sipp_values))
        self._write_pids()
        self._configured = True

    # ------------------------------------------------------------------ process records

    def _write_pids(self) -> None:
        """Record our PIDs so a later run can reap them if this Python dies hard."""
        pids: dict[str, int] = {}
        if self._asterisk is not None and self._asterisk.poll() is None:
            pids["asterisk"] = self._asterisk.pid
        for name, proc in self._carriers.items():
            if proc.running:
                pids[name] = proc.pid
        for caller in self._callers:
            if caller.running:
                pids[caller.name] = caller.pid
        if self._desk is not None and self._desk.running:
            pids["desk"] = self._desk.pid
        record = {
            "owner": os.getpid(),
            "run_id": self.run_id,
            "pids": pids,
            "kept": self.keep_files and self._closed,
        }
        if self.run_dir.exists():
            (self.run_dir / "pids.json").write_text(json.dumps(record, indent=1))

    def _time(self, what: str, seconds: float) -> None:
        self.timings.setdefault(what, []).append(round(seconds, 3))

    # ------------------------------------------------------------------ Asterisk

    @property
    def running(self) -> bool:
        return self._asterisk is not None and self._asterisk.poll() is None

    @property
    def asterisk_pid(self) -> int | None:
        return self._asterisk.pid if self.running and self._asterisk else None

    def _asterisk_cmd(self, *extra: str) -> list[str]:
        return [
            CHROOT_BIN,
            str(self.chroot),
            ASTERISK_BIN,
            "-C",
            f"{self.run_in_chroot}/etc/asterisk.conf",
            *extra,
        ]

    def start(self, timeout: float | None = None) -> float:
        """Start carriers (if not running) and Asterisk; return seconds until AMI login.

        Ready means: ``core waitfullybooted`` returned, a ``tier-admin`` AMI login works
        and the SIP transport really holds its port. On failure the exception carries
        the tail of Asterisk's messages.log and stdout. If a picked port was grabbed by
        someone else in the meantime, ports are picked again (first start only: later
        restarts keep their ports, the console under test is configured with them).
        """
        for attempt in range(3):
            try:
                return self._start_once(timeout)
            except PortTakenError:
                if attempt == 2 or "start" in self.timings:
                    raise
                for proc in self._carriers.values():
                    proc.stop()
                self._carriers.clear()
                self.stop_desk_phone()
                self._pick_ports()
                self._configured = False
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float | None) -> float:
        if self.running:
            return 0.0
        if not self._configured:
            self.write_config()
        timeout = timeout or self.settings.boot_timeout_s
        for trunk in TRUNKS:
            if trunk not in self._carriers or not self._carriers[trunk].running:
                self.start_carrier(trunk)
        began = time.monotonic()
        messages = self.run_dir / "log" / "messages.log"
        self._log_offset = messages.stat().st_size if messages.exists() else 0
        out = (self.run_dir / "log" / "asterisk.stdout").open("ab")
        try:
            self._asterisk = subprocess.Popen(
                self._asterisk_cmd("-f", "-n"),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        self._write_pids()
        try:
            self._wait_ready(began + timeout)
        except BaseException:
            self.kill()
            raise
        elapsed = time.monotonic() - began
        self._time("start", elapsed)
        if self.settings.desk_phone and (self._desk is None or not self._desk.running):
            self.start_desk_phone()
        return elapsed

    def _log_since_start(self) -> str:
        """messages.log as written by the current Asterisk process (the file is shared
        by every start of this run)."""
        path = self.run_dir / "log" / "messages.log"
        try:
            with path.open("rb") as fh:
                fh.seek(self._log_offset)
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _wait_ready(self, deadline: float) -> None:
        booted = False
        last_error = ""
        admin = self.endpoint("tier-admin")
        while time.monotonic() < deadline:
            if self._asterisk is None or self._asterisk.poll() is not None:
                code = self._asterisk.returncode if self._asterisk else None
                raise AsteriskStartError(
                    f"Asterisk exited during start (code {code})\n{self.log_tail()}"
                )
            if not booted:
                if (self.run_dir / "run" / "asterisk.ctl").exists():
                    try:
                        wait = max(1.0, deadline - time.monotonic())
                        out = self.cli("core waitfullybooted", timeout=wait)
                        booted = "fully booted" in out.lower()
                        last_error = out
                    except TierError as exc:
                        last_error = str(exc)
            else:
                try:
                    ami_login_probe(admin.host, admin.port, admin.username, admin.secret, 2.0)
                except (OSError, AmiError) as exc:
                    last_error = f"AMI login: {exc}"
                    if "Address already in use" in self._log_since_start():
                        raise PortTakenError(f"{last_error}\n{self.log_tail()}") from exc
                else:
                    log = self._log_since_start()
                    if "could not be started" in log or _port_is_free(
                        self.sip_port, socket.SOCK_DGRAM
                    ):
                        raise PortTakenError(
                            f"SIP transport did not bind 127.0.0.1:{self.sip_port}\n"
                            f"{self.log_tail()}"
                        )
                    return
            time.sleep(0.05)
        raise AsteriskStartError(f"Asterisk not ready in time ({last_error})\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> float:
        """Graceful ``core stop now`` (Shutdown event, unregister), SIGTERM/SIGKILL fallback."""
        if self._asterisk is None:
            return 0.0
        began = time.monotonic()
        if self._asterisk.poll() is None:
            with contextlib.suppress(TierError):
                self.cli("core stop now", timeout=min(5.0, timeout))
            try:
                self._asterisk.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self._asterisk.terminate()
                try:
                    self._asterisk.wait(5)
                except subprocess.TimeoutExpired:
                    self.kill()
        self._asterisk = None
        self._write_pids()
        elapsed = time.monotonic() - began
        self._time("stop", elapsed)
        return elapsed

    def kill(self) -> None:
        """SIGKILL Asterisk: a crash as the console sees it (no Shutdown event, TCP reset)."""
        if self._asterisk is None:
            return
        if self._asterisk.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._asterisk.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._asterisk.wait(10)
        self._asterisk = None
        self._write_pids()

    def restart(self, timeout: float | None = None) -> float:
        """Stop (gracefully) and start again; AstDB and dynamic members persist."""
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Stop everything this tier started and remove its run directory."""
        for caller in self._callers:
            caller.stop()
        self._callers.clear()
        if self._desk is not None:
            self._desk.stop()
            self._desk = None
        with contextlib.suppress(Exception):
            self.stop(timeout=10.0)
        self.kill()
        for proc in self._carriers.values():
            proc.stop()
        self._carriers.clear()
        self._closed = True
        self._write_pids()
        if not self.keep_files and self.run_dir.exists():
            shutil.rmtree(self.run_dir, ignore_errors=True)
        _LIVE_TIERS.discard(self)

    # ------------------------------------------------------------------ CLI and logs

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """``asterisk -rx`` through the chroot; ANSI colours stripped."""
        try:
            out = subprocess.run(
                self._asterisk_cmd("-rx", command),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TierError(f"asterisk -rx {command!r} timed out") from exc
        text = _ANSI.sub("", out.stdout + out.stderr)
        if out.returncode != 0 or "Unable to connect to remote asterisk" in text:
            raise TierError(f"asterisk -rx {command!r} failed: {text.strip()}")
        return text

    def log_tail(self, lines: int = 60) -> str:
        """Tail of messages.log and of Asterisk's stdout, for error messages.

        The harness's own CLI polling ("Remote UNIX connection") is left out: it would
        push everything interesting out of the tail.
        """
        log = self.run_dir / "log"
        messages = [
            line
            for line in _tail(log / "messages.log", lines * 4).splitlines()
            if "Remote UNIX connection" not in line
        ][-lines:]
        return (
            f"--- {log / 'messages.log'} (tail)\n" + "\n".join(messages) + "\n"
            f"--- {log / 'asterisk.stdout'} (tail)\n{_tail(log / 'asterisk.stdout', 15)}"
        )

    def set_agent_talk_time(self, low_s: int, high_s: int) -> None:
        """Change how long agents talk, live (dialplan globals)."""
        self.cli(f"dialplan set global AGENT_TALK_MIN {low_s}")
        self.cli(f"dialplan set global AGENT_TALK_MAX {high_s}")

    def set_max_wait(self, queue: str, seconds: int) -> None:
        """Change how long new callers may wait in ``queue`` before leaving (timeout)."""
        self.cli(f"dialplan set global MAXWAIT_{queue} {seconds}")

    def contact_status(self, trunk: str) -> str:
        """Qualify state of a trunk's contact per CLI: Avail, Unavail, Unknown, ..."""
        for line in self.cli(f"pjsip show aor {trunk}").splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[0] == "Contact:" and parts[1].startswith(f"{trunk}/"):
                return parts[3]
        return "Unknown"

    def wait_contact_status(self, trunk: str, status: str, timeout: float = 15.0) -> float:
        """Poll the CLI until ``trunk``'s contact shows ``status``; returns seconds taken."""
        began = time.monotonic()
        seen = ""
        while time.monotonic() - began < timeout:
            seen = self.contact_status(trunk)
            if seen == status:
                return time.monotonic() - began
            time.sleep(0.2)
        raise TierError(f"{trunk} contact is {seen!r}, not {status!r} after {timeout}s")

    def registration_status(self, name: str = "carrier-a-reg") -> str:
        """Outbound registration state per CLI: Registered, Unregistered, Rejected, ..."""
        for line in self.cli("pjsip show registrations").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0].startswith(f"{name}/"):
                return parts[2]
        return "Unknown"

    def wait_settled(self, timeout: float = 20.0) -> float:
        """Wait until every running carrier qualifies Avail; returns seconds taken.

        Tests start from a known trunk state instead of racing the first qualify (about
        2 s after boot). The outbound registration is not awaited here: see
        :meth:`wait_registered`.
        """
        began = time.monotonic()
        for trunk in TRUNKS:
            if self.carrier_running(trunk):
                self.wait_contact_status(trunk, "Avail", timeout)
        elapsed = time.monotonic() - began
        self._time("settle", elapsed)
        return elapsed

    def wait_registered(self, timeout: float = 20.0) -> float:
        """Wait until carrier-a's outbound registration is Registered.

        Asterisk sends the first REGISTER a random 1-10 s after boot, and ``pjsip send
        register`` only unregisters and re-draws that delay, so this simply waits.
        """
        began = time.monotonic()
        status = ""
        while time.monotonic() - began < timeout:
            status = self.registration_status()
            if status == "Registered":
                elapsed = time.monotonic() - began
                self._time("register", elapsed)
                return elapsed
            time.sleep(0.2)
        raise TierError(f"carrier-a registration is {status!r} after {timeout}s")

    def ensure_healthy(self, timeout: float = 30.0) -> None:
        """Undo what a test may have broken: Asterisk down, a carrier stopped, callers left.

        Cheap when nothing is wrong (two CLI calls), so fixtures call it around every test.
        """
        self.stop_callers()
        if not self.running:
            self.start(timeout)
        for trunk in TRUNKS:
            if not self.carrier_running(trunk):
                self.start_carrier(trunk)
        if self.settings.desk_phone and (self._desk is None or not self._desk.running):
            self.start_desk_phone()
        self.wait_settled(timeout)

    # ------------------------------------------------------------------ AMI

    @contextlib.asynccontextmanager
    async def ami(
        self,
        user: str = "tier-admin",
        *,
        events: bool | str = True,
        tap: Callable[[bytes], None] | None = None,
    ) -> AsyncIterator[AmiClient]:
        """``async with tier.ami("ccops") as ami:`` - a logged-in :class:`AmiClient`."""
        ep = self.endpoint(user)
        client = await AmiClient.connect(
            ep.host, ep.port, ep.username, ep.secret, events=events, tap=tap
        )
        try:
            yield client
        finally:
            await client.close()

    async def ami_command(
        self,
        action: str,
        fields: FieldsArg = None,
        *,
        user: str = "tier-admin",
        timeout: float = 10.0,
    ) -> AmiResult:
        """Log in, run one action (list actions: with all items), log off."""
        async with self.ami(user, events=False) as client:
            return await client.request(action, fields, timeout=timeout)

    # ------------------------------------------------------------------ sipp

    def _sipp_base(self, name: str, port: int) -> list[str]:
        media = pick_port(udp=True, span=4, taken=self._taken_ports)
        control = pick_port(udp=True, taken=self._taken_ports | {media, media + 1, media + 2})
        return [
            SIPP_BIN,
            "-i",
            LOOPBACK,
            "-p",
            str(port),
            "-mi",
            LOOPBACK,
            "-mp",
            str(media),
            "-cp",
            str(control),
            "-t",
            "u1",
            "-nostdin",
            "-f",
            "60",
            "-trace_err",
            "-error_file",
            str(self.sipp_dir / f"{name}.errors.log"),
            # Long runs on a busy 2-core CI box: don't let sipp's watchdog end the test.
            "-watchdog_major_maxtriggers",
            "1000000",
            "-watchdog_minor_maxtriggers",
            "1000000",
        ]

    def start_carrier(self, trunk: str) -> SippProcess:
        """Start (or restart, same port) the sipp UAS behind ``trunk``."""
        if not self._configured:
            self.write_config()
        old = self._carriers.get(trunk)
        if old is not None and old.running:
            return old
        port = self.carrier_ports[trunk]
        if not _port_is_free(port, socket.SOCK_DGRAM):
            raise PortTakenError(f"carrier port {port} of {trunk} is in use by someone else")
        args = [*self._sipp_base(trunk, port), "-sf", str(self.sipp_dir / "carrier.xml")]
        args += ["-deadcall_wait", "1000", "-max_recv_loops", "10000"]
        proc = SippProcess(trunk, args, self.sipp_dir)
        self._carriers[trunk] = proc
        self._write_pids()
        deadline = time.monotonic() + 5
        while _port_is_free(port, socket.SOCK_DGRAM):
            if not proc.running or time.monotonic() > deadline:
                proc.stop()
                del self._carriers[trunk]
                raise TierError(f"sipp carrier {trunk} did not bind :{port}\n{proc.log_tail()}")
            time.sleep(0.02)
        return proc

    def stop_carrier(self, trunk: str) -> None:
        """Make ``trunk`` unreachable: its sipp stops answering (the port closes)."""
        proc = self._carriers.pop(trunk, None)
        if proc is not None:
            proc.stop()
        self._write_pids()

    def carrier_running(self, trunk: str) -> bool:
        proc = self._carriers.get(trunk)
        return proc is not None and proc.running

    def start_desk_phone(self) -> SippProcess:
        """Register ``desk-201`` from a sipp UAC (a dynamic contact for PJSIPShowContacts)."""
        if self._desk is not None and self._desk.running:
            return self._desk
        port = pick_port(udp=True, taken=self._taken_ports)
        args = [
            *self._sipp_base("desk", port),
            "-sf",
            str(self.sipp_dir / "desk_register.xml"),
            "-m",
            "1",
            "-l",
            "1",
            f"{LOOPBACK}:{self.sip_port}",
        ]
        self._desk = SippProcess("desk", args, self.sipp_dir)
        self._write_pids()
        return self._desk

    def stop_desk_phone(self) -> None:
        if self._desk is not None:
            self._desk.stop()
            self._desk = None
            self._write_pids()

    def start_callers(
        self,
        queue: str = "hotline",
        *,
        count: int = 1,
        rate: float = 1.0,
        patience_s: float = 60.0,
        trunk: str = "carrier-a",
        max_concurrent: int | None = None,
        hold_s: float | None = None,
    ) -> CallerRun:
        """Place ``count`` calls at ``rate`` calls/s into ``queue`` over ``trunk``.

        Each caller stays at most ``patience_s`` after Asterisk answers (it answers at
        once and plays hold music): shorter than the wait for an agent means an abandon,
        longer than the queue's max wait means a timeout exit. With ``hold_s`` the caller
        waits that long, puts the call on hold (re-INVITE sendonly), waits again and
        resumes, producing Hold/Unhold events (use a queue where agents answer slowly).
        """
        if queue not in QUEUE_DIDS:
            raise TierError(f"unknown queue {queue!r}; known: {sorted(QUEUE_DIDS)}")
        self._caller_seq += 1
        name = f"callers-{self._caller_seq}-{queue}"
        # Distinct caller numbers per batch: 0301<batch:02><call number>.
        prefix = f"0301{self._caller_seq % 100:02d}"
        values = {
            "TRUNK": trunk,
            "PATIENCE_MS": str(int(patience_s * 1000)),
            "CALLER_PREFIX": prefix,
            "HOLD_AFTER_MS": str(int((hold_s or 0) * 1000)),
        }
        template = "caller_hold.xml" if hold_s else "caller.xml"
        scenario = self.sipp_dir / f"{name}.xml"
        scenario.write_text(_render((SIPP_SCENARIOS / template).read_text(), values))
        if rate >= 1 and float(rate).is_integer():
            rate_args = ["-r", str(int(rate)), "-rp", "1000"]
        else:
            rate_args = ["-r", str(max(1, round(rate * 10))), "-rp", "10000"]
        port = pick_port(udp=True, taken=self._taken_ports)
        args = [
            *self._sipp_base(name, port),
            "-sf",
            str(scenario),
            "-s",
            QUEUE_DIDS[queue],
            *rate_args,
            "-m",
            str(count),
            "-l",
            str(max_concurrent or count),
            "-trace_stat",
            "-stf",
            str(self.sipp_dir / f"{name}.stat.csv"),
            "-fd",
            "1",
            f"{LOOPBACK}:{self.sip_port}",
        ]
        run = CallerRun(name, args, self.sipp_dir, count=count, queue=queue, trunk=trunk)
        self._callers.append(run)
        self._write_pids()
        return run

    def stop_callers(self) -> None:
        """Stop every caller batch still running (their calls are dropped without BYE)."""
        for caller in self._callers:
            caller.stop()
        self._callers = [c for c in self._callers if c.running]
        self._write_pids()


# =========================================================================== reaping


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """True for a running process; a zombie (killed, not yet reaped) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def reap_stale_runs(
    root: Path | None = None, max_age_s: float = 6 * 3600, kept_max_age_s: float = 7 * 86400
) -> list[str]:
    """Clean up after runs whose Python died without ``close()`` (SIGKILL, OOM, power).

    A run is stale when the owner PID in its ``pids.json`` is gone (or, with no record,
    when the directory is older than ``max_age_s``). Its recorded processes are killed
    only if their command line still names that run's directory, so a recycled PID is
    never touched. Directories closed with ``keep_files`` stay for ``kept_max_age_s``.
    Returns the run ids removed.
    """
    runs = (root or chroot_dir()) / RUNS_IN_CHROOT.lstrip("/")
    removed: list[str] = []
    if not runs.is_dir():
        return removed
    for run in runs.iterdir():
        record_path = run / "pids.json"
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            record = None
        if record is None:
            with contextlib.suppress(OSError):
                if time.time() - run.stat().st_mtime > max_age_s:
                    shutil.rmtree(run, ignore_errors=True)
                    removed.append(run.name)
            continue
        owner = int(record.get("owner", 0))
        if owner and _alive(owner):
            continue
        if record.get("kept"):
            with contextlib.suppress(OSError):
                if time.time() - run.stat().st_mtime > kept_max_age_s:
                    shutil.rmtree(run, ignore_errors=True)
                    removed.append(run.name)
            continue
        for pid in record.get("pids", {}).values():
            if _alive(int(pid)) and run.name in _cmdline(int(pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        shutil.rmtree(run, ignore_errors=True)
        removed.append(run.name)
    return removed
