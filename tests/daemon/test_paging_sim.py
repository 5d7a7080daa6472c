"""Paging end to end against the simulated PBX: the same daemon path as the real tier.

The simulator's phones (ccops.sim.originate) answer an Originate and raise the paging
dialplan's UserEvents; the daemon's pager must see the answer, the key, or the failure, and
record it in the audit log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccops.config import OnCallPerson, PagingConfig
from ccops.core.audit import AuditResult
from ccops.core.commands import PagePerson
from ccops.core.execute import Operator
from ccops.core.paging import AttemptOutcome, PageOutcome
from ccops.core.roles import Role
from ccops.daemon.pager import PageEvent
from ccops.daemon.service import Daemon

from .conftest import sim_settings, wait_live

ROSTER = [
    OnCallPerson(name="duty", extension="desk-201"),
    OnCallPerson(name="silent", extension="desk-202"),
    OnCallPerson(name="gone", extension="nosuch-phone", mobile="5550009", trunk="carrier-b"),
]


@pytest.fixture
async def paging_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    base = sim_settings(tmp_path / "state", publish_hz=5.0)
    paging = PagingConfig(max_attempts=2, retry_backoff_s=0.2, ack_timeout_s=20,
                          ring_timeout_s=5)
    d = Daemon(base.model_copy(update={"paging": paging, "oncall": ROSTER}))
    await d.start()
    try:
        await wait_live(d)
        phones = d.sim.phones
        phones.program("desk-201", answer_after=(0.3, 0.3), digit="1", digit_after=(0.5, 0.5),
                       hangup_after=0.2)
        phones.program("desk-202", answer_after=(0.3, 0.3), digit=None, hangup_after=0.2)
        phones.program("5550009", answer=False)
        yield d
    finally:
        await d.stop()


async def audit_actions(d: Daemon) -> list[tuple[str, AuditResult, str]]:
    assert d.store is not None
    records = await d.store.audit_page(0, 100)
    return [(r.entry.action, r.entry.result, r.entry.detail) for r in records]


async def test_page_acknowledged_through_the_command_path(paging_daemon: Daemon) -> None:
    d = paging_daemon
    seen: list[PageEvent] = []
    assert d.pager is not None
    d.pager.subscribe(seen.append)
    op = Operator(name="lead", role=Role.SUPERVISOR, session_id="t", via="local")
    result = await d.execute(op, PagePerson(person="duty", message="A2 outage", ref="INC-1"))
    assert result.ok, result.detail
    assert result.readback is not None
    page = result.readback
    assert page["outcome"] == "acknowledged" and page["digit"] == "1"
    assert (page["pbx"], page["simulated"]) == ("sim", True)  # a drill, not a real page
    assert page["acknowledged_at"] >= page["requested_at"]
    assert [e.kind.value for e in seen] == ["dialing", "answered", "acknowledged"]
    actions = await audit_actions(d)
    assert ("page_person", AuditResult.OK) in [(a, r) for a, r, _ in actions]


async def test_answered_without_a_key_is_retried_then_not_acknowledged(
    paging_daemon: Daemon,
) -> None:
    d = paging_daemon
    assert d.pager is not None
    result = await d.pager.page("silent", "A8 surge level 2", "INC-2")
    assert result.outcome is PageOutcome.NOT_ACKNOWLEDGED
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.NO_ACK] * 2
    assert all(a.answered_at is not None for a in result.attempts)
    assert result.attempts[0].reason == "answered, no key"
    actions = await audit_actions(d)
    assert actions[-1][:2] == ("page_person", AuditResult.FAILED)


async def test_unreachable_numbers_fail_and_are_recorded(paging_daemon: Daemon) -> None:
    d = paging_daemon
    assert d.pager is not None
    result = await d.pager.page("gone", "A3 power cut", "INC-3")
    assert result.outcome is PageOutcome.FAILED
    assert [a.target.kind for a in result.attempts] == ["extension", "mobile"]
    assert result.attempts[0].reason.startswith("no channel could be created")
    assert result.attempts[1].reason == "rang out, no answer"
    actions = await audit_actions(d)
    assert actions[-1][1] is AuditResult.FAILED and "not reached in 2 call(s)" in actions[-1][2]
