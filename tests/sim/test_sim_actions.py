"""Actions with side effects: replies, error texts, the events they cause, read-back."""

from __future__ import annotations

from sim_ami import AmiClient, Connect, Msg

from ccops.sim import SimulatedPbx

AGENT1 = "Local/agent1@agents/n"
AGENT3 = "Local/agent3@agents/n"  # in hotline and billing
AGENT13 = "Local/agent13@agents/n"  # dynamic member of billing


async def members(client: AmiClient, interface: str) -> list[Msg]:
    _, items, _ = await client.list_action("QueueStatus", "QueueStatusComplete", Member=interface)
    return [m for m in items if m.event == "QueueMember"]


async def test_queue_pause_everywhere_and_read_back(connect: Connect) -> None:
    client = await connect(events="agent")
    reply = await client.action("QueuePause", Interface=AGENT3, Paused="true", Reason="meal")
    assert reply.get("Message") == "Interface paused successfully"
    pauses = [m for m in await client.drain() if m.event == "QueueMemberPause"]
    assert sorted(m.get("Queue") for m in pauses) == ["billing", "hotline"]  # note 14
    assert pauses[0].names() == [
        "Event", "Privilege", "Queue", "MemberName", "Interface", "StateInterface",
        "Membership", "Penalty", "CallsTaken", "LastCall", "LastPause", "LoginTime", "InCall",
        "Status", "Paused", "PausedReason", "Ringinuse", "Wrapuptime",
    ]  # fmt: skip
    assert {(m.get("Paused"), m.get("PausedReason")) for m in pauses} == {("1", "meal")}
    read = await members(client, AGENT3)
    assert [(m.get("Paused"), m.get("PausedReason")) for m in read] == [("1", "meal")] * 2
    # Anything not true-ish unpauses, "maybe" included.
    reply = await client.action("QueuePause", Interface=AGENT3, Paused="maybe", Queue="billing")
    assert reply.get("Message") == "Interface unpaused successfully"
    read = {m.get("Queue"): m.get("Paused") for m in await members(client, AGENT3)}
    assert read == {"hotline": "1", "billing": "0"}


async def test_queue_pause_errors(connect: Connect) -> None:
    client = await connect()
    nowhere = await client.action("QueuePause", Interface="PJSIP/nobody", Paused="1")
    assert nowhere.get("Message") == "Interface not found"
    wrong_queue = await client.action("QueuePause", Interface=AGENT1, Paused="1", Queue="repairs")
    assert wrong_queue.get("Message") == "Interface not found"
    missing = await client.action("QueuePause", Interface=AGENT1)
    assert missing.get("Message") == "Need 'Interface' and 'Paused' parameters."


async def test_queue_add_remove_penalty(connect: Connect) -> None:
    client = await connect(events="agent")
    new = "Local/agent21@agents/n"  # not in the default centre
    added = await client.action(
        "QueueAdd", Queue="repairs", Interface=new, MemberName="Ines Extra", Penalty="2"
    )
    assert added.get("Message") == "Added interface to queue"
    event = await client.until(lambda m: m.event == "QueueMemberAdded")
    assert (event.get("MemberName"), event.get("Interface"), event.get("Membership")) == (
        "Ines Extra",
        new,
        "dynamic",
    )
    assert "Ringinuse" in event.names()
    twice = await client.action("QueueAdd", Queue="repairs", Interface=new)
    assert twice.get("Message") == "Unable to add interface: Already there"
    nosuch = await client.action("QueueAdd", Queue="nosuch", Interface=new)
    assert nosuch.get("Message") == "Unable to add interface to queue: No such queue"
    penalty = await client.action("QueuePenalty", Interface=new, Penalty="5")
    assert penalty.get("Message") == "Interface penalty set successfully"
    ev = await client.until(lambda m: m.event == "QueueMemberPenalty")
    assert ev.get("Penalty") == "5"
    bad_penalty = await client.action("QueuePenalty", Interface=new, Penalty="-3")
    assert bad_penalty.get("Message") == "Invalid interface, queuename or penalty"
    [row] = await members(client, new)
    assert (row.get("Name"), row.get("Penalty"), row.get("Membership")) == (
        "Ines Extra",
        "5",
        "dynamic",
    )
    static = await client.action("QueueRemove", Queue="hotline", Interface=AGENT1)
    assert static.get("Message") == "Member not dynamic"
    removed = await client.action("QueueRemove", Queue="repairs", Interface=new)
    assert removed.get("Message") == "Removed interface from queue"
    await client.until(lambda m: m.event == "QueueMemberRemoved")
    gone = await client.action("QueueRemove", Queue="repairs", Interface=new)
    assert gone.get("Message") == "Unable to remove interface: Not there"
    assert await members(client, new) == []
    dynamic = await client.action("QueueRemove", Queue="billing", Interface=AGENT13)
    assert dynamic.get("Message") == "Removed interface from queue"


