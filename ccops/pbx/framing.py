"""AMI framing: raw TCP bytes in, :class:`~ccops.pbx.message.AmiMessage` objects out.

This is the hot path of the whole console (every AMI event passes here, tens of thousands
per second in a surge), and the place where panoramisk 1.4 is weakest: it decodes each TCP
chunk on its own with ``errors='ignore'`` (a character split across two reads vanishes),
re-splits its whole pending string on every chunk (a 64 MB unterminated line freezes the
loop for seconds), and crashes the connection on two messages glued by a single CRLF (see
``shared/research/panoramisk.md`` §2.4, F2b/F2c/F2f). So framing is done here, on bytes:

* the stream is split on ``b"\\r\\n\\r\\n"`` and only *complete* messages are decoded
  (UTF-8, ``errors="replace"``), so a multi-byte character can never be cut in half;
* the pending, incomplete tail is capped (``max_message_bytes``); past the cap the framer
  reports :attr:`AmiFramer.overflowed` and the caller aborts the connection;
* one bad frame is counted in :attr:`FramerCounters.malformed` and skipped, never fatal;
  two messages glued by one CRLF are split again (counted as malformed but recovered);
* the greeting line (``Asterisk Call Manager/11.0.0\\r\\n``, with no blank line after it)
  is recognised at the start of every connection;
* a *pre-parse filter* on event names is checked on the raw ``Event: X`` first line,
  before any dict is built: either a drop set (noise: VarSet, Newexten, TestEvent, RTCP…)
  or, when the consumer knows exactly what it uses, a keep set (``keep_events``: every
  other event is dropped — what an AMI event mask is for, but finer than Asterisk's
  classes). Dropping there is the cheapest thing the link can do with an event. A message
  that contains :attr:`AmiFramer.protect` (the link's ActionID prefix) is never dropped,
  because list actions answer with items (and ``…Complete`` markers) that may be named
  like noise or be absent from the keep set.

The common case (no duplicate header, every line ``Key: value``) is parsed with one
list comprehension and two length checks; everything unusual falls to a slower, careful
parser. Speed is measured in ``bench/``, never asserted in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ccops.pbx.message import AmiMessage

TERMINATOR = b"\r\n\r\n"
GREETING_PREFIX = "Asterisk Call Manager"

#: Events a call-center console never uses and Asterisk emits in bulk (asterisk-22-notes
#: §18, §19, §23, §24): dropped before parsing by default. Names are case-sensitive, as on
#: the wire (Asterisk 22 spells ``NewCallerid``; older docs say ``Newcallerid``).
NOISE_EVENTS: frozenset[str] = frozenset(
    {
        "VarSet",
        "Newexten",
        "TestEvent",
        "RTCPSent",
        "RTCPReceived",
        "MusicOnHoldStart",
        "MusicOnHoldStop",
        "NewConnectedLine",
        "DTMFBegin",
        "DTMFEnd",
        "NewCallerid",
        "Newcallerid",
        "LocalBridge",
        "LocalOptimizationBegin",
        "LocalOptimizationEnd",
        "DialState",
    }
)

# Headers Asterisk puts on a legacy ``Response: Follows`` reply before the command output.
_FOLLOWS_HEADERS = frozenset({"Response", "Privilege", "ActionID", "Message"})
_END_COMMAND = "--END COMMAND--"
# Events that legitimately carry a ``Response:`` header (so it does not start a new message).
_EVENTS_WITH_RESPONSE_HEADER = frozenset({"OriginateResponse"})
# The longest greeting line we wait for before deciding there is none.
_MAX_GREETING = 1024


@dataclass(slots=True)
class FramerCounters:
    """What the framer saw; the link copies these into its own counters."""

    messages: int = 0  # messages produced (after the drop set)
    dropped_by_filter: int = 0  # skipped by the pre-parse drop set
    malformed: int = 0  # frames with a defect (skipped, or recovered and counted)
    overflows: int = 0  # pending buffer exceeded max_message_bytes
    bytes: int = 0


class AmiFramer:
    """Incremental AMI framer for one link; call :meth:`reset` on every new connection.

    ``now`` stamps ``received_at`` (called once per :meth:`feed`: every message of one TCP
    read arrived at the same moment). ``seq`` keeps increasing across :meth:`reset`, so it
    orders every message the link ever received.
    """

    __slots__ = (
        "_buf",
        "_drop",
        "_expect_greeting",
        "_keep",
        "_max",
        "_now",
        "_scan_from",
        "_seq",
        "counters",
        "greeting",
        "last_error",
        "overflowed",
        "protect",
    )

    def __init__(
        self,
        *,
        max_message_bytes: int,
        now: Callable[[], float],
        drop_events: Iterable[str] = (),
        keep_events: Iterable[str] | None = None,
        expect_greeting: bool = True,
    ) -> None:
        if max_message_bytes < 1024:
            raise ValueError(f"max_message_bytes must be at least 1024, got {max_message_bytes}")
        self._max = max_message_bytes
        self._now = now
        self._drop: frozenset[str] = frozenset(drop_events)
        #: None: keep every event not in the drop set; else keep only these (minus drops).
        self._keep: frozenset[str] | None = (
            None if keep_events is None else frozenset(keep_events) - self._drop
        )
        self._buf = bytearray()
        self._scan_from = 0
        self._seq = 0
        self._expect_greeting = expect_greeting
        self.counters = FramerCounters()
        #: The first line of the current connection once seen (None until then). It is the
        #: greeting (``Asterisk Call Manager/…``) unless the peer is not an AMI server.
        self.greeting: str | None = None
        #: Set once the pending tail exceeded the cap; nothing more is parsed until reset.
        self.overflowed = False
        #: A substring that protects a message from the drop set (the link's ActionID prefix).
        self.protect: str | None = None
        #: Short description of the last defect, for the link's rate-limited log.
        self.last_error = ""

    # ------------------------------------------------------------------ public

    @property
    def drop_events(self) -> frozenset[str]:
        return self._drop

    @property
    def keep_events(self) -> frozenset[str] | None:
        return self._keep

    @property
    def pending_bytes(self) -> int:
        """Bytes held for an incomplete message (bounded by ``max_message_bytes``)."""
        return len(self._buf)

    @property
    def seq(self) -> int:
        """Sequence number of the last message produced."""
        return self._seq

    def reset(self, *, expect_greeting: bool = True) -> None:
        """Forget the pending bytes of a previous connection; keep counters and ``seq``."""
        self._buf = bytearray()
        self._scan_from = 0
        self._expect_greeting = expect_greeting
        self.greeting = None
        self.overflowed = False

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Add one TCP read; return the messages it completed, in arrival order.

        After an overflow the messages completed before it are still returned, the
        pending bytes are discarded and :attr:`overflowed` stays set until :meth:`reset`.
        """
        if self.overflowed:
            return []
        self.counters.bytes += len(data)
        block = self._take_complete(data)
        if block is None:
            return []
        if len(block) > self._max and self._has_oversized(block):
            return self._overflow_in_block(block)
        return self._parse_block(block)

    # ------------------------------------------------------------------ buffering

    def _take_complete(self, data: bytes) -> bytes | None:
        """Append ``data``; return every complete message (joined), or None if none yet."""
        buf = self._buf
        if not buf and not self._expect_greeting:
            end = data.rfind(TERMINATOR)
            if end >= 0:
                if end + 4 < len(data):
                    buf += data[end + 4 :]
                    self._scan_from = 0
                    self._check_cap()
                return data[:end]
            buf += data
            self._scan_from = max(len(buf) - 3, 0)
            self._check_cap()
            return None
        buf += data
        if self._expect_greeting and not self._take_greeting():
            self._check_cap()
            return None
        end = buf.rfind(TERMINATOR, self._scan_from)
        if end < 0:
            self._scan_from = max(len(buf) - 3, 0)
            self._check_cap()
            return None
        block = bytes(memoryview(buf)[:end])
        del buf[: end + 4]
        self._scan_from = 0
        self._check_cap()
        return block

    def _take_greeting(self) -> bool:
        """Consume the greeting line if it is complete; False while more bytes are needed."""
        buf = self._buf
        eol = buf.find(b"\r\n")
        if eol < 0:
            if len(buf) < _MAX_GREETING:
                return False
            # No line end in 1 KiB: not a greeting; leave the bytes to the message parser.
            self.greeting = bytes(buf[:80]).decode("utf-8", "replace")
            self._expect_greeting = False
            return True
        line = bytes(buf[:eol]).decode("utf-8", "replace")
        self._expect_greeting = False
        if ": " in line:
            # No greeting: the peer started with a message. Leave it in the buffer.
            self.greeting = line
            return True
        self.greeting = line
        del buf[: eol + 2]
        return True

    def _check_cap(self) -> None:
        if len(self._buf) > self._max:
            self._mark_overflow(len(self._buf))

    def _mark_overflow(self, size: int) -> None:
        self.overflowed = True
        self.counters.overflows += 1
        self.last_error = (
            f"a message grew past {self._max} bytes ({size} bytes without a blank line)"
        )
        self._buf = bytearray()
        self._scan_from = 0

    def _has_oversized(self, block: bytes) -> bool:
        start = 0
        while True:
            end = block.find(TERMINATOR, start)
            if end < 0:
                return len(block) - start > self._max
            if end - start > self._max:
                return True
            start = end + 4

    def _overflow_in_block(self, block: bytes) -> list[AmiMessage]:
        """A complete but oversized message arrived in one read: keep what precedes it."""
        keep: list[bytes] = []
        for part in block.split(TERMINATOR):
            if len(part) > self._max:
                self._mark_overflow(len(part))
                break
            keep.append(part)
        return self._parse_block(TERMINATOR.join(keep)) if keep else []

    # ------------------------------------------------------------------ parsing

    def _parse_block(self, block: bytes) -> list[AmiMessage]:
        text = block.decode("utf-8", "replace")
        at = self._now()
        out: list[AmiMessage] = []
        append = out.append
        seq = self._seq
        drop = self._drop
        keep = self._keep
        filtering = bool(drop) or keep is not None
        protect = self.protect
        # A bare LF (Asterisk 22 ends some values with one) needs the careful parser; one
        # scan of the whole block spares the per-frame check in the usual case of none.
        bare_lf = text.count("\n") != text.count("\r\n")
        dropped = 0
        for raw in text.split("\r\n\r\n"):
            if filtering and raw[:7] == "Event: ":
                eol = raw.find("\r\n")
                name = raw[7:eol] if eol >= 0 else raw[7:]
                if (
                    (name not in keep if keep is not None else name in drop)
                    and (protect is None or protect not in raw)
                    and "\nEvent:" not in raw
                    and "\nResponse:" not in raw
                ):
                    dropped += 1
                    continue
            lines = raw.split("\r\n")
            n = len(lines)
            try:
                headers = dict([line.split(": ", 1) for line in lines])
            except ValueError:
                headers = {}
            if (
                len(headers) != n
                or ("Response" in headers and "Event" in headers)
                or not ("Event" in headers or "Response" in headers)
                or (bare_lf and raw.count("\n") >= n)  # a bare LF ("Message: …\n")
            ):
                for msg_headers, repeated in self._parse_slow(raw):
                    seq += 1
                    append(AmiMessage(msg_headers, seq, at, repeated))
                continue
            seq += 1
            append(AmiMessage(headers, seq, at))
        self._seq = seq
        counters = self.counters
        counters.messages += len(out)
        counters.dropped_by_filter += dropped
        return out

    def _parse_slow(self, raw: str) -> list[tuple[dict[str, str], list[tuple[str, str]]]]:
        """Careful parse of one frame that failed the fast path; may yield 0, 1 or more."""
        messages: list[tuple[dict[str, str], list[tuple[str, str]]]] = []
        headers: dict[str, str] = {}
        repeated: list[tuple[str, str]] = []
        output: list[str] = []
        follows = False
        defects: list[str] = []

        def finish() -> None:
            if output:
                _add(headers, repeated, "Output", output)
            if "Event" in headers or "Response" in headers:
                messages.append((headers, repeated))
            elif headers:
                defects.append("a frame without Event or Response header")

        for line in raw.split("\r\n"):
            if not line:
                continue
            key, sep, value = line.partition(":")
            if follows and (not sep or key not in _FOLLOWS_HEADERS):
                _add_output(output, line)
                continue
            if not sep or not key or key[0].isspace():
                defects.append(f"a line without 'Key: value' ({line[:40]!r})")
                continue
            if value[:1] == " ":
                value = value[1:]
            if value[-1:] == "\n":
                value = value.rstrip("\r\n")  # a stray line end inside the line
            if headers and _starts_new_message(headers, key):
                defects.append(f"two messages glued by a single CRLF (before {key}: {value[:40]})")
                finish()
                headers, repeated, output, follows = {}, [], [], False
            if key in headers:
                repeated.append((key, value))
            else:
                headers[key] = value
            if key == "Response" and value == "Follows":
                follows = True
        finish()
        if not messages and not defects:
            return messages  # an empty frame (extra blank lines): not a defect
        if not messages:
            defects.append("nothing usable")
        if defects:
            self.counters.malformed += 1
            self.last_error = "; ".join(defects[:3])
        return messages


def _starts_new_message(headers: dict[str, str], key: str) -> bool:
    """Whether header ``key`` can only be the first line of a glued second message."""
    if key == "Event":
        return True
    if key != "Response":
        return False
    if "Response" in headers:
        return True
    return headers.get("Event", "") not in _EVENTS_WITH_RESPONSE_HEADER


def _add(
    headers: dict[str, str], repeated: list[tuple[str, str]], key: str, values: list[str]
) -> None:
    for value in values:
        if key in headers:
            repeated.append((key, value))
        else:
            headers[key] = value


def _add_output(output: list[str], line: str) -> None:
    """Legacy (Asterisk ≤ 13) command output: raw lines ended by ``--END COMMAND--``."""
    for part in line.split("\n"):
        if part.endswith(_END_COMMAND):
            part = part[: -len(_END_COMMAND)]
        if part:
            output.append(part)
