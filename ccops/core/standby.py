"""A standby call-out: page a list of people for a queue and add each one who presses 1.

Why in the core, with the pager and the executor passed in: who is paged, in what order,
when the cap is reached, what each person's page came to and which adds were made (with
their undo) is the policy a team leader relies on in a surge; it must be testable to the
second with a fake pager and a fake clock, and it must not bypass the one audited path.
So this module never talks AMI: ``page`` is the daemon's pager (deny-list, rate limits,
retries, audit of every page), and ``add`` runs :class:`~ccops.core.commands.AddMember`
through ``execute(operator, command)`` for the operator who ran the call-out — authorised,
journalled, read back with ``QueueStatus``, audited, and given its own undo (remove the
member), which is what incident closure undoes.

Modes (:class:`~ccops.core.commands.StandbyMode`):

* ``parallel``: everyone is paged at once; people are added in the order they press 1.
  Once ``need`` are added, a later press of 1 is recorded as *not needed* (their call is
  not cut off mid-message: the team leader tells them);
* ``in_order``: one page after the other, in list order, until ``need`` are added; the
  rest are recorded as *not paged*.

Refused before anyone is called: an empty or unknown list, nobody in it with a
``queue_interface``, a member name the template cannot make valid, an interface that
dials an emergency number.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ccops.config import OnCallPerson, denied_number, interface_number
from ccops.core.clock import Clock
from ccops.core.commands import AddMember, PageStandby, StandbyMode, member_name_for
from ccops.core.execute import CommandResult
from ccops.core.paging import ORIGINATE_REASONS, AttemptOutcome, PageOutcome, PageResult
from ccops.core.playbook_load import LoadedPlaybook
from ccops.core.playbook_model import PbxStep, substitute

PageFn = Callable[[str, str, str], Awaitable[PageResult]]
"""``page(person, message, ref)``: the pager (never raises for a failed page)."""

AddFn = Callable[[AddMember], Awaitable[CommandResult]]
"""``add(command)``: ``execute(operator, command)`` for the operator of the call-out."""

#: Originate outcomes that mean "rang, nobody picked up" rather than a fault.
_NO_ANSWER = frozenset(ORIGINATE_REASONS[code] for code in (1, 3, 5))


class StandbyRefused(Exception):
    """The call-out must not start; the message says why (nobody has been called)."""


class StandbyStatus(enum.StrEnum):
    """What one person's part of the call-out came to."""

    ADDED = "added"  # pressed 1 and is now a member (read back from the PBX)
    NOT_ANSWERED = "not_answered"  # rang out, busy, or hung up before answering
    NO_KEY = "no_key"  # answered, pressed nothing (or hung up) on every call
    WRONG_KEY = "wrong_key"  # answered and pressed another key: a refusal
    FAILED = "failed"  # never reached: unknown number, trunk down, AMI trouble
    REFUSED = "refused"  # never dialled: deny-list, rate limit, not on the roster
    NO_INTERFACE = "no_interface"  # pressed 1, but the roster has no queue_interface
    ADD_FAILED = "add_failed"  # pressed 1, the PBX did not take the member
    NOT_NEEDED = "not_needed"  # pressed 1 after `need` people were added
    NOT_PAGED = "not_paged"  # in order: `need` was reached before their turn


@dataclass(slots=True)
class StandbyOutcome:
    """One person's result; ``text`` is the sentence the timeline and console show."""

    person: str
    status: StandbyStatus
    text: str
    page_id: str = ""
    answered: bool = False
    digit: str = ""
    interface: str | None = None
    member_name: str | None = None
    undo_id: int | None = None
    audit_seq: int | None = None
    at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "person": self.person, "status": self.status.value, "text": self.text,
            "page_id": self.page_id, "answered": self.answered, "digit": self.digit,
            "interface": self.interface, "member_name": self.member_name,
            "undo_id": self.undo_id, "audit_seq": self.audit_seq, "at": self.at,
        }  # fmt: skip


