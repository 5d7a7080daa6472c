"""The execute path: authorise → journal → perform → audit, with a fake performer.

The performer here is a test double standing in for the PBX (the daemon's real performer
talks AMI and is tested against the simulator and Asterisk elsewhere). The store is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from test_commands_registry import VALID  # same directory (rootdir-relative import)

from ccops.core.audit import AuditResult, verify_store
from ccops.core.clock import FakeClock
from ccops.core.commands import (
    COMMANDS,
    ClearRoutingFlag,
    Command,
    PauseMember,
    PauseReason,
    RoutingFlagKind,
    SetRoutingFlag,
    UnpauseMember,
    parse_command,
)
from ccops.core.execute import (
    CommandResult,
    Executor,
    Operator,
    PerformOutcome,
    ResultStatus,
)
from ccops.core.roles import Role, allows
from ccops.store import Store
from ccops.store.records import JournalStart, JournalStatus


class FakePerformer:
    """Records what it was asked; answers with ``behaviour(command)``."""

    def __init__(self, store: Store | None = None) -> None:
        self.calls: list[Command] = []
        self.journal_seen: list[JournalStatus | None] = []
        self.behaviour: Callable[[Command], Any] = lambda c: PerformOutcome(
            True,
            "done",
            pbx_response={"Response": "Success", "Message": "ok", "Secret": "hunter2"},
            readback={"state": "as asked"},
        )
        self._store = store
        self.active = 0
        self.max_active = 0
        self.delay = 0.0

    async def perform(self, command: Command) -> PerformOutcome:
        self.calls.append(command)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self._store is not None:  # what is in the journal at the moment we perform?
                entry = await self._store.journal_entry(len(self.calls))
                self.journal_seen.append(None if entry is None else entry.status)
            if self.delay:
                await asyncio.sleep(self.delay)
            result = self.behaviour(command)
            if isinstance(result, BaseException):
                raise result
            if asyncio.iscoroutine(result):
                result = await result
            return result  # type: ignore[no-any-return]
        finally:
            self.active -= 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "ccops.sqlite3", clock=clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def performer(store: Store) -> FakePerformer:
    return FakePerformer(store)


@pytest.fixture
def executor(store: Store, performer: FakePerformer, clock: FakeClock) -> Executor:
    return Executor(store, performer, clock, perform_timeout=5)


def op(role: Role, name: str = "alice") -> Operator:
    return Operator(name=name, role=role, session_id=f"sess-{name}", via="ssh")


async def only_record(store: Store) -> Any:
    page = await store.audit_page(0, 100)
    assert len(page) == 1
    return page[0]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(VALID))
async def test_every_command_is_allowed_or_refused_by_role(
    role: Role, name: str, store: Store, performer: FakePerformer, executor: Executor
) -> None:
    command = parse_command(name, VALID[name])
    result = await executor.execute(op(role), command)
    record = await only_record(store)
    assert record.entry.role == role.value and record.entry.action == name
    if allows(role, command.capability):
        assert result.status is ResultStatus.OK
        assert performer.calls == [command]
        assert record.entry.result is AuditResult.OK
        assert result.journal_id is not None
    else:
        assert result.status is ResultStatus.REFUSED
        assert performer.calls == []  # never performed
        assert record.entry.result is AuditResult.REFUSED
        assert f"role {role.value} may not {command.capability.value}" in result.detail
        assert result.journal_id is None and record.entry.journal_id is None
        assert await store.journal_entry(1) is None  # refusals are not journalled
    assert result.audit_seq == record.seq


async def test_audit_record_has_every_field(
    store: Store, executor: Executor, clock: FakeClock
) -> None:
    command = parse_command("pause_member", VALID["pause_member"])
    clock.advance(12.5)
    result = await executor.execute(
        Operator(name="bob", role=Role.SUPERVISOR, session_id="ssh-42", via="local"), command
    )
    record = await only_record(store)
    e = record.entry
    assert (e.at, e.operator, e.role, e.session_id, e.via) == (
        clock.now(),
        "bob",
        "supervisor",
        "ssh-42",
        "local",
    )
    assert e.action == "pause_member" and e.params == command.params()
    assert (e.result, e.detail) == (AuditResult.OK, "done")
    assert e.pbx_response == {"Response": "Success", "Message": "ok", "Secret": "[redacted]"}
    assert e.readback == {"state": "as asked"}
    assert e.journal_id == result.journal_id == 1
    assert result.pbx_response == e.pbx_response  # the operator never sees the secret either
    journal = await store.journal_entry(1)
    assert journal is not None and journal.status is JournalStatus.OK
    assert journal.params == command.params()


async def test_journal_is_committed_before_perform(
    store: Store, performer: FakePerformer, executor: Executor
) -> None:
    for name in ("pause_member", "set_routing_flag", "acknowledge_alert"):
        await executor.execute(op(Role.ADMIN), parse_command(name, VALID[name]))
    assert performer.journal_seen == [JournalStatus.PENDING] * 3


async def test_chain_holds_across_mixed_results(
    store: Store, performer: FakePerformer, executor: Executor
) -> None:
    command = parse_command("set_routing_flag", VALID["set_routing_flag"])
    await executor.execute(op(Role.SUPERVISOR), command)
    await executor.execute(op(Role.VIEWER), command)
    performer.behaviour = lambda c: ConnectionError("AMI link lost")
    await executor.execute(op(Role.ADMIN), command)
    results = [r.entry.result for r in await store.audit_page(0, 10)]
    assert results == [AuditResult.OK, AuditResult.REFUSED, AuditResult.FAILED]
    assert (await verify_store(store)).ok


async def test_performer_exception_fails_once_and_is_audited(
    store: Store, performer: FakePerformer, executor: Executor
) -> None:
    performer.behaviour = lambda c: ConnectionError("AMI link lost mid-action")
    command = parse_command("remove_member", VALID["remove_member"])
    result = await executor.execute(op(Role.SUPERVISOR), command)
    assert result.status is ResultStatus.FAILED
    assert "AMI link lost mid-action" in result.detail and "not re-sent" in result.detail
    assert len(performer.calls) == 1
    record = await only_record(store)
    assert record.entry.result is AuditResult.FAILED
    assert "AMI link lost mid-action" in record.entry.detail
    journal = await store.journal_entry(1)
    assert journal is not None and journal.status is JournalStatus.FAILED
    assert await store.open_undos() == []


async def test_pbx_refusal_is_a_failure(
    store: Store, performer: FakePerformer, executor: Executor
) -> None:
    performer.behaviour = lambda c: PerformOutcome(
        False, "Interface not found", pbx_response={"Response": "Error"}
    )
    result = await executor.execute(
        op(Role.SUPERVISOR), parse_command("unpause_member", VALID["unpause_member"])
    )
    assert (result.status, result.detail) == (ResultStatus.FAILED, "Interface not found")
    assert (await only_record(store)).entry.pbx_response == {"Response": "Error"}


async def test_performer_that_hangs_times_out_as_failed(
    store: Store, performer: FakePerformer, clock: FakeClock
) -> None:
    async def never() -> PerformOutcome:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    performer.behaviour = lambda c: never()
    executor = Executor(store, performer, clock, perform_timeout=0.05)
    result = await executor.execute(
        op(Role.SUPERVISOR), parse_command("pause_member", VALID["pause_member"])
    )
    assert result.status is ResultStatus.FAILED
    assert "may or may not have applied it" in result.detail
    assert (await only_record(store)).entry.result is AuditResult.FAILED


async def test_caller_cancelled_mid_perform_still_gets_audited(
    store: Store, performer: FakePerformer, executor: Executor
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> PerformOutcome:
        started.set()
        await release.wait()
        return PerformOutcome(True, "paused")

    performer.behaviour = lambda c: slow()
    caller = asyncio.create_task(
        executor.execute(op(Role.SUPERVISOR), parse_command("pause_member", VALID["pause_member"]))
    )
    await started.wait()
    caller.cancel()  # the operator's session went away
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    await executor.drain()
    record = await only_record(store)
    assert (record.entry.result, record.entry.detail) == (AuditResult.OK, "paused")


async def test_routing_toggle_records_undo_and_clear_supersedes_it(
    store: Store, performer: FakePerformer, executor: Executor, clock: FakeClock
) -> None:
    flag = SetRoutingFlag(
        pbx="pbx1",
        kind=RoutingFlagKind.NIGHT,
        target="4001",
        value="night-ivr",
        expected_duration_min=30,
    )
    clear = ClearRoutingFlag(pbx="pbx1", kind=RoutingFlagKind.NIGHT, target="4001")

    def outcome(command: Command) -> PerformOutcome:
        if isinstance(command, SetRoutingFlag):  # the key was absent before
            return PerformOutcome(True, "set", readback={"value": command.value}, undo=clear)
        return PerformOutcome(True, "cleared", readback={"value": None}, undo=flag)

    performer.behaviour = outcome
    result = await executor.execute(op(Role.SUPERVISOR), flag)
    undos = await store.open_undos()
    assert [u.id for u in undos] == [result.undo_id]
    spec = undos[0].spec
    assert (spec.subject, spec.value, spec.previous_value) == (
        "routing:pbx1:night:4001",
        "night-ivr",
        None,
    )
    assert (spec.undo_command, spec.undo_params) == ("clear_routing_flag", clear.params())
    assert spec.due_at == clock.now() + 30 * 60
    assert spec.operator == "alice" and spec.expected_duration_min == 30

    clock.advance(29 * 60)
    assert await store.overdue_undos(clock.now()) == []
    clock.advance(60)
    assert [u.id for u in await store.overdue_undos(clock.now())] == [result.undo_id]

    cleared = await executor.execute(op(Role.SUPERVISOR, "carol"), clear)
    remaining = await store.open_undos()
    assert [u.id for u in remaining] == [cleared.undo_id]  # the old one is superseded
    assert remaining[0].spec.previous_value == "night-ivr"  # clearing can be undone too
    assert remaining[0].spec.due_at is None  # "off" is the normal state: no reminder
    assert await store.overdue_undos(clock.now() + 10**6) == []


async def test_failed_toggle_keeps_the_open_undo(
    store: Store, performer: FakePerformer, executor: Executor
) -> None:
    pause = PauseMember(pbx="p", queue="q", interface="PJSIP/1", reason=PauseReason.BREAK)
    unpause = UnpauseMember(pbx="p", queue="q", interface="PJSIP/1")
    performer.behaviour = lambda c: PerformOutcome(True, "paused", undo=unpause)
    first = await executor.execute(op(Role.SUPERVISOR), pause)
    performer.behaviour = lambda c: PerformOutcome(False, "PBX said no")
    await executor.execute(op(Role.SUPERVISOR), unpause)
    assert [u.id for u in await store.open_undos()] == [first.undo_id]


async def test_same_subject_runs_one_at_a_time_others_in_parallel(
    performer: FakePerformer, executor: Executor
) -> None:
    performer.delay = 0.02
    same = [
        PauseMember(pbx="p", queue="q", interface="PJSIP/1", reason=PauseReason.BREAK)
        for _ in range(3)
    ]
    await asyncio.gather(*(executor.execute(op(Role.ADMIN), c) for c in same))
    assert performer.max_active == 1
    performer.max_active = 0
    different = [
        PauseMember(pbx="p", queue="q", interface=f"PJSIP/{i}", reason=PauseReason.BREAK)
        for i in range(3)
    ]
    results: list[CommandResult] = await asyncio.gather(
        *(executor.execute(op(Role.ADMIN), c) for c in different)
    )
    assert performer.max_active == 3
    assert all(r.ok for r in results)


async def test_recover_in_doubt_audits_and_never_resends(
    store: Store, performer: FakePerformer, executor: Executor
) -> None:
    # A crash between journal and audit leaves a pending row behind.
    jid = await store.begin_command(
        JournalStart(
            at=1.0,
            operator="dave",
            role="supervisor",
            session_id="s",
            via="ssh",
            command="set_routing_flag",
            params=VALID["set_routing_flag"],
        )
    )
    recovered = await executor.recover_in_doubt()
    assert [e.id for e in recovered] == [jid]
    assert performer.calls == []
    record = await only_record(store)
    assert (record.entry.operator, record.entry.result, record.entry.journal_id) == (
        "dave",
        AuditResult.FAILED,
        jid,
    )
    assert record.entry.detail.startswith("in doubt")
    entry = await store.journal_entry(jid)
    assert entry is not None and entry.status is JournalStatus.IN_DOUBT


async def test_only_registered_commands_are_executed(executor: Executor) -> None:
    with pytest.raises(TypeError, match="not a registered command"):
        await executor.execute(op(Role.ADMIN), "pause everyone")  # type: ignore[arg-type]


def test_every_registered_command_is_covered_here() -> None:
    assert set(VALID) == set(COMMANDS)
