"""The audit log's pure part: records, the hash chain, redaction and verification.

Why a hash chain: an operator who paused half the floor, or an intruder covering tracks,
must not be able to quietly edit, delete or reorder what the log says. Each record's hash
covers its own fields *and* the previous record's hash, so changing any record breaks every
link after it, and :func:`verify` names the first record where the chain stops holding.

What a chain alone cannot prove: that nobody cut records off the *end*, or rewrote the whole
tail and recomputed every hash after their edit. Both need an anchor kept outside the
database: :func:`verify` and :func:`verify_store` accept the last known :class:`AuditHead`
(e.g. one printed to the daemon's log or a ticket) and check the log still reaches it.

Storage lives in :mod:`ccops.store`; this module does no I/O except through the
:class:`AuditSource` protocol in :func:`verify_store`.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of record 1: there is nothing before it."""

REDACTED = "[redacted]"

# Keys whose values are secrets wherever they appear (AMI responses print outbound auth
# passwords in clear, asterisk-22-notes §9). Matched on the key name, case-insensitively.
_SECRET_KEY = re.compile(r"pass(word|wd)?|secret|md5.?cred|token|credential|auth.?detail", re.I)
_MAX_TEXT = 500
_MAX_ITEMS = 100


class AuditResult(enum.StrEnum):
    """What became of the action."""

    OK = "ok"  # performed, and the PBX agrees
    REFUSED = "refused"  # not authorised: never performed
    FAILED = "failed"  # tried, and the PBX said no, or the link went away (never re-sent)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One thing that happened, before it gets its place in the chain."""

    at: float  # epoch seconds when the result was known
    operator: str
    role: str
    session_id: str
    via: str  # ssh | local | cli
    action: str  # command name
    params: Mapping[str, Any]
    result: AuditResult
    detail: str = ""
    pbx_response: Mapping[str, Any] | None = None  # summary of what the PBX answered
    readback: Mapping[str, Any] | None = None  # what the PBX says now, read after the change
    journal_id: int | None = None  # the command journal row, when one was written


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An entry sealed into the chain at position ``seq``."""

    seq: int
    entry: AuditEntry
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The newest record's position and hash: an anchor to keep outside the database."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """``ok``, or the first sequence number where the chain fails and why."""

    ok: bool
    first_bad_seq: int | None
    reason: str
    count: int  # records that verified before the verdict
    head: AuditHead | None


# --------------------------------------------------------------------------- hashing


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no blanks, UTF-8, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _plain(value: Any) -> Any:
    """Mappings → dicts, sequences → lists, so the value serialises and re-reads identically."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    return value


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key's value replaced by ``[redacted]``."""
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if _SECRET_KEY.search(str(k)) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def summarize(value: Any) -> Any:
    """Redact, then cap long texts and long lists, so one huge PBX answer cannot bloat the log."""
    return _cap(redact(value))


