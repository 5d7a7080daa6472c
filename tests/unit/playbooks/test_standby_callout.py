"""The standby call-out (``page_standby``) with a fake pager and a fake clock: who is paged
in what order, the cap, each person's outcome, refusals before any call, and — through the
executor and the incident engine — each add's own audit line and undo kept on the step so
closure removes the members again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pb_helpers import ROSTER, T0

from ccops.config import OnCallPerson
from ccops.core.clock import FakeClock
from ccops.core.commands import (
    AddMember,
    CloseIncident,
    Command,
    CompleteStep,
    PageStandby,
    RemoveMember,
    RunPbxStep,
    StartIncident,
    parse_command,
)
from ccops.core.execute import (
    CommandResult,
    Executor,
    Operator,
    PerformOutcome,
    ResultStatus,
)
from ccops.core.incident_perform import IncidentPerformer
from ccops.core.incident_state import StepState
from ccops.core.incidents import IncidentEngine
from ccops.core.paging import (
    ORIGINATE_REASONS,
    AttemptOutcome,
    PageAttempt,
    PageOutcome,
    PageResult,
    PageTarget,
)
from ccops.core.playbook_load import LoadedPlaybook
from ccops.core.roles import Role
from ccops.core.standby import StandbyCallout, StandbyRefused, StandbyStatus
from ccops.store import Store
from ccops.store.incidents import IncidentStore

LI = Operator("li", Role.SUPERVISOR, "s1", "ssh")
PEOPLE = {
    "chen": OnCallPerson(name="chen", display_name="Chen Jie", mobile="5550001",
                         trunk="carrier-b", queue_interface="Local/5550001@ccops-standby"),
    "liu": OnCallPerson(name="liu", extension="2002", queue_interface="PJSIP/2002"),
    "wu": OnCallPerson(name="wu", extension="2003", queue_interface="PJSIP/2003"),
    "ma": OnCallPerson(name="ma", extension="2004"),  # no queue_interface
}
GROUPS = {"standby_staff": ["chen", "liu", "wu", "ma"]}


def page_result(person: str, how: str, at: float) -> PageResult:
    """A finished page as the pager reports it: ack, silent, wrong_key, no_answer, failed,
    refused."""
    target = PageTarget("extension", "2000", "PJSIP/2000")
    res = PageResult(page_id=f"pg-{person}", person=person, ref="r", message="m",
                     requested_at=at)
    attempt = PageAttempt(n=1, target=target, started_at=at, channel_id=f"pg-{person}-1")
    if how == "refused":
        res.outcome, res.detail = PageOutcome.REFUSED, "rate limit: 6 calls to x"
        return res
    res.attempts.append(attempt)
    if how in ("ack", "silent", "wrong_key"):
        attempt.answered_at = at + 3
    if how == "ack":
        attempt.outcome, attempt.digit = AttemptOutcome.ACKNOWLEDGED, "1"
        res.outcome, res.digit, res.acknowledged_at = PageOutcome.ACKNOWLEDGED, "1", at + 5
    elif how == "silent":
        attempt.outcome, attempt.reason = AttemptOutcome.NO_ACK, "answered, no key"
        res.outcome = PageOutcome.NOT_ACKNOWLEDGED
    elif how == "wrong_key":
        attempt.outcome, attempt.digit = AttemptOutcome.NO_ACK, "2"
        attempt.reason = "pressed 2, not 1"
        res.outcome = PageOutcome.NOT_ACKNOWLEDGED
    elif how == "no_answer":
        attempt.outcome, attempt.reason = AttemptOutcome.FAILED, ORIGINATE_REASONS[3]
        res.outcome = PageOutcome.FAILED
    else:
        attempt.outcome, attempt.reason = AttemptOutcome.FAILED, ORIGINATE_REASONS[0]
        res.outcome, res.detail = PageOutcome.FAILED, "not reached in 1 call(s)"
    return res


@dataclass
class FakePager:
    """Answers as scripted; a person's page ends when the test releases their gate."""

    clock: FakeClock
    script: dict[str, str]
    gated: bool = False
    paged: list[str] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    async def page(self, person: str, message: str, ref: str) -> PageResult:
        self.paged.append(person)
        if self.gated:
            gate = self.gates.setdefault(person, asyncio.Event())
            await gate.wait()
        return page_result(person, self.script.get(person, "no_answer"), self.clock.now())

    async def release(self, person: str) -> None:
        self.gates.setdefault(person, asyncio.Event()).set()
        for _ in range(5):  # let the released page and its add run to the next await
            await asyncio.sleep(0)


