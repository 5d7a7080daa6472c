"""Undoing an incident's PBX changes at closure: what each change is, and running its undo.

Why a module of its own: an incident's PBX steps record the undo ids the executor gave
them; at closure the team leader needs each open one in words ("overflow hotline →
voicemail, since 10:04 by li; undo sets it off"), and "undo and close" must run each undo
through exactly the path an operator's undo from ``:routing`` takes — ``execute(operator,
command)``: authorised for that operator, journalled, audited, performed by the PBX
performer, which reads the result back from Asterisk. A successful undo on the same subject
closes the undo record (the store's supersede rule), which is what the closure gate checks.

Nothing here talks AMI or the store directly: the caller passes the executor's ``execute``
and a lookup, so the same code runs against the real PBX, the simulator (drills) and fakes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ccops.core.commands import Command, CommandError, parse_command
from ccops.core.execute import CommandResult, Operator
from ccops.store.records import UndoRecord, UndoSpec

RunCommand = Callable[[Operator, Command], Awaitable[CommandResult]]
StillOpen = Callable[[int], Awaitable[bool]]

_FLAG_ACTIONS = ("set_routing_flag", "clear_routing_flag")


def _hhmmss(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at))


def change_text(action: str, params: Mapping[str, Any]) -> str:
    """A PBX change in a few words, as a team leader says it ("overflow hotline → on")."""
    p = dict(params)
    where = p.get("queue") or "all queues"
    iface = p.get("interface", "?")
    if action in _FLAG_ACTIONS:
        kind = str(p.get("kind", "flag")).replace("_", " ")
        value = p.get("value", "on") if action == "set_routing_flag" else "off"
        return f"{kind} {p.get('target', '?')} → {value}"
    if action == "pause_member":
        return f"pause {iface} in {where} ({p.get('reason', '?')})"
    if action == "unpause_member":
        return f"unpause {iface} in {where}"
    if action == "add_member":
        return f"add {iface} to {p.get('queue', '?')}"
    if action == "remove_member":
        return f"remove {iface} from {p.get('queue', '?')}"
    if action == "set_penalty":
        return f"penalty of {iface} in {where} → {p.get('penalty', '?')}"
    try:
        return parse_command(action, p).summary()
    except CommandError:
        return action


def undo_text(spec: UndoSpec) -> str:
    """What the undo will set: "off" / "back to 'night'" for a flag, else the undo itself."""
    if spec.action in _FLAG_ACTIONS:
        return "off" if spec.previous_value is None else f"back to {spec.previous_value!r}"
    return change_text(spec.undo_command, spec.undo_params)


def asterisk_says(result: CommandResult) -> str:
    """What Asterisk reported after the undo: the AstDB value read back for a flag, else the
    performer's own read-back sentence ("Asterisk confirms PJSIP/1001 unpaused in …")."""
    rb = dict(result.readback or {})
    if "family" in rb and "key" in rb:
        value = rb.get("value")
        return "Asterisk now says " + ("off" if value is None else repr(value))
    return result.detail


@dataclass(frozen=True, slots=True)
class OpenChange:
    """One PBX change made by an incident's step whose undo record is still open."""

    step_id: str
    record: UndoRecord

    @property
    def undo_id(self) -> int:
        return self.record.id

    @property
    def what(self) -> str:
        return change_text(self.record.spec.action, self.record.spec.params)

    @property
    def undo(self) -> str:
        return undo_text(self.record.spec)

    def where(self) -> str:
        """The change with its step and time, for "still in place" sentences."""
        spec = self.record.spec
        return f"{self.what} (step {self.step_id}, since {_hhmmss(spec.at)} by {spec.operator})"

    def undo_command(self) -> Command:
        """The recorded undo as a command (raises :class:`CommandError` if it no longer
        validates, e.g. a record written by an older version)."""
        spec = self.record.spec
        return parse_command(spec.undo_command, spec.undo_params)

    def as_dict(self) -> dict[str, Any]:
        """For the console's close dialog: what, since when, by whom, what undo sets."""
        spec = self.record.spec
        return {
            "step": self.step_id, "undo_id": self.undo_id, "pbx": spec.pbx, "what": self.what,
            "since": spec.at, "by": spec.operator, "undo": self.undo,
            "undo_command": spec.undo_command, "undo_params": dict(spec.undo_params),
            "due_at": spec.due_at,
        }  # fmt: skip


def most_recent_first(changes: list[OpenChange]) -> list[OpenChange]:
    """Undo order: the newest change first, so each undo restores the state it replaced."""
    return sorted(changes, key=lambda c: (c.record.spec.at, c.undo_id), reverse=True)


@dataclass(frozen=True, slots=True)
class UndoOutcome:
    """One undo as it went: ``ok`` only when Asterisk confirmed it and the record closed."""

    change: OpenChange
    ok: bool
    detail: str  # the executor's detail (the performer's read-back sentence or the refusal)
    says: str  # what Asterisk reported, for the timeline ("Asterisk now says off")
    audit_seq: int | None
    readback: Mapping[str, Any] | None = None


async def undo_change(
    run: RunCommand, operator: Operator, change: OpenChange, still_open: StillOpen
) -> UndoOutcome:
    """Run one recorded undo for ``operator`` through ``run`` (the executor)."""
    try:
        command = change.undo_command()
    except CommandError as exc:
        return UndoOutcome(change, False, "the recorded undo is not a valid command: "
                           + "; ".join(exc.problems), "", None)
    result = await run(operator, command)
    if not result.ok:
        return UndoOutcome(change, False, result.detail, "", result.audit_seq, result.readback)
    if await still_open(change.undo_id):  # the supersede rule did not apply: say so
        return UndoOutcome(change, False, f"{result.detail}, but undo record {change.undo_id} "
                           "is still open", asterisk_says(result), result.audit_seq,
                           result.readback)
    return UndoOutcome(change, True, result.detail, asterisk_says(result), result.audit_seq,
                       result.readback)


def outcomes_readback(outcomes: list[UndoOutcome]) -> dict[str, Any]:
    """The close command's read-back: per undo, the change, what Asterisk says, its audit."""
    return {
        f"undo {o.change.undo_id}": {
            "change": o.change.what, "step": o.change.step_id, "ok": o.ok,
            "asterisk": o.says or o.detail, "audit_seq": o.audit_seq,
        }
        for o in outcomes
    }  # fmt: skip
