"""Originate, and the simulated phones that answer it (the paging/acknowledgement hook).

Asterisk's async Originate always answers "Originate successfully queued"; the outcome is
an ``OriginateResponse`` event broadcast to every session with the originator's ActionID
(notes 6 and 7): ``Reason: 4`` when answered, ``Reason: 0`` with ``Uniqueid: <unknown>``
when no channel could be made, 3 for no answer, 5 for busy.

**Paging hook.** Every originated call reaches a :class:`Phone` chosen by extension from a
:class:`PhoneBook`. A phone may answer after a delay and press a digit; a press produces
``DTMFBegin``/``DTMFEnd`` and then the acknowledgement event a paging dialplan would raise::

    Event: UserEvent
    ...channel snapshot of the originated ;1 channel...
    UserEvent: CcopsPageAck
    Digit: 1
    PageId: <value of the Originate variable CCOPS_PAGE_ID>
    CCOPS_PAGE_ID: <the same>

(every Originate ``Variable:`` whose name starts with ``CCOPS_`` is echoed). As in the
shipped ``config/asterisk/extensions_ccops_page.conf``, on a page (an Originate with
``CCOPS_PAGE_ID``) only 1 acknowledges: another key gives ``CcopsPageNoAck`` with
``Reason: digit``, and a phone that answers and presses nothing gives ``CcopsPageNoAck``
with ``Reason: timeout`` before the hang-up. The ``echo``
extension of context ``originate`` answers and raises ``UserEvent: CcopsOriginated`` like
the test tier's dialplan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ccops.sim.model import RINGING, UP, Channel

if TYPE_CHECKING:
    from ccops.sim.engine import Engine

PAGE_ACK_EVENT = "CcopsPageAck"
PAGE_NOACK_EVENT = "CcopsPageNoAck"
PAGE_ID_VAR = "CCOPS_PAGE_ID"


@dataclass(frozen=True)
class Phone:
    """How one simulated phone reacts to a call."""

    answer: bool = True
    busy: bool = False
    answer_after: tuple[float, float] = (2.0, 6.0)
    digit: str | None = "1"
    digit_after: tuple[float, float] = (3.0, 8.0)
    hangup_after: float = 2.0


@dataclass
class PhoneBook:
    """Phones by extension (or endpoint name); others behave like ``default``."""

    default: Phone = field(default_factory=Phone)
    phones: dict[str, Phone] = field(default_factory=dict)

    def program(self, extension: str, **changes: object) -> Phone:
        """Set how ``extension`` reacts, e.g. ``program("2001", answer=False)``."""
        base = self.phones.get(extension, self.default)
        phone = replace(base, **changes)  # type: ignore[arg-type]
        self.phones[extension] = phone
        return phone

    def get(self, extension: str) -> Phone:
        return self.phones.get(extension, self.default)


@dataclass
class OriginateRequest:
    """The fields of an Originate action the sim uses."""

    channel: str
    action_id: str = ""
    context: str = ""
    exten: str = ""
    priority: str = "1"
    application: str = ""
    data: str = ""
    timeout_ms: int = 30000
    callerid: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    channel_id: str = ""
    other_channel_id: str = ""


def split_callerid(text: str) -> tuple[str, str]:
    """``"Name" <number>`` → (number, name) as Asterisk's ast_callerid_parse does."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        return number.strip(), name.strip().strip('"')
    if text.replace("+", "").isdigit():
        return text, ""
    return "", text


