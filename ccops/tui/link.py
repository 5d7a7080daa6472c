"""The console's attachment to the daemon: connect, keep the last document, re-attach.

Why an adapter around :class:`~ccops.daemon.client.DaemonClient`: the console must never
exit or show a traceback because the daemon went away (k9s bails out; operators hated it).
This keeps the last status document when the connection drops, says since when and why,
and retries with a capped backoff, so the screens simply show stale data with a countdown
and come back by themselves.

Two ways in: a socket path (local ``ccops tui``), or an already-connected socket inherited
as a file descriptor (the SSH gateway authenticates the operator and hands the console a
socket the daemon already knows; nothing the console sends can change who it is). An
inherited socket cannot be re-opened, so when it closes the console says so and waits for
the operator to reconnect over SSH, unless a path to re-attach to was given as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccops.core.roles import Role
from ccops.daemon.client import DaemonClient, DaemonUnavailable
from ccops.daemon.wire import MAX_FRAME_BYTES

log = logging.getLogger(__name__)


class InheritedSocketClient(DaemonClient):
    """A :class:`DaemonClient` over a socket that is already connected (an inherited fd).

    The daemon identified the peer when the socket was made (the SSH gateway's side), so
    the handshake is the ordinary ``hello`` → ``welcome`` and the operator in the welcome is
    the one the daemon chose.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(Path(f"fd:{sock.fileno()}"))
        self._sock = sock

    async def connect(self, *, subscribe: bool = True, timeout: float = 5.0) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(
                sock=self._sock, limit=MAX_FRAME_BYTES * 64
            )
        except OSError as exc:
            raise DaemonUnavailable(f"inherited daemon socket unusable: {exc}") from exc
        self._reader, self._writer = reader, writer
        self._send({"op": "hello", "client": "ccops-tui", "subscribe": subscribe})
        welcome = await asyncio.wait_for(self._read_frame(), timeout)
        if welcome.get("type") == "error":
            raise DaemonUnavailable(str(welcome.get("message")))
        self.operator = dict(welcome.get("operator") or {})
        self._reader_task = asyncio.create_task(self._read_loop())
        if subscribe:
            await asyncio.wait_for(self.snapshot_ready.wait(), timeout)


def socket_from_fd(fd: int) -> socket.socket:
    """Adopt an inherited Unix stream socket; a clear error if the fd is not one."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise DaemonUnavailable(f"file descriptor {fd} is not a socket: {exc}") from exc
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        sock.detach()
        raise DaemonUnavailable(f"file descriptor {fd} is not a Unix stream socket")
    sock.setblocking(False)
    return sock


class ConsoleLink:
    """Keeps a :class:`DaemonClient` attached and remembers the last document."""

    def __init__(
        self,
        socket_path: Path | None = None,
        *,
        fd: int | None = None,
        client_factory: Callable[[], DaemonClient] | None = None,
        retry_initial: float = 1.0,
        retry_max: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if socket_path is None and fd is None and client_factory is None:
            raise ValueError("a socket path, an inherited fd or a client factory is needed")
        self.socket_path = socket_path
        self._fd = fd
        self._client_factory = client_factory
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._now = now
        self.client: DaemonClient | None = None
        self._last_doc: dict[str, Any] = {}
        self.operator: dict[str, Any] = {}
        self.attached = False
        self.ever_attached = False
        self.lost_since: float | None = None
        self.next_retry_at: float | None = None
        self.reason = "attaching to the daemon…"
        self.attempts = 0
        self.can_retry = True
        self.on_document: Callable[[set[str]], None] | None = None
        self.on_alert: Callable[[dict[str, Any]], None] | None = None
        self.on_state: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._attached_event = asyncio.Event()

    # ------------------------------------------------------------------ public

    @property
    def document(self) -> dict[str, Any]:
        """The live document while attached, the last one seen while not."""
        if self.attached and self.client is not None:
            self._last_doc = self.client.document
        return self._last_doc

    @property
    def role(self) -> Role | None:
        try:
            return Role(str(self.operator.get("role")))
        except ValueError:
            return None

    @property
    def operator_name(self) -> str:
        return str(self.operator.get("name") or "?")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ccops-tui-link")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()

    async def wait_attached(self, timeout: float = 10.0) -> bool:
        """For tests and the CLI: wait until the first snapshot arrived."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._attached_event.wait(), timeout)
        return self.attached

    async def execute(
        self, command: str, params: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send a command; the reply frame (``result`` or ``error``). Raises
        :class:`DaemonUnavailable` when not attached."""
        client = self._live_client()
        return await client.execute(command, params, timeout=timeout)

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        client = self._live_client()
        return await client.request(op, **fields)

    async def resync(self) -> None:
        client = self._live_client()
        await client.snapshot()

    # ------------------------------------------------------------------ internals

    def _live_client(self) -> DaemonClient:
        if not self.attached or self.client is None:
            raise DaemonUnavailable(self.reason or "not attached to the daemon")
        return self.client

    def _new_client(self) -> DaemonClient:
        if self._client_factory is not None:
            return self._client_factory()
        if self._fd is not None:
            fd, self._fd = self._fd, None  # an inherited socket can be used once
            return InheritedSocketClient(socket_from_fd(fd))
        assert self.socket_path is not None
        return DaemonClient(self.socket_path)

    def _notify_state(self) -> None:
        if self.on_state is not None:
            try:
                self.on_state()
            except Exception:  # a UI callback bug must not kill the link
                log.exception("link state callback failed")

    def _doc_changed(self, changed: set[str]) -> None:
        if self.on_document is not None:
            try:
                self.on_document(changed)
            except Exception:
                log.exception("document callback failed")

    def _alert(self, frame: dict[str, Any]) -> None:
        if self.on_alert is not None:
            try:
                self.on_alert(frame)
            except Exception:
                log.exception("alert callback failed")

    async def _run(self) -> None:
        delay = self.retry_initial
        while not self._stopping:
            self.attempts += 1
            client: DaemonClient | None = None
            try:
                client = self._new_client()
                client.on_update = self._doc_changed
                client.on_alert = self._alert
                await client.connect(subscribe=True)
            except (DaemonUnavailable, OSError, TimeoutError, ValueError) as exc:
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.close()
                self._set_down(str(exc) or type(exc).__name__)
            else:
                self.client = client
                self.operator = dict(client.operator)
                self.attached = True
                self.ever_attached = True
                self.lost_since = None
                self.next_retry_at = None
                self.reason = ""
                self._attached_event.set()
                delay = self.retry_initial
                self._last_doc = client.document
                self._notify_state()
                self._doc_changed(set())
                await client.closed.wait()
                self._last_doc = client.document
                self.attached = False
                with contextlib.suppress(Exception):
                    await client.close()
                self._set_down(f"daemon connection lost: {client.error or 'closed'}")
            if self._stopping:
                return
            if not self._can_reattach():
                self.can_retry = False
                self.next_retry_at = None
                self.reason += "; this session's socket cannot be re-opened — reconnect"
                self._notify_state()
                return
            self.next_retry_at = self._now() + delay
            self._notify_state()
            await asyncio.sleep(delay)
            delay = min(self.retry_max, delay * 2)

    def _set_down(self, reason: str) -> None:
        self.attached = False
        self._attached_event.clear()
        if self.lost_since is None:
            self.lost_since = self._now()
        self.reason = reason

    def _can_reattach(self) -> bool:
        return self._client_factory is not None or self.socket_path is not None
