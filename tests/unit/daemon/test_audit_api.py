"""The daemon's ``audit`` request: permission, located errors, server-side filters, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ccops.core.audit import AuditEntry, AuditResult
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.audit_api import AuditRequestError, audit_request, kind_of, parse_query
from ccops.daemon.service import audit_json
from ccops.store import Store

T0 = 1_767_225_600.0
ROWS: list[tuple[str, str, str]] = [  # operator, action, result
    ("alice", "pause_member", "ok"),
    ("bob", "pause_member", "refused"),
    ("alice", "set_routing_flag", "ok"),
    ("carol", "acknowledge_alert", "ok"),
    ("bob", "set_penalty", "failed"),
    ("alice", "session.start", "ok"),
    ("alice", "unpause_member", "ok"),
    ("bob", "clear_routing_flag", "refused"),
]


def op(role: Role, name: str = "sam") -> Operator:
    return Operator(name=name, role=role, session_id="t", via="local")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "a.sqlite3")
    for i, (who, action, result) in enumerate(ROWS):
        await s.append_audit(
            AuditEntry(
                at=T0 + 60 * i, operator=who, role="supervisor", session_id="s", via="ssh",
                action=action, params={"i": i}, result=AuditResult(result), detail="",
                pbx_response=None, readback=None, journal_id=None,
            )
        )
    yield s
    await s.close()


async def ask(store: Store, role: Role, **frame: Any) -> dict[str, Any]:
    return await audit_request(store.audit_search, op(role), {"id": "r", **frame}, audit_json)


def seqs(reply: dict[str, Any]) -> list[int]:
    return [int(r["seq"]) for r in reply["result"]["records"]]


async def test_roles_without_view_audit_are_refused(store: Store) -> None:
    for role in (Role.VIEWER, Role.DISPATCHER):
        reply = await ask(store, role)
        assert reply["type"] == "error" and reply["code"] == "refused"
        assert "view_audit" in reply["message"] and role.value in reply["message"]
    for role in (Role.SUPERVISOR, Role.MAINTENANCE, Role.ADMIN):
        assert seqs(await ask(store, role)) == list(range(1, 9))


async def test_filters_narrow_in_the_store(store: Store) -> None:
    assert seqs(await ask(store, Role.ADMIN, operator="bob")) == [2, 5, 8]
    assert seqs(await ask(store, Role.ADMIN, result="refused")) == [2, 8]
    assert seqs(await ask(store, Role.ADMIN, result=["failed", "refused"])) == [2, 5, 8]
    assert seqs(await ask(store, Role.ADMIN, kind="member")) == [1, 2, 5, 7]
    assert seqs(await ask(store, Role.ADMIN, kind="routing")) == [3, 8]
    assert seqs(await ask(store, Role.ADMIN, kind="session")) == [6]
    assert seqs(await ask(store, Role.ADMIN, action="pause_member", operator="alice")) == [1]
    assert seqs(await ask(store, Role.ADMIN, action="pause_member", kind="routing")) == []
    assert seqs(await ask(store, Role.ADMIN, since=T0 + 120, until=T0 + 300)) == [3, 4, 5]
    reply = await ask(store, Role.ADMIN, kind="routing")
    assert [r["kind"] for r in reply["result"]["records"]] == ["routing", "routing"]


async def test_paging_backwards_newest_first_then_forwards(store: Store) -> None:
    first = await ask(store, Role.ADMIN, before_seq=10**9, limit=3)
    assert seqs(first) == [8, 7, 6] and first["result"]["more"] is True
    assert first["result"]["order"] == "desc"
    second = await ask(store, Role.ADMIN, before_seq=6, limit=3)
    assert seqs(second) == [5, 4, 3] and second["result"]["more"] is True
    last = await ask(store, Role.ADMIN, before_seq=3, limit=3)
    assert seqs(last) == [2, 1] and last["result"]["more"] is False
    newer = await ask(store, Role.ADMIN, after_seq=6, limit=5)
    assert seqs(newer) == [7, 8] and newer["result"]["order"] == "asc"
    filtered = await ask(store, Role.ADMIN, before_seq=8, operator="bob", limit=1)
    assert seqs(filtered) == [5] and filtered["result"]["more"] is True


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        ({"limit": 0}, "limit: must be 1..500"),
        ({"limit": "ten"}, "limit: expected a whole number"),
        ({"after_seq": -1}, "after_seq: must not be negative"),
        ({"after_seq": 5, "before_seq": 5}, "after_seq (5) must be below before_seq (5)"),
        ({"result": "maybe"}, "result: unknown maybe; expected ok, refused, failed"),
        ({"kind": "coffee"}, "kind: unknown 'coffee'"),
        ({"since": "yesterday"}, "since: expected epoch seconds"),
        ({"since": 10.0, "until": 5.0}, "since (10.0) must be before until (5.0)"),
        ({"operator": 7}, "operator: expected a name"),
        ({"action": [1]}, "action: expected a name or a list of names"),
    ],
)
def test_bad_requests_name_the_field(frame: dict[str, Any], fragment: str) -> None:
    with pytest.raises(AuditRequestError, match=None) as info:
        parse_query(frame)
    assert fragment in str(info.value)


async def test_invalid_request_is_an_error_reply_not_a_crash(store: Store) -> None:
    reply = await ask(store, Role.ADMIN, limit=0)
    assert reply == {"type": "error", "id": "r", "code": "invalid",
                     "message": "audit: limit: must be 1..500, got 0"}


def test_kind_of() -> None:
    assert kind_of("pause_member") == "member"
    assert kind_of("set_routing_flag") == "routing"
    assert kind_of("acknowledge_alert") == "alert"
    assert kind_of("session.start") == "session"
    assert kind_of("something_else") == "other"


async def test_like_wildcards_in_a_prefix_are_literal(store: Store) -> None:
    from ccops.store.records import AuditQuery

    assert await store.audit_search(AuditQuery(action_prefix="pause%")) == []
    assert await store.audit_search(AuditQuery(action_prefix="_ause")) == []
    assert [r.seq for r in await store.audit_search(AuditQuery(action_prefix="pause_"))] == [1, 2]
