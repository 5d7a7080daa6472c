"""Routing toggles through a real daemon on the simulator: the overdue-flag alert is raised
past the command's expected duration and cleared by the undo; trunk RTT after sync comes
from the simulator's PJSIPShowEndpoint."""

from __future__ import annotations

import asyncio

from ccops.core.commands import (
    ClearRoutingFlag,
    RoutingFlagKind,
    SetRoutingFlag,
    parse_command,
)
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon

ADMIN = Operator(name="ada", role=Role.ADMIN, session_id="t-admin", via="local")


def _overdue(daemon: Daemon) -> list[str]:
    return [a.scope for a in daemon.alerts.active() if a.rule == "routing-flag-overdue"]


async def test_flag_left_on_raises_and_undo_clears(daemon: Daemon) -> None:
    result = await daemon.execute(ADMIN, SetRoutingFlag(
        pbx="sim", kind=RoutingFlagKind.NIGHT, target="4930100", expected_duration_min=20))
    assert result.ok, result.detail
    await daemon.tick()  # reads the toggle's undo record: its own 20 minutes
    now = daemon.clock.now()
    assert daemon.alerts.evaluate(daemon.samples(now + 19 * 60)) == []
    changes = daemon.alerts.evaluate(daemon.samples(now + 21 * 60))
    assert [(c.kind, c.alert.scope) for c in changes] == [("raised", "sim:night/4930100")]
    assert "night/4930100 on sim is still on, 2 min past" in changes[0].alert.message

    assert daemon.store is not None and result.undo_id is not None
    record = {u.id: u for u in await daemon.store.open_undos(pbx="sim")}[result.undo_id]
    undone = await daemon.execute(
        ADMIN, parse_command(record.spec.undo_command, record.spec.undo_params))
    assert undone.ok, undone.detail
    changes = daemon.alerts.evaluate(daemon.samples(daemon.clock.now()))
    assert [(c.kind, c.alert.cleared_reason) for c in changes] == [("cleared", "recovered")]
    assert _overdue(daemon) == []


async def test_clearing_a_flag_already_gone_is_off_not_an_error(daemon: Daemon) -> None:
    """The undo of an overflow someone already removed on the PBX (asterisk -rx "database
    del …", a PBX rebuilt) reads the key back absent: off, as wanted. Asterisk answers the
    DBDel of a missing key "Database entry could not be deleted"; that alone must
    not make the undo — and so the incident's "undo and close" — fail."""
    on = await daemon.execute(ADMIN, SetRoutingFlag(
        pbx="sim", kind=RoutingFlagKind.OVERFLOW, target="hotline", value="voicemail",
        expected_duration_min=30))
    assert on.ok, on.detail
    assert daemon.sim is not None
    del daemon.sim.astdb["/ccops/overflow/hotline"]  # removed behind ccops's back
    off = await daemon.execute(ADMIN, ClearRoutingFlag(
        pbx="sim", kind=RoutingFlagKind.OVERFLOW, target="hotline"))
    assert off.ok, off.detail
    assert "overflow for hotline is off" in off.detail
    assert off.readback is not None and off.readback["value"] is None


async def test_trunk_round_trip_shows_after_sync(daemon: Daemon) -> None:
    for _ in range(100):
        trunks = daemon.status_document()["pbx"]["sim"]["trunks"]
        if trunks and all(t.get("rtt_ms") for t in trunks.values()):
            break
        await asyncio.sleep(0.05)
    assert trunks and all(t["rtt_ms"] and t["rtt_ms"] > 0 for t in trunks.values()), trunks
    assert all(t["reachable"] for t in trunks.values())
