"""Routing toggles on the simulator behave like the shipped dialplan snippet on Asterisk, and
PJSIPShowEndpoint gives trunk contacts with status and round trip."""

from __future__ import annotations

from sim_ami import Connect, Msg

from ccops.sim import SimulatedPbx
from ccops.sim.routing import PROMPT_SECONDS, RoutingStep, plan_route

OVERFLOW_TO: dict[str, str | None] = {"hotline": "billing", "billing": None, "repairs": None}


def _db(**flags: str) -> dict[str, str]:
    return {f"/ccops/{k.replace('__', '/')}": v for k, v in flags.items()}


# --------------------------------------------------------------------------- the planner


def test_no_flags_routes_normally() -> None:
    plan = plan_route({}, OVERFLOW_TO, "4930100", "hotline")
    assert (plan.queue, plan.delay, plan.steps) == ("hotline", 0.0, [])


def test_overflow_on_uses_the_configured_target_or_a_named_queue() -> None:
    on = plan_route(_db(overflow__hotline="on"), OVERFLOW_TO, "4930100", "hotline")
    assert on.queue == "billing" and on.overflowed_from == "hotline"
    assert on.steps == [RoutingStep("overflow", "hotline", "billing")]
    named = plan_route(_db(overflow__hotline="repairs"), OVERFLOW_TO, "4930100", "hotline")
    assert named.queue == "repairs"
    # "on" with no configured target, or an unknown queue: callers stay (the snippet warns).
    for flags in (_db(overflow__billing="on"), _db(overflow__billing="nosuch")):
        stay = plan_route(flags, OVERFLOW_TO, "4930200", "billing")
        assert (stay.queue, stay.steps) == ("billing", [])


def test_night_mode_ends_the_call_after_the_prompt() -> None:
    plan = plan_route(_db(night__4930100="on"), OVERFLOW_TO, "4930100", "hotline")
    assert plan.queue is None
    assert plan.delay == PROMPT_SECONDS["ss-noservice"]
    assert plan.steps == [RoutingStep("night", "4930100", "ccops-night/s/1")]
    other_did = plan_route(_db(night__4930100="on"), OVERFLOW_TO, "4930200", "billing")
    assert other_did.queue == "billing"


def test_precedence_announcement_then_forced_route_over_night() -> None:
    flags = _db(emergency_announcement__4930100="on", forced_route__4930100="repairs",
                night__4930100="on", emergency_announcement__repairs="im-sorry")
    plan = plan_route(flags, OVERFLOW_TO, "4930100", "hotline")
    assert plan.queue == "repairs"
    assert [s.kind for s in plan.steps] == [
        "emergency_announcement", "forced_route", "emergency_announcement"]
    assert plan.delay == PROMPT_SECONDS["tt-allbusy"] + PROMPT_SECONDS["im-sorry"]
    # A forced route without a destination leaves night mode in charge, as the snippet does.
    plan = plan_route(_db(forced_route__4930200="on", night__4930200="on"), OVERFLOW_TO,
                      "4930200", "billing")
    assert plan.queue is None


# --------------------------------------------------------------------------- over the wire


def _joins(events: list[Msg]) -> dict[str, str]:
    """Uniqueid → first queue joined (a caller timing out may join its overflow later)."""
    out: dict[str, str] = {}
    for m in events:
        if m.event == "QueueCallerJoin":
            out.setdefault(m.get("Uniqueid"), m.get("Queue"))
    return out


def _routing(events: list[Msg]) -> list[Msg]:
    return [m for m in events if m.event == "UserEvent" and m.get("UserEvent") == "CcopsRouting"]


async def test_overflow_flag_sends_new_hotline_arrivals_to_billing(
    connect: Connect, sim: SimulatedPbx
) -> None:
    client = await connect(events="call,agent,user")
    await sim.advance(600)
    before = await client.drain()
    hotline_entries = {u for u, m in (
        (m.get("Uniqueid"), m) for m in before if m.event == "UserEvent"
        and m.get("UserEvent") == "CcopsInbound" and m.get("Queue") == "hotline")}
    assert hotline_entries and all(_joins(before)[u] == "hotline" for u in hotline_entries)
    reply = await client.action("DBPut", Family="ccops", Key="overflow/hotline", Val="on")
    assert reply.response == "Success"
    await sim.advance(600)
    after = await client.drain()
    diverted = [m for m in _routing(after) if m.get("Kind") == "overflow"]
    assert diverted and all(m.get("Destination") == "billing" for m in diverted)
    joins = _joins(after)
    assert all(joins[m.get("Uniqueid")] == "billing" for m in diverted)
    assert "hotline" not in {joins[m.get("Uniqueid")] for m in diverted}
    await client.action("DBDel", Family="ccops", Key="overflow/hotline")
    await sim.advance(600)
    again = await client.drain()
    assert not _routing(again)
    assert "hotline" in set(_joins(again).values())


