"""A cleared alert is never missing from both of the status document's alert lists.

Why: the alert engine drops a cleared alert from its active list at once, while the
daemon writes the clearance to the store (an await). A status document built during that
write (the publisher runs in its own task) must still show the alert, as recent.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ccops.core.alerts import Alert, AlertChange
from ccops.daemon.service import Daemon


def _ids(doc: dict[str, Any]) -> tuple[set[str], set[str]]:
    return ({a["rule"] for a in doc["alerts"]}, {a["rule"] for a in doc["recent_alerts"]})


async def test_cleared_alert_is_recent_while_its_clearance_is_written(daemon: Daemon) -> None:
    assert daemon.store is not None
    raised = Alert(id="a1", rule="probe-rule", scope="sim:billing", metric="waiting",
                   severity="warning", op=">=", value=5.0, threshold=5.0,
                   raised_at=daemon.clock.now(), message="probe")
    await daemon._record_alert_changes([AlertChange(kind="raised", alert=raised)])

    seen_during_write: list[tuple[set[str], set[str]]] = []
    store = daemon.store
    original = store.clear_alert

    async def clear_and_look(store_id: int, cleared_at: float) -> None:
        seen_during_write.append(_ids(daemon.status_document()))
        await original(store_id, cleared_at)

    store.clear_alert = clear_and_look  # type: ignore[method-assign]
    cleared = dataclasses.replace(raised, cleared_at=daemon.clock.now(),
                                  cleared_reason="recovered")
    await daemon._record_alert_changes([AlertChange(kind="cleared", alert=cleared)])

    assert len(seen_during_write) == 1
    active, recent = seen_during_write[0]
    assert "probe-rule" not in active and "probe-rule" in recent