class Originator:
    """Runs Originate requests against the engine and the phone book."""

    def __init__(self, engine: Engine, phones: PhoneBook) -> None:
        self.e = engine
        self.phones = phones

    def start(self, req: OriginateRequest, done: Callable[[bool], None] | None = None) -> None:
        """Begin an originate; ``done(success)`` is called once the outcome is known."""
        e = self.e
        e.stats.originates += 1
        target = self._resolve(req.channel)
        if target is None:
            e.sched.call_later(0.05, self._respond, req, None, 0, done)
            return
        kind, ext, ctx = target
        phone = self.phones.get(ext)
        if kind == "pjsip-down":
            e.sched.call_later(0.05, self._respond, req, None, 0, done)
            return
        num, name = split_callerid(req.callerid)
        if kind == "local":
            n1, n2 = e.local_pair_names(ext, ctx)
            one = e.new_channel(
                n1,
                context=ctx,
                exten=ext,
                cid_num=num,
                cid_name=name,
                uniqueid=req.channel_id or None,
            )
            two = e.new_channel(
                n2,
                context=ctx,
                exten=ext,
                cid_num=num,
                cid_name=name,
                linkedid=one.linkedid,
                uniqueid=req.other_channel_id or None,
            )
            e.local_bridge(one, two)
            e.newexten(two, "Dial", ext, 1)
            legs = [one, two]
        else:
            one = e.new_channel(
                e.pjsip_channel_name(ext),
                context=req.context or "default",
                exten=req.exten or "s",
                cid_num=num,
                cid_name=name,
                uniqueid=req.channel_id or None,
                trunk=ctx if kind == "trunk" else None,
            )
            legs = [one]
        for key, value in req.variables.items():
            e.varset(one, key, value)
        if phone.busy:
            e.sched.call_later(0.5, self._fail, req, legs, 5, 17, done)
            return
        e.sched.call_later(0.3, self._ringing, legs)
        delay = e.rng.uniform(*phone.answer_after)
        if not phone.answer or delay * 1000 >= req.timeout_ms:
            e.sched.call_later(req.timeout_ms / 1000.0, self._fail, req, legs, 3, 19, done)
            return
        e.sched.call_later(delay, self._answered, req, legs, phone, done)

    def _resolve(self, channel: str) -> tuple[str, str, str] | None:
        """(kind, extension, context-or-trunk) for a dial string, or None if unusable."""
        tech, _, rest = channel.partition("/")
        tech = tech.lower()
        e = self.e
        if tech == "local" and "@" in rest:
            ext, _, ctx = rest.partition("@")
            ctx = ctx.split("/", 1)[0]
            if ext and ctx:
                return "local", ext, ctx
            return None
        if tech == "pjsip" and rest:
            number, at, endpoint = rest.partition("@")
            name = endpoint if at else number
            if name in e.trunks:
                trunk = e.trunks[name]
                return ("trunk" if trunk.reachable else "pjsip-down"), number or name, name
            if name in e.desks:
                desk = e.desks[name]
                return ("desk" if desk.registered else "pjsip-down"), name, name
            if not at and name in self.phones.phones:
                # a phone a scenario programmed (``[phones.2001]``) is an endpoint of that
                # name, as the on-call roster's ``extension`` dials it: PJSIP/2001
                return "desk", name, name
            return None
        return None

    def _ringing(self, legs: list[Channel]) -> None:
        for chan in legs:
            if chan.alive and chan.state != UP:
                self.e.set_state(chan, RINGING)

    def _fail(
        self,
        req: OriginateRequest,
        legs: list[Channel],
        reason: int,
        cause: int,
        done: Callable[[bool], None] | None,
    ) -> None:
        for chan in legs:
            self.e.hangup(chan, cause)
        self._respond(req, None, reason, done)

    def _answered(
        self,
        req: OriginateRequest,
        legs: list[Channel],
        phone: Phone,
        done: Callable[[bool], None] | None,
    ) -> None:
        e = self.e
        one = legs[0]
        if not one.alive:
            return
        for chan in reversed(legs):
            e.set_state(chan, UP)
        self._respond(req, one, 4, done)
        if req.application:
            e.newexten(one, req.application, req.data)
        else:
            e.goto(one, req.context or one.context, req.exten or one.exten)
            prio = int(req.priority) if req.priority.isdigit() else 1
            e.newexten(one, "Answer", "", prio)
        if req.context == "originate" and req.exten == "echo":
            e.user_event(one, "CcopsOriginated", [("Channel", one.name)])
            e.sched.call_later(2.0, self._hangup_all, legs)
            return
        if phone.digit is not None:
            wait = e.rng.uniform(*phone.digit_after)
            e.sched.call_later(wait, self._press, req, legs, phone.digit, phone.hangup_after)
            return
        e.sched.call_later(phone.hangup_after + 5.0, self._no_key, req, legs)

    def _no_key(self, req: OriginateRequest, legs: list[Channel]) -> None:
        """Nobody pressed anything: a page's dialplan says so before hanging up."""
        if legs[0].alive and PAGE_ID_VAR in req.variables:
            self.e.user_event(legs[0], PAGE_NOACK_EVENT,
                              [("Digit", ""), ("Reason", "timeout"), *self._page_fields(req)])
        self._hangup_all(legs)

    @staticmethod
    def _page_fields(req: OriginateRequest) -> list[tuple[str, str]]:
        """``PageId`` as the shipped dialplan sends it, then every ``CCOPS_`` variable."""
        fields = [("PageId", req.variables[PAGE_ID_VAR])] if PAGE_ID_VAR in req.variables else []
        fields.extend(
            (k, v) for k, v in sorted(req.variables.items()) if k.upper().startswith("CCOPS_")
        )
        return fields

    def _press(
        self, req: OriginateRequest, legs: list[Channel], digit: str, hangup_after: float
    ) -> None:
        e = self.e
        one = legs[0]
        if not one.alive:
            return
        e.dtmf(one, digit)
        e.varset(one, "ACK", digit)
        # The paging dialplan acknowledges only 1; another key is a refusal (NoAck).
        is_page = PAGE_ID_VAR in req.variables
        name = PAGE_ACK_EVENT if digit == "1" or not is_page else PAGE_NOACK_EVENT
        extra = [] if name == PAGE_ACK_EVENT else [("Reason", "digit")]
        e.user_event(one, name, [("Digit", digit), *extra, *self._page_fields(req)])
        e.sched.call_later(hangup_after, self._hangup_all, legs)

    def _hangup_all(self, legs: list[Channel]) -> None:
        for chan in legs:
            self.e.hangup(chan, 16)

    def _respond(
        self,
        req: OriginateRequest,
        chan: Channel | None,
        reason: int,
        done: Callable[[bool], None] | None,
    ) -> None:
        num, name = split_callerid(req.callerid)
        ident = f"ActionID: {req.action_id}\r\n" if req.action_id else ""
        uniqueid = chan.uniqueid if chan is not None else (req.channel_id or "<unknown>")
        target = (
            f"Application: {req.application}\r\nData: {req.data}\r\n"
            if req.application
            else f"Context: {req.context}\r\nExten: {req.exten}\r\n"
        )
        self.e.bus.emit(
            "OriginateResponse",
            2,
            f"{ident}Response: {'Success' if chan is not None else 'Failure'}\r\n"
            f"Channel: {chan.name if chan is not None else req.channel}\r\n{target}"
            f"Reason: {reason}\r\nUniqueid: {uniqueid}\r\n"
            f"CallerIDNum: {num or '<unknown>'}\r\nCallerIDName: {name or '<unknown>'}\r\n",
        )
        if done is not None:
            done(chan is not None)


def future_callback(fut: asyncio.Future[bool]) -> Callable[[bool], None]:
    """A ``done`` callback that resolves a future once (for synchronous Originate)."""

    def _done(ok: bool) -> None:
        if not fut.done():
            fut.set_result(ok)

    return _done


__all__ = [
    "PAGE_ACK_EVENT",
    "PAGE_ID_VAR",
    "PAGE_NOACK_EVENT",
    "OriginateRequest",
    "Originator",
    "Phone",
    "PhoneBook",
    "future_callback",
    "split_callerid",
]
