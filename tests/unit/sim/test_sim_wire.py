"""The simulator's wire layer: masks, privilege strings, frames and the bounded parser."""

from __future__ import annotations

from ccops.sim.wire import (
    ALL_CLASSES,
    MAX_LINE,
    ActionParser,
    EventClass,
    event_frame,
    is_true,
    list_complete,
    parse_classes,
    parse_event_mask,
    privilege,
    response,
)


def test_privilege_lists_classes_then_all() -> None:
    assert privilege(int(EventClass.CALL)) == "call,all"
    assert privilege(int(EventClass.AGENT)) == "agent,all"
    assert privilege(int(EventClass.SYSTEM | EventClass.REPORTING)) == "system,reporting,all"


def test_event_masks_like_strings_to_mask() -> None:
    assert parse_event_mask("on") == ALL_CLASSES
    assert parse_event_mask("off") == 0
    assert parse_event_mask("") is None
    assert parse_event_mask("1") == 1  # a number is a raw mask, not "true"
    assert parse_event_mask("call,agent") == int(EventClass.CALL | EventClass.AGENT)
    assert parse_event_mask("call,bogus") == int(EventClass.CALL)
    assert parse_classes("system, call") == int(EventClass.SYSTEM | EventClass.CALL)


def test_is_true_is_asterisks_ast_true() -> None:
    assert all(is_true(v) for v in ("yes", "True", "1", "on", "y", "t"))
    assert not any(is_true(v) for v in ("maybe", "no", "0", "", "2"))


def test_frames() -> None:
    assert event_frame("Reload", 1, "Module: All\r\n") == (
        b"Event: Reload\r\nPrivilege: system,all\r\nModule: All\r\n\r\n"
    )
    assert response("Success", "a1", "ok") == (
        b"Response: Success\r\nActionID: a1\r\nMessage: ok\r\n\r\n"
    )
    assert response("Success", "", "ok") == b"Response: Success\r\nMessage: ok\r\n\r\n"
    assert list_complete("XComplete", "a", 2, [("Registered", "1")]) == (
        b"Event: XComplete\r\nActionID: a\r\nEventList: Complete\r\nListItems: 2\r\n"
        b"Registered: 1\r\n\r\n"
    )


def test_parser_handles_split_input_and_duplicates() -> None:
    parser = ActionParser()
    assert parser.feed(b"Action: Orig") == []
    out = parser.feed(b"inate\r\nVariable: A=1\r\nvariable: B=2\n\r\n")
    assert len(out) == 1
    action = out[0]
    assert action.name == "Originate"
    assert action.all("Variable") == ["A=1", "B=2"]
    assert action.get("VARIABLE") == "A=1"


def test_parser_refuses_overlong_lines_without_buffering_them() -> None:
    parser = ActionParser()
    parser.feed(b"Action: Ping\r\nX: " + b"a" * (MAX_LINE * 4))
    assert len(parser._pending) <= MAX_LINE  # nothing huge is kept
    out = parser.feed(b"more\r\nActionID: 9\r\n\r\nAction: Ping\r\n\r\n")
    assert [a.problem for a in out] == ["Failed to parse message: line too long", ""]
    assert out[0].action_id == "9"


def test_parser_limits_headers_and_replaces_bad_bytes() -> None:
    parser = ActionParser()
    many = b"".join(b"H%d: v\r\n" % i for i in range(300))
    [action] = parser.feed(b"Action: Ping\r\n" + many + b"\r\n")
    assert action.problem == "Failed to parse message: too many headers"
    [odd] = parser.feed(b"Action: UserEvent\r\nName: Jos\xc3\r\n\r\n")
    assert odd.get("Name") == "Jos\ufffd"
