"""Routing toggles end to end against the real Asterisk 22 tier.

The chain under test is the one an admin relies on during a surge: the daemon's
``execute`` path (authorise → journal → perform → read back → audit) writes the AstDB key
and the BLF device state, a *separate* admin AMI session sees both, the daemon's live model
and status document show the flag, a real sipp call takes the diverted path through the
shipped ``config/asterisk/extensions_ccops.conf`` (the tier includes it verbatim), and the
recorded undo puts everything back, again proven with a real call.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from asterisk_tier import AmiClient, AmiMessage, AsteriskTier
from daemon_tier import wait_live
from pydantic import SecretStr

from ccops.config import PbxConfig, Settings, load_settings
from ccops.core.commands import (
    ClearRoutingFlag,
    Command,
    RoutingFlagKind,
    SetRoutingFlag,
    parse_command,
)
from ccops.core.execute import CommandResult, Operator
from ccops.core.roles import Capability, Role, allows
from ccops.daemon.service import Daemon

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]

PBX = "tier"
FAMILY = "ccops"
HOTLINE_DID = "4930100"


def _operator(role: Role) -> Operator:
    return Operator(name=f"{role.value}-op", role=role,
                    session_id=f"t-{secrets.token_hex(3)}", via="local")


ADMIN = _operator(Role.ADMIN)


def _settings(tier: AsteriskTier, state_dir: Path) -> Settings:
    ep = tier.endpoint("ccops")
    base = load_settings(None, use_default_path=False)
    pbx = PbxConfig(name=PBX, host=ep.host, port=ep.port, username=ep.username,
                    secret=SecretStr(ep.secret), reconcile_interval=0)
    return base.model_copy(update={
        "pbx": [pbx],
        "daemon": base.daemon.model_copy(update={"state_dir": state_dir, "publish_hz": 5.0}),
    })


async def _clear_flags(ami: AmiClient) -> None:
    """Start and end clean: no routing key left from another test, lamps off, and no
    caller left in a queue (a stopped sipp drops its calls without BYE, so Asterisk would
    keep them waiting and skew the next test's queue)."""
    await ami.request("Hangup", {"Channel": "/^PJSIP/carrier-/"})
    await ami.request("DBDelTree", {"Family": FAMILY})
    for device in ("Custom:ccops-overflow-hotline", f"Custom:ccops-night-{HOTLINE_DID}"):
        await ami.request("Setvar", {"Variable": f"DEVICE_STATE({device})",
                                     "Value": "NOT_INUSE"})


@pytest.fixture
async def daemon(tier: AsteriskTier, ami_admin: AmiClient,
                 tmp_path: Path) -> AsyncIterator[Daemon]:
    """A real ccopsd in-process, linked to the tier as the product's ``ccops`` user."""
    await _clear_flags(ami_admin)
    d = Daemon(_settings(tier, tmp_path / "state"))
    await d.start()
    try:
        await wait_live(d)
        yield d
    finally:
        await d.stop()
        await _clear_flags(ami_admin)


async def _db_get(ami: AmiClient, key: str) -> str | None:
    result = await ami.request("DBGet", {"Family": FAMILY, "Key": key})
    if not result.ok:
        assert "not found" in result.message, result.message
        return None
    return next(i.get("Val") for i in result.items if i.event == "DBGetResponse")


async def _device_state(ami: AmiClient, device: str) -> str:
    result = await ami.request("DeviceStateList")
    states = {i.get("Device"): i.get("State") for i in result.items}
    return states.get(device, "")


async def _lamp(ami: AmiClient, exten: str) -> str:
    """What a BLF key subscribed to ``exten@ccops-hints`` shows (the snippet's hints)."""
    result = await ami.request("ExtensionState", {"Exten": exten, "Context": "ccops-hints"})
    assert result.ok, result.message
    return result.response.get("StatusText")


def _event(name: str, **headers: str) -> Callable[[AmiMessage], bool]:
    def match(msg: AmiMessage) -> bool:
        return msg.event == name and all(msg.get(k) == v for k, v in headers.items())

    return match


def _routing(kind: str, target: str) -> Callable[[AmiMessage], bool]:
    return _event("UserEvent", UserEvent="CcopsRouting", Kind=kind, Target=target)


async def _call_joins(tier: AsteriskTier, ami: AmiClient, did_queue: str) -> str:
    """Place one real call to ``did_queue``'s DID; return the queue the caller joined."""
    since = len(ami.history)
    tier.start_callers(did_queue, count=1, rate=1, patience_s=3)
    join = await ami.wait_event(_event("QueueCallerJoin"), timeout=20, since=since)
    return join.get("Queue")


async def _flag_in_model(daemon: Daemon, key: str, want: str | None) -> None:
    """The live model and the status document both say ``want`` (None = absent)."""
    session = daemon.sessions[PBX]
    for _ in range(100):
        flag = session.state.flags.get((FAMILY, key))
        doc = daemon.status_document()["pbx"][PBX]["flags"].get(f"{FAMILY}/{key}")
        if (flag.value if flag else None) == want and (doc["value"] if doc else None) == want:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"model/status document never showed {key} = {want!r}: "
                         f"{daemon.status_document()['pbx'][PBX]['flags']}")


