"""An unwatched daemon builds no status document; a client attaching later still converges."""

from __future__ import annotations

from typing import Any

from ccops.daemon.publisher import ClientChannel, Publisher, entities, rebuild
from ccops.daemon.views import FULL_VIEW
from ccops.daemon.wire import decode


class _NullWriter:
    def write(self, data: bytes) -> None:  # pragma: no cover - never drained here
        pass


def _doc(queues: dict[str, int]) -> dict[str, Any]:
    return {
        "schema": "ccops.status/1",
        "pbx": {"main": {"queues": {q: {"waiting": n} for q, n in queues.items()}}},
    }


class _Model:
    def __init__(self) -> None:
        self.queues = {"hotline": 1, "billing": 2}
        self.builds = 0

    def document(self) -> dict[str, Any]:
        self.builds += 1
        return _doc(self.queues)


def _frames(client: ClientChannel) -> list[dict[str, Any]]:
    return [decode(client.queue.get_nowait()) for _ in range(client.queue.qsize())]


def _apply(doc: dict[str, Any], frame: dict[str, Any]) -> dict[str, Any]:
    ents = entities(doc)
    ents.update(frame["set"])
    for path in frame["del"]:
        ents.pop(path, None)
    return rebuild(ents)


async def test_no_subscriber_means_no_document_is_built() -> None:
    model = _Model()
    pub = Publisher(model.document)
    for _ in range(5):
        assert pub.tick() == 0
    idle = ClientChannel(_NullWriter(), limit=8, name="idle", view=FULL_VIEW)  # type: ignore[arg-type]
    pub.clients.add(idle)  # attached but not subscribed: still nobody to publish to
    assert pub.tick() == 0
    assert model.builds == 0


async def test_client_subscribing_after_idle_gets_exact_deltas_from_its_snapshot() -> None:
    model = _Model()
    pub = Publisher(model.document)
    pub.tick()  # idle: the baseline is dropped
    model.queues = {"hotline": 5, "repairs": 1}  # changes nobody saw
    client = ClientChannel(_NullWriter(), limit=8, name="c", view=FULL_VIEW)  # type: ignore[arg-type]
    pub.clients.add(client)
    seen = decode(pub.snapshot_frame(client.view))["data"]
    client.subscribed = True
    assert seen == _doc({"hotline": 5, "repairs": 1})
    # The snapshot is the baseline: the delta holds what changed after it, and only that
    # (against the stale pre-idle document it would also resend hotline and delete billing).
    model.queues = {"hotline": 5, "repairs": 2}
    assert pub.tick() == 1
    (frame,) = _frames(client)
    assert frame["set"] == {"pbx/main/queues/repairs": {"waiting": 2}}
    assert _apply(seen, frame) == model.document()


async def test_last_subscriber_leaving_then_a_new_one_still_converges() -> None:
    model = _Model()
    pub = Publisher(model.document)
    first = ClientChannel(_NullWriter(), limit=8, name="a", view=FULL_VIEW)  # type: ignore[arg-type]
    first.subscribed = True
    pub.clients.add(first)
    pub.tick()
    pub.clients.discard(first)
    pub.tick()  # nobody: baseline dropped
    model.queues = {"billing": 7}  # hotline removed while nobody watched
    second = ClientChannel(_NullWriter(), limit=8, name="b", view=FULL_VIEW)  # type: ignore[arg-type]
    second.subscribed = True  # subscribed without a snapshot: the baseline is empty
    pub.clients.add(second)
    assert pub.tick() > 0
    (frame,) = _frames(second)
    assert _apply({}, frame) == model.document()
