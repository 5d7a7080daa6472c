"""The happy path of the AMI link against the fake server: the baseline the faults break."""

from __future__ import annotations

import asyncio

import pytest
from fake_ami import Action, FakeAmi, FakeConn, event, list_reply, response
from link_harness import Recorder, make_config, running_link, wait_until

from ccops.core.clock import SystemClock
from ccops.core.events import LinkState
from ccops.pbx.link import AmiActionError, AmiLink, AmiNotConnected

pytestmark = pytest.mark.timeout(15)


async def test_login_sends_event_mask_and_goes_live(ami: FakeAmi) -> None:
    async with running_link(ami.port, events="system,call,agent,user") as (link, rec):
        status = await link.wait_for_state(LinkState.LIVE, timeout=3)
        login = ami.actions_named("Login")[0]
        assert login.get("Events") == "system,call,agent,user"
        assert login.get("Username") == "ccops"
        assert login.action_id.startswith(link.id_prefix)
        assert status.epoch == 1
        assert status.asterisk_version == "11.0.0"
        assert "connected to 127.0.0.1" in status.detail
        assert [s.state for s in rec.states] == [LinkState.CONNECTING, LinkState.LIVE]
        # FullyBooted came after the login response: delivered as an ordinary event.
        await wait_until(lambda: bool(rec.events("FullyBooted")))


async def test_events_are_delivered_in_order_with_seq_and_time(ami: FakeAmi) -> None:
    async with running_link(ami.port) as (link, rec):
        await link.wait_for_state(LinkState.LIVE, timeout=3)
        conn = ami.connections[0]
        for i in range(50):
            conn.send(event("QueueCallerJoin", Queue="hotline", Position=str(i)))
        await wait_until(lambda: len(rec.events("QueueCallerJoin")) == 50)
        joins = rec.events("QueueCallerJoin")
        assert [m.get("Position") for m in joins] == [str(i) for i in range(50)]
        seqs = [m.seq for m, _ in rec.messages]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert all(m.received_at > 0 for m in joins)
        assert link.counters.events >= 50


async def test_action_returns_response_and_errors_carry_asterisk_message(ami: FakeAmi) -> None:
    def queue_pause(conn: FakeConn, act: Action) -> None:
        if act.get("Interface") == "Local/nobody@agents":
            conn.send(response(act, "Error", Message="Interface not found"))
        else:
            conn.send(response(act, Message="Interface paused successfully"))

    ami.handlers["QueuePause"] = queue_pause
    async with running_link(ami.port) as (link, _rec):
        await link.wait_for_state(LinkState.LIVE, timeout=3)
        ok = await link.action("QueuePause", {"Interface": "Local/a@agents", "Paused": "true"})
        assert ok.get("Message") == "Interface paused successfully"
        with pytest.raises(AmiActionError) as err:
            await link.action("QueuePause", {"Interface": "Local/nobody@agents"})
        assert err.value.text == "Interface not found"
        assert err.value.action == "QueuePause"
        with pytest.raises(AmiActionError, match="Invalid/unknown command: Queues"):
            await link.action("Queues")


async def test_list_action_collects_items_and_delivers_them_in_wire_order(ami: FakeAmi) -> None:
    def queue_status(conn: FakeConn, act: Action) -> None:
        rows = [{"Queue": "hotline", "Name": f"Agent {i}"} for i in range(3)]
        # A live event interleaved with the list: must reach on_message between the rows.
        reply = list_reply(act, "QueueMember", rows, "QueueStatusComplete")
        head, _sep, _tail = reply.partition(b"Agent 1")
        cut = head.rfind(b"\r\n\r\n") + 4
        conn.send(reply[:cut] + event("QueueCallerJoin", Queue="hotline") + reply[cut:])

    ami.handlers["QueueStatus"] = queue_status
    async with running_link(ami.port) as (link, rec):
        await link.wait_for_state(LinkState.LIVE, timeout=3)
        result = await link.list_action("QueueStatus")
        assert [m.get("Name") for m in result.items] == ["Agent 0", "Agent 1", "Agent 2"]
        assert result.complete is not None and result.complete.event == "QueueStatusComplete"
        assert result.response.get("EventList") == "start"
        order = [
            (m.event, lst)
            for m, lst in rec.messages
            if m.event in ("QueueMember", "QueueCallerJoin")
        ]
        assert order == [
            ("QueueMember", "QueueStatus"),
            ("QueueCallerJoin", None),
            ("QueueMember", "QueueStatus"),
            ("QueueMember", "QueueStatus"),
        ]
        assert not any(m.event == "QueueStatusComplete" for m, _ in rec.messages)


async def test_on_login_runs_while_syncing_then_live(ami: FakeAmi) -> None:
    seen: list[tuple[int, LinkState]] = []
    link_box: list[AmiLink] = []

    async def on_login(epoch: int) -> None:
        link = link_box[0]
        seen.append((epoch, link.status.state))
        await link.action("Ping")  # actions work during the sync

    rec = Recorder()
    link = AmiLink(
        make_config(ami.port),
        secret="s3cret",
        on_message=rec.on_message,
        on_state=rec.on_state,
        on_login=on_login,
        clock=SystemClock(),
    )
    link_box.append(link)
    await link.start()
    try:
        await link.wait_for_state(LinkState.LIVE, timeout=3)
        assert seen == [(1, LinkState.SYNCING)]
        states = [s.state for s in rec.states]
        assert states.index(LinkState.SYNCING) < states.index(LinkState.LIVE)
    finally:
        await link.stop()


async def test_action_ids_are_unique_per_link() -> None:
    async with (
        FakeAmi() as ami,
        running_link(ami.port) as (a, _),
        running_link(ami.port) as (b, _),
    ):
        await a.wait_for_state(LinkState.LIVE, timeout=3)
        await b.wait_for_state(LinkState.LIVE, timeout=3)
        assert a.id_prefix != b.id_prefix
        await asyncio.gather(a.action("Ping"), b.action("Ping"))
        ids = [act.action_id for act in ami.actions]
        assert len(ids) == len(set(ids))


async def test_stop_is_idempotent_and_fails_fast_afterwards(ami: FakeAmi) -> None:
    async with running_link(ami.port) as (link, _rec):
        await link.wait_for_state(LinkState.LIVE, timeout=3)
        await link.stop()
        await link.stop()
        assert link.status.state == LinkState.STOPPED
        with pytest.raises(AmiNotConnected, match="stopped"):
            await link.action("Ping")
        # Logoff was written before the socket closed.
        await wait_until(lambda: bool(ami.actions_named("Logoff")))


async def test_stop_before_start_is_harmless() -> None:
    rec = Recorder()
    link = AmiLink(
        make_config(1),
        secret="x",
        on_message=rec.on_message,
        on_state=rec.on_state,
        clock=SystemClock(),
    )
    await link.stop()
    assert link.status.state == LinkState.STOPPED
    with pytest.raises(RuntimeError):
        await link.start()
