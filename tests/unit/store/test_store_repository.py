"""Repository methods: KPI buckets, intervals, alerts, link events, journal, undo, backup."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from pathlib import Path

import pytest

from ccops.core.audit import AuditEntry, AuditResult, verify_store
from ccops.core.clock import FakeClock
from ccops.store import Store, StoreError
from ccops.store.records import (
    AgentInterval,
    AlertRaise,
    CommandFinish,
    JournalStart,
    JournalStatus,
    KpiBucket,
    LinkEvent,
    UndoSpec,
)

DAY = 86_400


def bucket(queue: str, start: int, offered: float, pbx: str = "pbx1") -> KpiBucket:
    return KpiBucket(
        pbx=pbx,
        queue=queue,
        bucket_start=start,
        bucket_seconds=900,
        counters={"offered": offered, "answered": offered - 1, "asa_sum": 12.5},
        updated_at=float(start + 900),
    )


async def test_meta_set_get_overwrite(store: Store) -> None:
    assert await store.get_meta("instance_id") is None
    await store.set_meta("instance_id", "a")
    await store.set_meta("instance_id", "b")
    assert await store.get_meta("instance_id") == "b"


async def test_kpi_buckets_upsert_replaces_and_queries_by_range(store: Store) -> None:
    day0 = 1_767_225_600
    await store.upsert_kpi_buckets(
        [bucket("sales", day0, 10), bucket("sales", day0 + 900, 4), bucket("support", day0, 7)]
    )
    await store.upsert_kpi_buckets([bucket("sales", day0, 12)])  # same key: replaced whole
    await store.upsert_kpi_buckets([bucket("sales", day0 + DAY, 3)])  # next day
    today = await store.kpi_buckets(day0, day0 + DAY)
    assert [(b.queue, b.bucket_start, b.counters["offered"]) for b in today] == [
        ("sales", day0, 12),
        ("support", day0, 7),
        ("sales", day0 + 900, 4),
    ]
    assert today[0].counters == {"offered": 12, "answered": 11, "asa_sum": 12.5}
    only = await store.kpi_buckets(day0, day0 + 2 * DAY, queue="sales", pbx="pbx1")
    assert [b.bucket_start for b in only] == [day0, day0 + 900, day0 + DAY]
    assert await store.kpi_buckets(day0, day0 + DAY, pbx="other") == []


async def test_kpi_counters_must_be_json_safe(store: Store) -> None:
    bad = KpiBucket(
        pbx="p",
        queue="q",
        bucket_start=0,
        bucket_seconds=900,
        counters={"asa": math.nan},
        updated_at=0,
    )
    with pytest.raises(ValueError, match="KPI counters of p/q@0"):
        await store.upsert_kpi_buckets([bad])


async def test_agent_intervals_overlapping_a_range(store: Store) -> None:
    def span(iface: str, start: float, end: float) -> AgentInterval:
        return AgentInterval(
            pbx="pbx1",
            interface=iface,
            queue=None,
            state="paused",
            reason="break",
            started_at=start,
            ended_at=end,
        )

    await store.add_agent_intervals(
        [span("PJSIP/1", 0, 100), span("PJSIP/1", 100, 200), span("PJSIP/2", 50, 300)]
    )
    got = await store.agent_intervals(90, 150)
    assert [(i.interface, i.started_at) for i in got] == [
        ("PJSIP/1", 0),
        ("PJSIP/2", 50),
        ("PJSIP/1", 100),
    ]
    assert len(await store.agent_intervals(200, 250, interface="PJSIP/1")) == 0
    assert got[0].reason == "break"


async def test_alert_lifecycle(store: Store) -> None:
    raise_ = AlertRaise(
        rule="queue-waiting",
        scope="pbx1:sales",
        severity="warning",
        message="12 waiting",
        raised_at=100.0,
        value=12,
    )
    first = await store.raise_alert(raise_)
    second = await store.raise_alert(
        AlertRaise(
            rule="pbx-link-down", scope="pbx1", severity="critical", message="down", raised_at=200.0
        )
    )
    assert await store.acknowledge_alert(first, "alice", 110.0)
    assert not await store.acknowledge_alert(first, "bob", 120.0)  # already acknowledged
    assert not await store.acknowledge_alert(999, "bob", 120.0)  # unknown
    assert await store.clear_alert(first, 130.0)
    assert not await store.clear_alert(first, 140.0)
    record = await store.get_alert(first)
    assert record is not None
    assert (record.acked_by, record.acked_at, record.cleared_at, record.value) == (
        "alice",
        110.0,
        130.0,
        12,
    )
    assert [a.id for a in await store.open_alerts()] == [second]
    assert [a.id for a in await store.alerts_between(0, 150)] == [first]
    with pytest.raises(StoreError, match="CHECK constraint"):
        await store.raise_alert(
            AlertRaise(rule="r", scope="s", severity="loud", message="", raised_at=0)
        )


async def test_link_events_history(store: Store) -> None:
    await store.record_link_event(LinkEvent(pbx="pbx1", at=10, state="live"))
    await store.record_link_event(LinkEvent(pbx="pbx2", at=11, state="live"))
    await store.record_link_event(
        LinkEvent(pbx="pbx1", at=20, state="down", detail="connection reset")
    )
    assert [(e.at, e.state, e.detail) for e in await store.link_events(0, 100, pbx="pbx1")] == [
        (10, "live", ""),
        (20, "down", "connection reset"),
    ]
    assert len(await store.link_events(0, 15)) == 2


def start(command: str = "set_routing_flag") -> JournalStart:
    return JournalStart(
        at=1.0,
        operator="alice",
        role="supervisor",
        session_id="s1",
        via="ssh",
        command=command,
        params={"pbx": "pbx1", "kind": "night", "target": "4001"},
    )


def audit_for(journal_id: int, result: AuditResult = AuditResult.OK) -> AuditEntry:
    return AuditEntry(
        at=2.0,
        operator="alice",
        role="supervisor",
        session_id="s1",
        via="ssh",
        action="set_routing_flag",
        params={},
        result=result,
        journal_id=journal_id,
    )


def undo(subject: str, due_at: float | None) -> UndoSpec:
    return UndoSpec(
        at=2.0,
        operator="alice",
        pbx="pbx1",
        subject=subject,
        action="set_routing_flag",
        params={"value": "on"},
        undo_command="clear_routing_flag",
        undo_params={"pbx": "pbx1"},
        value="on",
        previous_value=None,
        expected_duration_min=30,
        due_at=due_at,
    )


async def test_journal_pending_then_finished_with_audit_and_undo(store: Store) -> None:
    jid = await store.begin_command(start())
    entry = await store.journal_entry(jid)
    assert entry is not None and entry.status is JournalStatus.PENDING
    done = await store.finish_command(
        CommandFinish(
            journal_id=jid,
            status=JournalStatus.OK,
            detail="night on",
            finished_at=2.0,
            subject="routing:pbx1:night:4001",
            audit=audit_for(jid),
            undo=undo("routing:pbx1:night:4001", due_at=1802.0),
        )
    )
    assert done.audit.seq == 1 and done.audit.entry.journal_id == jid
    entry = await store.journal_entry(jid)
    assert entry is not None
    assert (entry.status, entry.finished_at, entry.detail) == (JournalStatus.OK, 2.0, "night on")
    opened = await store.open_undos(pbx="pbx1")
    assert [u.id for u in opened] == [done.undo_id]
    assert opened[0].spec.undo_command == "clear_routing_flag"
    assert await store.overdue_undos(1801.0) == []
    assert [u.id for u in await store.overdue_undos(1802.0)] == [done.undo_id]
    with pytest.raises(StoreError, match=f"journal entry {jid} is not pending"):
        await store.finish_command(
            CommandFinish(
                journal_id=jid,
                status=JournalStatus.FAILED,
                detail="again",
                finished_at=3.0,
                subject=None,
                audit=audit_for(jid, AuditResult.FAILED),
            )
        )
    # the refused second finish wrote no audit record either (one transaction)
    head = await store.audit_head()
    assert head is not None and head.seq == 1


async def test_successful_command_supersedes_open_undo_on_same_subject(store: Store) -> None:
    subject = "routing:pbx1:night:4001"
    first = await store.begin_command(start())
    a = await store.finish_command(
        CommandFinish(
            journal_id=first,
            status=JournalStatus.OK,
            detail="",
            finished_at=2.0,
            subject=subject,
            audit=audit_for(first),
            undo=undo(subject, 100.0),
        )
    )
    other = await store.begin_command(start())
    b = await store.finish_command(
        CommandFinish(
            journal_id=other,
            status=JournalStatus.OK,
            detail="",
            finished_at=2.0,
            subject="routing:pbx1:night:4002",
            audit=audit_for(other),
            undo=undo("routing:pbx1:night:4002", None),
        )
    )
    failed = await store.begin_command(start("clear_routing_flag"))
    await store.finish_command(
        CommandFinish(
            journal_id=failed,
            status=JournalStatus.FAILED,
            detail="",
            finished_at=3.0,
            subject=subject,
            audit=audit_for(failed, AuditResult.FAILED),
        )
    )
    assert {u.id for u in await store.open_undos()} == {a.undo_id, b.undo_id}  # failure: kept
    clear = await store.begin_command(start("clear_routing_flag"))
    await store.finish_command(
        CommandFinish(
            journal_id=clear,
            status=JournalStatus.OK,
            detail="",
            finished_at=4.0,
            subject=subject,
            audit=audit_for(clear),
        )
    )
    assert [u.id for u in await store.open_undos()] == [b.undo_id]
    assert await store.close_undo(b.undo_id or 0, 5.0, "dismissed by admin")
    assert not await store.close_undo(b.undo_id or 0, 6.0, "again")
    assert await store.open_undos() == []


async def test_mark_in_doubt_turns_pending_entries(store: Store) -> None:
    one = await store.begin_command(start())
    two = await store.begin_command(start())
    await store.finish_command(
        CommandFinish(
            journal_id=two,
            status=JournalStatus.OK,
            detail="",
            finished_at=2.0,
            subject=None,
            audit=audit_for(two),
        )
    )
    three = await store.begin_command(start())
    doubtful = await store.mark_in_doubt()
    assert [e.id for e in doubtful] == [one, three]
    assert all(e.status is JournalStatus.IN_DOUBT for e in doubtful)
    assert "not re-sent" in doubtful[0].detail
    assert await store.mark_in_doubt() == []


async def test_backup_is_a_consistent_wal_copy_while_writes_continue(
    store: Store, tmp_path: Path
) -> None:
    for i in range(200):
        await store.append_audit(
            AuditEntry(
                at=float(i),
                operator="a",
                role="admin",
                session_id="s",
                via="cli",
                action="x",
                params={"i": i},
                result=AuditResult.OK,
            )
        )
    dest = tmp_path / "backups" / "ccops-backup.sqlite3"
    writes = asyncio.gather(*(store.set_meta(f"k{i}", "v") for i in range(100)))
    await store.backup(dest)
    await writes
    assert not dest.with_name(dest.name + ".partial").exists()
    with sqlite3.connect(dest) as copy:
        assert copy.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert copy.execute("SELECT count(*) FROM audit").fetchone() == (200,)
    restored = await Store.open(dest, clock=FakeClock())
    try:
        result = await verify_store(restored)
        assert result.ok and result.count == 200
    finally:
        await restored.close()


async def test_backup_onto_the_live_database_is_refused(store: Store, db_path: Path) -> None:
    with pytest.raises(StoreError, match="live database itself"):
        await store.backup(db_path)
