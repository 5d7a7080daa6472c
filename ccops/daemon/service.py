"""``ccopsd``: the one process that owns everything that must keep running.

PBX links, the live model, KPIs, alerts, the store and the audit log live here; consoles
and scripts are thin clients on the local socket. A console closing never stops a link, a
timer or an alert (architecture §1).

Cadence: ingest is event-driven (see :mod:`ccops.daemon.pbx_session`); everything
time-driven runs in one tick loop: the coalesced status delta at ``publish_hz``, and at
most once a second (:data:`WORK_PERIOD_S`) the rest — wrap-up expiry, KPI interval
closing, alert evaluation (alert changes are pushed to clients at once) and every few
seconds the KPI buckets written to the store. Running that work at a 10 Hz publish rate
doubled the daemon's CPU on the real tier for nothing anyone reads (``bench/daemon_cpu.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import math
import os
import pwd
import secrets
import time
from pathlib import Path
from typing import Any

from ccops import __version__
from ccops.config import PbxConfig, Settings, TrunkConfig
from ccops.core.alerts import Alert, AlertChange, AlertEngine, Sample, UnknownAlertError
from ccops.core.audit import AuditEntry, AuditRecord, AuditResult
from ccops.core.clock import Clock, SystemClock
from ccops.core.commands import CommandError, parse_command
from ccops.core.derive import agent_views, member_time_in_state, queue_view
from ccops.core.events import LinkState
from ccops.core.execute import CommandResult, Executor, Operator
from ccops.core.flag_age import FlagAgeTracker, expectations_from_undos
from ccops.core.kpi import KpiEngine
from ccops.core.kpi_records import (
    AgentBucketRecord,
    BucketRecord,
    QueueCounters,
    queue_metrics,
)
from ccops.core.roles import Role
from ccops.daemon.api import ApiServer
from ccops.daemon.audit_api import audit_request
from ccops.daemon.incident_desk import IncidentDesk
from ccops.daemon.pager import Pager
from ccops.daemon.pbx_session import PbxSession
from ccops.daemon.performer import PbxPerformer
from ccops.daemon.publisher import Publisher
from ccops.daemon.standby import StandbyDesk
from ccops.daemon.views import view_for_operator
from ccops.daemon.wire import SCHEMA
from ccops.pbx.link import LinkStatus
from ccops.store import Store
from ccops.store.records import AgentBucket, AlertRaise, KpiBucket, LinkEvent

log = logging.getLogger(__name__)

PERSIST_EVERY_S = 10.0
#: Model expiry, KPI tick, alerts and persistence run at most this often, whatever
#: ``publish_hz`` is (a faster publish rate only makes the status delta more frequent).
WORK_PERIOD_S = 1.0
SIM_PBX_NAME = "sim"
_current_operator: contextvars.ContextVar[Operator | None] = contextvars.ContextVar(
    "ccops_operator", default=None
)


class Daemon:
    """Create, ``await start()``, serve, ``await stop()``."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.started_at = self.clock.now()
        state_dir = settings.daemon.resolved_state_dir()
        self.state_dir = state_dir
        self.socket_path = settings.daemon.resolved_socket()
        self.store_path = settings.store_path()
        self.sim: Any = None
        self.store: Store | None = None
        self.sessions: dict[str, PbxSession] = {}
        self._queue_wrapup: dict[str, dict[str, int]] = {}  # pbx → queue → seconds
        self.kpi = KpiEngine(settings.kpi, self.clock, wrapup_for=self._wrapup_for)
        self.alerts = AlertEngine(settings.alerts, self.clock)
        self.flag_age = FlagAgeTracker(settings.routing.expected_minutes)
        self._alert_ids: dict[str, int] = {}  # engine id → store id
        self._alert_by_store: dict[int, Alert] = {}
        self._recent_alerts: list[dict[str, Any]] = []
        self.publisher = Publisher(self.status_document)
        self.executor: Executor | None = None
        self.incidents: IncidentDesk | None = None  # playbook incidents (issue 4)
        self.pager: Pager | None = None  # phone paging; the incident engine calls .page()
        self.api: ApiServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending_link_events: list[LinkEvent] = []
        self._last_persist = 0.0
        self.tick_errors = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store = await Store.open(self.store_path)
        configs = list(self.settings.pbx)
        secrets_by_name: dict[str, str] = {}
        if self.settings.uses_simulator:
            cfg, secret = await self._start_simulator()
            configs = [cfg]
            secrets_by_name[cfg.name] = secret
        else:
            for cfg in configs:
                secrets_by_name[cfg.name] = cfg.resolve_secret()
        await self._restore_kpis()
        for cfg in configs:
            self.sessions[cfg.name] = PbxSession(
                cfg,
                secret=secrets_by_name[cfg.name],
                kpi=self.kpi,
                kpi_config=self.settings.kpi,
                clock=self.clock,
                on_link=self._on_link,
                queue_wrapup=self._queue_wrapup.get(cfg.name),
            )
        self.pager = Pager(
            self.settings.paging, list(self.settings.oncall), self.sessions, self.clock,
            on_event=lambda event: self.publisher.push_now(event.as_dict()),
            audit=self.store.append_audit,
        )
        for session in self.sessions.values():
            session.listeners.append(self.pager.on_pbx_event)
        standby = StandbyDesk(self.pager, list(self.settings.oncall), self.settings.paging,
                              self.clock)
        pbx_performer = PbxPerformer(self.sessions, acknowledge_alert=self._acknowledge_alert,
                                     page=self.pager.perform, page_standby=standby.perform)
        self.incidents = await IncidentDesk.open(
            self.store, self.clock, push=self.publisher.push_now, pager=self.pager,
            oncall=list(self.settings.oncall), simulated=self.settings.uses_simulator,
            playbook_dirs=self.settings.playbooks.dirs,
            parameters=self.settings.playbooks.parameters,
            sim=self.sim, set_production=self.kpi.set_production,  # drill scenarios
        )
        performer = self.incidents.performer(pbx_performer)
        self.executor = Executor(self.store, performer, self.clock)
        performer.run_nested = self.execute  # nested PBX changes refresh the flag ages too
        standby.execute = self.execute  # each add_member of a standby call-out
        await self.executor.recover_in_doubt()
        self.api = ApiServer(
            self.socket_path,
            self.publisher,
            identify=self.identify,
            handle=self.handle,
            describe_operator=describe_operator,
            client_queue_limit=self.settings.daemon.client_queue_limit,
            view_for=view_for_operator,
        )
        await self.api.start()
        for session in self.sessions.values():
            await session.start()
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="daemon-tick"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.api is not None:
            await self.api.stop()
        for session in self.sessions.values():
            await session.stop()
        if self.executor is not None:
            await self.executor.drain()
        if self.incidents is not None:
            await self.incidents.stop()
        if self.store is not None:
            with contextlib.suppress(Exception):
                await self._persist(force=True)
            await self.store.close()
        if self.sim is not None:
            await self.sim.stop()

    async def _start_simulator(self) -> tuple[PbxConfig, str]:
        from ccops.sim.server import SimulatedPbx

        sim_cfg = self.settings.sim
        secret = sim_cfg.secret.get_secret_value()
        self.sim = SimulatedPbx(
            host=sim_cfg.host,
            port=sim_cfg.port,
            username=sim_cfg.username,
            secret=secret,
            scenario=sim_cfg.scenario,
            seed=sim_cfg.seed,
        )
        port = await self.sim.start()
        # The simulator knows its queues.conf wrapuptime; AMI does not report it.
        self._queue_wrapup[SIM_PBX_NAME] = {q.name: q.wrapuptime for q in self.sim.centre.queues}
        trunks = [TrunkConfig(name=t.name, capacity=max(1, t.capacity),
                              description="simulated carrier")
                  for t in self.sim.centre.trunks]
        cfg = PbxConfig(
            name=SIM_PBX_NAME,
            host=sim_cfg.host,
            port=port,
            username=sim_cfg.username,
            simulated=True,
            trunks=trunks,
        )
        return cfg, secret

    def _wrapup_for(self, pbx: str, queue: str) -> int:
        return self._queue_wrapup.get(pbx, {}).get(queue, self.settings.kpi.default_wrapup)

    # ------------------------------------------------------------------ identity & requests

    def identify(self, uid: int, pid: int) -> Operator | None:
        """Local peers: the daemon's own user and root are admins; nobody else (yet)."""
        if uid not in (0, os.getuid()):
            return None
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = f"uid{uid}"
        return Operator(
            name=name, role=Role.ADMIN, session_id=f"local-{pid}-{secrets.token_hex(3)}",
            via="local",
        )

    async def handle(self, operator: Operator, frame: dict[str, Any]) -> dict[str, Any]:
        op = frame.get("op")
        rid = frame.get("id")
        if op == "execute":
            name = str(frame.get("command", ""))
            params = frame.get("params") or {}
            if not isinstance(params, dict):
                return {"type": "error", "id": rid, "message": "params must be an object"}
            try:
                command = parse_command(name, params)
            except CommandError as exc:
                return {"type": "result", "id": rid,
                        "result": {"status": "invalid", "detail": str(exc),
                                   "problems": exc.problems}}
            result = await self.execute(operator, command)
            return {"type": "result", "id": rid, "result": result_dict(result)}
        if op in ("playbooks", "incident") and self.incidents is not None:
            if op == "playbooks":
                return {"type": "playbooks", "id": rid,
                        "playbooks": self.incidents.playbooks_json()}
            incident_id = frame.get("incident_id")
            found = None
            if isinstance(incident_id, int) and not isinstance(incident_id, bool):
                found = await self.incidents.incident_json(incident_id)
            if found is None:
                return {"type": "error", "id": rid, "message": f"no incident {incident_id!r}"}
            return {"type": "incident", "id": rid, "incident": found}
        if op == "audit":  # authorised (view_audit), filtered and paged in audit_api
            assert self.store is not None
            return await audit_request(self.store.audit_search, operator, frame, audit_json)
        return {"type": "error", "id": rid, "message": f"unknown op {op!r}"}

    async def audit_session(
        self, operator: Operator, action: str, params: dict[str, Any], detail: str = ""
    ) -> None:
        """Record a console session starting or ending (the SSH gateway calls this), in
        the same hash-chained log as every command, so "who was on" is provable too."""
        assert self.store is not None
        await self.store.append_audit(
            AuditEntry(at=self.clock.now(), operator=operator.name, role=operator.role.value,
                       session_id=operator.session_id, via=operator.via, action=action,
                       params=params, result=AuditResult.OK, detail=detail)
        )

    async def execute(self, operator: Operator, command: Any) -> CommandResult:
        """The one path every change takes (authorise → journal → perform → audit)."""
        assert self.executor is not None
        token = _current_operator.set(operator)
        try:
            return await self.executor.execute(operator, command)
        finally:
            _current_operator.reset(token)
            if (command.subject() or "").startswith("routing:"):
                self.flag_age.invalidate()  # its undo record changes the expectation

    async def _acknowledge_alert(self, store_id: int, _unused: str) -> bool:
        operator = _current_operator.get()
        who = operator.name if operator else "unknown"
        alert = self._alert_by_store.get(store_id)
        if alert is None or not alert.active:
            return False
        try:
            change = self.alerts.acknowledge(alert.id, who)
        except UnknownAlertError:
            return False
        assert self.store is not None
        await self.store.acknowledge_alert(store_id, who, self.clock.now())
        self._alert_by_store[store_id] = change.alert
        self.publisher.push_now(
            {"type": "alert", "change": "acknowledged", "alert": self._alert_json(change.alert)}
        )
        return True

    # ------------------------------------------------------------------ link events

    def _on_link(self, status: LinkStatus) -> None:
        self._pending_link_events.append(
            LinkEvent(pbx=status.pbx, at=status.since, state=status.state.value,
                      detail=status.detail)
        )

    # ------------------------------------------------------------------ time-driven work

    async def _tick_loop(self) -> None:
        period = 1.0 / self.settings.daemon.publish_hz
        next_work = 0.0
        while True:
            started = time.monotonic()
            try:
                if started >= next_work:  # the whole tick, at most once a second
                    next_work = started + max(period, WORK_PERIOD_S) - 0.01
                    await self.tick()
                else:  # in between: only the coalesced status delta
                    self.publisher.tick()
            except Exception:  # the loop must survive any single failure
                self.tick_errors += 1
                log.exception("daemon tick failed")
            delay = period - (time.monotonic() - started)
            if not self.publisher.has_subscribers:  # no delta to send: wake for the work only
                delay = max(delay, next_work - time.monotonic())
            await asyncio.sleep(max(0.05, delay))

    async def tick(self) -> None:
        now = self.clock.now()
        for session in self.sessions.values():
            session.reducer.expire(session.state, now)
        self.kpi.tick(now)
        if self.store is not None and self.flag_age.needs_refresh(self.clock.monotonic()):
            undos = await self.store.open_undos()
            self.flag_age.set_expectations(expectations_from_undos(undos), self.clock.monotonic())
        samples = self.samples(now)
        changes = self.alerts.evaluate(samples)
        if changes:
            await self._record_alert_changes(changes)
        if self.incidents is not None:  # overdue timers fire here, with their lateness
            await self.incidents.tick(now, alerts=self.alerts.active(), samples=samples)
        await self._persist()
        self.publisher.tick()

    async def _record_alert_changes(self, changes: list[AlertChange]) -> None:
        assert self.store is not None
        for change in changes:
            alert = change.alert
            store_id = self._alert_ids.get(alert.id)
            if change.kind == "raised" or store_id is None:
                store_id = await self.store.raise_alert(
                    AlertRaise(rule=alert.rule, scope=alert.scope, severity=alert.severity,
                               message=alert.message, raised_at=alert.raised_at,
                               value=alert.value)
                )
                self._alert_ids[alert.id] = store_id
            if alert.cleared_at is not None:
                # Listed as recent before the store write: the engine already dropped it
                # from the active list, and a status document built while the write is
                # awaited must show it in one of the two.
                self._alert_ids.pop(alert.id, None)
                self._recent_alerts.insert(0, self._alert_json(alert, store_id))
                del self._recent_alerts[50:]
                await self.store.clear_alert(store_id, alert.cleared_at)
            self._alert_by_store[store_id] = alert
            self.publisher.push_now(
                {"type": "alert", "change": change.kind,
                 "alert": self._alert_json(alert, store_id)}
            )
        live = set(self._alert_ids.values())
        for sid in [s for s, a in self._alert_by_store.items() if s not in live and a.active]:
            self._alert_by_store.pop(sid, None)

    async def _persist(self, *, force: bool = False) -> None:
        """Write closed and open KPI intervals and link events (nothing is lost on a crash
        beyond the last few seconds of open intervals)."""
        assert self.store is not None
        if self._pending_link_events:
            events, self._pending_link_events = self._pending_link_events, []
            for event in events:
                await self.store.record_link_event(event)
        mono = self.clock.monotonic()
        if not force and mono - self._last_persist < PERSIST_EVERY_S:
            return
        self._last_persist = mono
        now = self.clock.now()
        queues = [*self.kpi.drain_closed(), *self.kpi.current_records()]
        agents = [*self.kpi.drain_closed_agents(), *self.kpi.current_agent_records()]
        # Drill (non-production) figures are never written to production statistics.
        await self.store.upsert_kpi_buckets(
            [to_store_bucket(r, now) for r in queues if r.production])
        await self.store.upsert_agent_buckets(
            [to_store_agent_bucket(r, now) for r in agents if r.production])

    async def _restore_kpis(self) -> None:
        assert self.store is not None
        day_start, day_end = self.kpi.calendar.day(self.clock.now())
        records: list[BucketRecord | AgentBucketRecord] = []
        for b in await self.store.kpi_buckets(start=day_start, end=day_end):
            if (rec := from_store_bucket(b)) is not None:
                records.append(rec)
        for a in await self.store.agent_buckets(start=day_start, end=day_end):
            if (arec := from_store_agent_bucket(a)) is not None:
                records.append(arec)
        if records:
            n = self.kpi.restore(records)
            log.info("restored %d KPI intervals of today from the store", n)

    # ------------------------------------------------------------------ samples for alerts

    def samples(self, now: float) -> list[Sample]:
        out: list[Sample] = []
        for name, session in self.sessions.items():
            state = session.state
            live = session.link.status.state is LinkState.LIVE
            out.append(Sample("link_up", name, 1.0 if live else 0.0))
            out.extend(self.flag_age.samples(name, session.config.routing_family, state.flags,
                                             live=live, now=now))
            if not live:
                continue  # stale numbers must not raise or clear queue alerts
            kpis = self.kpi.snapshot(name, intervals=0)["queues"]
            for qname, queue in state.queues.items():
                scope = f"{name}:{qname}"
                view = queue_view(queue, now)
                out.append(Sample("waiting", scope, float(view.waiting)))
                out.append(Sample("longest_wait", scope, view.longest_wait))
                out.append(Sample("agents_available", scope, float(view.available)))
                rolling = (kpis.get(qname) or {}).get("rolling") or {}
                for metric in ("service_level", "abandon_rate", "asa", "aht"):
                    out.append(Sample(metric, scope, _num(rolling.get(metric))))
                staffed = view.members - view.paused - view.unavailable
                gap = self.kpi.staffing_gap(name, qname, staffed)
                out.append(Sample("erlang_gap", scope, None if gap is None else float(gap)))
            for trunk in state.trunks():
                scope = f"{name}:{trunk.name}"
                reach = trunk.reachable
                out.append(Sample("trunk_reachable", scope,
                                  None if reach is None else float(bool(reach))))
                if trunk.registration:
                    status = trunk.registration_status
                    out.append(Sample("trunk_registered", scope,
                                      (1.0 if status == "Registered" else 0.0) if status
                                      else None))
                out.append(Sample("trunk_usage", scope, trunk.usage))
        return out

    # ------------------------------------------------------------------ the status document

    def _alert_json(self, alert: Alert, store_id: int | None = None) -> dict[str, Any]:
        sid = store_id if store_id is not None else self._alert_ids.get(alert.id)
        data: dict[str, Any] = _jsonable(dataclasses.asdict(alert))
        data["engine_id"] = data.pop("id")
        data["id"] = sid
        data["active"] = alert.active
        return data

    def status_document(self) -> dict[str, Any]:
        """The ``ccops.status/1`` document (docs/status-schema.md)."""
        now = self.clock.now()
        pbxs: dict[str, Any] = {}
        for name, session in self.sessions.items():
            pbxs[name] = self._pbx_document(session, now)
        active = [self._alert_json(a) for a in self.alerts.active()]
        return {
            "schema": SCHEMA,
            "generated_at": now,
            "daemon": {
                "version": __version__,
                "pid": os.getpid(),
                "started_at": self.started_at,
                "uptime": now - self.started_at,
                "simulated": self.settings.uses_simulator,
                "clients": len(self.publisher.clients),
                "snapshot_mode_drops": self.publisher.snapshot_mode_drops,
                "store": str(self.store_path),
                "tick_errors": self.tick_errors,
                "kpi_errors": self.kpi.errors,
            },
            "pbx": pbxs,
            "alerts": active,
            "recent_alerts": list(self._recent_alerts[:20]),
            "incidents": [] if self.incidents is None else self.incidents.status(),
            "incident_suggestions": [] if self.incidents is None else [
                s.as_dict() for s in self.incidents.suggestions],
        }

    def _empty_kpi(self) -> dict[str, Any]:
        """Figures for a queue no call has touched yet: zero counts, undefined rates."""
        zero = queue_metrics(QueueCounters(), self.settings.kpi.sl_formula)
        return {"today": zero, "rolling": zero, "current_bucket": zero, "intervals": [],
                "erlang": {"required": None, "gap": None, "reason": "no calls yet"}}

    def _pbx_document(self, session: PbxSession, now: float) -> dict[str, Any]:
        state = session.state
        link = state.link.as_dict()
        link["state"] = session.link.status.state.value
        link["stale"] = session.link.status.state is not LinkState.LIVE
        link["counters"] = session.diagnostics()
        staffed: dict[str, int] = {}
        queues: dict[str, Any] = {}
        for qname, queue in state.queues.items():
            view = queue_view(queue, now)
            staffed[qname] = view.members - view.paused - view.unavailable
        kpi = self.kpi.snapshot(session.name, staffed=staffed, intervals=96)
        # Ages (time in state, waits) are taken at the whole second: consoles show seconds,
        # and a float age would change the queue's entity on every publish tick (10 Hz),
        # resending every queue to every client with nothing visible changed.
        now_s = float(math.floor(now))
        for qname in sorted(state.queues):
            queue = state.queues[qname]
            view = queue_view(queue, now)
            qdoc = queue.as_dict()
            members = {}
            for m in qdoc.pop("members", []):
                iface = m.get("interface")
                live = queue.members.get(iface)
                if live is not None:
                    m["time_in_state"] = member_time_in_state(live, now_s)
                members[iface] = m
            callers = qdoc.pop("callers", [])
            for c in callers:
                joined = c.get("joined_at")
                c["wait"] = max(0.0, now_s - joined) if joined else None
            queues[qname] = {
                **qdoc,
                "waiting": view.waiting,
                "longest_wait": max(0.0, view.longest_wait - (now - now_s)),
                "agents": {
                    "members": view.members, "available": view.available,
                    "ringing": view.ringing, "on_call": view.on_call, "on_hold": view.on_hold,
                    "acw": view.acw, "paused": view.paused, "unavailable": view.unavailable,
                },
                "callers": callers,
                "members": members,
                "kpi": kpi["queues"].get(qname) or self._empty_kpi(),
            }
        trunks = {t["name"]: _trunk_json(t) for t in (e.as_dict() for e in state.trunks())}
        flags = {f"{f['family']}/{f['key']}": f for f in (fl.as_dict() for fl in
                                                         state.flags.values())}
        agents = {
            a.interface: {
                "name": a.name, "state": a.state, "since": a.since, "queues": list(a.queues),
                **{k: v for k, v in (kpi["agents"].get(a.interface) or {}).items()
                   if k not in ("name", "state", "since", "queues")},
            }
            for a in agent_views(state, now)
        }
        return {
            "name": session.name,
            "simulated": session.config.simulated,
            "production": kpi.get("production", True),
            "link": link,
            "sync": {
                "epoch": state.epoch, "syncing": state.syncing,
                "synced_at": state.synced_at or None, "failed": list(state.sync_failed),
            },
            "queues": queues,
            "agents": agents,
            "trunks": trunks,
            "flags": flags,
            "channel_count": len(state.channels),
            "anomalies": dict(state.anomalies),
        }


