"""KPI engine: QueueStatus rows (``QueueEntryItem``) inside and outside a sync.

Found by bench/ingest.py: rows arriving outside a sync were remembered until the next
sync, so with no sync (``reconcile_interval = 0``, or a long replay) the engine grew by
one entry per caller for ever.
"""

from __future__ import annotations

from ccops.config import KpiConfig
from ccops.core.clock import FakeClock
from ccops.core.events import QueueCallerJoin, QueueEntryItem, SyncBegin, SyncDomain, SyncEnd
from ccops.core.kpi import KpiEngine

T0 = 1_767_225_600.0


def _join(engine: KpiEngine, uid: str, t: float) -> None:
    engine.apply(
        QueueCallerJoin(
            pbx="main", at=T0 + t, queue="hotline", uniqueid=uid, channel=f"PJSIP/t-{uid}",
            position=1, count=1,
        )
    )  # fmt: skip


def _row(engine: KpiEngine, uid: str, t: float) -> None:
    engine.apply(
        QueueEntryItem(
            pbx="main", at=T0 + t, queue="hotline", uniqueid=uid, channel=f"PJSIP/t-{uid}",
            position=1, wait=5,
        )
    )  # fmt: skip


def test_a_sync_drops_waiting_callers_it_did_not_list() -> None:
    engine = KpiEngine(KpiConfig(), FakeClock(T0))
    _join(engine, "listed", 0)
    _join(engine, "missing", 1)
    engine.apply(SyncBegin(pbx="main", at=T0 + 10, epoch=1))
    _row(engine, "listed", 10)
    engine.apply(SyncEnd(pbx="main", at=T0 + 10, epoch=1, confirmed=frozenset({SyncDomain.QUEUES})))
    assert engine.diagnostics()["anomalies"] == {"caller_outcome_unknown": 1}


def test_rows_outside_a_sync_leave_nothing_behind() -> None:
    engine = KpiEngine(KpiConfig(), FakeClock(T0))
    for i in range(5000):
        _row(engine, f"u{i}", i * 0.01)
    pbx = engine._pbxs["main"]  # white-box: the leak was invisible from outside
    assert pbx.seen_callers == set()
