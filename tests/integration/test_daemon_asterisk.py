"""The ccops daemon against a real Asterisk 22 (issue 2's integration proof).

Each test starts its own in-process :class:`Daemon` (own state directory) on the session's
tier, as a site would configure it, and checks the daemon's model and KPIs against what
Asterisk itself says on a separate ``tier-admin`` AMI session (daemon_tier.py). Waits are
on conditions with timeouts (the status document is polled), never fixed sleeps.

Queues used (docs/asterisk-tier.md): ``repairs`` (ringall; agent7 answers after 1 s,
agent8 never answers) makes waits, abandons and timeouts deterministic: with agent7 busy or
paused nobody answers; ``hotline`` (five answering agents) carries the load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from asterisk_tier import AmiClient, AmiMessage, AsteriskTier
from daemon_tier import (
    PBX,
    asterisk_view,
    daemon_settings,
    pbx_doc,
    wait_for,
    wait_live,
    wait_model_equals_asterisk,
)

from ccops.config import KpiConfig
from ccops.core.commands import PauseMember, PauseReason, UnpauseMember
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon

AGENT7 = "Local/agent7@agents/n"
AGENT2 = "Local/agent2@agents/n"

Doc = dict[str, Any]


@pytest.fixture
async def daemon_factory(tier: AsteriskTier) -> AsyncIterator[list[Daemon]]:
    """Started daemons are stopped after the test; tests start them when they are ready."""
    started: list[Daemon] = []
    yield started
    for d in started:
        await d.stop()


async def start_daemon(
    tier: AsteriskTier, tmp_path: Path, started: list[Daemon], kpi: KpiConfig | None = None
) -> Daemon:
    d = Daemon(daemon_settings(tier, tmp_path / f"state{len(started)}", kpi))
    started.append(d)
    await d.start()
    await wait_live(d)
    return d


@pytest.fixture
async def daemon(
    tier: AsteriskTier, tmp_path: Path, daemon_factory: list[Daemon]
) -> Daemon:
    return await start_daemon(tier, tmp_path, daemon_factory)


async def set_paused(ami: AmiClient, interface: str, queue: str, paused: bool) -> None:
    reply = await ami.request(
        "QueuePause",
        {"Interface": interface, "Queue": queue, "Paused": "true" if paused else "false"},
    )
    assert reply.ok, reply.message


def queue_doc(doc: Doc, queue: str) -> Doc:
    q: Doc = doc["queues"][queue]
    return q


def today(doc: Doc, queue: str) -> Doc:
    t: Doc = doc["queues"][queue]["kpi"]["today"]
    return t


def events(ami: AmiClient, name: str, queue: str) -> list[AmiMessage]:
    return [m for m in ami.history if m.event == name and m.get("Queue") == queue]


def _is(name: str, **headers: str) -> Callable[[AmiMessage], bool]:
    def match(msg: AmiMessage) -> bool:
        return msg.event == name and all(msg.get(k) == v for k, v in headers.items())

    return match


# ----------------------------------------------------------------------------- 1. sync


async def test_model_after_sync_equals_asterisk(
    tier: AsteriskTier, ami_admin: AmiClient, tmp_path: Path, daemon_factory: list[Daemon]
) -> None:
    """Queues, members (state, paused + reason, penalty), waiting callers and endpoints with
    their device state, read at login, equal Asterisk's QueueStatus/PJSIPShowEndpoints."""
    await set_paused(ami_admin, AGENT7, "repairs", True)
    reply = await ami_admin.request(
        "QueuePause",
        {"Interface": AGENT2, "Queue": "hotline", "Paused": "true", "Reason": "meeting"},
    )
    assert reply.ok
    try:
        run = tier.start_callers("repairs", count=2, rate=10, patience_s=20)
        for _ in range(100):  # callers waiting before the daemon logs in: sync must read them
            if len((await asterisk_view(ami_admin))["queues"]["repairs"]["callers"]) == 2:
                break
            await asyncio.sleep(0.1)
        daemon = await start_daemon(tier, tmp_path, daemon_factory)
        truth = await wait_model_equals_asterisk(daemon, ami_admin)
        assert set(truth["queues"]) == {"hotline", "billing", "repairs"}
        assert len(truth["queues"]["repairs"]["callers"]) == 2
        assert truth["queues"]["hotline"]["members"][AGENT2]["paused_reason"] == "meeting"
        assert truth["queues"]["hotline"]["members"]["Local/agent4@agents/n"]["penalty"] == 1
        assert {"carrier-a", "carrier-b", "desk-201"} <= set(truth["endpoints"])
        doc = pbx_doc(daemon)
        assert doc["link"]["stale"] is False and doc["sync"]["failed"] == []
        assert truth["registrations"] == {
            "carrier-a-reg": doc["trunks"]["carrier-a"]["registration_status"]}
        assert doc["trunks"]["carrier-b"]["reachable"] is True
        assert doc["queues"]["repairs"]["waiting"] == 2
        for caller in truth["queues"]["repairs"]["callers"].values():  # end them cleanly:
            await ami_admin.request("Hangup", {"Channel": caller["channel"]})  # sipp gets BYE
        stats = await asyncio.to_thread(run.wait_done, 10)
        assert stats.failed == 0, run.log_tail()
    finally:
        await set_paused(ami_admin, AGENT7, "repairs", False)
        await set_paused(ami_admin, AGENT2, "hotline", False)


