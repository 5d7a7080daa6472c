"""One SSH session: check what was asked for, start a console for the operator, bridge, end.

Order matters: the request is checked first (a PTY shell only; exec and subsystems are
refused with a sentence saying so), then the daemon is given its end of a fresh socket pair
bound to the operator the key identified, then the console is started on a PTY with the
other end, then start and end are written to the audit log. Whatever ends the session
(operator quits, client disconnects or stalls, gateway stops, the administrator changed the
operator's access, no keyboard input for ``idle_timeout``), the console's process group
is killed and reaped and the daemon sees its socket close. When the gateway ends it, the
daemon-side identity is revoked first, and the operator's terminal gets one sentence
saying why after the console is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from ccops.core.execute import Operator
from ccops.gateway import pty_child
from ccops.gateway.bridge import CHUNK, ClientStalled, pump_output, write_fd
from ccops.gateway.childenv import child_environment, console_command, console_cwd, sane_term
from ccops.gateway.operators import Login

log = logging.getLogger(__name__)

Attach = Callable[[socket.socket, Operator], Awaitable[None]]
AuditSession = Callable[[Operator, str, dict[str, Any], str], Awaitable[None]]
ConsoleArgv = Callable[[int, str, Path], list[str]]
Revoke = Callable[[str], object]  # session id → the daemon closes that session's identity
Notify = Callable[[str, dict[str, Any]], object]  # session id, frame → pushed to its console

# How long before an idle session ends the operator is warned (at most; half the timeout
# when it is shorter than twice this).
IDLE_WARNING_S = 60.0

EXIT_REFUSED = 1
# Leave the operator's terminal usable when a console is killed before it could restore it:
# main screen back, mouse reporting and bracketed paste off, cursor shown, colours reset,
# line wrap back on (so the sentence saying why the session ended is not cut at the margin).
TERMINAL_RESET = (
    b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l"
    b"\x1b[?1049l\x1b[?25h\x1b[?7h\x1b[0m\r\n"
)


def default_console_argv(fd: int, theme: str, log_file: Path) -> list[str]:
    return console_command(fd, theme=theme, log_file=log_file)


@dataclass(slots=True)
class SessionContext:
    """What a session needs from the gateway (kept small so sessions are testable)."""

    attach: Attach
    audit: AuditSession
    state_dir: Path
    log_file: Path
    stall_timeout: float
    max_sessions: int
    console_argv: ConsoleArgv = field(default_factory=lambda: default_console_argv)
    revoke: Revoke | None = None
    notify: Notify | None = None
    idle_timeout: float = 0.0  # seconds without keyboard input; 0 = never
    active: dict[str, ConsoleSession] = field(default_factory=dict)
    started: int = 0
    refused: int = 0


def refuse(process: asyncssh.SSHServerProcess[bytes], message: str) -> None:
    """Tell the client why in one line on stderr, and end the channel with status 1."""
    process.stderr.write(f"ccops: {message}\r\n".encode())
    process.exit(EXIT_REFUSED)


def _peer(process: asyncssh.SSHServerProcess[bytes]) -> str:
    peer = process.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return f"{peer[0]}:{peer[1]}" if len(peer) > 1 else str(peer[0])
    return "?"


class ConsoleSession:
    """A live session: the SSH process, the operator and the console child."""

    def __init__(
        self, ctx: SessionContext, process: asyncssh.SSHServerProcess[bytes], login: Login
    ) -> None:
        self.ctx = ctx
        self.process = process
        self.login = login
        self.operator = Operator(
            name=login.name,
            role=login.role,
            session_id=f"ssh-{secrets.token_hex(4)}",
            via="ssh",
        )
        self.address = _peer(process)
        self.child: pty_child.PtyChild | None = None
        self.started_at = time.monotonic()
        self.last_input = self.started_at
        self._input_seen = asyncio.Event()  # set by each keystroke (the idle watch waits on it)
        self._ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.farewell = ""  # the sentence the terminal gets after the console is gone

    def end(self, reason: str, farewell: str) -> None:
        """End this session from the gateway's side: the daemon-side identity is revoked
        at once (no further request of this console is served), then the bridge stops,
        the console is killed, ``farewell`` is written and ``reason`` audited."""
        if self._ended.done():
            return
        self.farewell = farewell
        if self.ctx.revoke is not None:
            try:
                self.ctx.revoke(self.operator.session_id)
            except Exception:
                log.exception("ssh %s: could not revoke the session", self.operator.name)
        self._ended.set_result(reason)

    def notify(self, frame: dict[str, Any]) -> None:
        if self.ctx.notify is not None:
            try:
                self.ctx.notify(self.operator.session_id, frame)
            except Exception:
                log.exception("ssh %s: could not notify the console", self.operator.name)

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else None

    def _facts(self) -> dict[str, Any]:
        cols, rows, _pw, _ph = self.process.get_terminal_size()
        return {
            "address": self.address,
            "key": self.login.fingerprint,
            "term": sane_term(self.process.get_terminal_type()),
            "size": f"{cols}x{rows}",
        }

    async def run(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            await self.ctx.attach(ours, self.operator)
        except Exception as exc:
            ours.close()
            theirs.close()
            log.exception("ssh %s: daemon refused the console socket", self.operator.name)
            refuse(self.process, f"the daemon is unavailable ({exc}); try again shortly")
            return
        cols, rows, _pw, _ph = self.process.get_terminal_size()
        env = child_environment(
            self.process.get_terminal_type(), self.process.env, home=self.ctx.state_dir
        )
        argv = self.ctx.console_argv(theirs.fileno(), self.login.theme, self.ctx.log_file)
        try:
            self.child = await pty_child.spawn(
                argv,
                env=env,
                cwd=console_cwd(self.ctx.state_dir),
                cols=cols or 80,
                rows=rows or 24,
                pass_fds=[theirs.fileno()],
            )
        except OSError as exc:
            # ``ours`` belongs to the daemon's connection now: it sees EOF and cleans up
            log.exception("ssh %s: cannot start the console", self.operator.name)
            refuse(self.process, f"cannot start the console ({exc.strerror or exc})")
            return
        finally:
            theirs.close()  # the child holds its copy; the daemon sees EOF when it exits
        self.ctx.started += 1
        facts = self._facts()
        log.info(
            "ssh session start: %s (%s) from %s key %s term %s size %s pid %d",
            self.operator.name, self.operator.role.value, facts["address"], facts["key"],
            facts["term"], facts["size"], self.child.pid,
        )
        reason = "ended"
        code: int | None = None
        try:
            await self._audit("session.start", {**facts, "pid": self.child.pid}, "")
            reason = await self._bridge(self.child)
        except asyncio.CancelledError:
            reason = "gateway stopping"
            raise
        finally:
            code = await asyncio.shield(pty_child.stop(self.child))
            if reason != "console exited" or code != 0:
                with contextlib.suppress(Exception):
                    self.process.stdout.write(TERMINAL_RESET)
            if self.farewell:
                with contextlib.suppress(Exception):
                    self.process.stdout.write(f"ccops: {self.farewell}\r\n".encode())
            duration = round(time.monotonic() - self.started_at, 1)
            log.info(
                "ssh session end: %s from %s after %.1f s: %s (console exit %s)",
                self.operator.name, self.address, duration, reason, code,
            )
            await asyncio.shield(
                self._audit(
                    "session.end",
                    {**facts, "pid": self.child.pid, "duration_s": duration, "exit": code},
                    reason,
                )
            )
        with contextlib.suppress(Exception):
            self.process.exit(0 if code == 0 else 1)

    async def _audit(self, action: str, params: dict[str, Any], detail: str) -> None:
        try:
            await self.ctx.audit(self.operator, action, params, detail)
        except Exception:  # an audit failure is logged loudly but does not cut the operator
            log.exception("ssh %s: could not audit %s", self.operator.name, action)

    async def _bridge(self, child: pty_child.PtyChild) -> str:
        """Run both directions until one ends; the reason, for the log and the audit."""
        output = asyncio.create_task(
            pump_output(
                child.master_fd,
                self.process.stdout.write,
                self.process.stdout.drain,
                stall_timeout=self.ctx.stall_timeout,
            )
        )
        inputs = asyncio.create_task(self._pump_input(child))
        exited = asyncio.create_task(child.process.wait())
        ended: asyncio.Future[str] = self._ended
        tasks: set[asyncio.Future[Any]] = {output, inputs, exited}
        idle = None
        if self.ctx.idle_timeout > 0:
            idle = asyncio.create_task(self._idle_watch(self.ctx.idle_timeout))
            tasks.add(idle)
        try:
            done, _pending = await asyncio.wait(
                tasks | {ended}, return_when=asyncio.FIRST_COMPLETED
            )
            if ended.done():
                return ended.result()
            failure = output.exception() if output in done else None
            if isinstance(failure, ClientStalled):
                log.warning("ssh %s: %s; dropping", self.operator.name, failure)
                return f"dropped: {failure}"
            if failure is not None:
                return f"client output failed: {failure!r}"
            if output in done or exited in done:
                # The console is ending: let its last frames reach the operator.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(output), 2)
                    await asyncio.wait_for(self.process.stdout.drain(), 2)
                return "console exited"
            try:
                return inputs.result()
            except Exception as exc:
                return f"client input ended: {exc!r}"
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _pump_input(self, child: pty_child.PtyChild) -> str:
        while True:
            try:
                data = await self.process.stdin.read(CHUNK)
            except asyncssh.TerminalSizeChanged as change:
                pty_child.resize(child, change.width, change.height)
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            except (asyncssh.ConnectionLost, BrokenPipeError, ConnectionError):
                return "client disconnected"
            if not data:
                return "client closed the session"
            self.last_input = time.monotonic()  # keys, pastes, mouse reports; not resizes
            self._input_seen.set()
            try:
                await write_fd(child.master_fd, data)
            except OSError:
                return "console closed"

    async def _idle_watch(self, timeout: float) -> str:
        """End the session after ``timeout`` s without input, warning the console first
        (a toast that says how long is left); input after the warning is acknowledged."""
        lead = min(IDLE_WARNING_S, timeout / 2)
        warned = False
        while True:
            self._input_seen.clear()
            idle_for = time.monotonic() - self.last_input
            if warned and idle_for < lead:
                warned = False
                self.notify({"type": "session_notice", "kind": "idle", "clear": True,
                             "message": "Keyboard input received: the session stays open."})
            wait = (timeout - lead - idle_for) if not warned else (timeout - idle_for)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._input_seen.wait(), wait)
                continue
            if not warned:
                warned = True
                left = max(1, round(timeout - idle_for))
                self.notify({
                    "type": "session_notice", "kind": "idle", "timeout": left,
                    "message": f"No keyboard input for {fmt_span(idle_for)}: this session "
                               f"ends in {left} s. Press any key to stay connected.",
                })
                log.info("ssh %s: idle %.0f s, warned (%d s left)",
                         self.operator.name, idle_for, left)
                continue
            span = fmt_span(timeout)
            self.end(
                f"idle timeout ({span} without keyboard input)",
                f"session closed after {span} without keyboard input (idle timeout); "
                "reconnect to continue",
            )
            return f"idle timeout ({span} without keyboard input)"


def fmt_span(seconds: float) -> str:
    """``45 s``, ``15 min``, ``1 h 30 min``: how long, for a sentence on the terminal."""
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    m = round(s / 60)
    if m < 120:
        return f"{m} min"
    return f"{m // 60} h {m % 60} min" if m % 60 else f"{m // 60} h"


async def handle_process(ctx: SessionContext, process: asyncssh.SSHServerProcess[bytes]) -> None:
    """asyncssh's ``process_factory``: accept only an interactive PTY session."""
    login = process.get_extra_info("ccops_login")
    if not isinstance(login, Login):  # cannot happen: auth is required; belt and braces
        ctx.refused += 1
        refuse(process, "not authenticated")
        return
    if process.command is not None:
        ctx.refused += 1
        log.warning("ssh %s: exec request refused: %.80r", login.name, process.command)
        refuse(process, "this server runs only the ccops console; commands are not run. "
                        "Connect without a command: ssh -t USER@HOST")
        return
    if process.subsystem is not None:
        ctx.refused += 1
        log.warning("ssh %s: subsystem %r refused", login.name, process.subsystem)
        refuse(process, f"subsystem {process.subsystem!r} is not offered; "
                        "this server runs only the ccops console")
        return
    if process.get_terminal_type() is None:
        ctx.refused += 1
        refuse(process, "the console needs a terminal; connect with ssh -t USER@HOST")
        return
    if len(ctx.active) >= ctx.max_sessions:
        ctx.refused += 1
        refuse(process, f"all {ctx.max_sessions} console sessions are in use; try again later")
        return
    session = ConsoleSession(ctx, process, login)
    ctx.active[session.operator.session_id] = session
    try:
        await session.run()
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            refuse(process, "the ccops daemon is shutting down")
        raise
    except Exception:  # one broken session must not take the gateway down
        log.exception("ssh session for %s failed", login.name)
        with contextlib.suppress(Exception):
            refuse(process, "internal error; the session was closed (see the daemon log)")
    finally:
        ctx.active.pop(session.operator.session_id, None)