@dataclass
class FakeAdds:
    """``execute(operator, AddMember)``: ok with an undo id, or refused for some."""

    refuse: set[str] = field(default_factory=set)
    done: list[AddMember] = field(default_factory=list)

    async def add(self, cmd: AddMember) -> CommandResult:
        self.done.append(cmd)
        if cmd.interface in self.refuse:
            return CommandResult(ResultStatus.FAILED, "Asterisk refused: Already there", cmd,
                                 audit_seq=len(self.done))
        return CommandResult(ResultStatus.OK, f"Asterisk lists {cmd.interface}", cmd,
                             audit_seq=len(self.done), undo_id=100 + len(self.done))


def callout(pager: FakePager, adds: FakeAdds, clock: FakeClock) -> StandbyCallout:
    return StandbyCallout(PEOPLE, GROUPS, pager.page, adds.add, clock,
                          deny_numbers=["110", "119", "120"], outside_line_prefixes=["9"])


def standby(**params: object) -> PageStandby:
    base: dict[str, object] = {"pbx": "main", "queue": "hotline", "group": "standby_staff"}
    cmd = parse_command("page_standby", {**base, **params})
    assert isinstance(cmd, PageStandby)
    return cmd


async def test_parallel_adds_in_the_order_people_press_1_up_to_the_cap(clock: FakeClock) -> None:
    pager = FakePager(clock, {"chen": "ack", "liu": "ack", "wu": "ack", "ma": "silent"},
                      gated=True)
    adds = FakeAdds()
    run = asyncio.create_task(callout(pager, adds, clock).run(standby(need=2, penalty=3)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert pager.paged == ["chen", "liu", "wu", "ma"]  # everyone at once
    for who in ("wu", "ma", "chen", "liu"):  # the order they answer in
        clock.advance(10)
        await pager.release(who)
    report = await run
    by = {o.person: o for o in report.outcomes}
    assert [o.person for o in report.outcomes] == ["chen", "liu", "wu", "ma"]  # list order
    assert [a.interface for a in adds.done] == ["PJSIP/2003", "Local/5550001@ccops-standby"]
    assert by["wu"].status is StandbyStatus.ADDED and by["wu"].undo_id == 101
    assert by["chen"].status is StandbyStatus.ADDED and by["chen"].undo_id == 102
    assert by["chen"].member_name == "Chen Jie" and adds.done[1].penalty == 3
    assert by["liu"].status is StandbyStatus.NOT_NEEDED and "NOT added" in by["liu"].text
    assert by["ma"].status is StandbyStatus.NO_KEY
    assert by["wu"].at == T0 + 10 and by["chen"].at == T0 + 30  # the fake clock
    assert report.ok and report.undo_ids == [102, 101]  # list order, not add order
    rb = report.readback()
    assert rb["added"] == 2 and rb["undo_ids"] == [102, 101] and len(rb["people"]) == 4
    assert report.detail().startswith("2 added to hotline of 2 needed; chen: pressed 1 → added")


async def test_in_order_stops_paging_once_the_cap_is_reached(clock: FakeClock) -> None:
    pager = FakePager(clock, {"chen": "no_answer", "liu": "ack", "wu": "ack"})
    adds = FakeAdds()
    report = await callout(pager, adds, clock).run(standby(mode="in_order", need=1))
    assert pager.paged == ["chen", "liu"]  # one after the other, then stop
    assert [(o.person, o.status) for o in report.outcomes] == [
        ("chen", StandbyStatus.NOT_ANSWERED), ("liu", StandbyStatus.ADDED),
        ("wu", StandbyStatus.NOT_PAGED), ("ma", StandbyStatus.NOT_PAGED),
    ]
    assert "rang out, no answer" in report.outcomes[0].text
    assert report.undo_ids == [101]


async def test_every_other_outcome_is_recorded_per_person(clock: FakeClock) -> None:
    people = ["chen", "liu", "wu", "ma"]
    pager = FakePager(clock, {"chen": "wrong_key", "liu": "failed", "wu": "refused",
                              "ma": "ack"})
    adds = FakeAdds()
    report = await callout(pager, adds, clock).run(standby(group=None, people=people))
    by = {o.person: o for o in report.outcomes}
    assert by["chen"].status is StandbyStatus.WRONG_KEY and by["chen"].digit == "2"
    assert "pressed 2, not 1 (declined)" in by["chen"].text and by["chen"].answered
    assert by["liu"].status is StandbyStatus.FAILED and "not reached" in by["liu"].text
    assert by["wu"].status is StandbyStatus.REFUSED and "rate limit" in by["wu"].text
    assert by["ma"].status is StandbyStatus.NO_INTERFACE  # pressed 1: nothing to add
    assert "no queue_interface" in by["ma"].text and adds.done == []
    assert not report.ok and report.undo_ids == []


async def test_a_refused_add_is_not_counted_against_the_cap(clock: FakeClock) -> None:
    pager = FakePager(clock, {"chen": "ack", "liu": "ack"})
    adds = FakeAdds(refuse={"Local/5550001@ccops-standby"})
    report = await callout(pager, adds, clock).run(
        standby(mode="in_order", need=1, group=None, people=["chen", "liu", "wu"]))
    assert [(o.person, o.status) for o in report.outcomes] == [
        ("chen", StandbyStatus.ADD_FAILED), ("liu", StandbyStatus.ADDED),
        ("wu", StandbyStatus.NOT_PAGED)]
    assert "Already there" in report.outcomes[0].text and report.outcomes[0].undo_id is None


@pytest.mark.parametrize(
    ("params", "people", "groups", "message"),
    [
        ({"group": "functional_staff"}, PEOPLE, GROUPS, "nobody on the on-call roster for "
         "functional_staff"),
        ({"group": None, "people": ["chen", "zhou"]}, PEOPLE, GROUPS, "not on the on-call "
         "roster: zhou"),
        ({"group": None, "people": ["ma"]}, PEOPLE, GROUPS, "nobody in ma has a queue_interface"),
        ({}, {**PEOPLE, "fire": OnCallPerson(name="fire", extension="2009",
                                             queue_interface="Local/9119@ccops-standby")},
         {"standby_staff": ["chen", "fire"]}, "reaches emergency number 119"),
        ({"member_name": "{name:>81}"}, PEOPLE, GROUPS,
         "cannot make a queue member from the roster"),
    ],
)
async def test_refused_before_anyone_is_called(
    clock: FakeClock, params: dict[str, object], people: dict[str, OnCallPerson],
    groups: dict[str, list[str]], message: str,
) -> None:
    pager = FakePager(clock, {})
    adds = FakeAdds()
    c = StandbyCallout(people, groups, pager.page, adds.add, clock,
                       deny_numbers=["110", "119", "120"], outside_line_prefixes=["9"])
    with pytest.raises(StandbyRefused, match=message):
        await c.run(standby(**params))
    assert pager.paged == [] and adds.done == []


def test_command_parameters_are_checked() -> None:
    from ccops.core.commands import CommandError

    for bad, says in [
        ({"group": None}, "either group"), ({"people": ["a"]}, "either group"),
        ({"group": None, "people": ["a", "a"]}, "listed twice"),
        ({"member_name": "{badge}"}, "unknown field {badge}"),
        ({"need": -1}, "need"), ({"mode": "random"}, "mode"),
    ]:
        with pytest.raises(CommandError, match=says):
            standby(**bad)
    cmd = standby(need=2)
    assert cmd.summary() == ("page the standby_staff list (all at once) and add whoever "
                             "presses 1 to queue hotline on main, at most 2, penalty 0")
    assert PageStandby.self_timed and cmd.subject() is None


# --------------------------------------------------------------------------- with the engine

SITE = {"a8_call_surge": {"pbx": "main", "surge_queue": "hotline"}}


class StandbyPbx:
    """The PBX performer stand-in: page_standby through the call-out (adds through the
    executor, as the daemon does), add/remove_member answered like the real performer."""

    def __init__(self, clock: FakeClock, script: dict[str, str]) -> None:
        self.pager = FakePager(clock, script)
        self.clock = clock
        self.execute: Callable[[Operator, Command], Awaitable[CommandResult]] | None = None
        self.calls: list[Command] = []

    async def perform(self, command: Command) -> PerformOutcome:
        self.calls.append(command)
        if isinstance(command, PageStandby):
            assert self.execute is not None
            run = self.execute

            async def add(cmd: AddMember) -> CommandResult:
                return await run(LI, cmd)

            people = {n: PEOPLE.get(n) or OnCallPerson(name=n, extension="2099",
                                                       queue_interface=f"PJSIP/{n}")
                      for n in ROSTER["standby_staff"]}
            report = await StandbyCallout(people, ROSTER, self.pager.page, add,
                                          self.clock).run(command)
            return PerformOutcome(report.ok, report.detail(), None, report.readback())
        if isinstance(command, AddMember):
            undo = RemoveMember(pbx=command.pbx, queue=command.queue,
                                interface=command.interface)
            return PerformOutcome(True, f"Asterisk lists {command.interface}", undo=undo)
        if isinstance(command, RemoveMember):
            return PerformOutcome(True, f"Asterisk no longer lists {command.interface}")
        return PerformOutcome(False, f"unexpected {command.name}")


@dataclass
class Rig:
    store: Store
    engine: IncidentEngine
    executor: Executor
    pbx: StandbyPbx


@pytest.fixture
async def rig(
    tmp_path: Path, clock: FakeClock, shipped: dict[str, LoadedPlaybook]
) -> AsyncIterator[Rig]:
    store = await Store.open(tmp_path / "ccops.sqlite3", clock=clock)
    repo = IncidentStore(store)
    engine = IncidentEngine(repo, clock, shipped, roster=ROSTER, parameters=SITE, undos=repo)
    pbx = StandbyPbx(clock, {"chen": "ack", "liu": "silent"})  # ROSTER: chen, liu
    performer = IncidentPerformer(engine, pbx)
    executor = Executor(store, performer, clock)
    performer.run_nested = executor.execute
    pbx.execute = executor.execute
    try:
        yield Rig(store, engine, executor, pbx)
    finally:
        await store.close()


async def test_a8_step_records_each_add_and_its_undo_and_closure_needs_them_undone(
    rig: Rig,
) -> None:
    await rig.executor.execute(LI, StartIncident(playbook="a8_call_surge"))
    ran = await rig.executor.execute(LI, RunPbxStep(incident_id=1, step="standby_callout"))
    assert ran.ok, ran.detail
    sent = [c for c in rig.pbx.calls if isinstance(c, PageStandby)]
    assert sent[0].group == "standby_staff" and sent[0].queue == "hotline"
    assert sent[0].ref == "incident 1 step standby_callout"  # on every page's audit line
    assert sent[0].member_name == "{display_name} (standby)"
    row = rig.engine.incident(1).steps["standby_callout"]
    assert row.state is StepState.DONE
    assert len(row.detail["undo_ids"]) == 1  # chen's add; liu never pressed 1
    people = row.detail["runs"][-1]["people"]
    assert [(p["person"], p["status"]) for p in people] == [("chen", "added"),
                                                            ("liu", "no_key")]
    assert people[0]["interface"] == "Local/5550001@ccops-standby"
    lines = [e.detail for e in rig.engine.incident(1).timeline if e.kind == "pbx_person"]
    assert lines[0].startswith("chen: pressed 1 → added to hotline as Local/5550001@")
    assert lines[1].startswith("liu: answered but never pressed 1")
    audit = [(a.entry.action, a.entry.operator, a.entry.result.value)
             for a in await rig.store.audit_page(0, 100)]
    assert audit == [("start_incident", "li", "ok"), ("add_member", "li", "ok"),
                     ("page_standby", "li", "ok"), ("run_pbx_step", "li", "ok")]
    await rig.executor.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                                record={"controlled_at": "00:40"}))
    blocked = await rig.executor.execute(LI, CloseIncident(incident_id=1))
    assert not blocked.ok and "PBX change of step standby_callout is not undone" in blocked.detail
    removed = await rig.executor.execute(LI, RemoveMember(
        pbx="main", queue="hotline", interface="Local/5550001@ccops-standby"))
    assert removed.ok
    closed = await rig.executor.execute(LI, CloseIncident(incident_id=1))
    assert closed.ok, closed.detail