# ----------------------------------------------------------------------------- 2. live


async def test_waiting_answered_and_abandoned_callers_appear_live(
    tier: AsteriskTier, ami_admin: AmiClient, tmp_path: Path, daemon_factory: list[Daemon]
) -> None:
    """Three callers on repairs: agent7 answers the first and talks 7 s; the other two wait
    (nobody else answers) with a patience of 4 s, shorter than agent7's talk, and abandon.

    (Patience runs from Asterisk's Answer; the queue wait starts ~0.5 s later, so HoldTime
    is 3 or 4: short_abandon=1 keeps both long abandons.)"""
    daemon = await start_daemon(tier, tmp_path, daemon_factory, KpiConfig(short_abandon=1))
    tier.set_agent_talk_time(7, 7)
    try:
        first = tier.start_callers("repairs", count=1, rate=1, patience_s=30)
        member = await wait_for(
            daemon,
            lambda d: (m := queue_doc(d, "repairs")["members"][AGENT7])["state"] == "on_call"
            and m,
            "agent7 on a call from repairs",
        )
        assert member["current_call"]
        others = tier.start_callers("repairs", count=2, rate=10, patience_s=4)
        waiting = await wait_for(
            daemon,
            lambda d: c if len(c := queue_doc(d, "repairs")["callers"]) == 2 else None,
            "two callers waiting in repairs",
        )
        assert all(c["wait"] is not None and c["wait"] < 4 for c in waiting), waiting
        assert queue_doc(pbx_doc(daemon), "repairs")["longest_wait"] >= 0
        kpi = await wait_for(
            daemon,
            lambda d: t if (t := today(d, "repairs"))["abandoned"] == 2 else None,
            "two abandons counted",
        )
        assert queue_doc(pbx_doc(daemon), "repairs")["callers"] == []
        assert (kpi["entered"], kpi["answered"], kpi["abandoned"], kpi["timeouts"]) == (
            3, 1, 2, 0)  # fmt: skip
        assert kpi["short_abandoned"] == 0
        # Asterisk's own account, on the admin session, names the same callers.
        for caller in waiting:
            await ami_admin.wait_event(
                _is("QueueCallerAbandon", Queue="repairs", Uniqueid=caller["uniqueid"])
            )
        abandoned = {m.get("Uniqueid") for m in events(ami_admin, "QueueCallerAbandon", "repairs")}
        assert abandoned == {c["uniqueid"] for c in waiting}
        assert len(events(ami_admin, "AgentConnect", "repairs")) == 1
        await asyncio.to_thread(others.wait_done, 20)
        await asyncio.to_thread(first.wait_done, 20)
        done = await wait_for(
            daemon,
            lambda d: t if (t := today(d, "repairs"))["completed"] == 1 else None,
            "the answered call completed",
        )
        assert done["avg_talk"] is not None and done["avg_talk"] >= 6
    finally:
        lo, hi = tier.settings.agent_talk_s
        tier.set_agent_talk_time(lo, hi)


# ----------------------------------------------------------------------------- 3. trunks


async def test_stopped_carrier_makes_trunk_unreachable_and_raises_its_alert(
    tier: AsteriskTier, daemon: Daemon
) -> None:
    def alert_for(doc: Doc, trunk: str) -> Doc | None:
        for alert in doc["alerts"]:
            if alert["rule"] == "trunk-unreachable" and alert["scope"] == f"{PBX}:{trunk}":
                return dict(alert)
        return None

    assert alert_for(daemon.status_document(), "carrier-b") is None
    tier.stop_carrier("carrier-b")
    trunk = await wait_for(
        daemon,
        lambda d: t if (t := d["trunks"]["carrier-b"])["reachable"] is False else None,
        "carrier-b unreachable",
    )
    assert trunk["up"] is False
    assert trunk["history"][-1]["up"] is False
    alert = await wait_for(
        daemon, lambda d: alert_for(d, "carrier-b"), "trunk-unreachable raised", whole=True
    )
    assert alert["severity"] == "critical" and alert["active"] is True
    assert pbx_doc(daemon)["trunks"]["carrier-a"]["reachable"] is True  # only the one
    tier.start_carrier("carrier-b")
    await wait_for(
        daemon,
        lambda d: d["trunks"]["carrier-b"]["reachable"] is True,
        "carrier-b reachable again",
    )
    # Cleared: gone from the active alerts and listed, with its clear time, among the
    # recent ones (that list is updated once the store has the clear: wait for both).
    cleared = await wait_for(
        daemon,
        lambda d: [a for a in d["recent_alerts"] if a["rule"] == "trunk-unreachable"]
        if alert_for(d, "carrier-b") is None
        else None,
        "trunk-unreachable cleared",
        whole=True,
    )
    assert cleared[0]["scope"] == f"{PBX}:carrier-b"
    assert cleared[0]["cleared_at"] is not None and cleared[0]["active"] is False


