"""One PBX inside the daemon: its AMI link, its live model, and the PBX side of commands.

The ingest path is deliberately synchronous and short: the link calls :meth:`_on_message`
for every event in wire order; it is normalised, applied to the model by the reducer and fed
to the KPI engine, all in the same call, with no task or queue per event (research §8.6:
per-event tasks halve throughput and grow memory without bound).

On every login the link awaits :meth:`_sync`: ``SyncBegin``, the list actions (their rows
reach the model through the same ingest path as live events, in wire order), then
``SyncEnd`` naming the domains Asterisk confirmed, so the reducer sweeps exactly what
Asterisk no longer reports. A ``Reload`` from Asterisk and a periodic timer trigger the
same sync again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ccops.config import KpiConfig, PbxConfig
from ccops.core.clock import Clock
from ccops.core.events import (
    Event,
    LinkState,
    LinkStateChanged,
    PbxReloaded,
    SyncBegin,
    SyncDomain,
    SyncEnd,
)
from ccops.core.kpi import KpiEngine
from ccops.core.reducer import Reducer
from ccops.pbx.errors import AmiActionError, AmiError
from ccops.pbx.link import AmiLink, LinkStatus
from ccops.pbx.message import AmiMessage
from ccops.pbx.normalize import HANDLED_EVENTS, NormalizeError, normalize

log = logging.getLogger(__name__)

#: Replies that mean "an empty list", not a failure (asterisk-22-notes §4, §5).
EMPTY_LIST_TEXTS = ("No Contacts found", "Database entry not found", "No endpoints found")
#: At most this many distinct unknown event names are counted (a hostile peer could
#: invent millions).
MAX_UNKNOWN_NAMES = 200
#: Trunk details fetched per sync (each is one list action).
MAX_TRUNK_DETAILS = 64
#: A sync Asterisk did not fully answer is retried after this, doubling up to the max while
#: it keeps failing. Seen on the real tier: right after a restart AMI accepts the login
#: before app_queue is loaded ("Invalid/unknown command: QueueStatus"); without a retry the
#: model kept the callers of before the crash until the next reconciliation (minutes).
SYNC_RETRY_INITIAL_S = 1.0
SYNC_RETRY_MAX_S = 60.0


class PbxSession:
    """Link + model + KPI feed for one configured PBX."""

    #: Events the link delivers (list items carrying our ActionID always pass): only what
    #: :func:`normalize` turns into core events. Everything else is dropped by the framer
    #: before it is parsed (counted in the link's ``dropped_by_filter``).
    ingest_events: frozenset[str] | None = HANDLED_EVENTS

    def __init__(
        self,
        config: PbxConfig,
        *,
        secret: str,
        kpi: KpiEngine,
        kpi_config: KpiConfig,
        clock: Clock,
        on_link: Callable[[LinkStatus], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        queue_wrapup: Mapping[str, int] | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.clock = clock
        self.kpi = kpi
        self.reducer = Reducer.from_config(config, kpi_config, queue_wrapup)
        self.state = self.reducer.new_state()
        self._on_link = on_link
        self._on_event = on_event
        #: Further listeners for every typed event (the pager, the incident engine).
        self.listeners: list[Callable[[Event], None]] = []
        self.unknown_events: dict[str, int] = {}
        self.normalize_errors = 0
        self.last_normalize_error = ""
        self.syncs = 0
        self.last_sync_seconds: float | None = None
        self._resync_task: asyncio.Task[None] | None = None
        self._reconcile_task: asyncio.Task[None] | None = None
        self._sync_retry_task: asyncio.Task[None] | None = None
        self._sync_retry_delay = SYNC_RETRY_INITIAL_S
        self.link = AmiLink(
            config,
            secret=secret,
            on_message=self._on_message,
            on_state=self._on_state,
            on_login=self._sync,
            clock=clock,
            keep_events=self.ingest_events,
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.link.start()
        if self.config.reconcile_interval > 0:
            self._reconcile_task = asyncio.create_task(
                self._reconcile_loop(), name=f"reconcile-{self.name}"
            )

    async def stop(self) -> None:
        for task in (self._reconcile_task, self._resync_task, self._sync_retry_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.link.stop()

    # ------------------------------------------------------------------ ingest

    def apply(self, event: Event) -> None:
        """Feed one typed event to the model and the KPI engine (and any listener)."""
        self.reducer.apply(self.state, event)
        self.kpi.apply(event)
        if self._on_event is not None:
            self._on_event(event)
        for listener in self.listeners:
            listener(event)

    def _on_message(self, msg: AmiMessage, list_action: str | None) -> None:
        try:
            event = normalize(msg, self.name, list_action)
        except NormalizeError as exc:
            self.normalize_errors += 1
            self.last_normalize_error = str(exc)[:300]
            return
        if event is None:
            name = msg.event or msg.response or "?"
            if name in self.unknown_events or len(self.unknown_events) < MAX_UNKNOWN_NAMES:
                self.unknown_events[name] = self.unknown_events.get(name, 0) + 1
            return
        self.apply(event)
        if isinstance(event, PbxReloaded) and list_action is None:
            self.request_resync("Asterisk reloaded")

    def _on_state(self, status: LinkStatus) -> None:
        self.apply(
            LinkStateChanged(
                pbx=self.name,
                at=self.clock.now(),
                state=status.state,
                detail=status.detail,
                next_retry_at=status.next_retry_at,
                epoch=status.epoch,
                host=status.host,
                port=status.port,
                asterisk_version=status.asterisk_version,
            )
        )
        if self._on_link is not None:
            self._on_link(status)

    # ------------------------------------------------------------------ sync

    def request_resync(self, reason: str) -> None:
        """Run a full sync soon (coalesced: one at a time)."""
        if self._resync_task is not None and not self._resync_task.done():
            return
        if not self.link.is_live:
            return
        log.info("pbx %s: resync (%s)", self.name, reason)
        self._resync_task = asyncio.create_task(self._sync(self.link.epoch))

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.reconcile_interval)
            if self.link.status.state is LinkState.LIVE:
                self.request_resync("periodic reconciliation")

    async def _sync(self, epoch: int) -> None:
        """Full sync with mark-and-sweep; only domains Asterisk confirmed are swept."""
        started = self.clock.monotonic()
        self.apply(SyncBegin(pbx=self.name, at=self.clock.now(), epoch=epoch))
        family = self.config.routing_family
        jobs: dict[SyncDomain, list[tuple[str, dict[str, str]]]] = {
            SyncDomain.QUEUES: [("QueueStatus", {})],
            SyncDomain.ENDPOINTS: [("PJSIPShowEndpoints", {}), ("PJSIPShowContacts", {})],
            SyncDomain.REGISTRATIONS: [("PJSIPShowRegistrationsOutbound", {})],
            SyncDomain.CHANNELS: [("CoreShowChannels", {})],
            SyncDomain.FLAGS: [("DBGetTree", {"Family": family})],
        }
        results = await asyncio.gather(
            *(self._run_domain(actions) for actions in jobs.values()), return_exceptions=True
        )
        # Static trunk contacts are not listed by PJSIPShowContacts (note 22): ask each
        # trunk's detail for its contacts' qualify status and round trip. The detail also
        # carries the outbound auth in clear; normalisation keeps none of it.
        endpoints_ok = results[list(jobs).index(SyncDomain.ENDPOINTS)] == ""
        if endpoints_ok:
            for trunk in self.state.trunks()[:MAX_TRUNK_DETAILS]:
                with contextlib.suppress(AmiError):
                    await self.link.list_action("PJSIPShowEndpoint", {"Endpoint": trunk.name})
        confirmed: set[SyncDomain] = set()
        failed: list[str] = []
        for domain, result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException) or result:
                failed.append(f"{domain.value}: {result}")
            else:
                confirmed.add(domain)
        self.apply(
            SyncEnd(
                pbx=self.name,
                at=self.clock.now(),
                epoch=epoch,
                confirmed=frozenset(confirmed),
                failed=tuple(failed),
            )
        )
        self.syncs += 1
        self.last_sync_seconds = self.clock.monotonic() - started
        if failed:
            log.warning(
                "pbx %s: sync incomplete: %s; retrying in %.1f s",
                self.name, "; ".join(failed), self._sync_retry_delay,
            )
            self._retry_sync_later(epoch)
        else:
            self._sync_retry_delay = SYNC_RETRY_INITIAL_S

    def _retry_sync_later(self, epoch: int) -> None:
        """Sync again soon (backing off) after Asterisk left domains unconfirmed."""
        if self._sync_retry_task is not None and not self._sync_retry_task.done():
            return
        delay = self._sync_retry_delay
        self._sync_retry_delay = min(SYNC_RETRY_MAX_S, delay * 2)
        self._sync_retry_task = asyncio.create_task(
            self._retry_sync(epoch, delay), name=f"sync-retry-{self.name}"
        )

    async def _retry_sync(self, epoch: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.link.epoch == epoch:  # a new login syncs by itself
            self.request_resync("previous sync incomplete")

    async def _run_domain(self, actions: list[tuple[str, dict[str, str]]]) -> str:
        """Run a domain's list actions in order; '' when all answered, else why not."""
        for name, fields in actions:
            try:
                await self.link.list_action(name, fields)
            except AmiActionError as exc:
                if any(text in exc.text for text in EMPTY_LIST_TEXTS):
                    continue
                return f"{name}: {exc.text}"
            except AmiError as exc:
                return f"{name}: {exc}"
        return ""

    # ------------------------------------------------------------------ status

    def diagnostics(self) -> dict[str, Any]:
        counters = self.link.counters
        return {
            "events": counters.messages,
            "dropped_by_filter": counters.dropped_by_filter,
            "malformed_frames": counters.malformed,
            "normalize_errors": self.normalize_errors,
            "last_normalize_error": self.last_normalize_error,
            "unknown_events": sum(self.unknown_events.values()),
            "reconnects": counters.reconnects,
            "auth_failures": counters.auth_failures,
            "ping_timeouts": counters.ping_timeouts,
            "action_timeouts": counters.action_timeouts,
            "syncs": self.syncs,
            "last_sync_seconds": self.last_sync_seconds,
            "anomalies": sum(self.state.anomalies.values()),
        }
