"""AmiFramer: bytes in, messages out — split-invariant, bounded, never fatal."""

from __future__ import annotations

import pytest

from ccops.pbx.framing import NOISE_EVENTS, AmiFramer
from ccops.pbx.message import AmiMessage

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
CAP = 64 * 1024


class Tick:
    """A clock callable that counts how often it is read."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return 1000.0 + self.calls


def framer(**kwargs: object) -> AmiFramer:
    options: dict[str, object] = {"max_message_bytes": CAP, "now": Tick()}
    options.update(kwargs)
    return AmiFramer(**options)  # type: ignore[arg-type]


def msg(*pairs: tuple[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n"


def shape(messages: list[AmiMessage]) -> list[tuple[dict[str, str], list[tuple[str, str]]]]:
    return [(m.headers, m.repeated) for m in messages]


# A stream that exercises every path: greeting glued to the login response, UTF-8 names,
# a duplicated header, an empty value, a no-space header, two glued messages, junk, a
# legacy Command reply, an OriginateResponse (whose Response header must not split it).
STREAM = (
    GREETING
    + msg(("Response", "Success"), ("ActionID", "ccops-1"), ("Message", "Authentication accepted"))
    + msg(("Event", "FullyBooted"), ("Privilege", "system,all"), ("Status", "Fully Booted"))
    + msg(("Event", "Newchannel"), ("CallerIDName", "José Müller"), ("AccountCode", ""))
    + b"Event: TestEvent\r\nState: CallIDChange\r\nState: CallIDChange\r\nKey:value\r\n\r\n"
    + b"Event: Hold\r\nChannel: PJSIP/a-1\r\nEvent: Unhold\r\nChannel: PJSIP/a-1\r\n\r\n"
    + b"\x00\xff binary junk\r\n\r\n"
    + b"Response: Follows\r\nPrivilege: Command\r\nActionID: ccops-2\r\n"
    + b"Channel  State\nPJSIP/a-1  Up\n--END COMMAND--\r\n\r\n"
    + msg(("Event", "OriginateResponse"), ("ActionID", "x"), ("Response", "Failure"))
    + msg(("Event", "QueueCallerJoin"), ("Queue", "hotline"), ("Position", "1"))
)


def test_the_reference_stream_parses_as_expected() -> None:
    f = framer()
    out = f.feed(STREAM)
    assert f.greeting == "Asterisk Call Manager/11.0.0"
    assert [m.event or m.response for m in out] == [
        "Success",
        "FullyBooted",
        "Newchannel",
        "TestEvent",
        "Hold",
        "Unhold",
        "Follows",
        "OriginateResponse",
        "QueueCallerJoin",
    ]
    assert out[2].get("CallerIDName") == "José Müller"
    assert out[2].headers["AccountCode"] == ""
    assert out[3].all_values("State") == ["CallIDChange", "CallIDChange"]
    assert out[3].get("Key") == "value"
    assert out[6].all_values("Output") == ["Channel  State", "PJSIP/a-1  Up"]
    assert out[6].action_id == "ccops-2"
    assert out[7].get("Response") == "Failure"
    assert [m.seq for m in out] == list(range(1, 10))
    assert f.counters.malformed == 2  # the glued pair (recovered) and the junk frame
    assert f.counters.messages == 9
    assert f.pending_bytes == 0


def test_every_split_position_gives_identical_results() -> None:
    reference = shape(framer().feed(STREAM))
    for cut in range(len(STREAM) + 1):
        f = framer()
        out = f.feed(STREAM[:cut]) + f.feed(STREAM[cut:])
        assert shape(out) == reference, f"split at byte {cut}"
        assert f.counters.malformed == 2, f"split at byte {cut}"
        assert f.greeting == "Asterisk Call Manager/11.0.0"


def test_byte_by_byte_feeding_gives_identical_results() -> None:
    reference = shape(framer().feed(STREAM))
    f = framer()
    out: list[AmiMessage] = []
    for i in range(len(STREAM)):
        out += f.feed(STREAM[i : i + 1])
    assert shape(out) == reference


def test_every_split_position_with_a_drop_set() -> None:
    drop = frozenset({"FullyBooted", "Hold", "TestEvent"})
    reference = shape(framer(drop_events=drop).feed(STREAM))
    assert [h.get("Event") for h, _ in reference].count("FullyBooted") == 0
    for cut in range(0, len(STREAM) + 1, 7):
        f = framer(drop_events=drop)
        assert shape(f.feed(STREAM[:cut]) + f.feed(STREAM[cut:])) == reference


def test_received_at_comes_from_the_clock_once_per_read() -> None:
    tick = Tick()
    f = framer(now=tick, expect_greeting=False)
    out = f.feed(msg(("Event", "A")) + msg(("Event", "B")))
    assert tick.calls == 1
    assert out[0].received_at == out[1].received_at == 1001.0
    assert f.feed(b"Event: C\r\n") == []
    assert tick.calls == 1  # nothing complete: the clock is not read


def test_utf8_split_across_reads_survives_and_latin1_is_replaced() -> None:
    f = framer(expect_greeting=False)
    data = msg(("Event", "Newchannel"), ("CallerIDName", "Zoë Łukasz"))
    cut = data.index("Ł".encode()) + 1
    assert f.feed(data[:cut]) == []
    assert f.feed(data[cut:])[0].get("CallerIDName") == "Zoë Łukasz"
    latin1 = f.feed(b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\n\r\n")[0]
    assert latin1.get("CallerIDName") == "Jos\ufffd"


class TestGreeting:
    def test_greeting_split_inside_its_text(self) -> None:
        f = framer()
        assert f.feed(b"Asterisk Call") == []
        assert f.greeting is None
        assert f.feed(b" Manager/11.0.0\r\nResponse: Success\r\n\r\n")[0].response == "Success"
        assert f.greeting == "Asterisk Call Manager/11.0.0"

    def test_greeting_split_inside_its_crlf(self) -> None:
        f = framer()
        assert f.feed(b"Asterisk Call Manager/11.0.0\r") == []
        assert f.feed(b"\nResponse: Success\r\n\r\n")[0].response == "Success"

    def test_peer_without_greeting_still_parses(self) -> None:
        f = framer()
        out = f.feed(b"Response: Success\r\nMessage: hi\r\n\r\n")
        assert f.greeting == "Response: Success"  # the link rejects it: not an AMI server
        assert out[0].get("Message") == "hi"

    def test_non_ami_first_line_is_reported_and_consumed(self) -> None:
        f = framer()
        assert f.feed(b"HTTP/1.1 400 Bad Request\r\n\r\n") == []
        assert f.greeting == "HTTP/1.1 400 Bad Request"

    def test_a_kilobyte_without_a_line_end_is_not_a_greeting(self) -> None:
        f = framer()
        f.feed(b"x" * 2000)
        assert f.greeting is not None and f.greeting.startswith("xxx")

    def test_reset_expects_a_new_greeting_and_keeps_seq_and_counters(self) -> None:
        f = framer()
        f.feed(GREETING + msg(("Event", "A")) + b"Event: half")
        f.reset()
        assert f.greeting is None and f.pending_bytes == 0
        out = f.feed(GREETING + msg(("Event", "B")))
        assert out[0].event == "B" and out[0].seq == 2
        assert f.counters.messages == 2


class TestGlued:
    def test_event_then_response_glued_by_one_crlf(self) -> None:
        f = framer(expect_greeting=False)
        out = f.feed(b"Event: Hold\r\nChannel: a\r\nResponse: Success\r\nActionID: 7\r\n\r\n")
        assert [(m.event, m.response, m.action_id) for m in out] == [
            ("Hold", "", ""),
            ("", "Success", "7"),
        ]
        assert f.counters.malformed == 1
        assert "glued" in f.last_error

    def test_two_responses_glued(self) -> None:
        f = framer(expect_greeting=False)
        out = f.feed(b"Response: Success\r\nActionID: 1\r\nResponse: Error\r\nActionID: 2\r\n\r\n")
        assert [(m.response, m.action_id) for m in out] == [("Success", "1"), ("Error", "2")]

    def test_originate_response_keeps_its_response_header(self) -> None:
        f = framer(expect_greeting=False)
        out = f.feed(msg(("Event", "OriginateResponse"), ("Response", "Success"), ("Reason", "4")))
        assert len(out) == 1 and out[0].get("Response") == "Success"
        assert f.counters.malformed == 0

    def test_a_glued_wanted_event_is_not_dropped_with_its_noisy_neighbour(self) -> None:
        f = framer(expect_greeting=False, drop_events=NOISE_EVENTS)
        out = f.feed(b"Event: VarSet\r\nVariable: X\r\nEvent: Hangup\r\nUniqueid: 1\r\n\r\n")
        assert [m.event for m in out] == ["VarSet", "Hangup"]


class TestDropSet:
    def test_dropped_before_parsing_and_counted(self) -> None:
        f = framer(expect_greeting=False, drop_events=frozenset({"VarSet"}))
        out = f.feed(
            msg(("Event", "VarSet"), ("Variable", "X"))
            + msg(("Event", "VarSetX"), ("A", "1"))
            + msg(("Event", "Hangup"))
            + msg(("Event", "VarSet"))
        )
        assert [m.event for m in out] == ["VarSetX", "Hangup"]
        assert f.counters.dropped_by_filter == 2
        assert [m.seq for m in out] == [1, 2]

    def test_protected_messages_are_never_dropped(self) -> None:
        f = framer(expect_greeting=False, drop_events=frozenset({"DeviceStateChange"}))
        f.protect = "ccops-ab12-"
        out = f.feed(
            msg(("Event", "DeviceStateChange"), ("Device", "noise"))
            + msg(("Event", "DeviceStateChange"), ("Device", "row"), ("ActionID", "ccops-ab12-9"))
        )
        assert [m.get("Device") for m in out] == ["row"]

    def test_responses_are_never_dropped(self) -> None:
        f = framer(expect_greeting=False, drop_events=frozenset({"Success"}))
        assert f.feed(msg(("Response", "Success")))[0].response == "Success"


class TestBadInput:
    def test_junk_frames_are_counted_and_skipped(self) -> None:
        f = framer(expect_greeting=False)
        out = f.feed(
            b"no colon at all\r\n\r\n"
            + b"\xff\xfe\x00\r\n\r\n"
            + b"Foo: bar\r\n\r\n"  # no Event/Response
            + msg(("Event", "Hangup"))
        )
        assert [m.event for m in out] == ["Hangup"]
        assert f.counters.malformed == 3

    def test_bad_lines_inside_a_message_are_skipped_not_the_message(self) -> None:
        f = framer(expect_greeting=False)
        out = f.feed(b"Event: Hangup\r\ngarbage line\r\n continuation: x\r\nUniqueid: 1\r\n\r\n")
        assert out[0].headers == {"Event": "Hangup", "Uniqueid": "1"}
        assert f.counters.malformed == 1
        assert "garbage line" in f.last_error

    def test_extra_blank_lines_are_not_defects(self) -> None:
        f = framer(expect_greeting=False)
        out = f.feed(b"\r\n\r\n" + msg(("Event", "A")) + b"\r\n\r\n\r\n" + msg(("Event", "B")))
        assert [m.event for m in out] == ["A", "B"]
        assert f.counters.malformed == 0

    def test_a_stray_lf_before_the_crlf_is_trimmed(self) -> None:
        f = framer(expect_greeting=False)
        out = f.feed(b"Response: Error\r\nActionID: 3\r\nMessage: No Contacts found\n\r\n\r\n")
        assert out[0].headers == {
            "Response": "Error",
            "ActionID": "3",
            "Message": "No Contacts found",
        }
        assert f.counters.malformed == 0

    def test_bare_lf_framing_is_never_split(self) -> None:
        f = framer(expect_greeting=False)
        assert f.feed(b"Event: A\nX: 1\n\nEvent: B\n\n") == []
        assert f.pending_bytes > 0


class TestOverflow:
    def test_an_unterminated_message_past_the_cap_overflows_and_frees_the_buffer(self) -> None:
        f = framer(expect_greeting=False)
        assert f.feed(msg(("Event", "Before"))) != []
        chunk = b"x" * 8192
        fed = 0
        while not f.overflowed:
            f.feed(chunk)
            fed += len(chunk)
            assert f.pending_bytes <= CAP
            assert fed < 4 * CAP
        assert f.pending_bytes == 0
        assert f.counters.overflows == 1
        assert "grew past 65536 bytes" in f.last_error
        assert f.feed(msg(("Event", "After"))) == []  # nothing until the connection is reset
        f.reset()
        assert f.feed(GREETING + msg(("Event", "After")))[0].event == "After"

    def test_messages_completed_in_the_same_read_are_kept(self) -> None:
        f = framer(expect_greeting=False)
        out = f.feed(msg(("Event", "A")) + b"Event: Huge\r\nData: " + b"x" * (CAP + 10))
        assert [m.event for m in out] == ["A"]
        assert f.overflowed

    def test_a_complete_oversized_message_in_one_read_overflows(self) -> None:
        f = framer(expect_greeting=False)
        big = b"Event: Huge\r\nData: " + b"x" * (CAP + 10) + b"\r\n\r\n"
        out = f.feed(msg(("Event", "A")) + big + msg(("Event", "B")))
        assert [m.event for m in out] == ["A"]
        assert f.overflowed and f.counters.overflows == 1

    def test_a_large_message_under_the_cap_is_fine(self) -> None:
        f = framer(expect_greeting=False)
        value = "y" * (CAP - 100)
        data = msg(("Event", "Big"), ("Data", value))
        out: list[AmiMessage] = []
        for i in range(0, len(data), 1000):
            out += f.feed(data[i : i + 1000])
        assert out[0].get("Data") == value and not f.overflowed

    def test_cap_must_be_sane(self) -> None:
        with pytest.raises(ValueError, match="at least 1024"):
            AmiFramer(max_message_bytes=10, now=Tick())