# ----------------------------------------------------------------------------- 4. restart


async def test_asterisk_killed_under_load_goes_stale_and_resyncs(
    tier: AsteriskTier, daemon: Daemon
) -> None:
    """SIGKILL with calls up: the model says stale, since when, and the next retry; after
    the restart it reconnects and equals Asterisk again, under a new load and after it,
    with nothing left over from before the crash."""
    tier.set_agent_talk_time(2, 4)
    before = tier.start_callers("hotline", count=12, rate=3, patience_s=5)
    after = None
    try:
        await wait_for(daemon, lambda d: d["channel_count"] >= 4, "calls up before the kill")
        doomed = set(daemon.sessions[PBX].state.channels)
        killed_at = time.time()
        tier.kill()
        link = await wait_for(
            daemon,
            lambda d: d["link"] if d["link"]["stale"] and d["link"]["next_retry_at"] else None,
            "link stale with a next retry",
            timeout=8,
        )
        assert link["state"] in ("down", "connecting")
        assert killed_at - 1 <= link["since"] <= time.time()
        assert link["next_retry_at"] >= link["since"]
        assert link["detail"]
        await wait_for(
            daemon,
            lambda d: any(a["rule"] == "pbx-link-down" for a in d["alerts"]),
            "pbx-link-down raised (after its 5 s)",
            timeout=10,
            whole=True,
        )
        restarted_at = time.time()
        await asyncio.to_thread(tier.start)
        after = tier.start_callers("hotline", count=9, rate=3, patience_s=4)
        doc = await wait_live(daemon, after=restarted_at, timeout=15)
        assert doc["link"]["epoch"] >= 2 and doc["link"]["stale"] is False
        assert doc["link"]["counters"]["reconnects"] >= 1
        admin = await _admin(tier)  # a new admin session: the old one died with Asterisk
        try:
            await wait_for(daemon, lambda d: d["channel_count"] >= 1, "calls after the restart")
            await wait_model_equals_asterisk(daemon, admin)  # while calls come and go
            assert not doomed & set(daemon.sessions[PBX].state.channels)
            await asyncio.to_thread(after.wait_done, 30)
            await asyncio.to_thread(before.wait_done, 30)
            await wait_model_equals_asterisk(daemon, admin)  # and once the load is over
        finally:
            await admin.close()
        await wait_for(
            daemon,
            lambda d: not any(a["rule"] == "pbx-link-down" for a in d["alerts"]),
            "pbx-link-down cleared",
            whole=True,
        )
    finally:
        for run in (before, after):
            if run is not None:
                run.stop()
        if tier.running:
            lo, hi = tier.settings.agent_talk_s
            tier.set_agent_talk_time(lo, hi)


async def _admin(tier: AsteriskTier) -> AmiClient:
    ep = tier.endpoint("tier-admin")
    return await AmiClient.connect(ep.host, ep.port, ep.username, ep.secret, events=False)


# ----------------------------------------------------------------------------- 5. execute


async def test_pause_and_unpause_through_execute_are_read_back_and_audited(
    ami_admin: AmiClient, daemon: Daemon
) -> None:
    operator = Operator(name="sup-anna", role=Role.ADMIN, session_id="it-1", via="local")
    result = await daemon.execute(
        operator,
        PauseMember(pbx=PBX, queue="hotline", interface=AGENT2, reason=PauseReason.TRAINING),
    )
    try:
        assert result.status.value == "ok", result.detail
        assert result.readback is not None
        truth = await asterisk_view(ami_admin)
        member = truth["queues"]["hotline"]["members"][AGENT2]
        assert (member["paused"], member["paused_reason"]) == (True, "training")
        assert truth["queues"]["billing"]["members"]  # other queues untouched
        await wait_for(
            daemon,
            lambda d: (m := queue_doc(d, "hotline")["members"][AGENT2])["paused"]
            and m["paused_reason"] == "training",
            "the daemon's model shows the pause and its reason",
        )
    finally:
        undo = await daemon.execute(
            operator, UnpauseMember(pbx=PBX, queue="hotline", interface=AGENT2)
        )
    assert undo.status.value == "ok", undo.detail
    truth = await asterisk_view(ami_admin)
    assert truth["queues"]["hotline"]["members"][AGENT2]["paused"] is False
    await wait_for(
        daemon,
        lambda d: queue_doc(d, "hotline")["members"][AGENT2]["paused"] is False,
        "the daemon's model shows the unpause",
    )
    assert daemon.store is not None
    records = await daemon.store.audit_page(0, 50)
    mine = [(r.entry.action, r.entry.result) for r in records if r.entry.operator == "sup-anna"]
    assert [(a, str(getattr(res, "value", res))) for a, res in mine] == [
        ("pause_member", "ok"), ("unpause_member", "ok")]  # fmt: skip
    assert records[0].entry.params.get("reason") == "training"


