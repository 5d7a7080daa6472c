"""The AMI wire format as the simulator speaks it: event classes, frames, and action parsing.

Kept free of any PBX state so that it can be tested byte for byte. Frames are built once as
``bytes`` and handed to every interested session unchanged: at surge rates the cost of an
event must not grow with the number of listeners.

Asterisk's rules mirrored here (``main/manager.c``):

* an event is ``Event:``, ``Privilege:`` (the class names plus ``all``), the body, a blank
  line; list items built by actions carry no ``Privilege:``;
* a response is ``Response:``, then ``ActionID:`` when the action had one, then the rest;
* a session only gets an event whose class is in both its read permission and the mask it
  asked for with ``Events:``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

GREETING = b"Asterisk Call Manager/11.0.0\r\n"

#: Longest header line Asterisk accepts (its input buffer is 1025 bytes).
MAX_LINE = 1024
#: Most headers in one action (``AST_MAX_MANHEADERS``).
MAX_HEADERS = 128


class EventClass(enum.IntFlag):
    """Asterisk's permission/event classes, with the same bit values as ``manager.h``."""

    SYSTEM = 1 << 0
    CALL = 1 << 1
    LOG = 1 << 2
    VERBOSE = 1 << 3
    COMMAND = 1 << 4
    AGENT = 1 << 5
    USER = 1 << 6
    CONFIG = 1 << 7
    DTMF = 1 << 8
    REPORTING = 1 << 9
    CDR = 1 << 10
    DIALPLAN = 1 << 11
    ORIGINATE = 1 << 12
    AGI = 1 << 13
    CC = 1 << 14
    AOC = 1 << 15
    TEST = 1 << 16
    SECURITY = 1 << 17
    MESSAGE = 1 << 19


ALL_CLASSES = int(sum(EventClass))
_LABELS: tuple[tuple[int, str], ...] = (
    (EventClass.SYSTEM, "system"),
    (EventClass.CALL, "call"),
    (EventClass.LOG, "log"),
    (EventClass.VERBOSE, "verbose"),
    (EventClass.COMMAND, "command"),
    (EventClass.AGENT, "agent"),
    (EventClass.USER, "user"),
    (EventClass.CONFIG, "config"),
    (EventClass.DTMF, "dtmf"),
    (EventClass.REPORTING, "reporting"),
    (EventClass.CDR, "cdr"),
    (EventClass.DIALPLAN, "dialplan"),
    (EventClass.ORIGINATE, "originate"),
    (EventClass.AGI, "agi"),
    (EventClass.CC, "cc"),
    (EventClass.AOC, "aoc"),
    (EventClass.TEST, "test"),
    (EventClass.SECURITY, "security"),
    (EventClass.MESSAGE, "message"),
)
_BY_LABEL = {label: int(bit) for bit, label in _LABELS}


@lru_cache(maxsize=256)
def privilege(cls: int) -> str:
    """The ``Privilege:`` value of an event of class ``cls``, e.g. ``call,all``."""
    names = [label for bit, label in _LABELS if cls & bit]
    names.append("all")
    return ",".join(names)


def parse_classes(text: str) -> int:
    """A permission list from manager.conf style text (``system,call`` or ``all``).

    Raises ValueError naming the unknown class, so a bad user definition fails at start.
    """
    mask = 0
    for raw in text.split(","):
        word = raw.strip().lower()
        if not word:
            continue
        if word == "all":
            mask |= ALL_CLASSES
        elif word in _BY_LABEL:
            mask |= _BY_LABEL[word]
        else:
            raise ValueError(f"unknown event class {raw.strip()!r}")
    return mask


def parse_event_mask(text: str) -> int | None:
    """What an ``Events:`` header asks for, like Asterisk's ``strings_to_mask``.

    ``on``/``yes``/``true`` mean everything, ``off``/``no``/``false`` nothing, a number is a
    raw mask, otherwise a comma list of class names (unknown names are ignored, as Asterisk
    does). Returns None for an empty value (the mask is left unchanged).
    """
    value = text.strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    low = value.lower()
    if low in ("off", "no", "false", "n", "f"):
        return 0
    if low in ("on", "yes", "true", "y", "t"):
        return ALL_CLASSES
    mask = 0
    for word in low.split(","):
        mask |= _BY_LABEL.get(word.strip(), ALL_CLASSES if word.strip() == "all" else 0)
    return mask


