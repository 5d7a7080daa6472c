"""The tier proves itself: if these fail, no other integration result means anything.

Each check is one the product's own integration tests silently rely on: AMI logins with
the documented users, queues and Local-channel agents that really answer, a trunk that
really goes Unreachable when its carrier dies, a PBX that can be killed and restarted,
and the admin example's permissions and event filters doing what the docs claim.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from asterisk_tier import (
    STATIC_MEMBERS,
    AmiClient,
    AmiError,
    AmiMessage,
    AsteriskTier,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(60)]

#: Events config/asterisk/manager.conf promises to keep out of the ccops session.
FILTERED_FOR_CCOPS = {
    "VarSet",
    "Newexten",
    "TestEvent",
    "RTCPSent",
    "RTCPReceived",
    "MusicOnHoldStart",
    "MusicOnHoldStop",
    "NewConnectedLine",
    "NewCallerid",
    "DialState",
    "HangupRequest",
    "SoftHangupRequest",
}


def _creds(tier: AsteriskTier, user: str) -> tuple[str, int, str, str]:
    ep = tier.endpoint(user)
    return ep.host, ep.port, ep.username, ep.secret


def _is(name: str, **headers: str) -> Callable[[AmiMessage], bool]:
    def match(msg: AmiMessage) -> bool:
        return msg.event == name and all(msg.get(k) == v for k, v in headers.items())

    return match


async def test_ami_logins(tier: AsteriskTier) -> None:
    """The three users log in; a wrong secret is refused (after Asterisk's ~1 s delay)."""
    for user in ("ccops", "monitor", "tier-admin"):
        async with tier.ami(user, events=False) as ami:
            assert ami.greeting.startswith("Asterisk Call Manager/")
            pong = await ami.request("Ping")
            assert pong.ok and pong.response.get("Ping") == "Pong"
    host, port, user, _ = _creds(tier, "ccops")
    began = time.monotonic()
    with pytest.raises(AmiError, match="Authentication failed"):
        await AmiClient.connect(host, port, user, "wrong-secret")
    assert time.monotonic() - began >= 0.5


async def test_queue_status_lists_queues_and_members(ami_ccops: AmiClient) -> None:
    result = await ami_ccops.request("QueueStatus")
    assert result.ok and result.complete is not None
    assert result.complete.event == "QueueStatusComplete"
    assert int(result.complete.get("ListItems")) == len(result.items)
    queues = {m.get("Queue") for m in result.items if m.event == "QueueParams"}
    assert queues == set(STATIC_MEMBERS)
    members: dict[str, set[tuple[str, str]]] = {}
    for item in result.items:
        if item.event == "QueueMember":
            members.setdefault(item.get("Queue"), set()).add(
                (item.get("Location"), item.get("Name"))
            )
    for queue, expected in STATIC_MEMBERS.items():
        assert set(expected) <= members[queue], queue


async def test_call_is_queued_answered_and_completed(
    tier: AsteriskTier, ami_ccops: AmiClient, ami_admin: AmiClient
) -> None:
    """A sipp caller reaches hotline, a Local agent answers and hangs up, sipp sees BYE.

    The same call checks the admin example's filters: the unfiltered session sees the
    noise, the ccops session does not and still gets what the console needs, and a
    session with legacy regex filters drops what those name.
    """
    async with tier.ami("legacy-filter") as legacy:
        run = tier.start_callers("hotline", count=1, rate=1, patience_s=45)
        join = await ami_ccops.wait_event(_is("QueueCallerJoin", Queue="hotline"), timeout=15)
        uniqueid = join.get("Uniqueid")
        connect = await ami_ccops.wait_event(
            _is("AgentConnect", Queue="hotline", Uniqueid=uniqueid), timeout=20
        )
        assert connect.get("Interface").startswith("Local/agent")
        assert connect.get("DestChannel").endswith(";1")
        complete = await ami_ccops.wait_event(
            _is("AgentComplete", Uniqueid=uniqueid), timeout=tier.settings.agent_talk_s[1] + 15
        )
        assert complete.get("Reason") == "agent"
        await ami_ccops.wait_event(_is("Hangup", Uniqueid=uniqueid), timeout=10)
        stats = await asyncio.to_thread(run.wait_done, 20)
        assert (stats.successful, stats.failed) == (1, 0), run.log_tail()

        await ami_admin.wait_event(_is("Hangup", Uniqueid=uniqueid), timeout=5)
        seen_by_ccops = {m.event for m in ami_ccops.history}
        seen_by_admin = {m.event for m in ami_admin.history}
        assert not seen_by_ccops & FILTERED_FOR_CCOPS
        assert {"VarSet", "Newexten", "MusicOnHoldStart"} <= seen_by_admin
        needed = {"QueueCallerJoin", "QueueCallerLeave", "AgentCalled", "AgentConnect",
                  "AgentComplete", "Newchannel", "Newstate", "Hangup", "DeviceStateChange",
                  "UserEvent", "QueueMemberStatus"}  # fmt: skip
        assert needed <= seen_by_ccops
        # The legacy regex syntax (eventfilter = !Event: MusicOnHold) works too.
        await legacy.wait_event(_is("Hangup", Uniqueid=uniqueid), timeout=5)
        seen_by_legacy = {m.event for m in legacy.history}
        assert "Newchannel" in seen_by_legacy
        assert not seen_by_legacy & {"MusicOnHoldStart", "MusicOnHoldStop", "NewCallerid"}


async def test_caller_abandons(tier: AsteriskTier, ami_ccops: AmiClient) -> None:
    """An impatient caller on repairs (agent8 never answers, agent7 paused) abandons."""
    await ami_ccops.request(
        "QueuePause", {"Interface": "Local/agent7@agents/n", "Queue": "repairs", "Paused": "true"}
    )
    try:
        run = tier.start_callers("repairs", count=1, rate=1, patience_s=3)
        abandon = await ami_ccops.wait_event(_is("QueueCallerAbandon", Queue="repairs"), timeout=15)
        leave = await ami_ccops.wait_event(
            _is("QueueCallerLeave", Uniqueid=abandon.get("Uniqueid")), timeout=5
        )
        assert ami_ccops.history.index(abandon) < ami_ccops.history.index(leave)
        stats = await asyncio.to_thread(run.wait_done, 20)
        assert stats.successful == 1
    finally:
        await ami_ccops.request(
            "QueuePause",
            {"Interface": "Local/agent7@agents/n", "Queue": "repairs", "Paused": "false"},
        )


async def test_queue_timeout_is_reported_as_abandon(
    tier: AsteriskTier, ami_ccops: AmiClient
) -> None:
    """Asterisk 22 reports a queue timeout exactly like an abandon.

    QueueCallerAbandon (HoldTime = the timeout) then QueueCallerLeave, while the caller
    is still on the line: the dialplan goes on (here: a goodbye prompt, then Hangup).
    """
    await ami_ccops.request(
        "QueuePause", {"Interface": "Local/agent7@agents/n", "Queue": "repairs", "Paused": "true"}
    )
    tier.set_max_wait("repairs", 3)
    try:
        run = tier.start_callers("repairs", count=1, rate=1, patience_s=30)
        abandon = await ami_ccops.wait_event(_is("QueueCallerAbandon", Queue="repairs"), timeout=15)
        uniqueid = abandon.get("Uniqueid")
        assert int(abandon.get("HoldTime")) in (3, 4)
        leave = await ami_ccops.wait_event(_is("QueueCallerLeave", Uniqueid=uniqueid), timeout=5)
        hangup = await ami_ccops.wait_event(_is("Hangup", Uniqueid=uniqueid), timeout=15)
        history = ami_ccops.history
        assert history.index(abandon) < history.index(leave) < history.index(hangup)
        stats = await asyncio.to_thread(run.wait_done, 20)
        assert stats.successful == 1  # sipp got Asterisk's BYE: the caller never hung up
    finally:
        tier.set_max_wait("repairs", tier.settings.max_wait_s["repairs"])
        await ami_ccops.request(
            "QueuePause",
            {"Interface": "Local/agent7@agents/n", "Queue": "repairs", "Paused": "false"},
        )


async def test_stopped_carrier_is_reported_unreachable(
    tier: AsteriskTier, ami_ccops: AmiClient
) -> None:
    """Killing carrier-b's sipp makes PJSIP report it Unreachable within seconds."""
    began = time.monotonic()
    tier.stop_carrier("carrier-b")
    peer = await ami_ccops.wait_event(
        _is("PeerStatus", Peer="PJSIP/carrier-b", PeerStatus="Unreachable"), timeout=10
    )
    down_after = time.monotonic() - began
    contact = await ami_ccops.wait_event(
        _is("ContactStatus", EndpointName="carrier-b", ContactStatus="Unreachable"), timeout=5
    )
    assert contact.get("AOR") == "carrier-b"
    # Idle trunk: UNAVAILABLE. (With calls up on it, Asterisk keeps reporting INUSE.)
    await ami_ccops.wait_event(
        _is("DeviceStateChange", Device="PJSIP/carrier-b", State="UNAVAILABLE"), timeout=5
    )
    assert down_after < 8, f"unreachable only after {down_after:.1f}s"
    mark = len(ami_ccops.history)
    tier.start_carrier("carrier-b")
    await ami_ccops.wait_event(
        _is("PeerStatus", Peer="PJSIP/carrier-b", PeerStatus="Reachable"), timeout=10, since=mark
    )
    assert peer.get("ChannelType") == "PJSIP"


async def test_permissions_and_password_exposure(tier: AsteriskTier) -> None:
    """What the admin example grants, and what Asterisk 22 exposes to whom."""
    await asyncio.to_thread(tier.wait_registered)
    async with tier.ami("monitor", events=False) as monitor:
        denied = await monitor.request("PJSIPShowEndpoints")
        assert (denied.response.response, denied.message) == ("Error", "Permission denied")
        assert (await monitor.request("QueueSummary")).ok
        # Not every PJSIPShow* needs write=system: this one takes system OR reporting,
        # so even the "read-only" monitor gets the trunk password in clear.
        regs = await monitor.request("PJSIPShowRegistrationsOutbound")
        assert regs.ok
        assert tier.registration_password in [m.get("Password") for m in regs.items]
    async with tier.ami("ccops", events=False) as ccops:
        endpoints = await ccops.request("PJSIPShowEndpoints")
        assert endpoints.ok
        names = {m.get("ObjectName") for m in endpoints.items}
        assert {"carrier-a", "carrier-b", "desk-201"} <= names
        regs = await ccops.request("PJSIPShowRegistrationsOutbound")
        assert regs.ok
        detail = [m for m in regs.items if m.event == "OutboundRegistrationDetail"]
        assert detail and detail[0].get("Status") == "Registered"
        # Asterisk prints the outbound auth password in clear: the product must redact it.
        passwords = [m.get("Password") for m in regs.items if m.event == "AuthDetail"]
        assert tier.registration_password in passwords


async def test_kill_and_restart(tier: AsteriskTier) -> None:
    """SIGKILL drops AMI sessions at once; a restart brings everything back, AstDB kept."""
    async with tier.ami("ccops") as ami:
        put = await ami.request("DBPut", {"Family": "ccops", "Key": "smoke", "Val": "kept"})
        assert put.ok
        assert "kept" in tier.cli("database get ccops smoke")
        tier.kill()
        with pytest.raises(AmiError):
            await ami.wait_event(lambda m: False, timeout=5)
    assert not tier.running
    started = tier.start()
    assert started < 15
    async with tier.ami("ccops") as ami:
        got = await ami.request("DBGet", {"Family": "ccops", "Key": "smoke"})
        assert got.ok and got.items[0].get("Val") == "kept"
    restarted = tier.restart()
    assert restarted < 15
    tier.wait_settled()
