"""The panoramisk 1.4 pieces of the AMI link, subclassed where 1.4 is unsafe.

What panoramisk gives us, used as is:

* :class:`panoramisk.Manager` — connection setup (``Manager.connect()`` runs
  ``loop.create_connection`` with our ``protocol_factory``, host, port and TLS settings)
  and :meth:`~panoramisk.Manager.close`;
* :class:`panoramisk.ami_protocol.AMIProtocol` — the transport bookkeeping
  (``connection_made`` sets ``transport``, ``closed``, the ``responses`` table);
* :class:`panoramisk.actions.Action` — the outgoing action: a header dict that serialises
  to AMI wire format (list values become repeated headers, e.g. Originate's ``Variable``)
  and carries the ``future`` its caller awaits.

What we replace, each for a fault measured in ``shared/research/panoramisk.md`` §3/§6:

* reading (``data_received``): bytes framing with a size cap and per-message recovery
  (:mod:`ccops.pbx.framing`) instead of per-chunk ``decode('ignore')`` and a connection
  that dies on one bad frame or one handler exception (F2b, F2c, F2f, F6a);
* completion rules: a list ends on its ``EventList: Complete`` event, an ``Error`` ends
  it at once, QueueAdd is an ordinary action (panoramisk's heuristics hang, F7);
* ``close`` / ``connection_lost``: pending actions FAIL with
  :class:`~ccops.pbx.errors.AmiConnectionLost` instead of being queued and re-sent after
  the next login (a re-sent Originate rings twice, F1b), and the Manager never reconnects
  on its own (F4a, F5a, F5c, F5e) — :class:`ccops.pbx.link.AmiLink` owns the lifecycle;
* ``send``: 1.4 logs the whole action on a write error (``%r`` of a Login shows the
  secret), so ours never logs action contents.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol

from ccops.pbx.counters import LinkCounters
from ccops.pbx.errors import AmiActionError, AmiConnectionLost
from ccops.pbx.message import AmiMessage

if TYPE_CHECKING:
    from ccops.pbx.framing import AmiFramer

log = logging.getLogger("ccops.pbx.link")

_SUCCESS = frozenset({"Success", "Follows", "Goodbye"})
# How many abandoned (timed-out) list actions we remember, to drop their late items.
_EXPIRED_MEMORY = 64

# What PendingAction.take() did with a message.
TAKE_MORE = 0  # the list's response: items follow
TAKE_DONE = 1  # the action is finished (result or error set)
TAKE_ITEM = 2  # a list item: deliver it with the list's name
TAKE_EVENT = 3  # an event about a single action: deliver it as an ordinary event
TAKE_STRAY = 4  # a second response to one action: count it, drop it

#: A field value: one header, or a list sent as the same header repeated (Variable: …).
FieldValue = str | Sequence[str]


class AmiListResult:
    """What a list action returned: its response, its items in order, its end marker."""

    __slots__ = ("complete", "items", "response")

    def __init__(
        self, response: AmiMessage, items: list[AmiMessage], complete: AmiMessage | None
    ) -> None:
        self.response = response
        self.items = items
        self.complete = complete

    def __repr__(self) -> str:
        end = self.complete.event if self.complete is not None else None
        return f"AmiListResult({len(self.items)} items, complete={end!r})"


def check_field(name: str, value: str) -> None:
    """Refuse CR/LF in an action: it would inject headers (or a whole second action)."""
    if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
        raise ValueError(f"AMI field {name[:40]!r}: CR/LF is not allowed in names or values")
    if not name or ":" in name:
        raise ValueError(f"AMI field name {name[:40]!r}: must be non-empty, without ':'")


class PendingAction(Action):  # type: ignore[misc]  # panoramisk ships no type hints
    """One action in flight: panoramisk's Action plus our completion rules.

    ``list_name`` is set for list actions (the name passed to ``on_message`` with each
    item). ``on_success`` runs synchronously when the response is routed, before the rest
    of the TCP read is processed (the link uses it to publish SYNCING right after Login).
    """

    def __init__(
        self,
        name: str,
        fields: Mapping[str, FieldValue] | None,
        action_id: str,
        *,
        list_name: str | None = None,
        complete_event: str | None = None,
        on_success: Callable[[AmiMessage], None] | None = None,
    ) -> None:
        check_field("Action", name)
        headers: dict[str, Any] = {"Action": name}
        for key, value in (fields or {}).items():
            if key.lower() in ("action", "actionid"):
                raise ValueError(f"{name}: field {key!r} is set by the link")
            if isinstance(value, str):
                check_field(key, value)
                headers[key] = value
            else:
                if not isinstance(value, list | tuple) or not all(
                    isinstance(v, str) for v in value
                ):
                    raise TypeError(f"{name}: field {key!r} must be a str or a list of str")
                values = list(value)
                for item in values:
                    check_field(key, item)
                headers[key] = values
        headers["ActionID"] = action_id
        super().__init__(headers)
        self.ami_name = name
        self.ami_id = action_id
        self.list_name = list_name
        self.complete_event = complete_event
        self.on_success = on_success
        self.response: AmiMessage | None = None
        self.rows: list[AmiMessage] = []

    @property
    def waiter(self) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = self.future
        return fut

    def wire(self) -> bytes:
        """The action as Asterisk reads it (panoramisk's serialisation)."""
        return str(self).encode("utf-8")

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)

    def take(self, msg: AmiMessage) -> int:
        """Route a message carrying our ActionID; returns one of the ``TAKE_*`` codes."""
        headers = msg.headers
        if "Event" not in headers:
            return self._take_response(msg)
        if self.list_name is None:
            return TAKE_EVENT  # an event about a single action (e.g. OriginateResponse)
        event = headers["Event"]
        list_state = headers.get("EventList")
        if (
            list_state == "Complete"
            or (self.complete_event is not None and event == self.complete_event)
            or (list_state is None and event.endswith("Complete"))
        ):
            self._resolve(AmiListResult(self._response_or(msg), self.rows, msg))
            return TAKE_DONE
        self.rows.append(msg)
        return TAKE_ITEM

    def _take_response(self, msg: AmiMessage) -> int:
        if self.response is not None:
            return TAKE_STRAY  # a second response to one action
        self.response = msg
        if msg.headers.get("Response") not in _SUCCESS:
            self.fail(AmiActionError(self.ami_name, msg))
            return TAKE_DONE
        if self.on_success is not None:
            self.on_success(msg)
        if self.list_name is None:
            self._resolve(msg)
            return TAKE_DONE
        if "EventList" not in msg.headers and "follow" not in msg.headers.get("Message", ""):
            # Success without a list announcement: the action produces no items.
            self._resolve(AmiListResult(msg, self.rows, None))
            return TAKE_DONE
        return TAKE_MORE

    def _response_or(self, msg: AmiMessage) -> AmiMessage:
        return self.response if self.response is not None else msg

    def _resolve(self, result: object) -> None:
        if not self.future.done():
            self.future.set_result(result)


