"""The SSH gateway: asyncssh server, key-only login, one console process per session.

What is offered is deliberately tiny: public-key authentication against the operators
file, and an interactive PTY session that runs the console. Passwords and keyboard-
interactive are not offered; exec and subsystem requests (SFTP) get a one-line refusal;
port forwarding (both ways), agent and X11 forwarding are refused at the protocol level.
Each refused key costs the address a growing delay (:mod:`ccops.gateway.throttle`).
Connections that have not authenticated yet are capped, in all and per address: over the
cap a new connection is closed before the SSH version exchange, so a flood of silent TCP
connections costs no key exchange and cannot take every slot from one address
(:mod:`ccops.gateway.preauth`).

The operators file is watched (a poll every :data:`OPERATORS_POLL_S` seconds, and SIGHUP):
a good edit applies at once to new logins *and* to open sessions: a session whose
operator, key or role the new file no longer grants is ended with a sentence on its
terminal, its daemon-side identity revoked, and the end audited with the reason. A broken
edit keeps the previous file in force and is logged and audited with its located problems.

The gateway lives in the daemon process but outside ``ccops.daemon`` (which must not import
asyncssh): ``ccops serve`` wires it to the daemon with two callables, one that attaches a
pre-authenticated socket for an operator, one that writes session start/end to the audit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import asyncssh

from ccops.config import SshConfig
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.gateway.hostkey import load_or_create_host_key
from ccops.gateway.operators import OperatorDirectory, fingerprint
from ccops.gateway.preauth import PreAuthLimiter
from ccops.gateway.session import (
    Attach,
    AuditSession,
    ConsoleArgv,
    Notify,
    Revoke,
    SessionContext,
    default_console_argv,
    handle_process,
)
from ccops.gateway.throttle import FailureThrottle

log = logging.getLogger(__name__)

OPERATORS_POLL_S = 2.0
# Who the audit names for what the gateway itself does (operators file reloads).
GATEWAY_OPERATOR = Operator(name="ccops", role=Role.ADMIN, session_id="ssh-gateway", via="ssh")


class _Connection(asyncssh.SSHServer):
    """Per-connection auth policy: keys from the operators file, nothing else."""

    def __init__(self, gateway: SshGateway) -> None:
        self.gateway = gateway
        self.conn: asyncssh.SSHServerConnection | None = None
        self.addr = "?"
        self.pending = False  # holds one of the pre-authentication slots

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.addr = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        if not self.gateway.preauth.admit(self.addr):
            # Before asyncssh sends its version: no banner, no key exchange, socket closed.
            conn.abort()
            return
        self.pending = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()

    def _release(self) -> None:
        if self.pending:
            self.pending = False
            self.gateway.preauth.release(self.addr)

    def begin_auth(self, username: str) -> bool:
        self.gateway.check_operators()
        return True  # always authenticate

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        login = self.gateway.operators.check(username, key)
        if login is None:
            delay = self.gateway.throttle.record_failure(self.addr)
            log.warning(
                "ssh: refused key %s for user %.32r from %s (failure %d from this address; "
                "answering in %.1f s)",
                fingerprint(key), username, self.addr,
                self.gateway.throttle.failures(self.addr), delay,
            )
            await asyncio.sleep(delay)
            return False
        assert self.conn is not None
        self.conn.set_extra_info(ccops_login=login)
        return True

    def auth_completed(self) -> None:
        self._release()
        self.gateway.throttle.record_success(self.addr)


class SshGateway:
    """Create, ``await start()`` (returns the bound port), ``await stop()``."""

    def __init__(
        self,
        config: SshConfig,
        *,
        state_dir: Path,
        attach: Attach,
        audit: AuditSession,
        console_argv: ConsoleArgv = default_console_argv,
        revoke: Revoke | None = None,
        notify: Notify | None = None,
    ) -> None:
        if config.operators is None:
            raise ValueError("ssh.operators is required")
        self.config = config
        self.state_dir = state_dir
        self.operators = OperatorDirectory(config.operators)
        self.throttle = FailureThrottle(
            config.failure_delay, config.failure_delay_max, config.failure_forget
        )
        self.preauth = PreAuthLimiter(
            config.max_unauthenticated, config.max_unauthenticated_per_address
        )
        self.host_key_path = config.resolved_host_key(state_dir)
        self.host_key, self.host_key_created = load_or_create_host_key(self.host_key_path)
        self.ctx = SessionContext(
            attach=attach,
            audit=audit,
            state_dir=state_dir,
            log_file=state_dir / "console.log",
            stall_timeout=config.slow_client_timeout,
            max_sessions=config.max_sessions,
            console_argv=console_argv,
            revoke=revoke,
            notify=notify,
            idle_timeout=config.idle_timeout,
        )
        self._server: asyncssh.SSHAcceptor | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.ended_by_reload = 0
        self.port = 0

    @property
    def host_key_fingerprint(self) -> str:
        return fingerprint(self.host_key)

    @property
    def sessions(self) -> int:
        return len(self.ctx.active)

    def reload_operators(self) -> bool:
        """Re-read the operators file now (SIGHUP) and apply it (see :meth:`_applied`)."""
        return bool(self._applied(self.operators.reload()))

    def check_operators(self) -> bool | None:
        """Apply the operators file if it changed (the poll, and each login): None when it
        had not changed, True when the new file was taken, False when it was refused."""
        return self._applied(self.operators.reload_if_changed())

    def _applied(self, taken: bool | None) -> bool | None:
        """After a reload: a refused file is audited with its problems; a taken one ends
        the open sessions it no longer grants (and is audited with how many)."""
        if taken is None:
            return None
        if not taken:
            self._audit_later(
                "operators.reload",
                {"path": str(self.operators.path), "problems": self.operators.problems[:20]},
                "refused: the previous operators file stays in force",
            )
            return False
        ended = []
        for session in list(self.ctx.active.values()):
            why = self.operators.revocation(session.login)
            if why is None:
                continue
            ended.append(session.operator.session_id)
            log.warning("ssh session %s of %s ended: %s", session.operator.session_id,
                        session.operator.name, why)
            session.end(
                f"access changed: {why}",
                f"your access was changed by the administrator: {why}; reconnect",
            )
        self.ended_by_reload += len(ended)
        self._audit_later(
            "operators.reload",
            {"path": str(self.operators.path), "operators": len(self.operators),
             "sessions_ended": ended},
            "taken",
        )
        return True

    def _audit_later(self, action: str, params: dict[str, Any], detail: str) -> None:
        """Audit from sync code (a signal handler, ``begin_auth``) without blocking it."""
        async def write() -> None:
            try:
                await self.ctx.audit(GATEWAY_OPERATOR, action, params, detail)
            except Exception:
                log.exception("could not audit %s", action)

        try:
            task = asyncio.get_running_loop().create_task(write())
        except RuntimeError:  # no loop (a unit test calling reload directly): log only
            return
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _watch_operators(self) -> None:
        while True:
            await asyncio.sleep(OPERATORS_POLL_S)
            try:
                self.check_operators()
            except Exception:  # the watch must outlive any surprise
                log.exception("operators file check failed")

    async def start(self) -> int:
        self._server = await asyncssh.create_server(
            lambda: _Connection(self),
            self.config.host,
            self.config.port,
            server_host_keys=[self.host_key],
            process_factory=self._process,
            encoding=None,
            line_editor=False,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            allow_pty=True,
            login_timeout=self.config.login_timeout,
            keepalive_interval=self.config.keepalive_interval,
            keepalive_count_max=3,
            server_version="ccops",
        )
        sockets = self._server.sockets
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.config.port
        self._watch = asyncio.create_task(self._watch_operators(), name="ccops-operators-watch")
        log.info("ssh gateway on %s:%d, host key %s", self.config.host, self.port,
                 self.host_key_fingerprint)
        return self.port

    async def _process(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await handle_process(self.ctx, process)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def stop(self) -> None:
        """Stop listening, end every session (consoles killed and reaped, ends audited)."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        if self._background:
            await asyncio.wait(list(self._background), timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
