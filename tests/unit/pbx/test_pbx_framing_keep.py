"""The framer's keep set: events nobody consumes are dropped before they are parsed."""

from __future__ import annotations

from ccops.pbx.framing import NOISE_EVENTS, AmiFramer
from ccops.pbx.normalize import HANDLED_EVENTS


def framer(**kwargs: object) -> AmiFramer:
    options: dict[str, object] = {
        "max_message_bytes": 64 * 1024,
        "now": lambda: 1000.0,
        "expect_greeting": False,
    }
    options.update(kwargs)
    return AmiFramer(**options)  # type: ignore[arg-type]


def msg(*pairs: tuple[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n"


def test_only_kept_events_are_parsed_and_the_rest_are_counted() -> None:
    f = framer(keep_events=frozenset({"Hangup", "Newchannel"}))
    out = f.feed(
        msg(("Event", "DialBegin"), ("Channel", "a"))
        + msg(("Event", "Hangup"), ("Uniqueid", "1"))
        + msg(("Event", "BridgeEnter"))
        + msg(("Event", "Newchannel"), ("Uniqueid", "2"))
        + msg(("Event", "Hangupx"))
    )
    assert [m.event for m in out] == ["Hangup", "Newchannel"]
    assert [m.seq for m in out] == [1, 2]
    assert f.counters.dropped_by_filter == 3
    assert f.counters.messages == 2


def test_the_drop_set_still_wins_over_the_keep_set() -> None:
    f = framer(drop_events=frozenset({"VarSet"}), keep_events=frozenset({"VarSet", "Hold"}))
    assert f.keep_events == frozenset({"Hold"})
    out = f.feed(msg(("Event", "VarSet")) + msg(("Event", "Hold")))
    assert [m.event for m in out] == ["Hold"]


def test_responses_and_our_list_items_always_pass() -> None:
    f = framer(keep_events=frozenset({"Hangup"}))
    f.protect = "ccops-ab12-"
    out = f.feed(
        msg(("Response", "Success"), ("ActionID", "ccops-ab12-1"), ("EventList", "start"))
        + msg(("Event", "EndpointList"), ("ActionID", "ccops-ab12-1"), ("ObjectName", "t"))
        + msg(("Event", "EndpointListComplete"), ("ActionID", "ccops-ab12-1"))
        + msg(("Event", "EndpointList"), ("ActionID", "someone-else-7"))
    )
    assert [(m.response, m.event) for m in out] == [
        ("Success", ""),
        ("", "EndpointList"),
        ("", "EndpointListComplete"),
    ]


def test_a_kept_event_glued_to_an_unwanted_one_is_recovered() -> None:
    f = framer(keep_events=frozenset({"Hangup"}))
    out = f.feed(b"Event: DialEnd\r\nChannel: a\r\nEvent: Hangup\r\nUniqueid: 1\r\n\r\n")
    assert [m.event for m in out] == ["DialEnd", "Hangup"]
    assert f.counters.malformed == 1


def test_bad_frames_of_unwanted_events_are_dropped_not_fatal() -> None:
    f = framer(keep_events=HANDLED_EVENTS - NOISE_EVENTS)
    out = f.feed(
        b"Event: DialBegin\r\nno colon here\r\n\r\n"
        + "Event: Hangup\r\nCallerIDName: José\r\nUniqueid: 9\r\n\r\n".encode()
    )
    assert [(m.event, m.get("CallerIDName")) for m in out] == [("Hangup", "José")]
    assert f.counters.malformed == 0


def test_without_a_keep_set_everything_not_in_the_drop_set_passes() -> None:
    f = framer(drop_events=NOISE_EVENTS)
    assert f.keep_events is None
    out = f.feed(msg(("Event", "DialBegin")) + msg(("Event", "VarSet")))
    assert [m.event for m in out] == ["DialBegin"]
