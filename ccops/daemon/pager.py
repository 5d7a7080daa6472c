"""Phone paging through the PBX: ``await pager.page(person, message, ref)`` → :class:`PageResult`.

The incident engine (and the ``page_person`` command) call this to make the on-call
engineer's phone ring and learn whether they pressed 1. Per call placed:

1. the policy in :mod:`ccops.core.paging` is asked first: the deny-list for every number of
   the person (refused before any action is sent) and the rate limits;
2. ``Originate`` goes out with ``Async: true``, a ``ChannelId`` we chose and the variables
   the dialplan echoes (``CCOPS_PAGE_ID``...). Async Originate always answers "queued"; the
   outcome is the ``OriginateResponse`` event, broadcast to every AMI session with the
   originator's ActionID (asterisk-22-notes 6, 7). It is matched by our ActionID (the
   link's prefix makes it ours) or by the ``ChannelId`` (which becomes the Uniqueid). It
   can arrive in the same read as the "queued" response, before ``action()`` returns, so
   responses for ActionIDs not yet known are parked briefly;
3. on answer, the ``[ccops-page]`` dialplan plays the message and reads a key; its
   ``UserEvent`` arrives normalised as :class:`~ccops.core.events.PageResponse`;
4. no answer, no key, or a failure: retry (up to ``max_attempts``, alternating the
   person's numbers, with backoff). A lost link leaves the call's fate unknown: that page
   stops there, because the AMI link never re-sends an action and neither do we blindly
   (the phone may be ringing).

Every step is published (``on_event``) for consoles and the incident timeline; the final
result goes to the audit log when the caller asks for it (the command path is audited by
the executor already).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ccops.config import OnCallPerson, PagingConfig
from ccops.core.audit import AuditEntry, AuditResult
from ccops.core.clock import Clock
from ccops.core.commands import PagePerson
from ccops.core.events import Event, OriginateResult, PageResponse
from ccops.core.execute import PerformOutcome
from ccops.core.paging import (
    ORIGINATE_GRACE_S,
    AttemptOutcome,
    PageAttempt,
    PageOutcome,
    PageResult,
    PageTarget,
    PagingRefused,
    RateLimiter,
    backoff,
    check_denied,
    originate_reason,
    target_for_attempt,
    targets,
)
from ccops.pbx.errors import AmiActionError, AmiConnectionLost, AmiNotConnected, AmiTimeout
from ccops.pbx.message import AmiMessage

log = logging.getLogger(__name__)

#: OriginateResponses for ActionIDs we have not learnt yet (the race in step 2), kept this
#: many at most.
MAX_PARKED = 64


class PageEventKind(enum.StrEnum):
    """What the pager tells consoles and the incident timeline."""

    DIALING = "dialing"  # an attempt was sent
    ANSWERED = "answered"  # PageAnswered: the phone was picked up
    ACKNOWLEDGED = "acknowledged"  # PageAcknowledged: 1 was pressed (final)
    ATTEMPT_FAILED = "attempt_failed"  # no answer / busy / no key; a retry may follow
    FAILED = "failed"  # PageFailed: final, not acknowledged
    REFUSED = "refused"  # never dialled: deny-list, rate limit, unknown person


@dataclass(frozen=True, slots=True)
class PageEvent:
    kind: PageEventKind
    result: PageResult
    attempt: PageAttempt | None = None

    def as_dict(self) -> dict[str, Any]:
        """The frame pushed to every console. Phone numbers and dial strings are left out:
        wallboards and viewers get these frames too; the audit log keeps them."""
        page = self.result.as_dict()
        for attempt in page["attempts"]:
            attempt.pop("number", None)
            attempt.pop("channel", None)
        return {
            "type": "page",
            "change": self.kind.value,
            "attempt": self.attempt.n if self.attempt else None,
            "page": page,
        }


class _Link(Protocol):
    async def action(
        self, name: str, fields: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> AmiMessage: ...


class _Session(Protocol):
    @property
    def link(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asked for the page, for the audit record."""

    operator: str = "ccops"
    role: str = "system"
    session_id: str = "daemon"
    via: str = "local"


class _Call:
    """One Originate in flight."""

    def __init__(self, page: _Page, attempt: PageAttempt) -> None:
        loop = asyncio.get_running_loop()
        self.page = page
        self.attempt = attempt
        self.originated: asyncio.Future[OriginateResult] = loop.create_future()
        self.action_id = ""


