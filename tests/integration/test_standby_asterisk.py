"""The standby call-out on the real Asterisk 22 tier: whoever presses 1 joins the queue.

The paging tier's pager phone (a sipp UAS on carrier-b's port, see test_paging_asterisk.py)
answers 5550001 and sends DTMF 1, answers 5550002 and stays silent. Both are on the standby
list with a mobile queue interface through the shipped ``[ccops-standby]`` context
(config/asterisk/extensions_ccops_page.conf, loaded by the tier verbatim). The daemon runs
``page_standby`` as the product's ``ccops`` AMI user; the unfiltered admin session is the
independent witness: Asterisk's own ``QueueStatus`` must list the one who pressed 1 as a
member, not the silent one, and no longer list them once the add's undo has run.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asterisk_tier import AmiClient, AsteriskTier, SippProcess
from daemon_tier import PBX, daemon_settings, wait_live
from test_paging_asterisk import pager_phone  # noqa: F401 - the paging tier's sipp phone

from ccops.config import OnCallPerson, PagingConfig
from ccops.core.commands import PageStandby, parse_command
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon

QUEUE = "hotline"
ACKS = "Local/5550001@ccops-standby"
SILENT = "Local/5550002@ccops-standby"
ROSTER = [
    OnCallPerson(name="duty", display_name="Duty engineer", role="standby_staff",
                 mobile="5550001", queue_interface=ACKS),
    OnCallPerson(name="silent", role="standby_staff", mobile="5550002",
                 queue_interface=SILENT),
]
LEAD = Operator(name="lead", role=Role.SUPERVISOR, session_id="t", via="local")


@pytest.fixture
async def daemon(
    tier: AsteriskTier, tmp_path: Path, pager_phone: SippProcess,  # noqa: F811
    ami_admin: AmiClient,
) -> AsyncIterator[Daemon]:
    base = daemon_settings(tier, tmp_path / "state")
    paging = PagingConfig(trunk="carrier-b", max_attempts=1, ring_timeout_s=10,
                          ack_timeout_s=40, prompt_tries=2, digit_timeout_s=2)
    d = Daemon(base.model_copy(update={"paging": paging, "oncall": ROSTER}))
    await d.start()
    try:
        await wait_live(d)
        yield d
    finally:
        await d.stop()
        # persistentmembers = yes: a member left behind would outlive this test in AstDB.
        for iface in (ACKS, SILENT):
            with contextlib.suppress(Exception):
                await ami_admin.request("QueueRemove", {"Queue": QUEUE, "Interface": iface})


async def asterisk_members(admin: AmiClient, queue: str) -> dict[str, dict[str, str]]:
    """Asterisk's own member list of ``queue`` (QueueStatus on the admin session)."""
    reply = await admin.request("QueueStatus", {"Queue": queue})
    assert reply.ok, reply.message
    return {m.get("Location"): {"name": m.get("Name"), "penalty": m.get("Penalty"),
                                "membership": m.get("Membership"), "status": m.get("Status")}
            for m in reply.items if m.event == "QueueMember"}