# --------------------------------------------------------------------------- helpers


def describe_operator(operator: Operator) -> dict[str, Any]:
    return {"name": operator.name, "role": operator.role.value, "via": operator.via,
            "session_id": operator.session_id}


def audit_json(record: AuditRecord) -> dict[str, Any]:
    """One audit record flattened for clients: position, hashes, then the entry's fields."""
    entry: dict[str, Any] = _jsonable(dataclasses.asdict(record.entry))
    return {"seq": record.seq, "hash": record.hash, "prev_hash": record.prev_hash, **entry}


def result_dict(result: CommandResult) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "ok": result.ok,
        "detail": result.detail,
        "command": result.command.name,
        "summary": result.command.summary(),
        "audit_seq": result.audit_seq,
        "journal_id": result.journal_id,
        "pbx_response": dict(result.pbx_response) if result.pbx_response else None,
        "readback": _jsonable(dict(result.readback)) if result.readback else None,
        "undo_id": result.undo_id,
    }


_IDENTITY = ("pbx", "queue", "interface", "bucket_start", "bucket_end", "production")


def to_store_bucket(record: BucketRecord, now: float) -> KpiBucket:
    """A KPI engine queue interval → the store's row (sums and counts, never averages)."""
    data = dataclasses.asdict(record)
    counters = {k: float(v) for k, v in data.items() if k not in _IDENTITY}
    return KpiBucket(pbx=record.pbx, queue=record.queue, bucket_start=int(record.bucket_start),
                     bucket_seconds=int(record.bucket_end - record.bucket_start),
                     counters=counters, updated_at=now)


