"""Ages in the status document change once a second, not on every publish tick.

Why: the publisher resends an entity whenever its value changed; with float ages (``now -
since``) every queue changed on every 10 Hz tick and went to every client with nothing
visible changed. Ages are taken at the whole second (consoles show seconds), so two
documents built within one second have identical queue entities, and the next second's
differ only because the ages moved.
"""

from __future__ import annotations

import math
from typing import Any

from ccops.daemon.publisher import diff, entities
from ccops.daemon.service import Daemon


def _queues(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entities(doc).items() if "/queues/" in k}


async def test_queue_entities_are_stable_within_a_second(daemon: Daemon) -> None:
    real = daemon.clock.now
    base = float(math.floor(real())) + 0.05
    at = [base]
    daemon.clock.now = lambda: at[0]  # type: ignore[method-assign]
    try:
        first = _queues(daemon.status_document())
        at[0] = base + 0.9
        same_second = _queues(daemon.status_document())
        at[0] = base + 1.0
        next_second = _queues(daemon.status_document())
    finally:
        daemon.clock.now = real  # type: ignore[method-assign]
    assert first, "the simulator reported no queue"
    changed, removed = diff(first, same_second)
    assert not changed and not removed, sorted(changed)
    assert diff(first, next_second)[0], "ages must still move with the second"
