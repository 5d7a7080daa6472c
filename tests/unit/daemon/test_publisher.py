"""The publisher's entity split, diff and bounded fan-out."""

from __future__ import annotations

import asyncio
from typing import Any

from ccops.daemon.publisher import ClientChannel, Publisher, diff, entities, rebuild
from ccops.daemon.views import FULL_VIEW
from ccops.daemon.wire import decode


def _doc(waiting: int, with_billing: bool = True) -> dict[str, Any]:
    queues: dict[str, Any] = {"hotline": {"waiting": waiting}}
    if with_billing:
        queues["billing"] = {"waiting": 1}
    return {
        "schema": "ccops.status/1",
        "pbx": {"main": {"link": {"state": "live"}, "queues": queues, "trunks": {}}},
        "alerts": [],
    }


def test_entities_round_trip_including_empty_collections_and_slashes() -> None:
    doc = _doc(3)
    doc["pbx"]["a/b"] = {"queues": {"x/y": {"n": 1}}}
    assert rebuild(entities(doc)) == doc


def test_diff_sends_only_the_changed_queue_and_deletes_the_removed_one() -> None:
    old, new = entities(_doc(3)), entities(_doc(4, with_billing=False))
    changed, removed = diff(old, new)
    assert changed == {"pbx/main/queues/hotline": {"waiting": 4}}
    assert removed == ["pbx/main/queues/billing"]
    applied = dict(old)
    applied.update(changed)
    for path in removed:
        applied.pop(path)
    assert rebuild(applied) == _doc(4, with_billing=False)


def test_rebuilding_leaves_the_entities_untouched_so_a_removal_applies() -> None:
    ents = entities(_doc(3))
    before = {k: dict(v) if isinstance(v, dict) else v for k, v in ents.items()}
    rebuild(ents)  # a client renders between deltas
    assert ents == before  # the "queues" marker did not absorb the queues placed in it
    _changed, removed = diff(ents, entities(_doc(3, with_billing=False)))
    for path in removed:
        ents.pop(path)
    assert rebuild(ents) == _doc(3, with_billing=False)


class _NullWriter:
    def write(self, data: bytes) -> None:  # pragma: no cover - never drained here
        pass


async def test_slow_client_is_switched_to_snapshot_mode_not_grown() -> None:
    state = {"n": 0}
    pub = Publisher(lambda: _doc(state["n"]))
    client = ClientChannel(_NullWriter(), limit=4, name="slow", view=FULL_VIEW)  # type: ignore[arg-type]
    client.subscribed = True
    pub.clients.add(client)
    for i in range(1, 50):
        state["n"] = i
        pub.tick()
    assert client.needs_snapshot
    assert client.queue.qsize() <= 4
    assert pub.snapshot_mode_drops >= 1


async def test_tick_without_change_sends_nothing() -> None:
    pub = Publisher(lambda: _doc(1))
    client = ClientChannel(_NullWriter(), limit=8, name="c", view=FULL_VIEW)  # type: ignore[arg-type]
    client.subscribed = True
    pub.clients.add(client)
    assert pub.tick() > 0  # first tick: everything is new relative to the empty baseline
    assert pub.tick() == 0
    frames = [decode(client.queue.get_nowait()) for _ in range(client.queue.qsize())]
    assert [f["type"] for f in frames] == ["delta"]
    await asyncio.sleep(0)
