"""Replay bytes recorded from a real Asterisk 22 through the fake server into the link."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from fake_ami import FakeAmi
from link_harness import running_link, wait_until

from ccops.core.events import LinkState
from ccops.pbx.framing import NOISE_EVENTS

pytestmark = pytest.mark.timeout(30)

DATA = Path(__file__).resolve().parents[1] / "data" / "asterisk22"


def body(name: str) -> bytes:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} not recorded yet")
    raw = gzip.decompress(path.read_bytes())
    return raw.split(b"\r\n", 1)[1]  # the fake server sends its own greeting


def count(frames: bytes, prefix: bytes) -> int:
    return sum(1 for p in frames.split(b"\r\n\r\n") if p.startswith(prefix))


async def test_recorded_session_is_delivered_whole_and_ends_on_shutdown(ami: FakeAmi) -> None:
    recorded = body("stream.ami.gz")
    async with running_link(ami.port, drop_events=frozenset()) as (link, rec):
        await wait_until(lambda: bool(rec.states_named(LinkState.LIVE)))
        conn = ami.connections[0]
        for i in range(0, len(recorded), 8192):  # many reads, frames cut anywhere
            conn.send(recorded[i : i + 8192])
            await conn.drain()
        await wait_until(lambda: bool(rec.states_named(LinkState.DOWN)), timeout=10)
        down = rec.states_named(LinkState.DOWN)[0]
        assert down.detail == "Asterisk shut down (Shutdown: Cleanly, Restart: False)"
        recorded_events = count(recorded, b"Event: ")
        # Our own FullyBooted from the fake login comes first; then every recorded event.
        assert len(rec.events()) == recorded_events + 1
        assert rec.events()[-1].event == "Shutdown"
        counters = link.counters
        assert counters.malformed == 0
        assert counters.callback_errors == 0
        # The recorder's responses carry its ActionIDs, not ours: counted, not delivered.
        assert counters.unmatched_responses == count(recorded, b"Response: ")


async def test_recorded_unfiltered_session_with_the_drop_set(ami: FakeAmi) -> None:
    recorded = body("stream-unfiltered.ami.gz")
    async with running_link(ami.port, drop_events=NOISE_EVENTS) as (link, rec):
        await wait_until(lambda: bool(rec.states_named(LinkState.LIVE)))
        ami.connections[0].send(recorded)
        await ami.connections[0].drain()
        await link.action("Ping")  # everything before it has been processed
        noise = sum(count(recorded, b"Event: " + n.encode() + b"\r\n") for n in NOISE_EVENTS)
        assert link.counters.dropped_by_filter == noise
        assert not [m for m in rec.events() if m.event in NOISE_EVENTS]
        assert len(rec.events()) == count(recorded, b"Event: ") - noise + 1