class LinkHooks:
    """What one connection reports to its link (kept as plain callables for speed)."""

    __slots__ = (
        "counters",
        "framer",
        "on_callback_error",
        "on_frame_error",
        "on_message",
        "on_unmatched",
    )

    def __init__(
        self,
        *,
        framer: AmiFramer,
        on_message: Callable[[AmiMessage, str | None], None],
        on_callback_error: Callable[[AmiMessage, BaseException], None],
        on_frame_error: Callable[[str], None],
        on_unmatched: Callable[[AmiMessage], None],
        counters: LinkCounters,
    ) -> None:
        self.framer = framer
        self.on_message = on_message
        self.on_callback_error = on_callback_error
        self.on_frame_error = on_frame_error
        self.on_unmatched = on_unmatched
        self.counters = counters


class LinkProtocol(AMIProtocol):  # type: ignore[misc]  # panoramisk ships no type hints
    """One TCP connection to Asterisk. Created by the Manager through ``protocol_factory``,
    so it holds its hooks from construction on (1.4 sets ``factory`` only after
    ``create_connection`` returns, too late for data arriving at once)."""

    def __init__(self, hooks: LinkHooks) -> None:
        super().__init__()
        self.hooks = hooks
        loop = asyncio.get_running_loop()
        #: Resolves to the first line the peer sent (the greeting), or fails.
        self.greeting: asyncio.Future[str] = loop.create_future()
        #: Resolves to a human reason once the connection is gone.
        self.lost: asyncio.Future[str] = loop.create_future()
        self.close_reason: str | None = None
        self.responses: dict[str, PendingAction] = {}
        # ActionIDs of list actions abandoned on timeout: their late items are dropped
        # (counted as unmatched) instead of posing as live events.
        self.expired: set[str] = set()
        self._expired_order: deque[str] = deque()
        self.transport: asyncio.Transport | None = None

    # ------------------------------------------------------------------ asyncio side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        responses = self.responses
        super().connection_made(transport)  # panoramisk: transport, closed, responses, log
        self.responses = responses
        self.encoding = "utf-8"
        self.log = log
        self.hooks.framer.reset()

    def data_received(self, data: bytes) -> None:
        framer = self.hooks.framer
        messages = framer.feed(data)
        if not self.greeting.done() and framer.greeting is not None:
            self.greeting.set_result(framer.greeting)
        error = framer.last_error
        if error:
            framer.last_error = ""
            self.hooks.on_frame_error(error)
        if messages:
            self._dispatch(messages)
        if framer.overflowed and not self.closed:
            self.hooks.counters.overflow_aborts += 1
            self.abort(error or "message too large", keep_reason=False)

    def _dispatch(self, messages: list[AmiMessage]) -> None:
        """Route replies to their actions; hand every event to ``on_message`` in order."""
        responses = self.responses
        hooks = self.hooks
        on_message = hooks.on_message
        events = 0
        items = 0
        shutdown: AmiMessage | None = None
        for msg in messages:
            headers = msg.headers
            action_id = headers.get("ActionID")
            if action_id is not None:
                pending = responses.get(action_id)
                if pending is not None:
                    taken = pending.take(msg)
                    if taken == TAKE_ITEM:
                        items += 1
                        try:
                            on_message(msg, pending.list_name)
                        except Exception as exc:
                            hooks.on_callback_error(msg, exc)
                        continue
                    if taken == TAKE_DONE:
                        del responses[action_id]
                        continue
                    if taken == TAKE_STRAY:
                        hooks.on_unmatched(msg)
                        continue
                    if taken == TAKE_MORE:
                        continue
                elif action_id in self.expired:
                    if headers.get("EventList") == "Complete":
                        self.expired.discard(action_id)
                    hooks.on_unmatched(msg)
                    continue
            event = headers.get("Event")
            if event is None:
                hooks.on_unmatched(msg)
                continue
            events += 1
            if event == "Shutdown":
                shutdown = msg
            try:
                on_message(msg, None)
            except Exception as exc:
                hooks.on_callback_error(msg, exc)
        hooks.counters.events += events
        hooks.counters.list_items += items
        if shutdown is not None and not self.closed:
            detail = ", ".join(
                f"{k}: {shutdown.get(k)}" for k in ("Shutdown", "Restart") if shutdown.get(k)
            )
            self.close(f"Asterisk shut down ({detail})" if detail else "Asterisk shut down")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.close_reason is not None:
            reason = self.close_reason
        elif exc is None:
            reason = "connection closed by the PBX"
        else:
            reason = f"connection lost: {exc}"
        self.close_reason = reason
        pending = list(self.responses.values())
        self.responses.clear()
        for action in pending:
            action.fail(
                AmiConnectionLost(
                    f"{action.ami_name}: connection lost before the answer ({reason}); "
                    "not re-sent, the outcome is unknown"
                )
            )
        if not self.greeting.done():
            self.greeting.set_exception(ConnectionError(reason))
            self.greeting.exception()  # retrieved here: nobody may be waiting any more
        if not self.lost.done():
            self.lost.set_result(reason)

    # ------------------------------------------------------------------ our side

    def send_action(self, action: PendingAction) -> None:
        """Register and write one action. Never logs its contents (Login holds the secret)."""
        if self.closed or self.transport is None:
            action.fail(AmiConnectionLost(f"{action.ami_name}: connection already closed"))
            return
        self.responses[action.ami_id] = action
        self.transport.write(action.wire())

    def forget(self, action: PendingAction) -> None:
        """Drop a finished or timed-out action from the table (no dangling entries)."""
        if self.responses.get(action.ami_id) is not action:
            return
        del self.responses[action.ami_id]
        if action.list_name is not None:
            self.expired.add(action.ami_id)
            self._expired_order.append(action.ami_id)
            if len(self._expired_order) > _EXPIRED_MEMORY:
                self.expired.discard(self._expired_order.popleft())

    def close(self, reason: str = "closed by ccops") -> None:
        """Graceful close (pending writes are flushed). Pending actions fail, never re-queue."""
        if self.close_reason is None:
            self.close_reason = reason
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        self.closed = True

    def abort(self, reason: str, *, keep_reason: bool = True) -> None:
        """Drop the connection at once (dead peer, overflow): nothing more is read."""
        if self.close_reason is None or not keep_reason:
            self.close_reason = reason
        if self.transport is not None:
            self.transport.abort()
        self.closed = True


class LinkManager(Manager):  # type: ignore[misc]  # panoramisk ships no type hints
    """panoramisk's Manager, minus its own reconnect and login: the link supervises.

    1.4 reconnects from ``connection_made``/``connection_lost`` with an ``int()``-truncated
    fixed delay, keeps reconnecting after ``close()``, and re-sends queued actions when
    ``FullyBooted`` arrives; all of that is switched off here.
    """

    def __init__(
        self,
        hooks: LinkHooks,
        *,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop,
        ssl: bool = False,
    ) -> None:
        super().__init__(
            host=host,
            port=port,
            ssl=ssl,
            loop=loop,
            protocol_factory=lambda: LinkProtocol(hooks),
            log=log,
        )
        # No 'FullyBooted → send_awaiting_actions' hook: nothing is ever re-sent.
        self.callbacks.clear()
        self.patterns.clear()

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        """Done-callback of ``connect()``; errors are handled by whoever awaits it."""
        if f.cancelled() or f.exception() is not None:
            return
        _transport, protocol = f.result()
        self.protocol = protocol
        protocol.factory = self

    def connection_lost(self, exc: Exception | None) -> None:
        """1.4 schedules a reconnect here; the link supervisor decides instead."""