def to_store_agent_bucket(record: AgentBucketRecord, now: float) -> AgentBucket:
    data = dataclasses.asdict(record)
    counters = {k: v for k, v in data.items() if k not in _IDENTITY}
    return AgentBucket(pbx=record.pbx, interface=record.interface,
                       bucket_start=int(record.bucket_start),
                       bucket_seconds=int(record.bucket_end - record.bucket_start),
                       counters=counters, updated_at=now)


def from_store_bucket(bucket: KpiBucket) -> BucketRecord | None:
    """The inverse of :func:`to_store_bucket`; None (and a warning) for an unreadable row."""
    types = {f.name: f.type for f in dataclasses.fields(BucketRecord)}
    kwargs: dict[str, Any] = {}
    for key, value in bucket.counters.items():
        if key in types and key not in _IDENTITY:
            kwargs[key] = int(value) if types[key] in ("int", int) else float(value)
    try:
        return BucketRecord(pbx=bucket.pbx, queue=bucket.queue,
                            bucket_start=float(bucket.bucket_start),
                            bucket_end=float(bucket.bucket_start + bucket.bucket_seconds),
                            **kwargs)
    except (TypeError, ValueError) as exc:
        log.warning("skipping unreadable KPI bucket %s/%s@%s: %s", bucket.pbx, bucket.queue,
                    bucket.bucket_start, exc)
        return None


