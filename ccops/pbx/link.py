"""One supervised AMI connection to one Asterisk: :class:`AmiLink`.

Built on panoramisk 1.4 (pinned; the last release, 2021): its ``Manager`` opens the TCP
connection through our ``protocol_factory``, its ``AMIProtocol`` keeps the transport, and
its ``Action`` serialises every action we send and carries the future the caller awaits
(see :mod:`ccops.pbx.protocol` for exactly which parts are used and which are replaced).
Stock 1.4 is not acceptable for a console that must stay right for hours
(``shared/research/panoramisk.md``): wrong passwords are silent, actions can hang forever,
unanswered actions are re-sent after a reconnect (an Originate could ring twice), one bad
frame or one handler exception drops the connection, and a silent peer looks alive. The
link therefore owns everything around the protocol:

* **lifecycle** — connect with ``connect_timeout`` → wait for the greeting → ``Login``
  with the event mask (``PbxConfig.events``) within ``login_timeout``. A refused login is
  AUTH_FAILED with Asterisk's message and retried after ``auth_backoff``; any other failure
  is DOWN with a human detail and retried after ``min(backoff_max, backoff_initial·2^n)``
  with 50–100 % jitter, ``n`` reset after a session that lasted more than a minute.
  After login the state is SYNCING while ``on_login(epoch)`` runs (the full sync), then
  LIVE. ``Event: Shutdown`` → DOWN and reconnect.
* **liveness** — ``Ping`` every ``ping_interval``; no answer within ``ping_timeout`` while
  nothing else arrived either → abort and reconnect (a half-open TCP connection is found
  within ``ping_interval + ping_timeout``).
* **actions** — every action has a timeout; nothing is queued while down
  (:class:`~ccops.pbx.errors.AmiNotConnected` at once, with the reason) and nothing is
  ever re-sent (:class:`~ccops.pbx.errors.AmiConnectionLost`); list actions are collected
  until their ``EventList: Complete`` event. ActionIDs carry a random per-link prefix, so
  another session's ActionID (``OriginateResponse`` is broadcast with the originator's
  ActionID) never matches ours.
* **delivery** — ``on_message(msg, list_action_or_None)`` is called synchronously, in wire
  order, for every unsolicited event the framer's filter lets through (``drop_events``,
  or ``keep_events`` when the consumer names exactly what it uses) and every list item,
  so the consumer applies snapshot rows and live events in the order Asterisk emitted
  them. It may raise: the error is
  counted and logged (rate-limited) and the connection stays up.

Ordering guarantee at login: the SYNCING state (with the new epoch) is published through
``on_state`` synchronously when the Login response is read, before any message that
followed it on the wire is delivered; ``on_login(epoch)`` is then awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ccops.config import PbxConfig
from ccops.core.clock import Clock
from ccops.core.events import LinkState
from ccops.pbx.backoff import Backoff
from ccops.pbx.counters import LinkCounters
from ccops.pbx.errors import (
    AmiActionError,
    AmiConnectionLost,
    AmiError,
    AmiNotConnected,
    AmiTimeout,
)
from ccops.pbx.framing import GREETING_PREFIX, NOISE_EVENTS, AmiFramer
from ccops.pbx.message import AmiMessage
from ccops.pbx.protocol import (
    AmiListResult,
    FieldValue,
    LinkHooks,
    LinkManager,
    LinkProtocol,
    PendingAction,
)
from ccops.pbx.redact import redact

__all__ = [
    "AmiActionError",
    "AmiConnectionLost",
    "AmiError",
    "AmiLink",
    "AmiListResult",
    "AmiNotConnected",
    "AmiTimeout",
    "LinkCounters",
    "LinkStatus",
    "redact",
]

log = logging.getLogger("ccops.pbx.link")

#: A session that lasted longer than this resets the backoff (research §8.4).
STABLE_SESSION_SECONDS = 60.0
#: At most one log line per this many seconds per kind of tolerated defect.
LOG_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """Where the link is, for the UI ("stale since 10:42, retry in 8 s") and for metrics."""

    pbx: str
    state: LinkState
    detail: str
    since: float  # wall-clock seconds when this state was entered
    next_retry_at: float | None  # wall-clock seconds of the next connect attempt
    epoch: int  # bumps on every successful login
    asterisk_version: str  # AMI version from the greeting, e.g. "11.0.0"
    host: str
    port: int
    counters: LinkCounters


class _Throttle:
    """Rate limit for one kind of log line: a defect storm must not become a log storm."""

    def __init__(self, clock: Clock, interval: float = LOG_INTERVAL_SECONDS) -> None:
        self._clock = clock
        self._interval = interval
        self._next = -math.inf
        self._suppressed = 0

    def allow(self) -> int | None:
        """None to stay quiet; else how many lines were suppressed since the last one."""
        now = self._clock.monotonic()
        if now < self._next:
            self._suppressed += 1
            return None
        suppressed, self._suppressed = self._suppressed, 0
        self._next = now + self._interval
        return suppressed


class _OpenFailed(Exception):
    """Connect, greeting or login failed for a reason other than credentials."""


class _AuthFailed(Exception):
    """Asterisk refused the login; the message is Asterisk's."""