async def test_the_phone_that_presses_1_becomes_a_queue_member_and_undo_removes_it(
    daemon: Daemon, ami_admin: AmiClient, pager_phone: SippProcess,  # noqa: F811
) -> None:
    before = await asterisk_members(ami_admin, QUEUE)
    assert ACKS not in before and SILENT not in before
    cmd = parse_command("page_standby", {"pbx": PBX, "queue": QUEUE, "group": "standby_staff",
                                         "penalty": 3, "ref": "INC-9",
                                         "member_name": "{display_name} (standby)"})
    assert isinstance(cmd, PageStandby)
    result = await daemon.execute(LEAD, cmd)
    assert result.ok, f"{result.detail}\n{pager_phone.log_tail()}"
    rb = result.readback
    assert rb is not None
    people = {p["person"]: p for p in rb["people"]}
    assert (people["duty"]["status"], people["duty"]["digit"]) == ("added", "1")
    assert people["silent"]["status"] == "no_key" and people["silent"]["answered"]
    # The witness: Asterisk lists the one who pressed 1, as ccops said, and not the other.
    members = await asterisk_members(ami_admin, QUEUE)
    # Status 1 (not in use), not 4 (invalid): the shipped [ccops-standby] context is
    # loaded and has the extension, so the queue can ring this member.
    assert members.get(ACKS) == {"name": "Duty engineer (standby)", "penalty": "3",
                                 "membership": "dynamic", "status": "1"}, members
    assert SILENT not in members
    acks = [m for m in ami_admin.history if m.event == "UserEvent"
            and m.get("UserEvent") == "CcopsPageAck" and m.get("PageId") == people["duty"][
                "page_id"]]
    assert len(acks) == 1
    assert daemon.store is not None
    audit = [(r.entry.action, r.entry.result.value, r.entry.params.get("ref"))
             for r in await daemon.store.audit_page(0, 100)]
    assert ("add_member", "ok", None) in audit and ("page_standby", "ok", "INC-9") in audit
    assert sorted(a for a in audit if a[0] == "page_person") == [
        ("page_person", "failed", "INC-9"), ("page_person", "ok", "INC-9")]
    # Its undo (what incident closure runs) removes the member again, read back by ccops
    # and confirmed by Asterisk.
    undo = next(u for u in await daemon.store.open_undos() if u.id in rb["undo_ids"])
    assert (undo.spec.undo_command, undo.spec.undo_params["interface"]) == (
        "remove_member", ACKS)
    removed = await daemon.execute(LEAD, parse_command(undo.spec.undo_command,
                                                       undo.spec.undo_params))
    assert removed.ok, removed.detail
    assert ACKS not in await asterisk_members(ami_admin, QUEUE)


async def test_the_shipped_standby_context_rings_the_mobile_through_the_trunk(
    tier: AsteriskTier, ami_admin: AmiClient, pager_phone: SippProcess,  # noqa: F811
) -> None:
    """What the queue does when it rings such a member: ``Local/5550001@ccops-standby``
    dials ``PJSIP/5550001@${CCOPS_STANDBY_TRUNK}``, and the mobile (the pager phone) answers.
    Without a trunk set it dials nothing."""
    setvar = {"Variable": "GLOBAL(CCOPS_STANDBY_TRUNK)", "Value": "carrier-b"}
    try:
        unset = await ami_admin.request("Originate", {
            "Channel": ACKS, "Context": "originate", "Exten": "echo", "Priority": "1",
            "Async": "true", "Timeout": "8000", "ChannelId": "standby-unset"})
        assert unset.ok, unset.message
        refused = await ami_admin.wait_event(
            lambda m: m.event == "OriginateResponse" and m.get("Uniqueid") in (
                "standby-unset", "<unknown>") and m.get("Channel", "").startswith(ACKS))
        assert refused.get("Response") == "Failure"  # CCOPS_STANDBY_TRUNK empty: no dial
        seen = len(ami_admin.history)
        assert (await ami_admin.request("Setvar", setvar)).ok
        sent = await ami_admin.request("Originate", {
            "Channel": ACKS, "Context": "originate", "Exten": "echo", "Priority": "1",
            "Async": "true", "Timeout": "10000", "ChannelId": "standby-ring"})
        assert sent.ok, sent.message
        answered = await ami_admin.wait_event(
            lambda m: m.event == "OriginateResponse" and m.get("Uniqueid") == "standby-ring",
            timeout=20, since=seen)
        assert (answered.get("Response"), answered.get("Reason")) == ("Success", "4"), (
            f"{answered.headers}\n{pager_phone.log_tail()}")
        dial = await ami_admin.wait_event(
            lambda m: m.event == "DialBegin" and m.get("DialString") == "5550001@carrier-b",
            since=seen)
        assert dial.get("DestChannel", "").startswith("PJSIP/carrier-b-")
    finally:
        await ami_admin.request("Setvar", {"Variable": "GLOBAL(CCOPS_STANDBY_TRUNK)",
                                           "Value": ""})