async def test_nobody_pressing_1_leaves_the_step_to_do_with_every_outcome_recorded(
    rig: Rig,
) -> None:
    rig.pbx.pager.script = {"chen": "wrong_key", "liu": "no_answer"}
    await rig.executor.execute(LI, StartIncident(playbook="a8_call_surge"))
    ran = await rig.executor.execute(LI, RunPbxStep(incident_id=1, step="standby_callout"))
    assert not ran.ok and "0 added to hotline" in ran.detail
    row = rig.engine.incident(1).steps["standby_callout"]
    assert row.state is StepState.PENDING and "undo_ids" not in row.detail
    assert [p["status"] for p in row.detail["runs"][-1]["people"]] == ["wrong_key",
                                                                        "not_answered"]


# --------------------------------------------------------------------------- ccops check


def test_a_queue_interface_that_dials_an_emergency_number_is_a_config_error() -> None:
    from pydantic import ValidationError

    from ccops.config import PagingConfig, Settings

    person = OnCallPerson(name="x", extension="2001", queue_interface="Local/9119@ccops-standby")
    with pytest.raises(ValidationError, match=r"oncall\[0\] \(x\).queue_interface '9119' "
                       "reaches emergency number 119"):
        Settings(paging=PagingConfig(), oncall=[person])
    Settings(oncall=[person.model_copy(update={"queue_interface": "PJSIP/desk-119"})])
    with pytest.raises(ValidationError, match="queue_interface"):
        OnCallPerson(name="y", extension="2001", queue_interface="2001")  # no TECH/