def from_store_agent_bucket(bucket: AgentBucket) -> AgentBucketRecord | None:
    c = bucket.counters
    try:
        return AgentBucketRecord(
            pbx=bucket.pbx, interface=bucket.interface,
            bucket_start=float(bucket.bucket_start),
            bucket_end=float(bucket.bucket_start + bucket.bucket_seconds),
            name=str(c.get("name", "")), calls=int(c.get("calls", 0)),
            talk_sum=float(c.get("talk_sum", 0.0)), hold_count=int(c.get("hold_count", 0)),
            hold_sum=float(c.get("hold_sum", 0.0)),
            state_seconds={str(k): float(v) for k, v in (c.get("state_seconds") or {}).items()},
        )
    except (TypeError, ValueError, AttributeError) as exc:
        log.warning("skipping unreadable agent bucket %s/%s@%s: %s", bucket.pbx,
                    bucket.interface, bucket.bucket_start, exc)
        return None


def _trunk_json(trunk: dict[str, Any]) -> dict[str, Any]:
    """Add the round trip (ms) of the best reachable contact, for tiles and wallboards."""
    rtts = [c["rtt_usec"] for c in trunk.get("contacts", [])
            if c.get("status") == "Reachable" and c.get("rtt_usec")]
    trunk["rtt_ms"] = min(rtts) / 1000.0 if rtts else None
    return trunk


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str | int):
        return value.value
    return value