class AmiLink:
    """One supervised connection to one PBX; see the module docstring for the contract."""

    def __init__(
        self,
        config: PbxConfig,
        *,
        secret: str,
        on_message: Callable[[AmiMessage, str | None], None],
        on_state: Callable[[LinkStatus], None],
        on_login: Callable[[int], Awaitable[None]] | None = None,
        clock: Clock,
        drop_events: frozenset[str] = NOISE_EVENTS,
        keep_events: frozenset[str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._secret = secret
        self._on_message = on_message
        self._on_state = on_state
        self._on_login = on_login
        self._clock = clock
        self._where = f"{config.host}:{config.port}"
        self._backoff = Backoff(config.backoff_initial, config.backoff_max, rng=rng)
        self._counters = LinkCounters()
        self._framer = AmiFramer(
            max_message_bytes=config.max_message_bytes,
            now=clock.now,
            drop_events=drop_events,
            keep_events=keep_events,
        )
        #: Random per link: our ActionIDs can never collide with another session's.
        self.id_prefix = f"ccops-{secrets.token_hex(4)}-"
        self._framer.protect = self.id_prefix
        self._ids = itertools.count(1)
        self._hooks = LinkHooks(
            framer=self._framer,
            on_message=on_message,
            on_callback_error=self._callback_failed,
            on_frame_error=self._frame_failed,
            on_unmatched=self._unmatched,
            counters=self._counters,
        )
        self._manager: LinkManager | None = None
        self._live: LinkProtocol | None = None  # logged in: actions allowed
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._epoch = 0
        self._version = ""
        self._waiters: list[tuple[frozenset[LinkState], asyncio.Future[LinkStatus]]] = []
        self._throttle_callback = _Throttle(clock)
        self._throttle_frame = _Throttle(clock)
        self._throttle_unmatched = _Throttle(clock)
        self._status = self._make_status(LinkState.STOPPED, "not started", None)

    # ------------------------------------------------------------------ public state

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def status(self) -> LinkStatus:
        """The current status with fresh counters."""
        s = self._status
        return LinkStatus(
            s.pbx, s.state, s.detail, s.since, s.next_retry_at, s.epoch,
            s.asterisk_version, s.host, s.port, self.counters,
        )  # fmt: skip

    @property
    def counters(self) -> LinkCounters:
        """A snapshot of the counters (the framer's included)."""
        snap = self._counters.snapshot()
        framed = self._framer.counters
        snap.messages = framed.messages
        snap.dropped_by_filter = framed.dropped_by_filter
        snap.malformed = framed.malformed
        snap.bytes = framed.bytes
        return snap

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def pending_actions(self) -> int:
        """Actions sent and not yet answered (0 when not connected): never leaks."""
        proto = self._live
        return len(proto.responses) if proto is not None else 0

    @property
    def is_live(self) -> bool:
        """Logged in (SYNCING or LIVE): actions can be sent."""
        return self._live is not None and not self._live.closed

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start supervising (returns at once; watch ``on_state`` or :meth:`wait_for_state`)."""
        if self._stopped:
            raise RuntimeError(f"pbx {self.name}: a stopped link cannot be restarted")
        if self._task is not None:
            return
        loop = asyncio.get_running_loop()
        self._manager = LinkManager(
            self._hooks, host=self._config.host, port=self._config.port, loop=loop
        )
        self._task = asyncio.create_task(self._supervise(), name=f"ami-link-{self.name}")

    async def stop(self) -> None:
        """Stop for good: cancel connect/sync/reconnect, log off, fail pending actions."""
        if self._stopped:
            return
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            # Cancel until it is really done: on Python 3.11 a cancellation that races a
            # completing wait_for() can be swallowed (fixed in 3.12), and `_stopped`
            # alone would only be seen at the next attempt.
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.5)
            if not task.cancelled() and task.exception() is not None:
                log.error("pbx %s: supervisor ended with %r", self.name, task.exception())
        if self._manager is not None:
            self._manager.close()  # panoramisk: cancels its pinger, closes the protocol
        self._live = None
        self._set_state(LinkState.STOPPED, "stopped")

    async def wait_for_state(self, *states: LinkState, timeout: float) -> LinkStatus:
        """Wait until the link enters one of ``states`` (returns at once if it is in one)."""
        if self._status.state in states:
            return self.status
        fut: asyncio.Future[LinkStatus] = asyncio.get_running_loop().create_future()
        entry = (frozenset(states), fut)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    # ------------------------------------------------------------------ actions

    async def action(
        self,
        name: str,
        fields: Mapping[str, FieldValue] | None = None,
        *,
        timeout: float | None = None,
    ) -> AmiMessage:
        """Send one action and return its response.

        Raises :class:`AmiActionError` (Asterisk said no; ``.text`` is its Message),
        :class:`AmiTimeout`, :class:`AmiNotConnected` (nothing sent) or
        :class:`AmiConnectionLost` (outcome unknown; never re-sent). ``ValueError`` for a
        field with CR/LF or a reserved name (``Action``, ``ActionID``).
        """
        proto = self._session()
        pending = PendingAction(name, fields, self._next_id())
        result = await self._execute(proto, pending, self._timeout(timeout))
        assert isinstance(result, AmiMessage)
        return result

    async def list_action(
        self,
        name: str,
        fields: Mapping[str, FieldValue] | None = None,
        *,
        timeout: float | None = None,
        complete_event: str | None = None,
    ) -> AmiListResult:
        """Send a list action; collect its items until the ``EventList: Complete`` event.

        Every item is ALSO delivered through ``on_message(item, name)`` as it arrives. An
        Error response ends the list at once with :class:`AmiActionError` (including
        DBGet's "Database entry not found" and PJSIPShowContacts' "No Contacts found":
        check ``.text`` to treat those as empty). The timeout covers the whole list.
        """
        proto = self._session()
        pending = PendingAction(
            name, fields, self._next_id(), list_name=name, complete_event=complete_event
        )
        result = await self._execute(proto, pending, self._timeout(timeout))
        assert isinstance(result, AmiListResult)
        return result

    def _session(self) -> LinkProtocol:
        proto = self._live
        if proto is None or proto.closed:
            s = self._status
            retry = ""
            if s.next_retry_at is not None:
                retry = f", next attempt in {max(0.0, s.next_retry_at - self._clock.now()):.0f} s"
            raise AmiNotConnected(
                f"pbx {self.name} is not connected ({s.state.value}: {s.detail}{retry})"
            )
        return proto

    def _timeout(self, timeout: float | None) -> float:
        value = self._config.action_timeout if timeout is None else timeout
        if not value > 0:
            raise ValueError(f"action timeout must be positive, got {timeout}")
        return value

    def _next_id(self) -> str:
        return f"{self.id_prefix}{next(self._ids)}"

    async def _execute(
        self, proto: LinkProtocol, pending: PendingAction, timeout: float, *, ping: bool = False
    ) -> Any:
        proto.send_action(pending)
        try:
            async with asyncio.timeout(timeout):
                return await pending.waiter
        except TimeoutError:
            if not ping:
                self._counters.action_timeouts += 1
            raise AmiTimeout(
                f"{pending.ami_name}: no complete answer within {timeout:g} s; "
                "the outcome is unknown"
            ) from None
        finally:
            proto.forget(pending)

    # ------------------------------------------------------------------ supervision

    async def _supervise(self) -> None:
        failures = 0
        attempt = 0
        while not self._stopped:
            if attempt:
                self._counters.reconnects += 1
            attempt += 1
            try:
                self._set_state(LinkState.CONNECTING, f"connecting to {self._where}")
                try:
                    proto = await self._open()
                except _AuthFailed as exc:
                    self._counters.auth_failures += 1
                    await self._retry_later(
                        LinkState.AUTH_FAILED,
                        f"authentication failed: {exc}",
                        self._config.auth_backoff,
                    )
                    continue
                except _OpenFailed as exc:
                    delay = self._backoff.delay(failures)
                    failures += 1
                    await self._retry_later(LinkState.DOWN, str(exc), delay)
                    continue
                started = self._clock.monotonic()
                reason = await self._run_session(proto)
                if self._clock.monotonic() - started > STABLE_SESSION_SECONDS:
                    failures = 0
                delay = self._backoff.delay(failures)
                failures += 1
                await self._retry_later(LinkState.DOWN, reason, delay)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not end supervision for good
                log.exception("pbx %s: AMI link supervisor error", self.name)
                delay = self._backoff.delay(failures)
                failures += 1
                await self._retry_later(LinkState.DOWN, f"internal error: {exc!r}", delay)

    async def _retry_later(self, state: LinkState, detail: str, delay: float) -> None:
        self._set_state(state, detail, self._clock.now() + delay)
        log.warning("pbx %s: %s; next attempt in %.1f s", self.name, detail, delay)
        await asyncio.sleep(delay)

    async def _open(self) -> LinkProtocol:
        """Connect, read the greeting, log in. Returns a logged-in protocol."""
        cfg = self._config
        manager = self._manager
        assert manager is not None
        proto: LinkProtocol | None = None
        try:
            try:
                async with asyncio.timeout(cfg.connect_timeout):
                    _transport, proto = await manager.connect()
            except TimeoutError:
                raise _OpenFailed(
                    f"connect to {self._where}: no answer within {cfg.connect_timeout:g} s"
                ) from None
            except OSError as exc:
                why = os.strerror(exc.errno) if exc.errno else str(exc)
                raise _OpenFailed(f"connect to {self._where} failed: {why}") from None
            assert proto is not None
            self._counters.connections += 1
            greeting = await self._greeting(proto)
            self._version = greeting.partition("/")[2].strip()
            await self._login(proto)
            return proto
        except BaseException:
            if proto is not None:
                proto.abort("login did not complete")
            manager.close()  # panoramisk: closes a protocol the cancelled connect left
            raise

    async def _greeting(self, proto: LinkProtocol) -> str:
        timeout = self._config.login_timeout
        try:
            async with asyncio.timeout(timeout):
                greeting = await asyncio.shield(proto.greeting)
        except TimeoutError:
            proto.abort("no greeting")
            raise _OpenFailed(
                f"{self._where} accepted the connection but sent no AMI greeting "
                f"within {timeout:g} s"
            ) from None
        except ConnectionError as exc:
            raise _OpenFailed(f"{self._where}: {exc} before the AMI greeting") from None
        if GREETING_PREFIX not in greeting:
            proto.abort("not an AMI server")
            raise _OpenFailed(f"{self._where} is not an AMI server (it said {greeting[:60]!r})")
        return greeting

    async def _login(self, proto: LinkProtocol) -> None:
        cfg = self._config
        login = PendingAction(
            "Login",
            {"Username": cfg.username, "Secret": self._secret, "Events": cfg.events},
            self._next_id(),
            on_success=lambda _msg: self._logged_in(proto),
        )
        try:
            await self._execute(proto, login, cfg.login_timeout)
        except AmiActionError as exc:
            proto.close("authentication failed")
            raise _AuthFailed(exc.text) from None
        except AmiTimeout:
            proto.abort("no answer to Login")
            raise _OpenFailed(
                f"{self._where}: no answer to Login within {cfg.login_timeout:g} s"
            ) from None
        except AmiConnectionLost:
            raise _OpenFailed(
                f"{self._where}: {proto.close_reason or 'connection closed'} during login"
            ) from None

    def _logged_in(self, proto: LinkProtocol) -> None:
        """Runs synchronously as the Login response is read (see module docstring)."""
        self._epoch += 1
        self._live = proto
        if self._on_login is not None:
            self._set_state(LinkState.SYNCING, f"logged in to {self._where}; syncing")
        else:
            self._set_state(LinkState.LIVE, self._live_detail())

    def _live_detail(self) -> str:
        return f"connected to {self._where} (AMI {self._version or 'unknown version'})"

    async def _run_session(self, proto: LinkProtocol) -> str:
        """Run one logged-in session until it ends; return why it ended."""
        ping = asyncio.create_task(self._ping_loop(proto), name=f"ami-ping-{self.name}")
        try:
            if self._on_login is not None:
                await self._run_login_hook(proto, self._on_login)
                if not proto.lost.done():
                    self._set_state(LinkState.LIVE, self._live_detail())
            return await asyncio.shield(proto.lost)
        except asyncio.CancelledError:
            self._write_logoff(proto)
            proto.close("link stopped")
            raise
        finally:
            self._live = None
            ping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ping
            if not proto.closed:
                proto.abort("session ended")

    async def _run_login_hook(
        self, proto: LinkProtocol, on_login: Callable[[int], Awaitable[None]]
    ) -> None:
        hook: asyncio.Future[None] = asyncio.ensure_future(on_login(self._epoch))
        watched: list[asyncio.Future[Any]] = [hook, proto.lost]
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not hook.done():
                hook.cancel()
                with contextlib.suppress(BaseException):
                    await hook
        if hook.cancelled() or proto.lost.done():
            return
        exc = hook.exception()
        if exc is not None:
            self._counters.callback_errors += 1
            log.error(
                "pbx %s: on_login(epoch %d) failed: %r; reconnecting",
                self.name, self._epoch, exc, exc_info=exc,
            )  # fmt: skip
            proto.abort(f"sync after login failed: {exc!r}")

    def _write_logoff(self, proto: LinkProtocol) -> None:
        """Polite goodbye on stop; close() flushes it before the socket closes."""
        transport = proto.transport
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.write(PendingAction("Logoff", None, self._next_id()).wire())

    async def _ping_loop(self, proto: LinkProtocol) -> None:
        cfg = self._config
        while not proto.closed:
            await asyncio.sleep(cfg.ping_interval)
            seen = self._framer.counters.bytes
            ping = PendingAction("Ping", None, self._next_id())
            try:
                await self._execute(proto, ping, cfg.ping_timeout, ping=True)
            except AmiTimeout:
                if self._framer.counters.bytes != seen:
                    # The peer is talking (a surge can queue our Pong behind many events).
                    self._counters.pings_late += 1
                    continue
                self._counters.ping_timeouts += 1
                proto.abort(
                    f"no answer to Ping within {cfg.ping_timeout:g} s and nothing received: "
                    "the PBX or the network is silent"
                )
                return
            except AmiConnectionLost:
                return
            except AmiActionError as exc:
                log.warning("pbx %s: Ping refused: %s", self.name, exc.text)

    # ------------------------------------------------------------------ reporting

    def _make_status(
        self, state: LinkState, detail: str, next_retry_at: float | None
    ) -> LinkStatus:
        cfg = self._config
        return LinkStatus(
            cfg.name, state, detail, self._clock.now(), next_retry_at, self._epoch,
            self._version, cfg.host, cfg.port, self.counters,
        )  # fmt: skip

    def _set_state(self, state: LinkState, detail: str, next_retry_at: float | None = None) -> None:
        status = self._make_status(state, detail, next_retry_at)
        self._status = status
        try:
            self._on_state(status)
        except Exception:
            self._counters.callback_errors += 1
            log.exception("pbx %s: on_state raised (ignored)", self.name)
        for states, fut in list(self._waiters):
            if state in states and not fut.done():
                fut.set_result(status)

    def _callback_failed(self, msg: AmiMessage, exc: BaseException) -> None:
        self._counters.callback_errors += 1
        suppressed = self._throttle_callback.allow()
        if suppressed is None:
            return
        what = msg.event or f"response {msg.response}"
        log.error(
            "pbx %s: on_message raised for %s (seq %d): %r; connection kept%s",
            self.name, what, msg.seq, exc, _suppressed(suppressed), exc_info=exc,
        )  # fmt: skip

    def _frame_failed(self, description: str) -> None:
        suppressed = self._throttle_frame.allow()
        if suppressed is not None:
            log.warning(
                "pbx %s: bad AMI frame: %s%s", self.name, description, _suppressed(suppressed)
            )

    def _unmatched(self, msg: AmiMessage) -> None:
        self._counters.unmatched_responses += 1
        suppressed = self._throttle_unmatched.allow()
        if suppressed is not None:
            log.info(
                "pbx %s: response nobody waits for (ActionID %r, late after a timeout?)%s",
                self.name, msg.action_id[:60], _suppressed(suppressed),
            )  # fmt: skip


def _suppressed(count: int) -> str:
    return f" ({count} similar suppressed)" if count else ""
