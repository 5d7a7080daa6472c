"""The Unix-socket API end to end: identity by uid, snapshot, deltas, bad frames."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from ccops.daemon.api import ApiServer
from ccops.daemon.client import DaemonClient, DaemonUnavailable
from ccops.daemon.publisher import Publisher


async def _server(tmp_path: Path, allow: bool = True) -> tuple[ApiServer, dict[str, Any]]:
    state: dict[str, Any] = {"waiting": 0}
    pub = Publisher(lambda: {"pbx": {"main": {"queues": {"q": {"waiting": state["waiting"]}}}}})

    async def handle(op: Any, frame: dict[str, Any]) -> dict[str, Any]:
        return {"type": "result", "id": frame.get("id"), "result": {"echo": frame["op"]}}

    server = ApiServer(
        tmp_path / "s" / "ccops.sock",
        pub,
        identify=lambda uid, pid: ("me", uid) if allow else None,
        handle=handle,
        describe_operator=lambda op: {"name": op[0], "uid": op[1]},
    )
    await server.start()
    return server, state


async def test_snapshot_then_delta_and_request(tmp_path: Path) -> None:
    server, state = await _server(tmp_path)
    try:
        assert (os.stat(server.path).st_mode & 0o777) == 0o600
        client = DaemonClient(server.path)
        await client.connect()
        assert client.operator == {"name": "me", "uid": os.getuid()}
        assert client.document["pbx"]["main"]["queues"]["q"]["waiting"] == 0
        state["waiting"] = 7
        server.publisher.tick()
        for _ in range(50):
            await asyncio.sleep(0.01)
            if client.document["pbx"]["main"]["queues"]["q"]["waiting"] == 7:
                break
        assert client.document["pbx"]["main"]["queues"]["q"]["waiting"] == 7
        reply = await client.request("ping")
        assert reply["result"] == {"echo": "ping"}
        await client.close()
    finally:
        await server.stop()


async def test_bad_frame_gets_an_error_and_the_connection_survives(tmp_path: Path) -> None:
    server, _ = await _server(tmp_path)
    try:
        reader, writer = await asyncio.open_unix_connection(str(server.path))
        writer.write(b"this is not json\n[1,2]\n")
        writer.write(b'{"op":"hello"}\n')
        await writer.drain()
        lines = [await asyncio.wait_for(reader.readline(), 2) for _ in range(3)]
        assert b"not JSON" in lines[0]
        assert b"must be a JSON object" in lines[1]
        assert b"welcome" in lines[2]
        assert server.bad_frames == 2
        writer.close()
    finally:
        await server.stop()


async def test_unknown_uid_is_refused(tmp_path: Path) -> None:
    server, _ = await _server(tmp_path, allow=False)
    try:
        with pytest.raises(DaemonUnavailable, match="not an operator"):
            await DaemonClient(server.path).connect()
        assert server.refused == 1
    finally:
        await server.stop()


async def test_second_daemon_on_same_socket_is_refused(tmp_path: Path) -> None:
    server, _ = await _server(tmp_path)
    try:
        other = ApiServer(
            server.path, server.publisher, lambda u, p: None, server.handle, lambda o: {}
        )
        with pytest.raises(RuntimeError, match="already listening"):
            await other.start()
    finally:
        await server.stop()


async def test_stop_closes_accepted_connections_promptly(tmp_path: Path) -> None:
    server, _ = await _server(tmp_path)
    client = DaemonClient(server.path)
    await client.connect()
    raw_reader, raw_writer = await asyncio.open_unix_connection(str(server.path))
    raw_writer.write(b'{"op":"hello"}\n')
    await raw_writer.drain()
    assert b"welcome" in await asyncio.wait_for(raw_reader.readline(), 2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await server.stop()
    assert loop.time() - started < 1.0  # not the 2 s wait_closed timeout
    await asyncio.wait_for(client.closed.wait(), 1)  # the subscribed client saw EOF
    assert await asyncio.wait_for(raw_reader.read(), 1) == b""  # and so did a plain one
    assert not server.publisher.clients
    raw_writer.close()
    await client.close()
