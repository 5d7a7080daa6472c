"""The SSH gateway: asyncssh server, key-only login, one console process per session.

What is offered is deliberately tiny: public-key authentication against the operators
file, and an interactive PTY session that runs the console. Passwords and keyboard-
interactive are not offered; exec and subsystem requests (SFTP) get a one-line refusal;
port forwarding (both ways), agent and X11 forwarding are refused at the protocol level.
Each refused key costs the address a growing delay (:mod:`ccops.gateway.throttle`).

The gateway lives in the daemon process but outside ``ccops.daemon`` (which must not import
asyncssh): ``ccops serve`` wires it to the daemon with two callables, one that attaches a
pre-authenticated socket for an operator, one that writes session start/end to the audit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import asyncssh

from ccops.config import SshConfig
from ccops.gateway.hostkey import load_or_create_host_key
from ccops.gateway.operators import OperatorDirectory, fingerprint
from ccops.gateway.session import (
    Attach,
    AuditSession,
    ConsoleArgv,
    SessionContext,
    default_console_argv,
    handle_process,
)
from ccops.gateway.throttle import FailureThrottle

log = logging.getLogger(__name__)


class _Connection(asyncssh.SSHServer):
    """Per-connection auth policy: keys from the operators file, nothing else."""

    def __init__(self, gateway: SshGateway) -> None:
        self.gateway = gateway
        self.conn: asyncssh.SSHServerConnection | None = None
        self.addr = "?"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.addr = str(peer[0]) if isinstance(peer, tuple) and peer else "?"

    def begin_auth(self, username: str) -> bool:
        self.gateway.operators.reload_if_changed()
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
    ) -> None:
        if config.operators is None:
            raise ValueError("ssh.operators is required")
        self.config = config
        self.state_dir = state_dir
        self.operators = OperatorDirectory(config.operators)
        self.throttle = FailureThrottle(
            config.failure_delay, config.failure_delay_max, config.failure_forget
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
        )
        self._server: asyncssh.SSHAcceptor | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def host_key_fingerprint(self) -> str:
        return fingerprint(self.host_key)

    @property
    def sessions(self) -> int:
        return len(self.ctx.active)

    def reload_operators(self) -> bool:
        """Re-read the operators file now (SIGHUP); existing sessions keep their identity."""
        return self.operators.reload()

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
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