# ----------------------------------------------------------------------------- 6. KPIs


async def test_kpis_for_a_known_call_plan_match_the_plan(
    tier: AsteriskTier, ami_admin: AmiClient, tmp_path: Path, daemon_factory: list[Daemon]
) -> None:
    """repairs with a Queue() timeout of 6 s: agent7 answers two callers one after the
    other, then is paused (nobody answers repairs any more: agent8 never picks up); two
    callers give up after 2 s (short abandons), one after 4 s (an abandon), two stay and
    time out. Asterisk reports all five as QueueCallerAbandon; ccops must count 2 + 1 + 2.

    Patience runs from Asterisk's Answer, the queue wait ~0.5 s later: HoldTime 1-2 for a
    patience of 2 (≤ short_abandon 2), 3-4 for 4, and 6 for the timeout.
    """
    daemon = await start_daemon(tier, tmp_path, daemon_factory, KpiConfig(short_abandon=2))
    before = await _queue_params(ami_admin, "repairs")
    tier.set_agent_talk_time(1, 1)
    tier.set_max_wait("repairs", 6)
    runs = []
    try:
        for n in (1, 2):
            runs.append(tier.start_callers("repairs", count=1, rate=1, patience_s=30))
            await wait_for(daemon, answered(n), f"caller {n} answered")
        await set_paused(ami_admin, AGENT7, "repairs", True)
        runs += [
            tier.start_callers("repairs", count=2, rate=10, patience_s=2),
            tier.start_callers("repairs", count=1, rate=1, patience_s=4),
            tier.start_callers("repairs", count=2, rate=10, patience_s=30),
        ]
        kpi = await wait_for(
            daemon,
            lambda d: t if (t := today(d, "repairs"))["offered"] == 7 else None,
            "seven outcomes",
            timeout=15,
        )
        assert (kpi["entered"], kpi["answered"], kpi["short_abandoned"], kpi["abandoned"],
                kpi["timeouts"]) == (7, 2, 2, 1, 2), kpi  # fmt: skip
        assert kpi["offered"] == (
            kpi["answered"] + kpi["abandoned"] + kpi["short_abandoned"] + kpi["timeouts"]
        )
        assert kpi["answer_rate"] == pytest.approx(2 / 7)
        assert kpi["timeout_rate"] == pytest.approx(2 / 7)
        assert kpi["avg_abandon_wait"] in (3, 4)
        for run in runs:
            stats = await asyncio.to_thread(run.wait_done, 20)
            assert stats.failed == 0, run.log_tail()
        # Asterisk's own counter lumps the timeouts in with the abandons.
        after = await _queue_params(ami_admin, "repairs")
        assert after["Abandoned"] - before["Abandoned"] == 5
        assert after["Completed"] - before["Completed"] == 2
        final = await wait_for(
            daemon,
            lambda d: t if (t := today(d, "repairs"))["completed"] == 2 else None,
            "both answered calls completed",
        )
        assert (final["offered"], final["timeouts"], final["abandoned"]) == (7, 2, 1)
        assert daemon.kpi.diagnostics()["anomalies"] == {}
    finally:
        await set_paused(ami_admin, AGENT7, "repairs", False)
        tier.set_max_wait("repairs", tier.settings.max_wait_s["repairs"])
        lo, hi = tier.settings.agent_talk_s
        tier.set_agent_talk_time(lo, hi)


def answered(n: int) -> Callable[[Doc], bool]:
    def check(doc: Doc) -> bool:
        return bool(today(doc, "repairs")["answered"] == n)

    return check


async def _queue_params(admin: AmiClient, queue: str) -> dict[str, int]:
    reply = await admin.request("QueueStatus", {"Queue": queue})
    params = [m for m in reply.items if m.event == "QueueParams"]
    assert len(params) == 1
    return {k: int(params[0].get(k)) for k in ("Completed", "Abandoned")}