async def _undo(daemon: Daemon, result: CommandResult) -> CommandResult:
    """Run the undo the executor recorded for ``result`` (as the console's Undo does)."""
    assert daemon.store is not None and result.undo_id is not None
    undos = {u.id: u for u in await daemon.store.open_undos(pbx=PBX)}
    record = undos[result.undo_id]
    command: Command = parse_command(record.spec.undo_command, record.spec.undo_params)
    return await daemon.execute(ADMIN, command)


async def test_overflow_set_read_back_call_diverted_and_undone(
    tier: AsteriskTier, ami_admin: AmiClient, daemon: Daemon
) -> None:
    result = await daemon.execute(ADMIN, SetRoutingFlag(
        pbx=PBX, kind=RoutingFlagKind.OVERFLOW, target="hotline", value="on",
        expected_duration_min=30))
    assert result.ok, result.detail
    assert result.readback is not None and result.readback["value"] == "on"
    assert "Asterisk confirms overflow for hotline is on" in result.detail
    # A separate admin session sees what Asterisk now holds.
    assert await _db_get(ami_admin, "overflow/hotline") == "on"
    assert await _device_state(ami_admin, "Custom:ccops-overflow-hotline") == "INUSE"
    assert await _lamp(ami_admin, "ccops-overflow-hotline") == "InUse"
    await _flag_in_model(daemon, "overflow/hotline", "on")

    # A real call to hotline's DID lands in the overflow queue (CCOPS_OVERFLOW_hotline).
    since = len(ami_admin.history)
    assert await _call_joins(tier, ami_admin, "hotline") == "billing"
    diverted = await ami_admin.wait_event(_routing("overflow", "hotline"), since=since)
    assert diverted.get("Destination") == "billing"
    tier.stop_callers()

    undone = await _undo(daemon, result)
    assert undone.ok and isinstance(undone.command, ClearRoutingFlag), undone.detail
    assert await _db_get(ami_admin, "overflow/hotline") is None
    assert await _device_state(ami_admin, "Custom:ccops-overflow-hotline") == "NOT_INUSE"
    assert await _lamp(ami_admin, "ccops-overflow-hotline") == "Idle"
    await _flag_in_model(daemon, "overflow/hotline", None)
    assert await _call_joins(tier, ami_admin, "hotline") == "hotline"
    # The whole story is in the audit trail, with the operator.
    assert daemon.store is not None
    page = await daemon.store.audit_page(0, 50)
    actions = [(r.entry.action, r.entry.result, r.entry.operator) for r in page]
    assert ("set_routing_flag", "ok", ADMIN.name) in actions
    assert ("clear_routing_flag", "ok", ADMIN.name) in actions


async def test_night_mode_on_a_did_and_undo(
    tier: AsteriskTier, ami_admin: AmiClient, daemon: Daemon
) -> None:
    result = await daemon.execute(ADMIN, SetRoutingFlag(
        pbx=PBX, kind=RoutingFlagKind.NIGHT, target=HOTLINE_DID, expected_duration_min=600))
    assert result.ok, result.detail
    assert await _db_get(ami_admin, f"night/{HOTLINE_DID}") == "on"
    assert await _lamp(ami_admin, f"ccops-night-{HOTLINE_DID}") == "InUse"
    await _flag_in_model(daemon, f"night/{HOTLINE_DID}", "on")

    since = len(ami_admin.history)
    tier.start_callers("hotline", count=1, rate=1, patience_s=10)
    night = await ami_admin.wait_event(_routing("night", HOTLINE_DID), timeout=20, since=since)
    channel = night.get("Channel")
    assert night.get("Destination") == "ccops-night/s/1"
    # The call runs the night destination (prompt, then hang-up), never a queue.
    await ami_admin.wait_event(_event("Newexten", Channel=channel, Context="ccops-night"),
                               since=since)
    await ami_admin.wait_event(_event("Hangup", Channel=channel), timeout=15, since=since)
    joined = [m for m in ami_admin.history[since:]
              if m.event == "QueueCallerJoin" and m.get("Channel") == channel]
    assert joined == []

    undone = await _undo(daemon, result)
    assert undone.ok, undone.detail
    assert await _db_get(ami_admin, f"night/{HOTLINE_DID}") is None
    assert await _lamp(ami_admin, f"ccops-night-{HOTLINE_DID}") == "Idle"
    await _flag_in_model(daemon, f"night/{HOTLINE_DID}", None)
    assert await _call_joins(tier, ami_admin, "hotline") == "hotline"