async def test_night_mode_keeps_a_dids_callers_out_of_queues(
    connect: Connect, sim: SimulatedPbx
) -> None:
    client = await connect(events="call,agent,user")
    await client.action("DBPut", Family="ccops", Key="night/4930100", Val="on")
    await sim.advance(900)
    events = await client.drain()
    night = [m for m in _routing(events) if m.get("Kind") == "night"]
    assert night
    joins = _joins(events)
    hangups = {m.get("Uniqueid") for m in events if m.event == "Hangup"}
    for m in night:
        assert m.get("Uniqueid") not in joins
    finished = [m for m in night if m.get("Uniqueid") in hangups]
    assert finished  # hung up after the prompt
    assert "hotline" not in set(joins.values())


async def test_emergency_announcement_delays_joining_by_its_length(
    connect: Connect, sim: SimulatedPbx
) -> None:
    client = await connect(events="call,agent,user")
    seen: list[tuple[float, str, dict[str, str]]] = []  # (virtual time, event, headers)

    def tap(name: str, _cls: int, frame: bytes) -> None:
        if name in ("UserEvent", "QueueCallerJoin"):
            text = frame.decode(errors="replace")
            headers = dict(line.split(": ", 1) for line in text.split("\r\n") if ": " in line)
            seen.append((sim.virtual_now(), name, headers))

    sim.add_tap(tap)
    await client.action("DBPut", Family="ccops", Key="emergency_announcement/billing", Val="on")
    await sim.advance(900)
    announced = {h["Uniqueid"]: t for t, name, h in seen if name == "UserEvent"
                 and h.get("UserEvent") == "CcopsRouting"
                 and h.get("Kind") == "emergency_announcement"}
    joined = {h["Uniqueid"]: (t, h["Queue"]) for t, name, h in reversed(seen)
              if name == "QueueCallerJoin"}
    assert announced
    waited = [joined[u][0] - t for u, t in announced.items() if u in joined]
    assert waited, "announced callers never joined"
    assert all(abs(w - PROMPT_SECONDS["tt-allbusy"]) < 1e-6 for w in waited), waited
    assert all(joined[u][1] == "billing" for u in announced if u in joined)
    others = [h["Uniqueid"] for _, name, h in seen if name == "UserEvent"
              and h.get("UserEvent") == "CcopsInbound" and h.get("Queue") == "hotline"]
    assert others and not set(others) & set(announced)  # only billing's callers hear it


async def test_pjsip_show_endpoint_gives_trunk_status_and_rtt(
    connect: Connect, sim: SimulatedPbx
) -> None:
    client = await connect(events="off")
    await sim.advance(60)
    first, items, done = await client.list_action(
        "PJSIPShowEndpoint", "EndpointDetailComplete", Endpoint="carrier-a")
    assert first.response == "Success"
    assert [m.event for m in items] == [
        "EndpointDetail", "AuthDetail", "TransportDetail", "AorDetail",
        "ContactStatusDetail", "IdentifyDetail"]
    assert done.get("ListItems") == str(len(items))
    contact = items[4]
    assert contact.get("Status") == "Reachable"
    assert int(contact.get("RoundtripUsec")) > 0
    sim.trunk_down("carrier-b")
    await sim.advance(30)
    _, items, _ = await client.list_action(
        "PJSIPShowEndpoint", "EndpointDetailComplete", Endpoint="carrier-b")
    contact = next(m for m in items if m.event == "ContactStatusDetail")
    assert (contact.get("Status"), contact.get("RoundtripUsec")) == ("Unreachable", "0")
    missing = await client.action("PJSIPShowEndpoint", Endpoint="nosuch")
    assert missing.response == "Error"
    assert missing.get("Message").startswith("Unable to retrieve endpoint nosuch")
