"""The simulator's phones give the same verdicts as the shipped paging dialplan."""

from __future__ import annotations

from sim_ami import AmiClient, Connect, Msg

from ccops.sim import SimulatedPbx


async def page(client: AmiClient, sim: SimulatedPbx, channel: str, page_id: str) -> Msg:
    await client.action(
        "Originate", Channel=channel, Context="ccops-page", Exten="s", Async="true",
        ChannelId=f"{page_id}-1", Variable=[f"CCOPS_PAGE_ID={page_id}", "CCOPS_PAGE_ATTEMPT=1"],
    )  # fmt: skip
    await sim.advance(20)
    return await client.until(lambda m: m.event == "UserEvent")


async def test_one_acknowledges_with_page_id(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    sim.phones.program("2001", answer_after=(1.0, 1.0), digit="1", digit_after=(2.0, 2.0))
    ev = await page(client, sim, "Local/2001@oncall", "pg-1")
    assert (ev.get("UserEvent"), ev.get("Digit"), ev.get("PageId")) == ("CcopsPageAck", "1", "pg-1")
    assert ev.get("CCOPS_PAGE_ATTEMPT") == "1" and ev.get("Uniqueid") == "pg-1-1"


async def test_a_programmed_phone_is_reachable_as_its_pjsip_endpoint(
    connect: Connect, sim: SimulatedPbx
) -> None:
    """The roster's ``extension = "2001"`` dials PJSIP/2001: a scenario's ``[phones.2001]``
    answers it (the shipped paging-drill scenario with the example roster); a number no
    scenario programmed is, as on a PBX without that endpoint, no channel at all."""
    client = await connect()
    sim.phones.program("2001", answer_after=(1.0, 1.0), digit="1", digit_after=(2.0, 2.0))
    ev = await page(client, sim, "PJSIP/2001", "pg-9")
    assert (ev.get("UserEvent"), ev.get("Digit"), ev.get("PageId")) == ("CcopsPageAck", "1", "pg-9")
    await client.action(
        "Originate", Channel="PJSIP/2999", Context="ccops-page", Exten="s", Async="true",
        ChannelId="pg-10-1",
    )  # fmt: skip
    await sim.advance(5)
    failed = await client.until(lambda m: m.event == "OriginateResponse"
                                and m.get("Uniqueid") == "pg-10-1")
    assert (failed.get("Response"), failed.get("Reason")) == ("Failure", "0")


async def test_another_key_is_no_ack(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    sim.phones.program("2003", answer_after=(1.0, 1.0), digit="2", digit_after=(2.0, 2.0))
    ev = await page(client, sim, "Local/2003@oncall", "pg-2")
    assert (ev.get("UserEvent"), ev.get("Digit"), ev.get("Reason")) == (
        "CcopsPageNoAck", "2", "digit")
    assert ev.get("PageId") == "pg-2"


async def test_no_key_is_no_ack_before_the_hangup(connect: Connect, sim: SimulatedPbx) -> None:
    client = await connect()
    sim.phones.program("2004", answer_after=(1.0, 1.0), digit=None, hangup_after=1.0)
    ev = await page(client, sim, "Local/2004@oncall", "pg-3")
    assert (ev.get("UserEvent"), ev.get("Digit"), ev.get("Reason")) == (
        "CcopsPageNoAck", "", "timeout")
    assert await client.until(lambda m: m.event == "Hangup")  # the verdict, then the hang-up


async def test_a_call_that_is_not_a_page_raises_no_verdict(
    connect: Connect, sim: SimulatedPbx
) -> None:
    client = await connect()
    sim.phones.program("2005", answer_after=(1.0, 1.0), digit=None, hangup_after=1.0)
    await client.action("Originate", Channel="Local/2005@oncall", Context="default",
                        Exten="s", Async="true")
    await sim.advance(20)
    assert not [m for m in await client.drain() if m.event == "UserEvent"]