async def test_announcement_then_forced_route(
    tier: AsteriskTier, ami_admin: AmiClient, daemon: Daemon
) -> None:
    """Evacuation: an announcement on the DID, then its forced route (to repairs here)."""
    for kind in (RoutingFlagKind.EMERGENCY_ANNOUNCEMENT, RoutingFlagKind.FORCED_ROUTE):
        result = await daemon.execute(ADMIN, SetRoutingFlag(
            pbx=PBX, kind=kind, target=HOTLINE_DID, expected_duration_min=60))
        assert result.ok, result.detail
    since = len(ami_admin.history)
    assert await _call_joins(tier, ami_admin, "hotline") == "repairs"
    announce = await ami_admin.wait_event(
        _routing("emergency_announcement", HOTLINE_DID), since=since)
    forced = await ami_admin.wait_event(_routing("forced_route", HOTLINE_DID), since=since)
    assert announce.get("Destination") == "im-sorry"
    assert forced.get("Destination") == "inbound/repairs/1"
    history = ami_admin.history
    assert history.index(announce) < history.index(forced)


async def test_values_name_a_destination_or_a_queue(
    tier: AsteriskTier, ami_admin: AmiClient, daemon: Daemon
) -> None:
    """forced_route=siteb goes to the admin's CCOPS_DEST_siteb (billing here); overflow of
    billing set to a queue name sends billing's callers to that queue (repairs)."""
    for kind, target, value in ((RoutingFlagKind.FORCED_ROUTE, HOTLINE_DID, "siteb"),
                                (RoutingFlagKind.OVERFLOW, "billing", "repairs")):
        result = await daemon.execute(ADMIN, SetRoutingFlag(
            pbx=PBX, kind=kind, target=target, value=value, expected_duration_min=15))
        assert result.ok, result.detail
    since = len(ami_admin.history)
    # hotline's DID → forced to billing → billing overflows to repairs.
    assert await _call_joins(tier, ami_admin, "hotline") == "repairs"
    forced = await ami_admin.wait_event(_routing("forced_route", HOTLINE_DID), since=since)
    assert forced.get("Destination") == "inbound/billing/1"
    overflow = await ami_admin.wait_event(_routing("overflow", "billing"), since=since)
    assert overflow.get("Destination") == "repairs"


@pytest.mark.parametrize("role", [r for r in Role if not allows(r, Capability.ROUTING_TOGGLE)])
async def test_roles_without_routing_toggle_are_refused(
    role: Role, ami_admin: AmiClient, daemon: Daemon
) -> None:
    """Refused by the daemon per ccops.core.roles (supervisors hold routing_toggle there:
    domain.md §1.3 "if granted", granted by default), audited, and Asterisk untouched."""
    operator = _operator(role)
    result = await daemon.execute(operator, SetRoutingFlag(
        pbx=PBX, kind=RoutingFlagKind.OVERFLOW, target="hotline", expected_duration_min=5))
    assert result.status.value == "refused"
    assert await _db_get(ami_admin, "overflow/hotline") is None
    assert daemon.store is not None
    page = await daemon.store.audit_page(0, 50)
    assert any(r.entry.operator == operator.name and r.entry.result == "refused" for r in page)


def test_snippet_loads_cleanly(tier: AsteriskTier) -> None:
    """Every context of the shipped snippet is in the dialplan, and Asterisk said nothing
    about it at load (pbx_config reports bad lines as WARNING/ERROR with the file name)."""
    for context in ("ccops-did", "ccops-queue", "ccops-announce", "ccops-night", "ccops-hints"):
        shown = tier.cli(f"dialplan show {context}")
        assert f"Context '{context}'" in shown, shown
    log = (tier.run_dir / "log" / "messages.log").read_text(errors="replace")
    complaints = [line for line in log.splitlines()
                  if ("WARNING" in line or "ERROR" in line)
                  and ("extensions_ccops" in line or "pbx_config" in line)]
    assert complaints == []
