"""The daemon end to end on the simulated PBX: live model, socket API, execute, restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.client import DaemonClient
from ccops.daemon.service import Daemon

from .conftest import sim_settings, wait_live


async def test_status_document_mirrors_the_simulator(daemon: Daemon) -> None:
    doc = daemon.status_document()
    assert doc["schema"] == "ccops.status/1"
    sim = doc["pbx"]["sim"]
    assert sim["simulated"] is True
    assert sim["link"]["state"] == "live" and sim["link"]["stale"] is False
    centre = daemon.sim.centre
    assert set(sim["queues"]) == {q.name for q in centre.queues}
    assert set(sim["trunks"]) == {t.name for t in centre.trunks}
    for trunk in sim["trunks"].values():
        assert trunk["capacity"] >= 1
    members = sum(len(q["members"]) for q in sim["queues"].values())
    assert members == sum(len(a.queues) for a in centre.agents)


async def test_client_gets_snapshot_then_deltas_and_executes_a_pause(daemon: Daemon) -> None:
    client = DaemonClient(daemon.socket_path)
    await client.connect()
    try:
        assert client.operator["role"] == "admin"
        queues = client.document["pbx"]["sim"]["queues"]
        qname = sorted(queues)[0]
        iface = sorted(queues[qname]["members"])[0]
        reply = await client.execute(
            "pause_member",
            {"pbx": "sim", "queue": qname, "interface": iface, "reason": "training"},
        )
        result = reply["result"]
        assert result["status"] == "ok", result
        assert result["readback"][qname]["paused"] == "1"
        assert "Asterisk confirms" in result["detail"]
        for _ in range(100):  # the pause reaches the client through the ordinary delta path
            await asyncio.sleep(0.05)
            member = client.document["pbx"]["sim"]["queues"][qname]["members"][iface]
            if member.get("paused"):
                break
        assert member["paused"] is True and member["paused_reason"] == "training"
        audit = await client.request("audit", after_seq=0, limit=10)
        actions = [r["action"] for r in audit["result"]["records"]]
        assert "pause_member" in actions
    finally:
        await client.close()


async def test_a_viewer_is_refused_and_audited(daemon: Daemon) -> None:
    viewer = Operator(name="val", role=Role.VIEWER, session_id="t1", via="local")
    from ccops.core.commands import PauseMember, PauseReason

    sim = daemon.status_document()["pbx"]["sim"]
    qname = sorted(sim["queues"])[0]
    iface = sorted(sim["queues"][qname]["members"])[0]
    result = await daemon.execute(
        viewer, PauseMember(pbx="sim", queue=qname, interface=iface, reason=PauseReason.BREAK)
    )
    assert result.status.value == "refused"
    assert daemon.status_document()["pbx"]["sim"]["queues"][qname]["members"][iface][
        "paused"
    ] is False
    assert daemon.store is not None
    page = await daemon.store.audit_page(0, 50)
    assert any(r.entry.operator == "val" and r.entry.result == "refused" for r in page)


async def test_invalid_command_is_explained_not_crashed(daemon: Daemon) -> None:
    client = DaemonClient(daemon.socket_path)
    await client.connect()
    try:
        reply = await client.execute("pause_member", {"pbx": "sim", "reason": "nap"})
        assert reply["result"]["status"] == "invalid"
        assert "interface" in reply["result"]["detail"]
        reply = await client.execute("no_such_command", {})
        assert reply["result"]["status"] == "invalid"
    finally:
        await client.close()


async def test_todays_kpis_survive_a_daemon_restart(tmp_path: Path) -> None:
    settings = sim_settings(tmp_path / "state", publish_hz=5.0)
    first = Daemon(settings)
    await first.start()
    try:
        await wait_live(first)
        first.sim.firehose(calls_per_second=20.0, seconds=2.0)
        offered = 0
        for _ in range(100):
            await asyncio.sleep(0.1)
            offered = sum(
                (q["kpi"] or {}).get("today", {}).get("entered", 0)
                for q in first.status_document()["pbx"]["sim"]["queues"].values()
            )
            if offered >= 10:
                break
        assert offered >= 10
    finally:
        await first.stop()
    second = Daemon(settings)
    await second.start()
    try:
        await wait_live(second)
        restored = sum(
            (q["kpi"] or {}).get("today", {}).get("entered", 0)
            for q in second.status_document()["pbx"]["sim"]["queues"].values()
        )
        assert restored >= offered
    finally:
        await second.stop()
