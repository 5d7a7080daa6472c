"""The framer against bytes recorded from a real Asterisk 22 (tests/data/asterisk22)."""

from __future__ import annotations

import gzip
import random
from collections import Counter
from pathlib import Path

import pytest

from ccops.pbx.framing import NOISE_EVENTS, AmiFramer
from ccops.pbx.message import AmiMessage

DATA = Path(__file__).resolve().parents[2] / "data" / "asterisk22"


def recording(name: str) -> bytes:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} not recorded yet")
    return gzip.decompress(path.read_bytes())


def frames(raw: bytes) -> list[bytes]:
    body = raw.split(b"\r\n", 1)[1]  # after the greeting line
    return [p for p in body.split(b"\r\n\r\n") if p.strip()]


def feed_in_chunks(
    raw: bytes, sizes: list[int], **kwargs: object
) -> tuple[AmiFramer, list[AmiMessage]]:
    f = AmiFramer(max_message_bytes=4 << 20, now=lambda: 0.0, **kwargs)  # type: ignore[arg-type]
    out: list[AmiMessage] = []
    pos = 0
    i = 0
    while pos < len(raw):
        size = sizes[i % len(sizes)]
        out += f.feed(raw[pos : pos + size])
        pos += size
        i += 1
    return f, out


@pytest.mark.parametrize("name", ["stream.ami.gz", "stream-unfiltered.ami.gz"])
def test_a_real_stream_parses_cleanly(name: str) -> None:
    raw = recording(name)
    f, out = feed_in_chunks(raw, [65536])
    assert f.greeting == "Asterisk Call Manager/11.0.0"
    assert len(out) == len(frames(raw))
    assert f.counters.malformed == 0 and f.pending_bytes == 0
    expected = Counter(p.split(b"\r\n", 1)[0].decode() for p in frames(raw))
    got = Counter(f"Event: {m.event}" if m.event else f"Response: {m.response}" for m in out)
    assert got == expected


def test_odd_chunk_sizes_give_the_same_messages() -> None:
    raw = recording("stream.ami.gz")
    _, reference = feed_in_chunks(raw, [1 << 20])
    rng = random.Random(5)
    _, odd = feed_in_chunks(raw, [rng.randrange(1, 3000) for _ in range(97)])
    assert [(m.headers, m.repeated) for m in odd] == [(m.headers, m.repeated) for m in reference]


def test_repeated_headers_are_kept() -> None:
    _, out = feed_in_chunks(recording("stream-unfiltered.ami.gz"), [65536])
    repeated = Counter(m.event for m in out if m.repeated)
    assert repeated["TestEvent"] > 0
    sample = next(m for m in out if m.event == "TestEvent" and m.repeated)
    assert len(sample.all_values(sample.repeated[0][0])) >= 2


def test_bare_lf_inside_a_message_is_trimmed() -> None:
    # Asterisk 22 ends some error messages with "\n" before the CRLF (README of the recording).
    _, out = feed_in_chunks(recording("stream.ami.gz"), [65536])
    errors = [m.get("Message") for m in out if m.response == "Error"]
    assert "No Contacts found" in errors
    assert not [e for e in errors if e.endswith("\n")]


def test_the_drop_set_removes_the_noise_of_the_unfiltered_stream() -> None:
    raw = recording("stream-unfiltered.ami.gz")
    f, out = feed_in_chunks(raw, [65536], drop_events=NOISE_EVENTS)
    assert not [m for m in out if m.event in NOISE_EVENTS]
    assert f.counters.dropped_by_filter + len(out) == len(frames(raw))
    assert f.counters.dropped_by_filter > len(out)  # most of an unfiltered stream is noise
