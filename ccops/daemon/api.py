"""The daemon's local front door: a Unix socket speaking :mod:`ccops.daemon.wire`.

Identity comes from the kernel, never from the client: the peer's uid (``SO_PEERCRED``) is
mapped to an operator by the daemon's ``identify`` callback. The socket file is created
mode 0600 in a 0700 directory, so only the daemon's own user (and root) can attach locally;
SSH sessions reach the daemon through the SSH gateway, which issues their identity itself.

A broken client costs only its own connection: a bad frame gets an ``error`` frame and the
connection goes on; an oversize frame or a client that floods closes that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ccops.daemon.publisher import ClientChannel, Publisher
from ccops.daemon.views import FULL_VIEW, ClientView
from ccops.daemon.wire import MAX_FRAME_BYTES, SCHEMA, WireError, decode, encode

log = logging.getLogger(__name__)

Identify = Callable[[int, int], Any]  # (uid, pid) -> operator object or None
Handle = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]


def peer_credentials(writer: asyncio.StreamWriter) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a Unix socket."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        raise OSError("no socket")
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


class ApiServer:
    """Accepts local clients, authenticates them by uid, serves requests and subscriptions."""

    def __init__(
        self,
        path: Path,
        publisher: Publisher,
        identify: Identify,
        handle: Handle,
        describe_operator: Callable[[Any], dict[str, Any]],
        client_queue_limit: int = 256,
        view_for: Callable[[Any], ClientView] | None = None,
    ) -> None:
        self.path = path
        self.publisher = publisher
        self.identify = identify
        self.handle = handle
        self.describe_operator = describe_operator
        self.client_queue_limit = client_queue_limit
        # what each operator may receive (ccops.daemon.views); None: everything (tests)
        self.view_for = view_for or (lambda _operator: FULL_VIEW)
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[Any] | None] = {}
        self._server: asyncio.AbstractServer | None = None
        self.bad_frames = 0
        self.refused = 0
        self.connections = 0
        self.on_session: Callable[[Any, str], Awaitable[None]] | None = None
        # pre-authenticated (SSH) clients by session id: the gateway can revoke or notify them
        self._sessions: dict[str, tuple[asyncio.StreamWriter, ClientChannel | None]] = {}
        self._greeted: set[str] = set()  # sessions whose console said hello (gets frames)
        self._held: dict[str, list[bytes]] = {}  # notices for a console not attached yet
        self.revoked = 0

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.exists() or self.path.is_symlink():
            if await _socket_alive(self.path):
                raise RuntimeError(f"another ccops daemon is already listening on {self.path}")
            self.path.unlink()
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.path), limit=MAX_FRAME_BYTES + 2
            )
        finally:
            os.umask(old_umask)

    async def stop(self) -> None:
        """Stop listening and close every accepted connection now: clients see EOF at once
        (the server object alone would leave them open until they hang up)."""
        if self._server is not None:
            self._server.close()
        for client in list(self.publisher.clients):
            client.close()
        connections = list(self._connections.items())
        for writer, _task in connections:
            with contextlib.suppress(Exception):
                writer.close()
        tasks = [t for _w, t in connections if t is not None and t is not asyncio.current_task()]
        if tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(tasks, timeout=2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._connections[writer] = asyncio.current_task()
        try:
            await self._serve_peer(reader, writer)
        finally:
            self._connections.pop(writer, None)

    async def _serve_peer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            pid, uid, _gid = peer_credentials(writer)
        except OSError:
            writer.close()
            return
        operator = self.identify(uid, pid)
        if operator is None:
            self.refused += 1
            writer.write(encode({"type": "error", "message": f"uid {uid} is not an operator"}))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        await self._serve_operator(reader, writer, operator, f"uid{uid}/pid{pid}")

    async def attach_preauthenticated(self, sock: socket.socket, operator: Any) -> None:
        """Serve an already-connected socket as ``operator`` (identity supplied, not read).

        For the SSH gateway: it authenticated the key, chose the operator, and hands the
        console process the other end of ``sock``. Nothing that process sends can change
        the operator; the kernel's peer credentials (the daemon's own uid) are not used.
        """
        reader, writer = await asyncio.open_unix_connection(
            sock=sock, limit=MAX_FRAME_BYTES + 2
        )
        self.connections += 1
        session_id = str(getattr(operator, "session_id", "?"))
        name = f"{getattr(operator, 'via', 'pre')}/{session_id}"
        self._sessions[session_id] = (writer, None)
        task = asyncio.create_task(self._serve_operator(reader, writer, operator, name))
        self._connections[writer] = task

        def _gone(_t: asyncio.Task[None]) -> None:
            self._connections.pop(writer, None)
            current = self._sessions.get(session_id)
            if current is not None and current[0] is writer:
                del self._sessions[session_id]
                self._greeted.discard(session_id)
                self._held.pop(session_id, None)

        task.add_done_callback(_gone)

    def revoke_session(self, session_id: str) -> bool:
        """The identity issued to a pre-authenticated session stops working now: its
        subscription ends, no further request is served, the socket is closed (the
        gateway calls this when the operators file no longer lets the session in). True
        when such a session was attached."""
        found = self._sessions.pop(session_id, None)
        self._greeted.discard(session_id)
        self._held.pop(session_id, None)
        if found is None:
            return False
        writer, channel = found
        self.revoked += 1
        if channel is not None:
            channel.close()
            self.publisher.clients.discard(channel)
        with contextlib.suppress(Exception):
            writer.close()
        log.info("session %s: identity revoked, connection closed", session_id)
        return True

    def notify_session(self, session_id: str, frame: dict[str, Any]) -> bool:
        """Push one frame (e.g. a ``session_notice``) to a pre-authenticated session. A
        console still starting (no ``hello`` yet) gets it right after its welcome, since
        anything sent before would be lost. False when no such session is attached."""
        found = self._sessions.get(session_id)
        if found is None:
            return False
        data = encode(frame)
        if found[1] is None or session_id not in self._greeted:
            held = self._held.setdefault(session_id, [])
            held.append(data)
            del held[:-8]  # a few notices at most; the newest matter
            return True
        return found[1].offer(data)

    async def _serve_operator(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        operator: Any,
        name: str,
    ) -> None:
        """Everything after identification: subscribe, read requests, clean up."""
        channel = ClientChannel(
            writer,
            self.client_queue_limit,
            name=name,
            view=self.view_for(operator),
            role=_role_name(operator),
        )
        self.publisher.clients.add(channel)
        session_id = str(getattr(operator, "session_id", ""))
        current = self._sessions.get(session_id)
        if current is not None and current[0] is writer:
            self._sessions[session_id] = (writer, channel)
        writer_task = asyncio.create_task(self.publisher.writer_loop(channel))
        if self.on_session is not None:
            await self.on_session(operator, "attach")
        try:
            await self._read_loop(reader, channel, operator)
        finally:
            channel.close()
            self.publisher.clients.discard(channel)
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(writer_task, 1)
            writer_task.cancel()
            writer.close()
            if self.on_session is not None:
                with contextlib.suppress(Exception):
                    await self.on_session(operator, "detach")

    async def _read_loop(
        self, reader: asyncio.StreamReader, channel: ClientChannel, operator: Any
    ) -> None:
        while not channel.closed:
            try:
                line = await reader.readline()
            except (asyncio.LimitOverrunError, ValueError):
                self.bad_frames += 1
                channel.offer(encode({"type": "error", "message": "frame too large; closing"}))
                return
            except ConnectionError:
                return
            if not line:
                return
            if not line.strip():
                continue
            try:
                frame = decode(line)
            except WireError as exc:
                self.bad_frames += 1
                channel.offer(encode({"type": "error", "message": str(exc)}))
                continue
            if channel.closed:  # revoked while this frame was read: it is not served
                return
            op = frame.get("op")
            if op == "hello":
                channel.offer(
                    encode(
                        {
                            "type": "welcome",
                            "schema": SCHEMA,
                            "operator": self.describe_operator(operator),
                        }
                    )
                )
                if frame.get("subscribe"):
                    channel.offer(self.publisher.snapshot_frame(channel.view))
                    channel.subscribed = True
                session_id = str(getattr(operator, "session_id", ""))
                if session_id in self._sessions:
                    self._greeted.add(session_id)
                    for held in self._held.pop(session_id, []):
                        channel.offer(held)
            elif op == "snapshot":
                channel.offer(self.publisher.snapshot_frame(channel.view))
            elif op == "bye":
                return
            else:
                try:
                    reply = await self.handle(operator, frame)
                except Exception as exc:  # a handler bug must not kill the connection
                    log.exception("request %r failed", op)
                    reply = {"type": "error", "id": frame.get("id"), "message": str(exc)}
                channel.offer(encode(reply))


async def _socket_alive(path: Path) -> bool:
    try:
        _r, w = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 1)
    except (TimeoutError, OSError):
        return False
    w.close()
    return True


def _role_name(operator: Any) -> str | None:
    """The operator's role as its wire name (``supervisor``), or None when it has none."""
    role = getattr(operator, "role", None)
    value = getattr(role, "value", None)
    return value if isinstance(value, str) else None
