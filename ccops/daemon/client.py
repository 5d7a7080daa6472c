"""Client side of the daemon socket: used by ``ccops status``, the console and tests.

It keeps the status document current by applying the daemon's deltas to its entity map, so
a consumer only ever reads :attr:`DaemonClient.document`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccops.daemon.publisher import entities, rebuild
from ccops.daemon.wire import MAX_FRAME_BYTES, decode, encode


class DaemonUnavailable(Exception):
    """No daemon answers on the socket (not started, or started by another user)."""


class DaemonClient:
    """A connection to the daemon; call :meth:`connect` first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._entities: dict[str, Any] = {}
        self._doc: dict[str, Any] | None = None
        self.operator: dict[str, Any] = {}
        self.seq = -1
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader_task: asyncio.Task[None] | None = None
        self.on_update: Callable[[set[str]], None] | None = None
        self.on_alert: Callable[[dict[str, Any]], None] | None = None
        self.snapshot_ready = asyncio.Event()
        self.closed = asyncio.Event()
        self.error: str | None = None

    async def connect(self, *, subscribe: bool = True, timeout: float = 5.0) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(self.path), limit=MAX_FRAME_BYTES * 64),
                timeout,
            )
        except (TimeoutError, OSError) as exc:
            raise DaemonUnavailable(
                f"no ccops daemon at {self.path} ({getattr(exc, 'strerror', None) or exc})"
            ) from exc
        self._send({"op": "hello", "client": "ccops", "subscribe": subscribe})
        welcome = await asyncio.wait_for(self._read_frame(), timeout)
        if welcome.get("type") == "error":
            raise DaemonUnavailable(str(welcome.get("message")))
        self.operator = dict(welcome.get("operator") or {})
        self._reader_task = asyncio.create_task(self._read_loop())
        if subscribe:
            await asyncio.wait_for(self.snapshot_ready.wait(), timeout)

    @property
    def document(self) -> dict[str, Any]:
        """The current status document (rebuilt lazily after deltas)."""
        if self._doc is None:
            self._doc = rebuild(self._entities)
        return self._doc

    async def snapshot(self, timeout: float = 5.0) -> dict[str, Any]:
        """Ask for a fresh full snapshot and return it."""
        self.snapshot_ready.clear()
        self._send({"op": "snapshot"})
        await asyncio.wait_for(self.snapshot_ready.wait(), timeout)
        return self.document

    async def request(self, op: str, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        """Send a request with an id and wait for its reply."""
        rid = f"r{next(self._ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self._send({"op": op, "id": rid, **fields})
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(rid, None)

    async def execute(
        self, command: str, params: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        return await self.request("execute", timeout=timeout, command=command, params=params)

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._send({"op": "bye"})
                self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task

    def _send(self, obj: dict[str, Any]) -> None:
        if self._writer is None:
            raise DaemonUnavailable("not connected")
        self._writer.write(encode(obj))

    async def _read_frame(self) -> dict[str, Any]:
        assert self._reader is not None
        line = await self._reader.readline()
        if not line:
            raise DaemonUnavailable("the daemon closed the connection")
        return decode(line)

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = await self._read_frame()
                self._dispatch(frame)
        except (DaemonUnavailable, ConnectionError, asyncio.IncompleteReadError) as exc:
            self.error = str(exc)
        finally:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(DaemonUnavailable(self.error or "connection closed"))
            self.closed.set()

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "snapshot":
            self._entities = entities(frame.get("data") or {})
            self._doc = None
            self.seq = int(frame.get("seq", 0))
            self.snapshot_ready.set()
            if self.on_update is not None:
                self.on_update(set(self._entities))
        elif kind == "delta":
            changed: dict[str, Any] = frame.get("set") or {}
            removed: list[str] = frame.get("del") or []
            self._entities.update(changed)
            for path in removed:
                self._entities.pop(path, None)
            self._doc = None
            self.seq = int(frame.get("seq", self.seq))
            if self.on_update is not None:
                self.on_update(set(changed) | set(removed))
        elif kind in ("alert", "incident_notice", "page", "session_notice"):  # pushed now
            if self.on_alert is not None:
                self.on_alert(frame)
        elif kind in ("result", "error", "reply", "playbooks", "incident"):
            rid = frame.get("id")
            fut = self._pending.get(str(rid)) if rid is not None else None
            if fut is not None and not fut.done():
                fut.set_result(frame)
            elif kind == "error":
                self.error = str(frame.get("message"))