@dataclass(slots=True)
class StandbyReport:
    """The whole call-out: the command and every person's outcome, in list order."""

    command: PageStandby
    outcomes: list[StandbyOutcome]

    @property
    def added(self) -> list[StandbyOutcome]:
        return [o for o in self.outcomes if o.status is StandbyStatus.ADDED]

    @property
    def ok(self) -> bool:
        """Done when at least one person was added (a shortfall is said in the detail)."""
        return bool(self.added)

    @property
    def undo_ids(self) -> list[int]:
        return [o.undo_id for o in self.outcomes if o.undo_id is not None]

    def detail(self) -> str:
        c = self.command
        added = self.added
        head = f"{len(added)} added to {c.queue}"
        if c.need:
            head += f" of {c.need} needed" + ("" if len(added) >= c.need else " (SHORT)")
        parts = [f"{o.person}: {o.text}" for o in self.outcomes]
        return f"{head}; " + "; ".join(parts)

    def readback(self) -> dict[str, Any]:
        """The command's read-back. ``undo_ids`` are the adds' own undo records: an
        incident step that ran this keeps them, so closure removes those members again."""
        c = self.command
        return {
            "pbx": c.pbx, "queue": c.queue, "mode": c.mode.value, "need": c.need,
            "added": len(self.added), "undo_ids": self.undo_ids,
            "people": [o.as_dict() for o in self.outcomes],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Plan:
    person: OnCallPerson
    add: AddMember | None  # None: no queue_interface in the roster


class StandbyCallout:
    """Runs :class:`PageStandby` call-outs, one at a time (it keeps the count of adds)."""

    def __init__(
        self,
        people: Mapping[str, OnCallPerson],
        groups: Mapping[str, Sequence[str]],
        page: PageFn,
        add: AddFn,
        clock: Clock,
        *,
        deny_numbers: Sequence[str] = (),
        outside_line_prefixes: Sequence[str] = (),
    ) -> None:
        self._people = people
        self._groups = groups
        self._page = page
        self._add = add
        self._clock = clock
        self._deny = list(deny_numbers)
        self._prefixes = list(outside_line_prefixes)
        self._lock = asyncio.Lock()
        self._added = 0

    # ------------------------------------------------------------------ plan

    def plan(self, command: PageStandby) -> list[_Plan]:
        """Who will be paged and the member each would become; :class:`StandbyRefused`
        when the call-out cannot add anyone or a value is wrong (before any call)."""
        if command.group is not None:
            names = list(dict.fromkeys(self._groups.get(command.group, ())))
            if not names:
                raise StandbyRefused(
                    f"nobody on the on-call roster for {command.group} ([[oncall]] role = "
                    f"\"{command.group}\"): call the standby staff yourself"
                )
        else:
            names = list(command.people or ())
            unknown = [n for n in names if n not in self._people]
            if unknown:
                known = ", ".join(sorted(self._people)) or "none configured"
                raise StandbyRefused(
                    f"not on the on-call roster: {', '.join(unknown)} (roster: {known})")
        plans: list[_Plan] = []
        for name in names:
            person = self._people.get(name)
            if person is None:  # a group member missing from the roster: config drift
                raise StandbyRefused(f"{name} (group {command.group}) is not on the roster")
            plans.append(_Plan(person, self._member(command, person)))
        if not any(p.add for p in plans):
            raise StandbyRefused(
                f"nobody in {command.who()} has a queue_interface in the on-call roster, so "
                "nobody could be added to the queue: set [[oncall]] queue_interface, or page "
                "them with page_person"
            )
        return plans

    def _member(self, command: PageStandby, person: OnCallPerson) -> AddMember | None:
        iface = person.queue_interface
        if iface is None:
            return None
        number = interface_number(iface)
        hit = None if number is None else denied_number(number, self._deny, self._prefixes)
        if hit is not None:
            raise StandbyRefused(
                f"{person.name}: queue_interface {iface} reaches emergency number {hit} "
                "(paging.deny_numbers): ccops never makes a queue dial it"
            )
        member = member_name_for(command.member_name, person.name, person.display_name)
        try:
            return AddMember(pbx=command.pbx, queue=command.queue, interface=iface,
                             member_name=member, penalty=command.penalty)
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                for e in exc.errors())
            raise StandbyRefused(
                f"{person.name}: cannot make a queue member from the roster ({problem}; "
                f"member name {member!r})"
            ) from None

    # ------------------------------------------------------------------ run

    async def run(self, command: PageStandby) -> StandbyReport:
        """Page, add whoever presses 1 (up to ``need``), and report every person."""
        plans = self.plan(command)
        self._added = 0
        ref = command.ref or f"standby call-out for {command.queue}"
        if command.mode is StandbyMode.IN_ORDER:
            outcomes: list[StandbyOutcome] = []
            for plan in plans:
                if self._full(command):
                    outcomes.append(StandbyOutcome(
                        plan.person.name, StandbyStatus.NOT_PAGED,
                        f"not paged: {command.need} already added"))
                    continue
                outcomes.append(await self._guarded(command, plan, ref))
            return StandbyReport(command, outcomes)
        outcomes = list(await asyncio.gather(*(self._guarded(command, p, ref) for p in plans)))
        return StandbyReport(command, outcomes)

    async def _guarded(self, command: PageStandby, plan: _Plan, ref: str) -> StandbyOutcome:
        """One person, never raising: a fault in one page must not lose the others' adds
        (their undo ids are in the report only)."""
        try:
            return await self._one(command, plan, ref)
        except Exception as exc:
            return StandbyOutcome(plan.person.name, StandbyStatus.FAILED,
                                  f"not completed: {exc or type(exc).__name__}")

    def _full(self, command: PageStandby) -> bool:
        return bool(command.need) and self._added >= command.need

    async def _one(self, command: PageStandby, plan: _Plan, ref: str) -> StandbyOutcome:
        name = plan.person.name
        result = await self._page(name, command.message, ref)
        out = classify(result)
        if result.outcome is not PageOutcome.ACKNOWLEDGED:
            return out
        async with self._lock:  # adds one at a time, so the cap is exact
            out.at = self._clock.now()
            if self._full(command):
                out.status = StandbyStatus.NOT_NEEDED
                out.text = (f"pressed 1 after {command.need} were added: NOT added "
                            "(tell them they are not needed now)")
                return out
            if plan.add is None:
                out.status = StandbyStatus.NO_INTERFACE
                out.text = ("pressed 1 but has no queue_interface in the on-call roster: "
                            f"NOT added; add them to {command.queue} by hand")
                return out
            out.interface = plan.add.interface
            out.member_name = plan.add.member_name
            try:
                added = await self._add(plan.add)
            except Exception as exc:  # the store failed: the PBX may or may not have it
                out.status = StandbyStatus.ADD_FAILED
                out.text = (f"pressed 1; adding {plan.add.interface} not completed: "
                            f"{exc or type(exc).__name__} (check the queue)")
                return out
            out.audit_seq = added.audit_seq
            if not added.ok:
                out.status = StandbyStatus.ADD_FAILED
                out.text = f"pressed 1; NOT added as {plan.add.interface}: {added.detail}"
                return out
            self._added += 1
            out.status = StandbyStatus.ADDED
            out.undo_id = added.undo_id
            out.text = (f"pressed 1 → added to {command.queue} as {plan.add.interface} "
                        f"({plan.add.member_name}, penalty {plan.add.penalty})")
            return out