def is_true(value: str) -> bool:
    """Asterisk's ``ast_true``: anything else (``maybe`` included) is false."""
    return value.strip().lower() in ("yes", "true", "y", "t", "1", "on")


def event_frame(name: str, cls: int, body: str) -> bytes:
    """One unsolicited event; ``body`` is header lines each ending in CRLF."""
    return f"Event: {name}\r\nPrivilege: {privilege(cls)}\r\n{body}\r\n".encode()


def encode_headers(headers: Iterable[tuple[str, str]]) -> bytes:
    """A message from ordered (name, value) pairs, with the closing blank line."""
    return ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


def response(
    kind: str,
    action_id: str,
    message: str | None = None,
    *,
    extra: Iterable[tuple[str, str]] = (),
    event_list: str | None = None,
) -> bytes:
    """A response in Asterisk's order: Response, ActionID, EventList, Message, extras."""
    headers: list[tuple[str, str]] = [("Response", kind)]
    if action_id:
        headers.append(("ActionID", action_id))
    if event_list is not None:
        headers.append(("EventList", event_list))
    if message is not None:
        headers.append(("Message", message))
    headers.extend(extra)
    return encode_headers(headers)


def success(action_id: str, message: str | None = None) -> bytes:
    return response("Success", action_id, message)


def error(action_id: str, message: str) -> bytes:
    return response("Error", action_id, message)


def list_start(action_id: str, message: str) -> bytes:
    return response("Success", action_id, message, event_list="start")


def list_complete(
    event: str, action_id: str, count: int, extra: Iterable[tuple[str, str]] = ()
) -> bytes:
    """The closing event of a list action (no Privilege header, ActionID second)."""
    headers: list[tuple[str, str]] = [("Event", event)]
    if action_id:
        headers.append(("ActionID", action_id))
    headers.append(("EventList", "Complete"))
    headers.append(("ListItems", str(count)))
    headers.extend(extra)
    return encode_headers(headers)


# --------------------------------------------------------------------------- input


@dataclass(slots=True)
class Action:
    """One action as received: ordered headers (duplicates kept) and any parse problem."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    problem: str = ""

    def get(self, name: str, default: str = "") -> str:
        """First value of a header, matched case-insensitively as Asterisk does."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return default

    def all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def name(self) -> str:
        return self.get("Action").strip()

    @property
    def action_id(self) -> str:
        return self.get("ActionID")


class ActionParser:
    """Incremental, bounded parser for what a client sends.

    A line longer than :data:`MAX_LINE` or a message with more than :data:`MAX_HEADERS`
    headers is not an error of the connection: the message is completed with a ``problem``
    so the session answers it with an error, and the parser never holds more than one line
    of pending input. Bytes that are not UTF-8 are replaced, never dropped silently.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._current = Action()
        self._skip_to_eol = False
        self.discarded_lines = 0

    def feed(self, data: bytes) -> list[Action]:
        out: list[Action] = []
        buf = self._pending + data
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = buf[start:nl]
            start = nl + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            self._line(line, out)
        rest = buf[start:]
        if len(rest) > MAX_LINE:
            # Keep only a marker: the rest of this line is discarded when it ends.
            self._overlong()
            rest = b""
            self._skip_to_eol = True
        self._pending = rest
        return out

    def _overlong(self) -> None:
        self.discarded_lines += 1
        if not self._current.problem:
            self._current.problem = "Failed to parse message: line too long"

    def _line(self, raw: bytes, out: list[Action]) -> None:
        if self._skip_to_eol:
            self._skip_to_eol = False
            return
        if len(raw) > MAX_LINE:
            self._overlong()
            return
        if not raw:
            if self._current.headers or self._current.problem:
                out.append(self._current)
            self._current = Action()
            return
        text = raw.decode("utf-8", errors="replace")
        key, sep, value = text.partition(":")
        if not sep:
            # Asterisk keeps such a line as a header without value; it matches nothing.
            key, value = text, ""
        if len(self._current.headers) >= MAX_HEADERS:
            if not self._current.problem:
                self._current.problem = "Failed to parse message: too many headers"
            return
        self._current.headers.append((key.strip(), value.lstrip(" ").rstrip()))