def _cap(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + f"…[{len(value) - _MAX_TEXT} more chars]"
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {str(k): _cap(v) for k, v in items[:_MAX_ITEMS]}
        if len(items) > _MAX_ITEMS:
            out["…"] = f"{len(items) - _MAX_ITEMS} more keys"
        return out
    if isinstance(value, list | tuple):
        capped = [_cap(v) for v in value[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            capped.append(f"…{len(value) - _MAX_ITEMS} more items")
        return capped
    return value


def _payload(seq: int, entry: AuditEntry, prev_hash: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": entry.at,
        "operator": entry.operator,
        "role": entry.role,
        "session_id": entry.session_id,
        "via": entry.via,
        "action": entry.action,
        "params": _plain(entry.params),
        "result": str(entry.result),
        "detail": entry.detail,
        "pbx_response": None if entry.pbx_response is None else _plain(entry.pbx_response),
        "readback": None if entry.readback is None else _plain(entry.readback),
        "journal_id": entry.journal_id,
        "prev_hash": prev_hash,
    }


def record_hash(seq: int, entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical JSON of the record's fields and the previous hash."""
    data = canonical_json(_payload(seq, entry, prev_hash)).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def seal(entry: AuditEntry, seq: int, prev_hash: str) -> AuditRecord:
    """Place ``entry`` at ``seq`` after ``prev_hash``: redact secrets, normalise, hash.

    The returned record holds exactly what a store writes and reads back (JSON round trip),
    so a record verified straight after sealing verifies the same after a restart.
    """
    if seq < 1:
        raise ValueError(f"audit seq must be ≥ 1, got {seq}")
    if not math.isfinite(entry.at):
        raise ValueError(f"audit time must be a finite number, got {entry.at!r}")
    try:
        clean = replace(
            entry,
            result=AuditResult(entry.result),
            params=json.loads(canonical_json(_plain(redact(entry.params)))),
            pbx_response=None
            if entry.pbx_response is None
            else json.loads(canonical_json(_plain(summarize(entry.pbx_response)))),
            readback=None
            if entry.readback is None
            else json.loads(canonical_json(_plain(summarize(entry.readback)))),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit entry for {entry.action!r} is not JSON-safe: {exc}") from exc
    return AuditRecord(seq, clean, prev_hash, record_hash(seq, clean, prev_hash))


# --------------------------------------------------------------------------- verifying


class ChainVerifier:
    """Checks records one at a time (so a long log is verified page by page)."""

    def __init__(self, expected_head: AuditHead | None = None) -> None:
        self._expected_seq = 1
        self._prev_hash = GENESIS_HASH
        self._anchor = expected_head
        self._checked = 0
        self._failure: tuple[int, str] | None = None

    @property
    def failed(self) -> bool:
        return self._failure is not None

    def feed(self, record: AuditRecord) -> bool:
        """Check the next record; False once the chain is broken (later records are ignored)."""
        if self._failure is not None:
            return False
        want = self._expected_seq
        if record.seq > want:
            return self._fail(want, f"record {want} is missing (deleted?); next is {record.seq}")
        if record.seq < want:
            return self._fail(
                record.seq, f"record {record.seq} appears again or out of order after {want - 1}"
            )
        if record_hash(record.seq, record.entry, record.prev_hash) != record.hash:
            return self._fail(record.seq, f"record {record.seq} was edited (hash mismatch)")
        if record.prev_hash != self._prev_hash:
            before = "the start of the log" if want == 1 else f"record {want - 1}"
            return self._fail(
                record.seq,
                f"record {record.seq} does not chain to {before}: a record was inserted, "
                "reordered, or the one before it replaced",
            )
        anchor = self._anchor
        if anchor is not None and record.seq == anchor.seq and record.hash != anchor.hash:
            return self._fail(record.seq, f"record {record.seq} differs from the anchor")
        self._prev_hash = record.hash
        self._expected_seq += 1
        self._checked += 1
        return True

    def result(self) -> VerifyResult:
        """The verdict after the last record was fed."""
        head = None if self._checked == 0 else AuditHead(self._expected_seq - 1, self._prev_hash)
        if self._failure is None and self._anchor is not None:
            last = self._expected_seq - 1
            if last < self._anchor.seq:
                self._fail(
                    last + 1,
                    f"log ends at record {last} but the anchor says it reached "
                    f"{self._anchor.seq} (records removed from the end)",
                )
        if self._failure is not None:
            seq, reason = self._failure
            return VerifyResult(False, seq, reason, self._checked, head)
        reason = f"{self._checked} records chain correctly"
        return VerifyResult(True, None, reason, self._checked, head)

    def _fail(self, seq: int, reason: str) -> bool:
        self._failure = (seq, reason)
        return False


def verify(
    records: Iterable[AuditRecord], *, expected_head: AuditHead | None = None
) -> VerifyResult:
    """Check a whole log in order: edits, gaps, reordering and insertions are found."""
    checker = ChainVerifier(expected_head)
    for record in records:
        if not checker.feed(record):
            break
    return checker.result()


class AuditSource(Protocol):
    """What :func:`verify_store` needs from a store."""

    async def audit_page(self, after_seq: int, limit: int) -> Sequence[AuditRecord]:
        """Up to ``limit`` records with ``seq > after_seq``, in ascending ``seq``."""
        ...


async def verify_store(
    store: AuditSource, *, expected_head: AuditHead | None = None, page_size: int = 1000
) -> VerifyResult:
    """Verify the stored log page by page (``ccops audit verify``); memory stays bounded."""
    checker = ChainVerifier(expected_head)
    after = 0
    while True:
        page = await store.audit_page(after, page_size)
        for record in page:
            if not checker.feed(record):
                return checker.result()
        if len(page) < page_size:
            return checker.result()
        after = page[-1].seq
