"""The stored audit log: append-only at the database level, and tampering is found."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ccops.core.audit import AuditEntry, AuditHead, AuditResult, seal, verify_store
from ccops.core.clock import FakeClock
from ccops.store import Store, StoreError, StoreOpenError
from ccops.store.audit_verify import verify_file

N = 10


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        at=1_767_225_600.0 + i,
        operator="alice",
        role="supervisor",
        session_id="ssh-1",
        via="ssh",
        action="pause_member",
        params={"pbx": "pbx1", "interface": f"PJSIP/{1000 + i}", "reason": "break"},
        result=AuditResult.OK,
        detail="paused",
        pbx_response={"Response": "Success", "Message": "Interface paused successfully"},
        readback={"paused": True},
        journal_id=None,
    )


async def filled(store: Store) -> AuditHead:
    for i in range(N):
        await store.append_audit(entry(i))
    head = await store.audit_head()
    assert head is not None
    return head


@contextmanager
def tamper(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection with the protective triggers dropped, as an intruder would."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        for trigger in ("audit_no_update", "audit_no_delete", "audit_append_at_head"):
            conn.execute(f"DROP TRIGGER {trigger}")
        yield conn
    finally:
        conn.close()


async def test_untouched_log_verifies(store: Store) -> None:
    head = await filled(store)
    result = await verify_store(store, page_size=3)  # several pages
    assert result.ok and result.count == N and result.head == head
    assert (await verify_store(store, expected_head=head)).ok


async def test_empty_log_verifies(store: Store) -> None:
    result = await verify_store(store)
    assert result.ok and result.count == 0 and result.head is None


async def test_update_and_delete_are_refused_by_the_database(store: Store, db_path: Path) -> None:
    await filled(store)
    with sqlite3.connect(db_path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE refused"):
            conn.execute("UPDATE audit SET detail = 'nothing happened' WHERE seq = 3")
        with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE refused"):
            conn.execute("DELETE FROM audit WHERE seq = 3")
        row = conn.execute("SELECT seq, hash FROM audit WHERE seq = 3").fetchone()
        forged = seal(entry(99), 3, "0" * 64)  # tries to take an existing place
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO audit (seq, at, operator, role, session_id, via, action, params, "
                "result, detail, prev_hash, hash) VALUES (11, 0, 'x', 'x', 'x', 'x', 'x', '{}', "
                "'ok', '', ?, ?)",
                (row[1], forged.hash),  # seq 11 but does not follow the head (10)
            )
    assert (await verify_store(store)).ok


async def test_edited_record_is_found(store: Store, db_path: Path) -> None:
    await filled(store)
    with tamper(db_path) as conn:
        conn.execute("UPDATE audit SET operator = 'mallory' WHERE seq = 4")
    result = await verify_store(store)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "edited" in result.reason


async def test_edited_params_json_is_found(store: Store, db_path: Path) -> None:
    await filled(store)
    with tamper(db_path) as conn:
        conn.execute("UPDATE audit SET params = json_set(params, '$.reason', 'meal') WHERE seq = 7")
    result = await verify_store(store)
    assert result.first_bad_seq == 7


async def test_deleted_record_is_found(store: Store, db_path: Path) -> None:
    await filled(store)
    with tamper(db_path) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 5")
    result = await verify_store(store)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "missing" in result.reason


async def test_deleted_first_record_is_found(store: Store, db_path: Path) -> None:
    await filled(store)
    with tamper(db_path) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 1")
    assert (await verify_store(store)).first_bad_seq == 1


async def test_reordered_records_are_found(store: Store, db_path: Path) -> None:
    await filled(store)
    with tamper(db_path) as conn:  # swap the places of records 6 and 7
        conn.execute("UPDATE audit SET seq = 1000 WHERE seq = 6")
        conn.execute("UPDATE audit SET seq = 6 WHERE seq = 7")
        conn.execute("UPDATE audit SET seq = 7 WHERE seq = 1000")
    result = await verify_store(store)
    assert (result.ok, result.first_bad_seq) == (False, 6)


async def test_inserted_record_is_found(store: Store, db_path: Path) -> None:
    await filled(store)
    with tamper(db_path) as conn:
        # make room at 5 by moving 5..10 up one, then slip in a forged record that is
        # perfectly sealed after record 4
        for seq in range(N, 4, -1):
            conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq + 1, seq))
        prev = conn.execute("SELECT hash FROM audit WHERE seq = 4").fetchone()[0]
        forged = seal(entry(50), 5, prev)
        e = forged.entry
        conn.execute(
            "INSERT INTO audit (seq, at, operator, role, session_id, via, action, params, "
            "result, detail, pbx_response, readback, journal_id, prev_hash, hash) "
            "VALUES (5, ?, ?, ?, ?, ?, ?, '{}', 'ok', ?, NULL, NULL, NULL, ?, ?)",
            (e.at, e.operator, e.role, e.session_id, e.via, e.action, e.detail, prev, "x"),
        )
    # the forged record's stored hash cannot be right without rehashing everything after
    result = await verify_store(store)
    assert (result.ok, result.first_bad_seq) == (False, 5)


async def test_insertion_with_a_valid_forged_record_breaks_the_next_link(
    store: Store, db_path: Path
) -> None:
    await filled(store)
    with tamper(db_path) as conn:
        for seq in range(N, 4, -1):
            conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq + 1, seq))
        prev = conn.execute("SELECT hash FROM audit WHERE seq = 4").fetchone()[0]
        forged = seal(entry(50), 5, prev)
        e = forged.entry
        conn.execute(
            "INSERT INTO audit (seq, at, operator, role, session_id, via, action, params, "
            "result, detail, pbx_response, readback, journal_id, prev_hash, hash) "
            "VALUES (5, ?, ?, ?, ?, ?, ?, json(?), 'ok', ?, json(?), json(?), NULL, ?, ?)",
            (
                e.at,
                e.operator,
                e.role,
                e.session_id,
                e.via,
                e.action,
                '{"interface":"PJSIP/1050","pbx":"pbx1","reason":"break"}',
                e.detail,
                '{"Message":"Interface paused successfully","Response":"Success"}',
                '{"paused":true}',
                prev,
                forged.hash,
            ),
        )
    # record 5 is internally valid; the old record 5, now at 6, no longer matches its hash
    result = await verify_store(store)
    assert (result.ok, result.first_bad_seq) == (False, 6)


async def test_cut_tail_needs_the_anchor(store: Store, db_path: Path) -> None:
    head = await filled(store)
    with tamper(db_path) as conn:
        conn.execute("DELETE FROM audit WHERE seq > 7")
    assert (await verify_store(store)).ok  # a chain alone cannot see a clean cut at the end
    result = await verify_store(store, expected_head=head)
    assert (result.ok, result.first_bad_seq) == (False, 8)
    assert "removed from the end" in result.reason


async def test_verify_file_reads_without_writing(store: Store, db_path: Path) -> None:
    head = await filled(store)
    result = await verify_file(db_path, expected_head=head, page_size=4)
    assert result.ok and result.count == N
    # while the daemon (this store) is still open and writing
    await store.append_audit(entry(N))
    assert (await verify_file(db_path)).count == N + 1
    with tamper(db_path) as conn:
        conn.execute("UPDATE audit SET result = 'refused' WHERE seq = 2")
    bad = await verify_file(db_path)
    assert (bad.ok, bad.first_bad_seq) == (False, 2)


async def test_verify_file_leaves_a_stopped_database_byte_identical(
    db_path: Path, clock: FakeClock
) -> None:
    store = await Store.open(db_path, clock=clock)
    await filled(store)
    await store.close()
    before = file_bytes(db_path)
    result = await verify_file(db_path)
    assert result.ok and result.count == N
    assert file_bytes(db_path) == before
    with sqlite3.connect(db_path) as other:  # a newer schema is verified, not refused
        other.execute("INSERT INTO schema_version VALUES (99, 'future', 0)")
    assert (await verify_file(db_path)).ok


def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


async def test_verify_file_refuses_what_is_not_a_ccops_database(tmp_path: Path) -> None:
    with pytest.raises(StoreOpenError, match="no such database file"):
        await verify_file(tmp_path / "missing.sqlite3")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreOpenError, match="no audit table"):
        await verify_file(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 100)
    with pytest.raises(StoreError) as info:
        await verify_file(text)
    assert str(text) in str(info.value)