async def test_originate_response_is_broadcast_with_the_originators_action_id(
    connect: Connect, sim: SimulatedPbx
) -> None:
    ops = await connect()
    monitor = await connect(events="call")
    queued = await ops.action(
        "Originate",
        action_id="ops-42",
        Channel="Local/echo@originate",
        Context="originate",
        Exten="echo",
        Priority="1",
        Async="true",
        CallerID='"Ops" <999>',
    )
    assert (queued.response, queued.get("Message")) == ("Success", "Originate successfully queued")
    await sim.advance(10)
    for client in (ops, monitor):
        got = await client.until(lambda m: m.event == "OriginateResponse")
        assert got.action_id == "ops-42"
        assert got.names() == [
            "Event", "Privilege", "ActionID", "Response", "Channel", "Context", "Exten",
            "Reason", "Uniqueid", "CallerIDNum", "CallerIDName",
        ]  # fmt: skip
        assert (got.get("Response"), got.get("Reason")) == ("Success", "4")
        assert got.get("CallerIDNum") == "999"
    confirm = await ops.until(lambda m: m.event == "UserEvent")
    assert confirm.get("UserEvent") == "CcopsOriginated"


async def test_originate_failure_reason_0(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    queued = await client.action(
        "Originate", Channel="DAHDI/1", Exten="100", Context="default", Async="yes"
    )
    assert queued.get("Message") == "Originate successfully queued"
    await sim.advance(2)
    failed = await client.until(lambda m: m.event == "OriginateResponse")
    assert (failed.get("Response"), failed.get("Reason"), failed.get("Uniqueid")) == (
        "Failure",
        "0",
        "<unknown>",
    )
    assert failed.get("Channel") == "DAHDI/1"
    missing = await client.action("Originate", Exten="1")
    assert missing.get("Message") == "Channel not specified"


async def test_page_is_answered_and_acknowledged(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    sim.phones.program("2001", answer_after=(3.0, 3.0), digit="1", digit_after=(4.0, 4.0))
    await client.action(
        "Originate",
        Channel="Local/2001@oncall",
        Context="ccops-page",
        Exten="s",
        Async="true",
        ChannelId="page-uid-1",
        Variable=["CCOPS_PAGE_ID=inc-7", "OTHER=x"],
    )
    await sim.advance(12)
    answered = await client.until(lambda m: m.event == "OriginateResponse")
    assert answered.get("Uniqueid") == "page-uid-1"  # ChannelId becomes the Uniqueid
    ack = await client.until(lambda m: m.event == "UserEvent")
    assert ack.get("UserEvent") == "CcopsPageAck"
    assert (ack.get("Digit"), ack.get("CCOPS_PAGE_ID")) == ("1", "inc-7")
    assert ack.get("Uniqueid") == "page-uid-1"
    assert "OTHER" not in ack.names()


async def test_page_not_answered(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    sim.phones.program("2002", answer=False)
    await client.action(
        "Originate", Channel="Local/2002@oncall", Context="ccops-page", Exten="s",
        Async="1", Timeout="20000",
    )  # fmt: skip
    await sim.advance(25)
    failed = await client.until(lambda m: m.event == "OriginateResponse")
    assert (failed.get("Response"), failed.get("Reason")) == ("Failure", "3")
    assert not [m for m in await client.drain() if m.event == "UserEvent"]


async def test_setvar_getvar_custom_device_state(connect: Connect) -> None:
    client = await connect(events="call")
    set_ = await client.action("Setvar", Variable="DEVICE_STATE(Custom:night)", Value="INUSE")
    assert set_.get("Message") == "Variable Set"
    change = await client.until(lambda m: m.event == "DeviceStateChange")
    assert (change.get("Device"), change.get("State")) == ("Custom:night", "INUSE")
    got = await client.action("Getvar", Variable="DEVICE_STATE(Custom:night)")
    assert got.names() == ["Response", "ActionID", "Variable", "Value"]
    assert got.get("Value") == "INUSE"
    db = await client.action("DBGet", Family="CustomDevstate", Key="night")
    assert db.response == "Success"  # the custom state is kept in AstDB


async def test_user_event_reload_command(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect(events="user,system")
    sent = await client.action("UserEvent", UserEvent="Drill", Step="3")
    assert sent.get("Message") == "Event Sent"
    event = await client.until(lambda m: m.event == "UserEvent")
    assert (event.get("UserEvent"), event.get("Step")) == ("Drill", "3")
    reloaded = await client.action("Reload")
    assert reloaded.response == "Success"
    reload_event = await client.until(lambda m: m.event == "Reload")
    assert reload_event.get("Privilege") == "system,all"
    version = await client.action("Command", Command="core show version")
    assert version.get("Message") == "Command output follows"
    assert version.get("Output").startswith("Asterisk 22.")
    assert "SIMULATED" in version.get("Output")
    settings = await client.action("CoreSettings")
    assert settings.get("AMIversion") == "11.0.0"


async def test_hangup_action_ends_a_waiting_call(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect(events="call,agent")
    engine = sim.boot.engine
    for agent in engine.agents.values():
        for m in engine.memberships(agent):
            engine.pause(m, True, "test")
    call = sim.boot.flow.arrive("billing")
    assert call is not None
    await sim.advance(1)
    await client.drain()
    reply = await client.action("Hangup", Channel=call.caller.name)
    assert reply.get("Message") == "Channel Hungup"
    events = [m.event for m in await client.drain()]
    assert events.index("QueueCallerAbandon") < events.index("QueueCallerLeave")
    assert events.index("QueueCallerLeave") < events.index("Hangup")
    nosuch = await client.action("Hangup", Channel="PJSIP/nothing-00000000")
    assert nosuch.get("Message") == "No such channel"
