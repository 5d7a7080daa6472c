"""Action faults (research matrix F1b, F1d, F3a, F7): no action hangs past its timeout,
none is queued while down, none is ever re-sent, lists end on their Complete event."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from fake_ami import Action, FakeAmi, FakeConn, event, ignore, list_reply, message, response
from link_harness import SECRET, Recorder, running_link, wait_until

from ccops.core.events import LinkState
from ccops.pbx.link import (
    AmiActionError,
    AmiConnectionLost,
    AmiNotConnected,
    AmiTimeout,
)

pytestmark = pytest.mark.timeout(20)

LIVE = LinkState.LIVE


def lives(rec: Recorder) -> int:
    return len(rec.states_named(LIVE))


async def test_f1b_unanswered_originate_fails_on_disconnect_and_is_never_resent(
    ami: FakeAmi,
) -> None:
    ami.handlers["Originate"] = ignore
    async with running_link(ami.port, action_timeout=5.0) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        call = asyncio.create_task(
            link.action(
                "Originate",
                {"Channel": "Local/100@agents", "Exten": "200", "Variable": ["A=1", "B=2"]},
            )
        )
        conn = ami.connections[0]
        originate = await conn.wait_action("Originate")
        assert [v for k, v in originate.pairs if k == "Variable"] == ["A=1", "B=2"]
        started = time.monotonic()
        conn.abort()
        with pytest.raises(AmiConnectionLost, match="not re-sent"):
            await call
        assert time.monotonic() - started < 1.0  # not the 5 s timeout
        await wait_until(lambda: lives(rec) == 2)
        await link.action("Ping")  # the new session is fully working...
        await asyncio.sleep(0.2)
        assert len(ami.actions_named("Originate")) == 1  # ...and never saw a second one
        assert link.pending_actions == 0


async def test_f1b_list_cut_by_disconnect_fails_fast_and_is_not_resent(ami: FakeAmi) -> None:
    def queue_status(conn: FakeConn, act: Action) -> None:
        full = list_reply(
            act, "QueueMember", [{"Name": f"A{i}"} for i in range(5)], "QueueStatusComplete"
        )
        conn.send(full[: full.index(b"A2")])  # response + two rows, then the line dies
        conn.abort()

    ami.handlers["QueueStatus"] = queue_status
    async with running_link(ami.port, action_timeout=5.0) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        started = time.monotonic()
        with pytest.raises(AmiConnectionLost):
            await link.list_action("QueueStatus")
        assert time.monotonic() - started < 1.0
        assert [m.get("Name") for m in rec.items("QueueStatus")] == ["A0", "A1"]
        await wait_until(lambda: lives(rec) == 2)
        await link.action("Ping")
        assert len(ami.actions_named("QueueStatus")) == 1


async def test_f1d_actions_while_down_fail_at_once_and_are_not_queued(ami: FakeAmi) -> None:
    async with running_link(ami.port, backoff_initial=0.3, backoff_max=0.3) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        port = ami.port
        await ami.stop_listening()
        ami.connections[0].close()
        await wait_until(lambda: bool(rec.states_named(LinkState.DOWN)))
        started = time.monotonic()
        with pytest.raises(AmiNotConnected) as err:
            await link.action("QueuePause", {"Interface": "Local/a@agents", "Paused": "1"})
        assert time.monotonic() - started < 0.05
        assert "connection closed by the PBX" in str(err.value)
        assert "next attempt in" in str(err.value)
        await ami.start(port)
        await wait_until(lambda: lives(rec) == 2)
        await link.action("Ping")
        assert ami.actions_named("QueuePause") == []


async def test_f3a_unanswered_actions_time_out_without_leaking(ami: FakeAmi) -> None:
    ami.handlers["QueueSummary"] = ignore
    async with running_link(ami.port) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        results = await asyncio.gather(
            *(link.action("QueueSummary", timeout=0.1) for _ in range(50)),
            return_exceptions=True,
        )
        assert all(isinstance(r, AmiTimeout) for r in results)
        assert "QueueSummary: no complete answer within 0.1 s" in str(results[0])
        assert link.pending_actions == 0  # 1.4 left 201 entries after 200 timeouts
        assert link.counters.action_timeouts == 50
        assert link.counters.connections == 1
        assert (await link.action("Ping")).get("Ping") == "Pong"


async def test_f3a_late_list_items_after_a_timeout_do_not_pose_as_live_events(
    ami: FakeAmi,
) -> None:
    parked: list[bytes] = []

    def queue_status(conn: FakeConn, act: Action) -> None:
        parked.append(list_reply(act, "QueueMember", [{"Name": "late"}], "QueueStatusComplete"))

    ami.handlers["QueueStatus"] = queue_status
    async with running_link(ami.port) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        with pytest.raises(AmiTimeout):
            await link.list_action("QueueStatus", timeout=0.1)
        ami.connections[0].send(parked[0])  # the answer arrives after we gave up
        await link.action("Ping")
        assert not [m for m, _ in rec.messages if m.event == "QueueMember"]
        assert link.counters.unmatched_responses == 3  # response, row, complete


async def test_f7_list_errors_end_at_once_with_asterisks_message(ami: FakeAmi) -> None:
    ami.handlers["PJSIPShowContacts"] = lambda conn, act: conn.send(
        response(act, "Error", Message="No Contacts found")
    )
    ami.handlers["DBGet"] = lambda conn, act: conn.send(
        response(act, "Error", Message="Database entry not found")
        if act.get("Key") == "missing"
        else list_reply(
            act, "DBGetResponse", [{"Family": "ccops", "Key": "night", "Val": "1"}], "DBGetComplete"
        )
    )
    async with running_link(ami.port, action_timeout=5.0) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        started = time.monotonic()
        with pytest.raises(AmiActionError) as err:
            await link.list_action("PJSIPShowContacts")
        assert err.value.text == "No Contacts found"
        with pytest.raises(AmiActionError) as err:
            await link.list_action("DBGet", {"Family": "ccops", "Key": "missing"})
        assert err.value.text == "Database entry not found"
        assert time.monotonic() - started < 1.0  # 1.4 with as_list=True: forever
        found = await link.list_action("DBGet", {"Family": "ccops", "Key": "night"})
        assert [m.get("Val") for m in found.items] == ["1"]
        assert link.pending_actions == 0


async def test_f7_queue_add_completes_on_its_response(ami: FakeAmi) -> None:
    ami.handlers["QueueAdd"] = lambda conn, act: conn.send(
        response(act, Message="Added interface to queue")
    )
    async with running_link(ami.port) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        ok = await link.action("QueueAdd", {"Queue": "hotline", "Interface": "Local/7@agents"})
        assert ok.get("Message") == "Added interface to queue"  # 1.4: hangs (#54)


async def test_f7_device_state_list_items_survive_the_drop_set(ami: FakeAmi) -> None:
    ami.handlers["DeviceStateList"] = lambda conn, act: conn.send(
        list_reply(
            act,
            "DeviceStateChange",
            [{"Device": "Custom:night", "State": "INUSE"}],
            "DeviceStateListComplete",
        )
    )
    drop = frozenset({"DeviceStateChange", "VarSet"})
    async with running_link(ami.port, drop_events=drop) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        conn = ami.connections[0]
        conn.send(event("DeviceStateChange", Device="PJSIP/a", State="BUSY"))  # noise: dropped
        result = await link.list_action("DeviceStateList")
        assert [m.get("Device") for m in result.items] == ["Custom:night"]
        assert [m.get("Device") for m in rec.items("DeviceStateList")] == ["Custom:night"]
        assert not rec.events("DeviceStateChange")
        assert link.counters.dropped_by_filter == 1


async def test_f7_foreign_and_late_action_ids_are_ordinary_events(ami: FakeAmi) -> None:
    def originate(conn: FakeConn, act: Action) -> None:
        conn.send(response(act, Message="Originate successfully queued"))
        conn.send(
            message(
                ("Event", "OriginateResponse"),
                ("ActionID", act.action_id),
                ("Response", "Failure"),
                ("Channel", "Local/999@nowhere"),
                ("Reason", "0"),
                ("Uniqueid", "<unknown>"),
            )
        )

    ami.handlers["Originate"] = originate
    async with running_link(ami.port) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        conn = ami.connections[0]
        # Another session's Originate: broadcast with ITS ActionID (asterisk-22-notes §6).
        conn.send(
            message(
                ("Event", "OriginateResponse"),
                ("ActionID", "1"),
                ("Response", "Success"),
                ("Reason", "4"),
            )
        )
        queued = await link.action("Originate", {"Channel": "Local/999@nowhere", "Async": "true"})
        assert queued.get("Message") == "Originate successfully queued"
        await wait_until(lambda: len(rec.events("OriginateResponse")) == 2)
        foreign, ours = rec.events("OriginateResponse")
        assert foreign.action_id == "1" and foreign.get("Response") == "Success"
        assert ours.action_id == queued.action_id and ours.get("Response") == "Failure"
        assert link.counters.unmatched_responses == 0


async def test_injection_through_fields_is_refused_before_sending(ami: FakeAmi) -> None:
    async with running_link(ami.port) as (link, rec):
        await wait_until(lambda: lives(rec) == 1)
        with pytest.raises(ValueError, match="CR/LF"):
            await link.action("DBPut", {"Family": "ccops", "Val": "1\r\nAction: Originate"})
        with pytest.raises(ValueError, match="set by the link"):
            await link.action("Ping", {"ActionID": "mine"})
        await link.action("Ping")
        assert ami.actions_named("DBPut") == [] and ami.actions_named("Originate") == []


async def test_secrets_and_passwords_never_reach_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeAmi(secret=SECRET) as ami:
        ami.handlers["PJSIPShowRegistrationsOutbound"] = lambda conn, act: conn.send(
            list_reply(
                act,
                "OutboundRegistrationDetail",
                [{"ObjectName": "carrier-a", "Password": "hunter2-carrier"}],
                "OutboundRegistrationDetailComplete",
            )
        )
        async with running_link(ami.port, secret="wrong-secret-XYZ") as (_bad, rec_bad):
            await wait_until(lambda: bool(rec_bad.states_named(LinkState.AUTH_FAILED)))
        async with running_link(ami.port) as (link, rec):
            rec.hook = lambda msg, lst: (_ for _ in ()).throw(RuntimeError("bad row"))
            await wait_until(lambda: lives(rec) == 1)
            await link.list_action("PJSIPShowRegistrationsOutbound")
            ami.connections[-1].send(b"Password: hunter2-junk\r\n\r\n")  # a malformed frame
            await link.action("Ping")
    text = caplog.text
    assert "wrong-secret-XYZ" not in text and SECRET not in text
    assert "hunter2" not in text
    assert "authentication failed" in text  # but the failure itself is logged