def test_site_values_of_the_standby_step_are_checked(shipped: dict[str, LoadedPlaybook]) -> None:
    from ccops.core.playbook_load import check_parameters

    bad = {"a8_call_surge": {"standby_group": "everyone", "standby_need": 500,
                             "standby_mode": "fast"}}
    assert check_parameters(shipped, bad) == [
        "playbooks.parameters.a8_call_surge.standby_mode: step standby_callout (page_standby) "
        "mode: Input should be 'parallel' or 'in_order' (got 'fast')",
        "playbooks.parameters.a8_call_surge.standby_need: step standby_callout (page_standby) "
        "need: Input should be less than or equal to 100 (got 500)",
        "playbooks.parameters.a8_call_surge.standby_group: step standby_callout (page_standby) "
        "group: unknown roster group 'everyone'; a job role, e.g. standby_staff",
    ]
    good = {"a8_call_surge": {"standby_group": "functional_staff", "standby_need": 2,
                              "standby_mode": "in_order", "pbx": "main"}}
    assert check_parameters(shipped, good) == []


def test_a_playbook_step_with_an_unknown_group_is_located() -> None:
    from ccops.core.playbook_load import PlaybookError, parse_playbook

    text = """\
id: site_standby
version: 1
title: Standby
category: call_center
source: site
steps:
  - id: callout
    kind: pbx
    actor: cc_supervisor
    title: call out
    source: site (PROPOSAL)
    command: page_standby
    params: {pbx: main, queue: hotline, group: everybody, need: 2}
"""
    with pytest.raises(PlaybookError) as err:
        parse_playbook(text, "site.yaml")
    assert err.value.problems == [
        "site.yaml:13: steps.0.params.group: unknown roster group 'everybody'; a job role, "
        "e.g. standby_staff"]
    parse_playbook(text.replace("everybody", "standby_staff"), "site.yaml")


