"""The PBX side of commands: send the AMI action, then read back what Asterisk now says.

"Done" means Asterisk confirms it: after ``QueuePause`` the member's row is fetched again
with ``QueueStatus`` and compared; after ``DBPut`` the key is read with ``DBGet``. A command
whose action succeeded but whose read-back disagrees is reported as failed, with both.
Nothing is ever re-sent: a lost connection leaves the outcome unknown and says so.

Routing flags live in AstDB as ``<routing_family>/<kind>/<target>`` (e.g.
``ccops/overflow/hotline = on``); the shipped dialplan reads them. A custom device state
``Custom:ccops-<kind>-<target>`` mirrors each flag so desk-phone BLF keys can light up;
setting it is best effort and reported in the detail when it fails.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ccops.core.commands import (
    AcknowledgeAlert,
    AddMember,
    ClearRoutingFlag,
    Command,
    PagePerson,
    PageStandby,
    PauseMember,
    RemoveMember,
    SetPenalty,
    SetRoutingFlag,
    UnpauseMember,
)
from ccops.core.events import DbEntry
from ccops.core.execute import PerformOutcome
from ccops.daemon.pbx_session import PbxSession
from ccops.pbx.errors import AmiActionError, AmiConnectionLost, AmiError, AmiTimeout
from ccops.pbx.message import AmiMessage
from ccops.pbx.redact import redact

AckHandler = Callable[[int], Any]


def flag_key(kind: str, target: str) -> str:
    return f"{kind}/{target}"


def flag_device(kind: str, target: str) -> str:
    return "Custom:ccops-" + re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind}-{target}")


def _reply(msg: AmiMessage) -> dict[str, str]:
    return dict(redact(msg).headers)


class PbxPerformer:
    """Implements :class:`ccops.core.execute.Performer` over the daemon's PBX sessions."""

    def __init__(
        self,
        sessions: Mapping[str, PbxSession],
        acknowledge_alert: Callable[[int, str], Any] | None = None,
        page: Callable[[PagePerson], Awaitable[PerformOutcome]] | None = None,
        page_standby: Callable[[PageStandby], Awaitable[PerformOutcome]] | None = None,
    ) -> None:
        self.sessions = sessions
        self._ack = acknowledge_alert
        self._page = page
        self._page_standby = page_standby

    async def perform(self, command: Command) -> PerformOutcome:
        if isinstance(command, AcknowledgeAlert):
            return await self._acknowledge(command)
        if isinstance(command, PagePerson):  # the roster names the PBX (ccops.daemon.pager)
            if self._page is None:
                return PerformOutcome(False, "paging is not available")
            return await self._page(command)
        pbx = getattr(command, "pbx", None)
        session = self.sessions.get(str(pbx))
        if session is None:
            return PerformOutcome(False, f"no PBX named {pbx!r} is configured")
        if isinstance(command, PageStandby):  # pages, then add_member through execute()
            if self._page_standby is None:
                return PerformOutcome(False, "standby call-outs are not available")
            return await self._page_standby(command)
        try:
            if isinstance(command, PauseMember | UnpauseMember):
                return await self._pause(session, command)
            if isinstance(command, AddMember):
                return await self._add(session, command)
            if isinstance(command, RemoveMember):
                return await self._remove(session, command)
            if isinstance(command, SetPenalty):
                return await self._penalty(session, command)
            if isinstance(command, SetRoutingFlag | ClearRoutingFlag):
                return await self._flag(session, command)
        except AmiActionError as exc:
            return PerformOutcome(False, f"Asterisk refused: {exc.text}", _reply(exc.response))
        except (AmiConnectionLost, AmiTimeout) as exc:
            return PerformOutcome(False, f"outcome unknown, not re-sent: {exc}")
        except AmiError as exc:
            return PerformOutcome(False, str(exc))
        return PerformOutcome(False, f"{command.name} is not a PBX command")

    # ------------------------------------------------------------------ members

    async def _member_rows(
        self, session: PbxSession, interface: str, queue: str | None
    ) -> dict[str, dict[str, str]]:
        """QueueMember rows for one interface, by queue, straight from Asterisk."""
        fields = {"Member": interface}
        if queue:
            fields["Queue"] = queue
        result = await session.link.list_action("QueueStatus", fields)
        rows: dict[str, dict[str, str]] = {}
        for item in result.items:
            if item.event == "QueueMember" and item.get("Location") == interface:
                rows[item.get("Queue")] = dict(item.headers)
        return rows

    async def _pause(
        self, session: PbxSession, command: PauseMember | UnpauseMember
    ) -> PerformOutcome:
        paused = isinstance(command, PauseMember)
        fields = {"Interface": command.interface, "Paused": "true" if paused else "false"}
        if command.queue:
            fields["Queue"] = command.queue
        if isinstance(command, PauseMember):
            fields["Reason"] = command.reason.value
        reply = await session.link.action("QueuePause", fields)
        rows = await self._member_rows(session, command.interface, command.queue)
        want = "1" if paused else "0"
        wrong = sorted(q for q, row in rows.items() if row.get("Paused") != want)
        readback = {q: {"paused": row.get("Paused"), "reason": row.get("PausedReason", "")}
                    for q, row in rows.items()}
        if not rows:
            return PerformOutcome(False, "Asterisk accepted but lists no such member",
                                  _reply(reply), readback)
        if wrong:
            return PerformOutcome(
                False, f"read-back disagrees in {', '.join(wrong)}", _reply(reply), readback
            )
        verb = "paused" if paused else "unpaused"
        undo: Command
        if isinstance(command, PauseMember):
            undo = UnpauseMember(pbx=command.pbx, queue=command.queue, interface=command.interface)
        else:
            undo = command  # unpausing has no meaningful undo reason; nothing to restore
        return PerformOutcome(
            True,
            f"Asterisk confirms {command.interface} {verb} in {', '.join(sorted(rows))}",
            _reply(reply),
            readback,
            undo if paused else None,
        )

    async def _add(self, session: PbxSession, command: AddMember) -> PerformOutcome:
        fields = {"Queue": command.queue, "Interface": command.interface,
                  "Penalty": str(command.penalty)}
        if command.member_name:
            fields["MemberName"] = command.member_name
        if command.state_interface:
            fields["StateInterface"] = command.state_interface
        reply = await session.link.action("QueueAdd", fields)
        rows = await self._member_rows(session, command.interface, command.queue)
        if command.queue not in rows:
            return PerformOutcome(False, "read-back: member not listed after QueueAdd",
                                  _reply(reply), {})
        undo = RemoveMember(pbx=command.pbx, queue=command.queue, interface=command.interface)
        return PerformOutcome(True, f"Asterisk lists {command.interface} in {command.queue}",
                              _reply(reply), {"member": rows[command.queue]}, undo)

    async def _remove(self, session: PbxSession, command: RemoveMember) -> PerformOutcome:
        before = await self._member_rows(session, command.interface, command.queue)
        reply = await session.link.action(
            "QueueRemove", {"Queue": command.queue, "Interface": command.interface}
        )
        rows = await self._member_rows(session, command.interface, command.queue)
        if command.queue in rows:
            return PerformOutcome(False, "read-back: member still listed", _reply(reply),
                                  {"member": rows[command.queue]})
        undo = None
        row = before.get(command.queue)
        if row is not None:
            undo = AddMember(
                pbx=command.pbx, queue=command.queue, interface=command.interface,
                member_name=row.get("Name") or None,
                penalty=int(row.get("Penalty") or 0),
                state_interface=row.get("StateInterface") or None,
            )
        return PerformOutcome(True, f"Asterisk no longer lists {command.interface} in "
                              f"{command.queue}", _reply(reply), {}, undo)

    async def _penalty(self, session: PbxSession, command: SetPenalty) -> PerformOutcome:
        before = await self._member_rows(session, command.interface, command.queue)
        fields = {"Interface": command.interface, "Penalty": str(command.penalty)}
        if command.queue:
            fields["Queue"] = command.queue
        reply = await session.link.action("QueuePenalty", fields)
        rows = await self._member_rows(session, command.interface, command.queue)
        wrong = sorted(q for q, r in rows.items() if r.get("Penalty") != str(command.penalty))
        readback = {q: {"penalty": r.get("Penalty")} for q, r in rows.items()}
        if not rows or wrong:
            return PerformOutcome(False, f"read-back disagrees in {', '.join(wrong) or 'all'}",
                                  _reply(reply), readback)
        olds = {r.get("Penalty") for r in before.values()}
        undo = None
        if len(olds) == 1:
            old = olds.pop()
            undo = SetPenalty(pbx=command.pbx, queue=command.queue, interface=command.interface,
                              penalty=int(old or 0))
        return PerformOutcome(True, f"Asterisk confirms penalty {command.penalty}",
                              _reply(reply), readback, undo)

    # ------------------------------------------------------------------ routing flags

    async def _db_get(self, session: PbxSession, family: str, key: str) -> str | None:
        try:
            result = await session.link.list_action("DBGet", {"Family": family, "Key": key})
        except AmiActionError as exc:
            if "not found" in exc.text:
                return None
            raise
        for item in result.items:
            if item.event == "DBGetResponse":
                return item.get("Val")
        return None

    async def _flag(
        self, session: PbxSession, command: SetRoutingFlag | ClearRoutingFlag
    ) -> PerformOutcome:
        family = session.config.routing_family
        key = flag_key(command.kind.value, command.target)
        before = await self._db_get(session, family, key)
        if isinstance(command, SetRoutingFlag):
            reply = await session.link.action(
                "DBPut", {"Family": family, "Key": key, "Val": command.value}
            )
            want: str | None = command.value
        else:
            try:
                reply = await session.link.action("DBDel", {"Family": family, "Key": key})
            except AmiActionError as exc:
                # A key already gone (cleared outside ccops, or the PBX rebuilt) is what a
                # clear wants, but Asterisk 22 answers its DBDel "Database entry could not
                # be deleted": when the key was absent before, the read-back below decides.
                gone = before is None or "not found" in exc.text.lower()
                if not gone and "not exist" not in exc.text.lower():
                    raise
                reply = exc.response
            want = None
        now = await self._db_get(session, family, key)
        if now is None:  # a missing key never reaches the model as a list item
            session.apply(DbEntry(pbx=session.name, at=session.clock.now(), family=family,
                                  key=key, value=None))
        device_note = await self._set_device(session, command.kind.value, command.target,
                                             want is not None)
        readback = {"family": family, "key": key, "value": now, "previous": before}
        if now != want:
            return PerformOutcome(False, f"read-back: AstDB {family}/{key} = {now!r}, "
                                  f"expected {want!r}", _reply(reply), readback)
        undo: Command | None
        if before is None:
            undo = ClearRoutingFlag(pbx=command.pbx, kind=command.kind, target=command.target)
        else:
            duration = command.expected_duration() or 60
            undo = SetRoutingFlag(pbx=command.pbx, kind=command.kind, target=command.target,
                                  value=before, expected_duration_min=duration)
        state = "on" if want is not None else "off"
        return PerformOutcome(
            True,
            f"Asterisk confirms {command.kind.value} for {command.target} is {state}"
            f" ({family}/{key} = {now!r}){device_note}",
            _reply(reply), readback, undo,
        )

    async def _set_device(self, session: PbxSession, kind: str, target: str, on: bool) -> str:
        device = flag_device(kind, target)
        try:
            await session.link.action(
                "Setvar",
                {"Variable": f"DEVICE_STATE({device})", "Value": "INUSE" if on else "NOT_INUSE"},
            )
        except AmiError as exc:
            return f"; BLF lamp {device} not set: {exc}"
        return ""

    # ------------------------------------------------------------------ alerts

    async def _acknowledge(self, command: AcknowledgeAlert) -> PerformOutcome:
        if self._ack is None:
            return PerformOutcome(False, "alerts are not available")
        ok = await self._ack(command.alert_id, "")
        if not ok:
            return PerformOutcome(False, f"alert {command.alert_id} is not active")
        return PerformOutcome(True, f"alert {command.alert_id} acknowledged")
