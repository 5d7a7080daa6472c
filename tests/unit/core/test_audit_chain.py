"""The audit chain's pure part: sealing, redaction, and verification of a record list."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import pytest

from ccops.core.audit import (
    GENESIS_HASH,
    REDACTED,
    AuditEntry,
    AuditHead,
    AuditRecord,
    AuditResult,
    canonical_json,
    record_hash,
    redact,
    seal,
    summarize,
    verify,
)


def entry(i: int, **changes: object) -> AuditEntry:
    base = AuditEntry(
        at=1_767_225_600.25 + i,
        operator="alice",
        role="supervisor",
        session_id="ssh-7",
        via="ssh",
        action="set_routing_flag",
        params={"pbx": "pbx1", "kind": "night", "target": "4001", "n": i},
        result=AuditResult.OK,
        detail="night mode on",
        pbx_response={"Response": "Success"},
        readback={"value": "on"},
        journal_id=i,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def chain(n: int) -> list[AuditRecord]:
    out: list[AuditRecord] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        record = seal(entry(i), i, prev)
        out.append(record)
        prev = record.hash
    return out


def test_sealed_chain_verifies() -> None:
    records = chain(5)
    result = verify(records)
    assert result.ok and result.first_bad_seq is None and result.count == 5
    assert result.head == AuditHead(5, records[-1].hash)
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))


def test_empty_list_verifies() -> None:
    result = verify([])
    assert result.ok and result.count == 0 and result.head is None


def test_hash_covers_every_field_and_the_previous_hash() -> None:
    record = seal(entry(1), 1, GENESIS_HASH)
    base = record_hash(1, record.entry, GENESIS_HASH)
    assert base == record.hash
    assert record_hash(2, record.entry, GENESIS_HASH) != base
    assert record_hash(1, record.entry, "f" * 64) != base
    for field in dataclasses.fields(AuditEntry):
        value = getattr(record.entry, field.name)
        if isinstance(value, float):
            other: object = value + 0.001
        elif isinstance(value, int):
            other = value + 1
        elif isinstance(value, AuditResult):
            other = AuditResult.FAILED
        elif isinstance(value, str):
            other = value + "x"
        else:
            other = {"changed": True}
        changed = dataclasses.replace(record.entry, **{field.name: other})  # type: ignore[arg-type]
        assert record_hash(1, changed, GENESIS_HASH) != base, field.name


def test_sealed_record_survives_a_json_round_trip() -> None:
    """What the store writes (canonical JSON) and reads back hashes the same."""
    record = seal(entry(1, params={"b": (1, 2), "a": -0.0, "z": 1e300}), 1, GENESIS_HASH)
    reread = dataclasses.replace(
        record.entry, params=json.loads(canonical_json(record.entry.params))
    )
    assert record_hash(1, reread, GENESIS_HASH) == record.hash
    assert record.entry.params == {"a": -0.0, "b": [1, 2], "z": 1e300}


def test_secrets_are_redacted_when_sealed() -> None:
    record = seal(
        entry(
            1,
            params={"pbx": "p", "Secret": "s3cret"},
            pbx_response={
                "Response": "Success",
                "AuthDetail": {"Password": "hunter2", "Username": "trunk"},
                "events": [{"md5_cred": "abc", "Endpoint": "trunk1"}],
            },
        ),
        1,
        GENESIS_HASH,
    )
    text = canonical_json([record.entry.params, record.entry.pbx_response, record.entry.readback])
    assert "s3cret" not in text and "hunter2" not in text and "abc" not in text
    assert record.entry.params["Secret"] == REDACTED
    assert record.entry.pbx_response is not None
    assert record.entry.pbx_response["events"][0]["Endpoint"] == "trunk1"
    assert redact({"Key": "overflow/sales", "Val": "on"}) == {"Key": "overflow/sales", "Val": "on"}


def test_summarize_caps_huge_responses() -> None:
    big = {"Output": "x" * 10_000, "items": list(range(1000))}
    small = summarize(big)
    assert len(small["Output"]) < 600 and "more chars" in small["Output"]
    assert len(small["items"]) == 101 and "more items" in small["items"][-1]


def test_entry_that_is_not_json_safe_is_refused() -> None:
    with pytest.raises(ValueError, match="not JSON-safe"):
        seal(entry(1, params={"x": math.inf}), 1, GENESIS_HASH)
    with pytest.raises(ValueError, match="not JSON-safe"):
        seal(entry(1, params={"x": object()}), 1, GENESIS_HASH)
    with pytest.raises(ValueError, match="finite"):
        seal(entry(1, at=math.nan), 1, GENESIS_HASH)
    with pytest.raises(ValueError, match="seq"):
        seal(entry(1), 0, GENESIS_HASH)


def test_edit_is_found_at_the_edited_record() -> None:
    records = chain(6)
    records[3] = dataclasses.replace(
        records[3], entry=dataclasses.replace(records[3].entry, detail="nothing to see")
    )
    result = verify(records)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "edited" in result.reason
    assert result.count == 3


def test_edit_with_recomputed_hash_breaks_the_next_link() -> None:
    records = chain(6)
    edited = dataclasses.replace(records[2].entry, operator="mallory")
    records[2] = seal(edited, 3, records[1].hash)  # the forger rehashes record 3 only
    result = verify(records)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "does not chain to record 3" in result.reason


def test_deletion_is_found_at_the_missing_seq() -> None:
    records = chain(6)
    del records[2]
    result = verify(records)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "missing" in result.reason


def test_reordering_is_found() -> None:
    records = chain(6)
    records[3], records[4] = records[4], records[3]
    result = verify(records)
    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_duplicate_is_found() -> None:
    records = chain(4)
    records.insert(2, records[1])
    result = verify(records)
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "appears again" in result.reason


def test_insertion_with_renumbering_is_found() -> None:
    records = chain(5)
    forged = seal(entry(99), 3, records[1].hash)
    shifted = [dataclasses.replace(r, seq=r.seq + 1) for r in records[2:]]
    result = verify([*records[:2], forged, *shifted])
    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_insertion_of_a_record_from_another_chain_is_found() -> None:
    records = chain(5)
    stranger = seal(entry(99), 3, "a" * 64)  # sealed, but after a record we do not have
    result = verify([*records[:2], stranger])
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "inserted" in result.reason


def test_anchor_catches_a_cut_tail_and_a_rewritten_head() -> None:
    records = chain(6)
    head = AuditHead(6, records[-1].hash)
    assert verify(records[:4]).ok
    cut = verify(records[:4], expected_head=head)
    assert (cut.ok, cut.first_bad_seq) == (False, 5)
    rewritten = chain(6)
    rewritten[5] = seal(entry(77), 6, rewritten[4].hash)
    forged = verify(rewritten, expected_head=head)
    assert (forged.ok, forged.first_bad_seq) == (False, 6)
    assert "anchor" in forged.reason
