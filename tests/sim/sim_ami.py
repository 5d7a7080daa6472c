"""A raw asyncio AMI client for the simulator's tests (no dependency on ccops.pbx).

It splits frames on the blank line, keeps headers in order with duplicates, and offers
"read until" helpers with timeouts so that no test can hang. Named uniquely (not
``conftest``) so that importing it can never pick up another directory's conftest.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass
class Msg:
    """One AMI message: ordered headers, duplicates kept."""

    headers: list[tuple[str, str]]

    def get(self, name: str, default: str = "") -> str:
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def names(self) -> list[str]:
        return [k for k, _ in self.headers]

    @property
    def event(self) -> str:
        return self.get("Event")

    @property
    def response(self) -> str:
        return self.get("Response")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    def __repr__(self) -> str:
        return "Msg(" + ", ".join(f"{k}={v!r}" for k, v in self.headers[:6]) + ", ...)"


class AmiClient:
    """A raw AMI client over asyncio streams."""

    _ids = itertools.count(1)

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.greeting = ""
        self.backlog: list[Msg] = []
        self._buf = b""

    @classmethod
    async def open(cls, port: int) -> AmiClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        line = await asyncio.wait_for(reader.readline(), 5)
        client.greeting = line.decode()
        return client

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, action: str, *, action_id: str | None = None, **headers: str) -> str:
        aid = action_id if action_id is not None else f"t{next(self._ids)}"
        lines = [f"Action: {action}"]
        if aid:
            lines.append(f"ActionID: {aid}")
        for key, value in headers.items():
            if isinstance(value, list | tuple):
                lines.extend(f"{key}: {v}" for v in value)
            else:
                lines.append(f"{key}: {value}")
        await self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())
        return aid

    async def _read_one(self, timeout: float) -> Msg | None:
        while b"\r\n\r\n" not in self._buf:
            chunk = await asyncio.wait_for(self.reader.read(1 << 16), timeout)
            if not chunk:
                return None
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\r\n\r\n", 1)
        headers = []
        for line in raw.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            headers.append((key, value))
        return Msg(headers)

    async def next(self, timeout: float = 5.0) -> Msg | None:
        """The next message (from the backlog first); None when the server closed."""
        if self.backlog:
            return self.backlog.pop(0)
        return await self._read_one(timeout)

    async def until(self, pred: Callable[[Msg], bool], timeout: float = 5.0) -> Msg:
        """Read until a message matches; others are kept in the backlog, in order."""
        for i, msg in enumerate(self.backlog):
            if pred(msg):
                del self.backlog[i]
                return msg
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self._read_one(max(0.01, deadline - loop.time()))
            if msg is None:
                raise ConnectionError("server closed the connection")
            if pred(msg):
                return msg
            self.backlog.append(msg)

    async def response(self, aid: str, timeout: float = 5.0) -> Msg:
        return await self.until(lambda m: bool(m.response) and m.action_id == aid, timeout)

    async def action(self, action: str, **headers: str) -> Msg:
        aid = await self.send(action, **headers)
        return await self.response(aid)

    async def list_action(
        self, action: str, complete: str, **headers: str
    ) -> tuple[Msg, list[Msg], Msg]:
        """Send a list action; return (response, items, complete event)."""
        aid = await self.send(action, **headers)
        first = await self.response(aid)
        if first.response != "Success":
            return first, [], first
        items: list[Msg] = []
        while True:
            msg = await self.until(lambda m: m.action_id == aid and not m.response)
            if msg.event == complete:
                return first, items, msg
            items.append(msg)

    async def drain(self, quiet: float = 0.15) -> list[Msg]:
        """Everything that arrives until the line is quiet for ``quiet`` seconds."""
        out = list(self.backlog)
        self.backlog.clear()
        while True:
            try:
                msg = await self._read_one(quiet)
            except TimeoutError:
                return out
            if msg is None:
                return out
            out.append(msg)

    async def login(
        self, username: str = "ccops", secret: str = "ccops-sim", events: str | None = None
    ) -> Msg:
        headers = {"Username": username, "Secret": secret}
        if events is not None:
            headers["Events"] = events
        return await self.action("Login", **headers)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


#: The ``connect`` fixture: ``await connect(login=True, **login_headers)``.
Connect = Callable[..., Awaitable[AmiClient]]
