"""A sync Asterisk cannot fully answer is retried, not left stale until reconciliation.

Found on the real tier (tests/integration/test_daemon_asterisk.py): after SIGKILL and a
restart, the daemon logs in while Asterisk is still loading modules and ``QueueStatus``
answers ``Invalid/unknown command``. The queues domain stayed unconfirmed, so the model
kept the callers of before the crash until the next periodic reconciliation.
"""

from __future__ import annotations

import asyncio

import pytest
from fake_ami import Action, FakeAmi, FakeConn, list_reply
from link_harness import SECRET, make_config

from ccops.config import KpiConfig
from ccops.core.clock import SystemClock
from ccops.core.events import SyncDomain
from ccops.core.kpi import KpiEngine
from ccops.daemon import pbx_session
from ccops.daemon.pbx_session import PbxSession


def queue_status(conn: FakeConn, act: Action) -> None:
    rows = [{"Queue": "hotline", "Max": "0", "Strategy": "rrmemory", "Calls": "0",
             "Holdtime": "0", "TalkTime": "0", "Completed": "0", "Abandoned": "0",
             "ServiceLevel": "20", "ServicelevelPerf": "0.0", "ServicelevelPerf2": "0.0",
             "Weight": "0"}]  # fmt: skip
    conn.send(list_reply(act, "QueueParams", rows, "QueueStatusComplete"))


async def test_incomplete_sync_is_retried_until_asterisk_answers(
    ami: FakeAmi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pbx_session, "SYNC_RETRY_INITIAL_S", 0.1)
    clock = SystemClock()
    config = make_config(ami.port, reconcile_interval=0, secret=SECRET)
    session = PbxSession(
        config, secret=SECRET, kpi=KpiEngine(KpiConfig(), clock), kpi_config=KpiConfig(),
        clock=clock,
    )
    await session.start()
    try:
        for _ in range(100):  # the login sync: QueueStatus is "unknown" (app_queue loading)
            if session.syncs >= 1:
                break
            await asyncio.sleep(0.02)
        assert session.syncs == 1
        assert any("QueueStatus" in f for f in session.state.sync_failed)
        assert "hotline" not in session.state.queues
        ami.handlers["QueueStatus"] = queue_status  # app_queue is loaded now
        for _ in range(100):  # rows land first, SyncEnd (with what failed) after them
            if "hotline" in session.state.queues and not any(
                "QueueStatus" in f for f in session.state.sync_failed
            ):
                break
            await asyncio.sleep(0.02)
        assert "hotline" in session.state.queues
        assert not any("QueueStatus" in f for f in session.state.sync_failed)
        assert session.syncs >= 2
        assert len(ami.actions_named("QueueStatus")) >= 2
        assert not any(f.startswith(SyncDomain.QUEUES.value) for f in session.state.sync_failed)
    finally:
        await session.stop()


async def test_retries_back_off_and_stop_with_the_session(
    ami: FakeAmi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asterisk never answers QueueStatus (say, no app_queue): retries double, then stop()
    cancels the pending one (no task left behind)."""
    monkeypatch.setattr(pbx_session, "SYNC_RETRY_INITIAL_S", 0.05)
    clock = SystemClock()
    session = PbxSession(
        make_config(ami.port, reconcile_interval=0, secret=SECRET), secret=SECRET,
        kpi=KpiEngine(KpiConfig(), clock), kpi_config=KpiConfig(), clock=clock,
    )
    await session.start()
    try:
        for _ in range(100):
            if session.syncs >= 3:
                break
            await asyncio.sleep(0.02)
        assert session.syncs >= 3  # 0.05 s, then 0.1 s, then 0.2 s ...
        assert session._sync_retry_delay >= 0.4
    finally:
        await session.stop()
    assert session._sync_retry_task is None or session._sync_retry_task.done()
