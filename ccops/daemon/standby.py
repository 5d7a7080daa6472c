"""The ``page_standby`` command in the daemon: the core call-out, wired to the pager and
the executor.

Why a small module of its own: :class:`~ccops.core.standby.StandbyCallout` is the policy;
here it gets the daemon's pager (every page audited under the operator who ran the
call-out, same deny-list and rate limits as ``page_person``) and ``execute`` for each
``add_member`` — so each add is authorised for that operator, read back from the PBX,
audited on its own line and has its own undo record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from ccops.config import OnCallPerson, PagingConfig
from ccops.core.clock import Clock
from ccops.core.commands import AddMember, Command, PageStandby
from ccops.core.execute import CommandResult, Operator, PerformOutcome, acting_operator
from ccops.core.paging import PageResult
from ccops.core.standby import StandbyCallout, StandbyRefused
from ccops.daemon.incident_desk import roster_from
from ccops.daemon.pager import Caller, Pager

Execute = Callable[[Operator, Command], Awaitable[CommandResult]]


class StandbyDesk:
    """Performs :class:`PageStandby`; ``execute`` is set once the executor exists."""

    def __init__(
        self, pager: Pager, oncall: Sequence[OnCallPerson], paging: PagingConfig, clock: Clock
    ) -> None:
        self.pager = pager
        self._groups = roster_from(oncall)
        self._paging = paging
        self._clock = clock
        self.execute: Execute | None = None

    async def perform(self, command: PageStandby) -> PerformOutcome:
        operator = acting_operator()
        if operator is None or self.execute is None:
            return PerformOutcome(False, "refused: page_standby runs through execute()")
        execute = self.execute
        caller = Caller(operator.name, operator.role.value, operator.session_id, operator.via)

        async def page(person: str, message: str, ref: str) -> PageResult:
            return await self.pager.page(person, message, ref, caller=caller, audit=True)

        async def add(member: AddMember) -> CommandResult:
            return await execute(operator, member)

        callout = StandbyCallout(
            self.pager.roster, self._groups, page, add, self._clock,
            deny_numbers=self._paging.deny_numbers,
            outside_line_prefixes=self._paging.outside_line_prefixes,
        )
        try:
            report = await callout.run(command)
        except StandbyRefused as exc:
            return PerformOutcome(False, f"refused: {exc}")
        return PerformOutcome(report.ok, report.detail(), None, report.readback())


__all__ = ["StandbyDesk"]
