"""List actions: response, item and Complete shapes as Asterisk 22 sends them (notes 1-5)."""

from __future__ import annotations

from sim_ami import AmiClient, Connect, Msg

from ccops.core.clock import FakeClock
from ccops.sim import SimulatedPbx, default_centre

LIST_START = ["Response", "ActionID", "EventList", "Message"]
COMPLETE = ["Event", "ActionID", "EventList", "ListItems"]


def assert_list(first: Msg, items: list[Msg], complete: Msg, name: str) -> None:
    assert first.names() == LIST_START
    assert first.get("EventList") == "start"
    assert complete.event == name
    assert complete.names()[:4] == COMPLETE
    assert complete.get("EventList") == "Complete"
    assert int(complete.get("ListItems")) == len(items)
    assert not [m for m in [*items, complete] if "Privilege" in m.names()]


async def test_queue_status_shape_and_filters(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    await sim.advance(240)  # callers are waiting somewhere by now
    first, items, done = await client.list_action("QueueStatus", "QueueStatusComplete")
    assert_list(first, items, done, "QueueStatusComplete")
    assert first.get("Message") == "Queue status will follow"
    kinds = {m.event for m in items}
    assert {"QueueParams", "QueueMember"} <= kinds
    for item in items:
        assert item.names()[-1] == "ActionID", item  # app_queue puts it last (note 2)
    params = next(m for m in items if m.event == "QueueParams")
    assert params.names()[:10] == [
        "Event", "Queue", "Max", "Strategy", "Calls", "Holdtime", "TalkTime", "Completed",
        "Abandoned", "ServiceLevel",
    ]  # fmt: skip
    member = next(m for m in items if m.event == "QueueMember")
    assert member.names() == [
        "Event", "Queue", "Name", "Location", "StateInterface", "Membership", "Penalty",
        "CallsTaken", "LastCall", "LastPause", "LoginTime", "InCall", "Status", "Paused",
        "PausedReason", "Wrapuptime", "ActionID",
    ]  # fmt: skip
    assert member.get("Location").startswith("Local/agent")

    # Queue filter, and an unknown queue is an empty success (note 5).
    _, only, _ = await client.list_action("QueueStatus", "QueueStatusComplete", Queue="billing")
    assert only and {m.get("Queue") for m in only} == {"billing"}
    first, none, done = await client.list_action(
        "QueueStatus", "QueueStatusComplete", Queue="nosuchqueue"
    )
    assert first.response == "Success" and none == [] and done.get("ListItems") == "0"

    # Member filter keeps every caller entry (note 15).
    sim.boot.flow.arrive("hotline")
    sim.boot.flow.arrive("hotline")
    await sim.advance(0.1)
    await client.drain()
    _, all_hot, _ = await client.list_action("QueueStatus", "QueueStatusComplete", Queue="hotline")
    _, one, _ = await client.list_action(
        "QueueStatus", "QueueStatusComplete", Queue="hotline", Member="Local/agent1@agents/n"
    )
    entries = [m for m in all_hot if m.event == "QueueEntry"]
    assert [m for m in one if m.event == "QueueMember"] and len(
        [m for m in one if m.event == "QueueMember"]
    ) == 1
    assert [m.get("Channel") for m in one if m.event == "QueueEntry"] == [
        m.get("Channel") for m in entries
    ]


async def test_queue_entry_uses_plain_unknown(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    for agent in sim.boot.engine.agents.values():  # nobody answers: callers wait
        for m in sim.boot.engine.memberships(agent):
            sim.boot.engine.pause(m, True, "test")
    call = sim.boot.flow.arrive("repairs")
    assert call is not None
    call.caller.cid_name = ""
    call.caller.touch()
    await sim.advance(1)
    _, items, _ = await client.list_action("QueueStatus", "QueueStatusComplete", Queue="repairs")
    entry = next(m for m in items if m.event == "QueueEntry")
    assert entry.names() == [
        "Event", "Queue", "Position", "Channel", "Uniqueid", "CallerIDNum", "CallerIDName",
        "ConnectedLineNum", "ConnectedLineName", "Wait", "Priority", "ActionID",
    ]  # fmt: skip
    assert entry.get("CallerIDName") == "unknown"  # not <unknown> (note 16)


async def test_queue_summary(connect: Connect) -> None:
    client = await connect()
    first, items, done = await client.list_action("QueueSummary", "QueueSummaryComplete")
    assert_list(first, items, done, "QueueSummaryComplete")
    assert [m.get("Queue") for m in items] == ["hotline", "billing", "repairs"]
    assert items[0].names() == [
        "Event", "Queue", "LoggedIn", "Available", "Callers", "HoldTime", "TalkTime",
        "LongestHoldTime", "ActionID",
    ]  # fmt: skip


async def test_pjsip_show_endpoints(connect: Connect) -> None:
    client = await connect()
    first, items, done = await client.list_action("PJSIPShowEndpoints", "EndpointListComplete")
    assert_list(first, items, done, "EndpointListComplete")
    listing = "A listing of Endpoints follows, presented as EndpointList events"
    assert first.get("Message") == listing
    names = [m.get("ObjectName") for m in items]
    assert names == sorted(names) and "carrier-a" in names and "desk-201" in names
    trunk = next(m for m in items if m.get("ObjectName") == "carrier-b")
    assert trunk.names() == [
        "Event", "ActionID", "ObjectType", "ObjectName", "Transport", "Aor", "Auths",
        "OutboundAuths", "Contacts", "DeviceState", "ActiveChannels",
    ]  # fmt: skip
    assert trunk.get("Contacts").endswith(",")  # note 22
    assert trunk.get("DeviceState") in ("Not in use", "In use")


async def test_pjsip_show_contacts_lists_registered_only(connect: Connect) -> None:
    client = await connect()
    first, items, done = await client.list_action("PJSIPShowContacts", "ContactListComplete")
    assert_list(first, items, done, "ContactListComplete")
    assert {m.get("Endpoint") for m in items} == {"desk-201", "desk-202"}
    assert all(m.names()[:2] == ["Event", "ActionID"] for m in items)


async def test_pjsip_show_contacts_error_when_none() -> None:
    base = default_centre()
    centre = base.model_copy(update={"desks": []})
    pbx = SimulatedPbx(realtime=False, clock=FakeClock(), centre=centre, profile="flat")
    await pbx.start()
    try:
        client = await AmiClient.open(pbx.port)
        await client.login()
        reply = await client.action("PJSIPShowContacts")
        assert reply.response == "Error"
        assert reply.get("Message").strip() == "No Contacts found"
    finally:
        await pbx.stop()


async def test_outbound_registrations(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    await sim.advance(5)
    first, items, done = await client.list_action(
        "PJSIPShowRegistrationsOutbound", "OutboundRegistrationDetailComplete"
    )
    assert first.names() == LIST_START
    details = [m for m in items if m.event == "OutboundRegistrationDetail"]
    auths = [m for m in items if m.event == "AuthDetail"]
    assert len(details) == 1 and len(auths) == 1
    # ListItems counts registrations, not the AuthDetail that follows each one.
    assert done.get("ListItems") == "1"
    assert done.names() == [*COMPLETE, "Registered", "NotRegistered"]
    assert (done.get("Registered"), done.get("NotRegistered")) == ("1", "0")
    assert details[0].get("Status") == "Registered"
    assert auths[0].get("Password")  # printed in clear, like Asterisk (note 9)


async def test_pjsip_show_aors(connect: Connect) -> None:
    client = await connect()
    first, items, done = await client.list_action("PJSIPShowAors", "AorListComplete")
    assert_list(first, items, done, "AorListComplete")
    assert "carrier-b" in {m.get("ObjectName") for m in items}


async def test_core_show_channels(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    await sim.advance(300)
    await client.drain()
    first, items, done = await client.list_action("CoreShowChannels", "CoreShowChannelsComplete")
    assert_list(first, items, done, "CoreShowChannelsComplete")
    assert first.get("Message") == "Channels will follow"
    assert len(items) == len(sim.boot.engine.channels) > 0
    item = items[0]
    assert item.names()[:3] == ["Event", "ActionID", "Channel"]
    assert item.names()[-4:] == ["Application", "ApplicationData", "Duration", "BridgeId"]


async def test_device_state_list_items_look_like_events(connect: Connect) -> None:
    client = await connect()
    first, items, done = await client.list_action("DeviceStateList", "DeviceStateListComplete")
    assert_list(first, items, done, "DeviceStateListComplete")
    assert items and all(m.event == "DeviceStateChange" for m in items)
    assert items[0].names() == ["Event", "ActionID", "Device", "State"]


async def test_astdb_round_trip(connect: Connect) -> None:
    client = await connect()
    missing = await client.action("DBGet", Family="ccops/overflow", Key="hotline")
    assert (missing.response, missing.get("Message")) == ("Error", "Database entry not found")
    put = await client.action("DBPut", Family="ccops/overflow", Key="hotline", Val="billing")
    assert put.get("Message") == "Updated database successfully"
    first, items, done = await client.list_action(
        "DBGet", "DBGetComplete", Family="ccops/overflow", Key="hotline"
    )
    assert_list(first, items, done, "DBGetComplete")
    assert first.get("Message") == "Result will follow"
    assert items[0].names() == ["Event", "Family", "Key", "Val", "ActionID"]
    assert items[0].get("Val") == "billing"
    await client.action("DBPut", Family="ccops/night", Key="4930100", Val="on")
    _, tree, done = await client.list_action("DBGetTree", "DBGetTreeComplete", Family="ccops")
    # Asterisk 22 gives the full key and no Family in tree items (recorded).
    assert tree[0].names() == ["Event", "Key", "Val", "ActionID"]
    assert {(m.get("Key"), m.get("Val")) for m in tree} == {
        ("/ccops/overflow/hotline", "billing"),
        ("/ccops/night/4930100", "on"),
    }
    deleted = await client.action("DBDel", Family="ccops/overflow", Key="hotline")
    assert deleted.get("Message") == "Key deleted successfully"
    again = await client.action("DBDel", Family="ccops/overflow", Key="hotline")
    assert again.get("Message") == "Database entry could not be deleted"  # as recorded
    tree_del = await client.action("DBDelTree", Family="ccops")
    assert tree_del.get("Message") == "Key tree deleted successfully"
    no_family = await client.action("DBGet", Key="x")
    assert no_family.get("Message") == "No family specified."
