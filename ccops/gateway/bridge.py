"""Bytes between an SSH channel and a PTY master, with bounded buffering both ways.

Output (console → operator): read at most one chunk from the PTY, hand it to the channel,
and wait for the channel to drain before reading more. A slow client therefore stops the
gateway reading the PTY, the PTY's kernel buffer fills, and the console's writes block:
memory stays bounded at about one chunk plus the channel's high-water mark. If the client
makes no progress for ``stall_timeout`` seconds the session is dropped, rather than holding
a console process for a connection that is gone.

Input (operator → console): written to the PTY with the same wait-until-writable rule, so a
client pasting megabytes is slowed by the SSH window, not buffered here.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Awaitable, Callable

CHUNK = 16 * 1024


class ClientStalled(Exception):
    """The SSH client accepted no output for too long."""


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


async def read_fd(fd: int, n: int = CHUNK) -> bytes:
    """Read up to ``n`` bytes from a non-blocking fd; b"" at end (EIO: the slave closed)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return os.read(fd, n)
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, _wake, ready)
        try:
            await ready
        finally:
            loop.remove_reader(fd)


async def write_fd(fd: int, data: bytes) -> None:
    """Write all of ``data`` to a non-blocking fd, waiting while it is full."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
            view = view[n:]
            continue
        except BlockingIOError:
            pass
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_writer(fd, _wake, ready)
        try:
            await ready
        finally:
            loop.remove_writer(fd)


async def pump_output(
    master_fd: int,
    write: Callable[[bytes], None],
    drain: Callable[[], Awaitable[None]],
    *,
    stall_timeout: float,
) -> None:
    """PTY → channel until the console closes its terminal; :class:`ClientStalled` if the
    client stops reading."""
    while True:
        data = await read_fd(master_fd)
        if not data:
            return
        write(data)
        try:
            await asyncio.wait_for(drain(), stall_timeout)
        except TimeoutError as exc:
            raise ClientStalled(f"client accepted no output for {stall_timeout:.0f} s") from exc
