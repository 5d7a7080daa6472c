"""PendingAction: panoramisk's Action serialisation plus our completion rules."""

from __future__ import annotations

import pytest

from ccops.pbx.errors import AmiActionError
from ccops.pbx.message import AmiMessage
from ccops.pbx.protocol import (
    TAKE_DONE,
    TAKE_EVENT,
    TAKE_ITEM,
    TAKE_MORE,
    TAKE_STRAY,
    AmiListResult,
    PendingAction,
)


def m(**headers: str) -> AmiMessage:
    return AmiMessage(dict(headers))


async def test_wire_format_is_ami_with_repeated_headers() -> None:
    action = PendingAction(
        "Originate", {"Channel": "Local/1@a", "Variable": ["A=1", "B=2"]}, "ccops-x-1"
    )
    wire = action.wire().decode()
    assert wire.endswith("\r\n\r\n")
    lines = wire.split("\r\n")[:-2]
    assert sorted(lines) == sorted(
        [
            "Action: Originate",
            "ActionID: ccops-x-1",
            "Channel: Local/1@a",
            "Variable: A=1",
            "Variable: B=2",
        ]
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"Val": "1\r\nAction: Originate"},
        {"Val": "1\nx"},
        {"Bad\r\nName": "1"},
        {"Variable": ["ok", "bad\r\n"]},
        {"": "1"},
        {"Has:Colon": "1"},
    ],
)
async def test_injection_and_bad_names_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PendingAction("DBPut", fields, "id")  # type: ignore[arg-type]


async def test_reserved_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="set by the link"):
        PendingAction("Ping", {"actionid": "x"}, "id")
    with pytest.raises(ValueError, match="set by the link"):
        PendingAction("Ping", {"Action": "Originate"}, "id")


async def test_single_action_success_and_error() -> None:
    ok = PendingAction("Ping", None, "a1")
    assert ok.take(m(Response="Success", ActionID="a1", Ping="Pong")) == TAKE_DONE
    assert ok.future.result().get("Ping") == "Pong"
    assert ok.take(m(Response="Success", ActionID="a1")) == TAKE_STRAY

    bad = PendingAction("QueuePause", None, "a2")
    assert bad.take(m(Response="Error", ActionID="a2", Message="Interface not found")) == TAKE_DONE
    err = bad.future.exception()
    assert isinstance(err, AmiActionError) and err.text == "Interface not found"


async def test_events_about_a_single_action_are_not_its_answer() -> None:
    action = PendingAction("Originate", None, "a3")
    assert action.take(m(Event="OriginateResponse", ActionID="a3")) == TAKE_EVENT
    assert not action.future.done()


async def test_list_collects_until_eventlist_complete() -> None:
    action = PendingAction("QueueStatus", None, "l1", list_name="QueueStatus")
    assert action.take(m(Response="Success", EventList="start")) == TAKE_MORE
    assert action.take(m(Event="QueueParams", Queue="q")) == TAKE_ITEM
    assert action.take(m(Event="QueueMember", Name="a")) == TAKE_ITEM
    assert not action.future.done()
    assert action.take(m(Event="QueueStatusComplete", EventList="Complete")) == TAKE_DONE
    result = action.future.result()
    assert isinstance(result, AmiListResult)
    assert [i.event for i in result.items] == ["QueueParams", "QueueMember"]
    assert result.complete is not None and result.complete.get("EventList") == "Complete"


async def test_list_completion_by_name_and_by_legacy_suffix() -> None:
    named = PendingAction("X", None, "l2", list_name="X", complete_event="XDone")
    named.take(m(Response="Success", EventList="start"))
    assert named.take(m(Event="XDone")) == TAKE_DONE
    legacy = PendingAction("Status", None, "l3", list_name="Status")
    legacy.take(m(Response="Success", Message="Channel status will follow"))
    assert legacy.take(m(Event="StatusComplete")) == TAKE_DONE


async def test_list_error_ends_at_once_and_success_without_list_is_empty() -> None:
    err = PendingAction("PJSIPShowContacts", None, "l4", list_name="PJSIPShowContacts")
    assert err.take(m(Response="Error", Message="No Contacts found")) == TAKE_DONE
    exc = err.future.exception()
    assert isinstance(exc, AmiActionError) and exc.text == "No Contacts found"

    empty = PendingAction("Foo", None, "l5", list_name="Foo")
    assert empty.take(m(Response="Success", Message="done")) == TAKE_DONE
    assert empty.future.result().items == []


async def test_on_success_runs_synchronously_with_the_response() -> None:
    seen: list[str] = []
    login = PendingAction("Login", None, "x", on_success=lambda msg: seen.append(msg.response))
    login.take(m(Response="Success"))
    assert seen == ["Success"]
    refused = PendingAction("Login", None, "y", on_success=lambda msg: seen.append("no"))
    refused.take(m(Response="Error", Message="Authentication failed"))
    assert seen == ["Success"]
    assert refused.future.exception() is not None


async def test_non_string_values_are_refused_clearly() -> None:
    with pytest.raises(TypeError, match="'Penalty' must be a str"):
        PendingAction("QueuePenalty", {"Penalty": 3}, "id")  # type: ignore[dict-item]