class _Page:
    def __init__(self, result: PageResult) -> None:
        self.result = result
        self.verdict: asyncio.Future[PageResponse] = asyncio.get_running_loop().create_future()
        self.current: _Call | None = None


class Pager:
    """Pages people from the on-call roster over the daemon's PBX sessions."""

    def __init__(
        self,
        config: PagingConfig,
        roster: list[OnCallPerson],
        sessions: Mapping[str, _Session],
        clock: Clock,
        *,
        on_event: Callable[[PageEvent], None] | None = None,
        audit: Callable[[AuditEntry], Awaitable[Any]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.roster = {p.name: p for p in roster}
        self.sessions = sessions
        self.clock = clock
        self.limits = RateLimiter(config, clock)
        self._on_event = on_event
        self._listeners: list[Callable[[PageEvent], None]] = []
        self._audit = audit
        self._sleep = sleep
        self._calls_by_channel: dict[str, _Call] = {}
        self._calls_by_action: dict[str, _Call] = {}
        self._pages: dict[str, _Page] = {}
        self._parked: OrderedDict[str, OriginateResult] = OrderedDict()
        self.results: list[PageResult] = []  # finished pages, newest last (bounded)

    # ------------------------------------------------------------------ wiring

    def subscribe(self, listener: Callable[[PageEvent], None]) -> None:
        """Call ``listener`` for every page event (the incident engine's timeline)."""
        self._listeners.append(listener)

    def on_pbx_event(self, event: Event) -> None:
        """Feed every normalised PBX event here (cheap for the ones we ignore)."""
        if isinstance(event, OriginateResult):
            self._originated(event)
        elif isinstance(event, PageResponse):
            self._verdict(event)

    def _originated(self, event: OriginateResult) -> None:
        call = self._calls_by_action.get(event.action_id) or (
            self._calls_by_channel.get(event.uniqueid) if event.uniqueid else None
        )
        if call is None:
            if event.action_id and self._could_be_ours(event.action_id):
                self._parked[event.action_id] = event
                while len(self._parked) > MAX_PARKED:
                    self._parked.popitem(last=False)
            return
        if not call.originated.done():
            call.originated.set_result(event)

    def _could_be_ours(self, action_id: str) -> bool:
        for session in self.sessions.values():
            prefix = getattr(session.link, "id_prefix", "")
            if prefix and action_id.startswith(prefix):
                return True
        return False

    def _verdict(self, event: PageResponse) -> None:
        page = self._pages.get(event.page_id)
        if page is None or page.verdict.done():
            return
        call = page.current
        if not event.acknowledged and call is not None and event.uniqueid and (
            event.uniqueid != call.attempt.channel_id
        ):
            return  # a NoAck from an earlier attempt's call: it was already counted
        page.verdict.set_result(event)

    def _emit(self, kind: PageEventKind, result: PageResult,
              attempt: PageAttempt | None = None) -> None:
        event = PageEvent(kind, result, attempt)
        for listener in (self._on_event, *self._listeners):
            if listener is None:
                continue
            try:
                listener(event)
            except Exception:
                log.exception("page event listener failed")

    # ------------------------------------------------------------------ the API

    def person(self, name: str) -> OnCallPerson | None:
        return self.roster.get(name)

    async def page(
        self,
        person: str,
        message: str = "",
        ref: str = "",
        *,
        caller: Caller | None = None,
        audit: bool = True,
    ) -> PageResult:
        """Page ``person`` (a roster name) until acknowledged or out of attempts.

        Never raises for a refused or failed page: the result says what happened. ``ref``
        ties the page to its incident or step; ``message`` is recorded (the phone plays the
        configured sound: there is no text-to-speech).
        """
        now = self.clock.now()
        page_id = f"pg-{secrets.token_hex(6)}"
        result = PageResult(page_id=page_id, person=person, ref=ref, message=message,
                            requested_at=now)
        try:
            await self._run(result)
        except PagingRefused as exc:
            result.outcome = PageOutcome.REFUSED
            result.detail = str(exc)
            self._emit(PageEventKind.REFUSED, result)
        finally:
            self._pages.pop(page_id, None)
        self.results.append(result)
        del self.results[:-200]
        if audit and self._audit is not None:
            await self._record(result, caller or Caller())
        return result

    async def _run(self, result: PageResult) -> None:
        who = self.roster.get(result.person)
        if who is None:
            known = ", ".join(sorted(self.roster)) or "none configured"
            raise PagingRefused(f"{result.person!r} is not on the on-call roster ({known})")
        plan = targets(who, self.config)
        check_denied(plan, self.config)  # before anything is sent
        session_name = who.pbx or self.config.pbx or next(iter(self.sessions), None)
        session = self.sessions.get(session_name or "")
        if session is None:
            raise PagingRefused(f"no PBX named {session_name!r} to page through")
        result.pbx = session_name or ""
        result.simulated = bool(getattr(getattr(session, "config", None), "simulated", False))
        self.limits.check(who.name)
        page = _Page(result)
        self._pages[result.page_id] = page
        answered_once = False
        for n in range(1, self.config.max_attempts + 1):
            if n > 1:
                try:
                    self.limits.check(who.name)
                except PagingRefused as exc:
                    result.detail = f"stopped after {n - 1} calls: {exc}"
                    break
            attempt = await self._attempt(page, session, n, target_for_attempt(plan, n))
            if attempt.outcome is AttemptOutcome.ACKNOWLEDGED:
                result.outcome = PageOutcome.ACKNOWLEDGED
                result.detail = f"{who.name} pressed 1 on call {n} ({attempt.target.kind})"
                self._emit(PageEventKind.ACKNOWLEDGED, result, attempt)
                return
            answered_once = answered_once or attempt.answered_at is not None
            self._emit(PageEventKind.ATTEMPT_FAILED, result, attempt)
            if attempt.outcome is AttemptOutcome.UNKNOWN:
                result.detail = (f"call {n}: {attempt.reason}; not retried, so the phone "
                                 "cannot ring twice: page again by hand if needed")
                break
            if n < self.config.max_attempts:
                await self._sleep(backoff(self.config, n))
                if page.verdict.done() and page.verdict.result().acknowledged:
                    break  # a late press of 1 on an earlier call
        late = page.verdict.done() and page.verdict.result().acknowledged
        if late:
            event = page.verdict.result()
            result.outcome = PageOutcome.ACKNOWLEDGED
            result.acknowledged_at = event.at
            result.digit = event.digit
            result.detail = f"{who.name} pressed 1 (late, on an earlier call)"
            self._emit(PageEventKind.ACKNOWLEDGED, result)
            return
        result.outcome = (PageOutcome.NOT_ACKNOWLEDGED if answered_once
                          else PageOutcome.FAILED)
        calls = len(result.attempts)
        last = result.attempts[-1].reason if result.attempts else ""
        summary = (f"answered but not acknowledged after {calls} call(s)" if answered_once
                   else f"not reached in {calls} call(s)")
        result.detail = f"{summary}; last: {last}" + (
            f"; {result.detail}" if result.detail else "")
        self._emit(PageEventKind.FAILED, result)

    async def _attempt(
        self, page: _Page, session: _Session, n: int, target: PageTarget
    ) -> PageAttempt:
        result = page.result
        attempt = PageAttempt(n=n, target=target, started_at=self.clock.now(),
                              channel_id=f"{result.page_id}-{n}")
        result.attempts.append(attempt)
        call = _Call(page, attempt)
        page.current = call
        if page.verdict.done():  # a NoAck from the previous call: start afresh
            page.verdict = asyncio.get_running_loop().create_future()
        self._calls_by_channel[attempt.channel_id] = call
        try:
            return await self._place(call, session, target)
        finally:
            attempt.ended_at = attempt.ended_at or self.clock.now()
            self._calls_by_channel.pop(attempt.channel_id, None)
            self._calls_by_action.pop(call.action_id, None)
            page.current = None

    async def _place(self, call: _Call, session: _Session, target: PageTarget) -> PageAttempt:
        cfg = self.config
        attempt = call.attempt
        page = call.page
        fields: dict[str, Any] = {
            "Channel": target.channel,
            "Context": cfg.context,
            "Exten": "s",
            "Priority": "1",
            "Async": "true",
            "Timeout": str(cfg.ring_timeout_s * 1000),
            "CallerID": cfg.caller_id,
            "ChannelId": attempt.channel_id,
            "Variable": [
                f"CCOPS_PAGE_ID={page.result.page_id}",
                f"CCOPS_PAGE_ATTEMPT={attempt.n}",
                f"CCOPS_PAGE_SOUND={cfg.message_sound}",
                f"CCOPS_PAGE_PROMPT={cfg.prompt_sound}",
                f"CCOPS_PAGE_TRIES={cfg.prompt_tries}",
                f"CCOPS_PAGE_WAIT={cfg.digit_timeout_s}",
            ],
        }
        self.limits.record(page.result.person)
        self._emit(PageEventKind.DIALING, page.result, attempt)
        try:
            reply = await session.link.action("Originate", fields)
        except AmiNotConnected as exc:
            return _ended(attempt, AttemptOutcome.FAILED, f"not sent: {exc}")
        except AmiActionError as exc:
            return _ended(attempt, AttemptOutcome.FAILED, f"Asterisk refused: {exc.text}")
        except (AmiTimeout, AmiConnectionLost) as exc:
            return _ended(attempt, AttemptOutcome.UNKNOWN, f"outcome unknown: {exc}")
        call.action_id = reply.action_id
        self._calls_by_action[call.action_id] = call
        parked = self._parked.pop(call.action_id, None)
        if parked is not None and not call.originated.done():
            call.originated.set_result(parked)
        wait = cfg.ring_timeout_s + ORIGINATE_GRACE_S
        try:
            outcome = await asyncio.wait_for(asyncio.shield(call.originated), wait)
        except TimeoutError:
            return _ended(attempt, AttemptOutcome.UNKNOWN,
                          f"no OriginateResponse within {wait:g} s (is read=call granted?)")
        if not outcome.success:
            return _ended(attempt, AttemptOutcome.FAILED, originate_reason(outcome.reason))
        attempt.answered_at = outcome.at
        self._emit(PageEventKind.ANSWERED, page.result, attempt)
        try:
            verdict = await asyncio.wait_for(asyncio.shield(page.verdict), cfg.ack_timeout_s)
        except TimeoutError:
            return _ended(attempt, AttemptOutcome.NO_ACK,
                          f"answered; no verdict from [{cfg.context}] within "
                          f"{cfg.ack_timeout_s:g} s")
        attempt.digit = verdict.digit
        if verdict.acknowledged:
            page.result.acknowledged_at = verdict.at
            page.result.digit = verdict.digit
            attempt.ended_at = verdict.at
            return _ended(attempt, AttemptOutcome.ACKNOWLEDGED, "pressed 1")
        why = {"digit": f"pressed {verdict.digit or '?'}, not 1", "timeout": "answered, no key",
               "hangup": "hung up before pressing 1"}.get(verdict.reason, "not acknowledged")
        return _ended(attempt, AttemptOutcome.NO_ACK, why)

    async def perform(self, command: PagePerson) -> PerformOutcome:
        """The ``page_person`` command (the executor journals and audits it)."""
        result = await self.page(command.person, command.message, command.ref or "",
                                 audit=False)
        return PerformOutcome(result.acknowledged, result.detail, None, result.as_dict())

    # ------------------------------------------------------------------ audit

    async def _record(self, result: PageResult, caller: Caller) -> None:
        assert self._audit is not None
        status = {PageOutcome.ACKNOWLEDGED: AuditResult.OK,
                  PageOutcome.REFUSED: AuditResult.REFUSED}.get(
            result.outcome or PageOutcome.FAILED, AuditResult.FAILED)
        entry = AuditEntry(
            at=self.clock.now(), operator=caller.operator, role=caller.role,
            session_id=caller.session_id, via=caller.via, action="page_person",
            params={"person": result.person, "message": result.message, "ref": result.ref},
            result=status, detail=result.detail, readback=result.as_dict(),
        )
        try:
            await self._audit(entry)
        except Exception:  # the page happened; a store failure must not hide its result
            log.exception("page %s: audit record failed", result.page_id)


def _ended(attempt: PageAttempt, outcome: AttemptOutcome, reason: str) -> PageAttempt:
    attempt.outcome = outcome
    attempt.reason = reason
    return attempt


__all__ = ["Caller", "PageEvent", "PageEventKind", "Pager"]