async def test_a_fault_in_one_page_does_not_lose_the_others_adds(clock: FakeClock) -> None:
    pager = FakePager(clock, {"chen": "ack", "wu": "ack"})
    real_page = pager.page

    async def page(person: str, message: str, ref: str) -> PageResult:
        if person == "liu":
            raise RuntimeError("pager bug")
        return await real_page(person, message, ref)

    adds = FakeAdds()
    for mode in ("parallel", "in_order"):
        c = StandbyCallout(PEOPLE, GROUPS, page, adds.add, clock)
        report = await c.run(standby(mode=mode, group=None, people=["chen", "liu", "wu"]))
        assert [o.status for o in report.outcomes] == [
            StandbyStatus.ADDED, StandbyStatus.FAILED, StandbyStatus.ADDED], mode
        assert report.outcomes[1].text == "not completed: pager bug"
        assert len(report.undo_ids) == 2


def test_ccops_check_notes_a_roster_that_cannot_answer_the_callout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ccops.cli import main

    cfg = tmp_path / "ccops.toml"
    site = ("[playbooks.parameters.a8_call_surge]\npbx = 'sim'\nsurge_queue = 'hotline'\n"
            "[[oncall]]\nname = 'chen'\nrole = 'standby_staff'\nextension = '2001'\n")
    cfg.write_text(site, "utf-8")
    assert main(["check", "--config", str(cfg)]) == 0  # a note, not an error
    assert ("note: a8_call_surge step standby_callout (page_standby): nobody in chen has a "
            "queue_interface ([[oncall]]): the call-out would be refused"
            ) in capsys.readouterr().out
    cfg.write_text(site + "queue_interface = 'PJSIP/2001'\n", "utf-8")
    assert main(["check", "--config", str(cfg)]) == 0
    assert "note:" not in capsys.readouterr().out
    cfg.write_text(site.replace("standby_staff", "functional_staff"), "utf-8")
    assert main(["check", "--config", str(cfg)]) == 0
    assert "the on-call roster has nobody for role 'standby_staff'" in capsys.readouterr().out