def roster_notes(
    playbooks: Mapping[str, LoadedPlaybook],
    parameters: Mapping[str, Mapping[str, Any]],
    people: Mapping[str, OnCallPerson],
    groups: Mapping[str, Sequence[str]],
) -> list[str]:
    """For ``ccops check``: standby call-out steps the on-call roster leaves unable to add
    anyone (nobody in the group, nobody with a ``queue_interface``). Notes, not errors: the
    roster may be filled on the day, but better known before the surge than during it."""
    notes: list[str] = []
    for pid, loaded in sorted(playbooks.items()):
        pb = loaded.playbook
        for step in pb.steps:
            if not isinstance(step, PbxStep) or step.command != "page_standby":
                continue
            try:
                params = substitute(step.params, pb.parameters, parameters.get(pid, {}))
            except KeyError:
                continue  # a parameter not set: the step says so when run
            group = params.get("group")
            names = (list(groups.get(group, ())) if isinstance(group, str)
                     else [str(n) for n in params.get("people") or []])
            where = f"{pid} step {step.id} (page_standby)"
            listed = [people[n] for n in names if n in people]
            if not listed:
                who = f"role {group!r}" if isinstance(group, str) else "the names listed"
                notes.append(f"{where}: the on-call roster has nobody for {who}: the "
                             "call-out would be refused")
            elif not any(p.queue_interface for p in listed):
                notes.append(f"{where}: nobody in {', '.join(p.name for p in listed)} has a "
                             "queue_interface ([[oncall]]): the call-out would be refused")
    return notes


def classify(result: PageResult) -> StandbyOutcome:
    """A finished page as a standby outcome (an acknowledged page is provisionally
    ``added``: the caller decides once it tried the add)."""
    answered = any(a.answered_at is not None for a in result.attempts)
    digits = [a.digit for a in result.attempts if a.digit and a.digit != "1"]
    out = StandbyOutcome(result.person, StandbyStatus.FAILED, "", page_id=result.page_id,
                         answered=answered, digit=result.digit or (digits[-1] if digits else ""))
    calls = len(result.attempts)
    outcome = result.outcome
    if outcome is PageOutcome.ACKNOWLEDGED:
        out.status, out.text = StandbyStatus.ADDED, "pressed 1"
    elif outcome is PageOutcome.REFUSED:
        out.status, out.text = StandbyStatus.REFUSED, f"not paged: {result.detail}"
    elif outcome is PageOutcome.NOT_ACKNOWLEDGED and digits:
        out.status = StandbyStatus.WRONG_KEY
        out.text = f"answered and pressed {digits[-1]}, not 1 (declined); not added"
    elif outcome is PageOutcome.NOT_ACKNOWLEDGED:
        out.status = StandbyStatus.NO_KEY
        out.text = f"answered but never pressed 1 ({calls} call(s)); not added"
    elif result.attempts and all(
        a.outcome is AttemptOutcome.FAILED and a.reason in _NO_ANSWER for a in result.attempts
    ):
        out.status = StandbyStatus.NOT_ANSWERED
        out.text = f"not answered ({calls} call(s); last: {result.attempts[-1].reason})"
    else:
        out.status = StandbyStatus.FAILED
        out.text = f"not reached: {result.detail or 'page failed'}"
    return out


__all__ = [
    "AddFn",
    "PageFn",
    "StandbyCallout",
    "StandbyOutcome",
    "StandbyRefused",
    "StandbyReport",
    "StandbyStatus",
    "classify",
    "roster_notes",
]
