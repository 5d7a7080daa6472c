"""A scriptable fake Asterisk Manager Interface over real TCP on 127.0.0.1.

Why a real server and not panoramisk's ``testing.Manager``: that helper replays fixtures
synchronously inside ``send_action`` and sets ``panoramisk.utils.EOL = '\\n'`` for the whole
process (research §2.5); it cannot produce partial reads, disconnects, silence or storms.
This server speaks the wire format Asterisk 22 does (greeting without a blank line,
``Response``/``ActionID``/``Message``, list actions as Success + events + ``…Complete``)
and lets each test script the faults.

Usage::

    async with FakeAmi(secret="s3cret") as ami:
        ami.handlers["QueueStatus"] = lambda conn, act: conn.send(...)
        link = AmiLink(PbxConfig(name="t", port=ami.port, ...), ...)
        conn = await ami.wait_connection()
        await conn.wait_action("Originate")

A handler gets ``(conn, action)`` and may be sync or async; :func:`ignore` never answers.
``on_accept`` replaces the whole session for one connection (for garbage, storms, silence).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
CRLF = "\r\n"

Handler = Callable[["FakeConn", "Action"], Awaitable[None] | None]


@dataclass
class Action:
    """One action the fake server received."""

    name: str
    headers: dict[str, str]
    pairs: list[tuple[str, str]] = field(default_factory=list)
    conn_index: int = 0

    @property
    def action_id(self) -> str:
        return self.headers.get("ActionID", "")

    def get(self, key: str, default: str = "") -> str:
        return self.headers.get(key, default)


def message(*pairs: tuple[str, str], **headers: str) -> bytes:
    """One AMI message (headers in order, then a blank line) as bytes."""
    items = list(pairs) + list(headers.items())
    return (CRLF.join(f"{k}: {v}" for k, v in items) + CRLF + CRLF).encode("utf-8")


def event(name: str, *pairs: tuple[str, str], **headers: str) -> bytes:
    return message(("Event", name), *pairs, **headers)


def response(action: Action, result: str = "Success", **headers: str) -> bytes:
    return message(("Response", result), ("ActionID", action.action_id), **headers)


def ignore(conn: FakeConn, action: Action) -> None:
    """A handler that never answers (an action Asterisk sits on)."""


class FakeConn:
    """One accepted connection, seen from the fake server."""

    def __init__(
        self,
        server: FakeAmi,
        index: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.index = index
        self.reader = reader
        self.writer = writer
        self.actions: list[Action] = []
        self.logged_in = False
        self.closed = asyncio.get_running_loop().create_future()
        self._action_seen = asyncio.Event()

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not self.writer.is_closing():
            self.writer.write(data)

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    def abort(self) -> None:
        """Reset the connection (RST), as a crashed peer or a broken network would."""
        transport = self.writer.transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def wait_action(self, name: str, *, timeout: float = 5.0) -> Action:
        """The first action named ``name`` received on this connection."""

        async def find() -> Action:
            while True:
                for act in self.actions:
                    if act.name == name:
                        return act
                self._action_seen.clear()
                await self._action_seen.wait()

        return await asyncio.wait_for(find(), timeout)

    async def read_action(self) -> Action | None:
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        pairs: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        for line in raw.decode("utf-8", "replace").split(CRLF):
            key, sep, value = line.partition(": ")
            if not sep:
                continue
            pairs.append((key, value))
            headers.setdefault(key, value)
        act = Action(headers.get("Action", ""), headers, pairs, self.index)
        self.actions.append(act)
        self.server.actions.append(act)
        self._action_seen.set()
        self.server._any_action.set()
        return act

    async def serve(self) -> None:
        """The default session: greeting, then answer actions until the peer leaves."""
        if self.server.greeting:
            self.send(self.server.greeting)
        while True:
            act = await self.read_action()
            if act is None:
                return
            handler = self.server.handlers.get(act.name, self.server.default_handler)
            result = handler(self, act)
            if inspect.isawaitable(result):
                await result
            await self.drain()


class FakeAmi:
    """The server. ``handlers`` maps action names to handlers; defaults cover Login,
    Ping, Logoff and unknown actions the way Asterisk 22 answers them."""

    def __init__(
        self,
        *,
        username: str = "ccops",
        secret: str = "s3cret",
        greeting: bytes | None = GREETING,
        on_accept: Callable[[FakeConn], Awaitable[None]] | None = None,
        fully_booted: bool = True,
        close_on_auth_failure: bool = True,
    ) -> None:
        self.username = username
        self.secret = secret
        self.greeting = greeting
        self.on_accept = on_accept
        self.fully_booted = fully_booted
        self.close_on_auth_failure = close_on_auth_failure
        self.handlers: dict[str, Handler] = {
            "Login": self.login_handler,
            "Ping": self.ping_handler,
            "Logoff": self.logoff_handler,
        }
        self.connections: list[FakeConn] = []
        self.actions: list[Action] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._new_conn = asyncio.Event()
        self._any_action = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeAmi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
        for conn in self.connections:
            conn.abort()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def stop_listening(self) -> None:
        """Refuse new connections (existing ones stay)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = FakeConn(self, len(self.connections), reader, writer)
        self.connections.append(conn)
        self._new_conn.set()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.on_accept is not None:
                await self.on_accept(conn)
            else:
                await conn.serve()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            conn.close()
            if not conn.closed.done():
                conn.closed.set_result(None)

    # ------------------------------------------------------------------ waiting

    async def wait_connection(self, index: int = 0, *, timeout: float = 5.0) -> FakeConn:
        """Wait until connection number ``index`` (0-based) was accepted."""

        async def wait() -> FakeConn:
            while len(self.connections) <= index:
                self._new_conn.clear()
                await self._new_conn.wait()
            return self.connections[index]

        return await asyncio.wait_for(wait(), timeout)

    def actions_named(self, name: str) -> list[Action]:
        return [a for a in self.actions if a.name == name]

    # ------------------------------------------------------------------ default handlers

    def login_handler(self, conn: FakeConn, act: Action) -> None:
        if act.get("Username") == self.username and act.get("Secret") == self.secret:
            conn.logged_in = True
            conn.send(response(act, Message="Authentication accepted"))
            if self.fully_booted:
                conn.send(
                    event(
                        "FullyBooted",
                        Privilege="system,all",
                        Uptime="12",
                        LastReload="12",
                        Status="Fully Booted",
                    )
                )
            return
        conn.send(response(act, "Error", Message="Authentication failed"))
        if self.close_on_auth_failure:
            conn.close()

    def ping_handler(self, conn: FakeConn, act: Action) -> None:
        conn.send(response(act, Ping="Pong", Timestamp="1767225600.000000"))

    def logoff_handler(self, conn: FakeConn, act: Action) -> None:
        conn.send(response(act, "Goodbye", Message="Thanks for all the fish."))
        conn.close()

    def default_handler(self, conn: FakeConn, act: Action) -> None:
        conn.send(
            response(
                act,
                "Error",
                Message=f"Invalid/unknown command: {act.name}. "
                "Use Action: ListCommands to show available commands.",
            )
        )


def list_reply(
    act: Action, item_event: str, rows: list[dict[str, str]], complete_event: str
) -> bytes:
    """A list action's whole answer the Asterisk 22 way (ActionID second on items)."""
    out = [response(act, EventList="start", Message=f"{item_event} will follow")]
    for row in rows:
        out.append(message(("Event", item_event), ("ActionID", act.action_id), *row.items()))
    out.append(
        message(
            ("Event", complete_event),
            ("ActionID", act.action_id),
            ("EventList", "Complete"),
            ("ListItems", str(len(rows))),
        )
    )
    return b"".join(out)


def blackhole_listener() -> tuple[socket.socket, list[socket.socket], int]:
    """A loopback port where connect() hangs: the accept queue is full and never drained.

    Linux drops further SYNs when a listen(0) socket's queue holds one connection, so a
    client's connect waits for its own timeout, as with a black-holed route.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    for _ in range(2):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError, OSError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    return listener, fillers, port


def refused_port() -> int:
    """A loopback port nobody listens on (bound then closed: connect is refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
