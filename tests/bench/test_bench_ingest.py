"""bench/ingest.py in a tiny mode: its code path runs end to end and prints the final line.

No timing is asserted (speed is the benchmark's business, on a quiet machine); what is
checked is that the replay is realistic (each repetition is new calls) and that the
script's output has the issue's exact last-line format.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from ingest import DEFAULT_STREAM, StreamTemplate, build_stream  # noqa: E402
from ingest_link import load_stream  # noqa: E402

FINAL = re.compile(
    r"^ingest: \d+ events/s; stock panoramisk empty handler \d+ events/s; ratio \d+\.\d\d$"
)


def _values(block: bytes, header: bytes) -> list[bytes]:
    return re.findall(rb"^" + header + rb": (.*)\r$", block, re.MULTILINE)


def _ids(block: bytes, header: bytes) -> set[bytes]:
    """Identifier values, without Asterisk's ``<unknown>`` placeholder."""
    return {v for v in _values(block, header) if not v.startswith(b"<")}


def test_repetitions_are_new_calls_with_the_same_frames() -> None:
    body, frames = build_stream(load_stream(DEFAULT_STREAM))
    template = StreamTemplate(body)
    first, second = template.render(0), template.render(1)
    assert first == body  # repetition 0 is the recording as is
    assert second.count(b"\r\n\r\n") == first.count(b"\r\n\r\n") == frames
    assert b"Event: Reload\r\n" not in first and b"Event: Shutdown\r\n" not in first
    for header in (b"Uniqueid", b"Linkedid", b"DestUniqueid", b"BridgeUniqueid"):
        a, b = _ids(first, header), _ids(second, header)
        assert a and b and not a & b, header
    chans = re.compile(rb"^Channel: (PJSIP/.*)\r$", re.MULTILINE)
    assert not set(chans.findall(first)) & set(chans.findall(second))
    # Everything else is untouched: same events in the same order, same queues.
    assert _values(first, b"Event") == _values(second, b"Event")
    assert _values(first, b"Queue") == _values(second, b"Queue")


def test_tiny_run_prints_the_final_line() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "ingest.py"), "--events", "2000", "--reps", "1",
         "--sample-every", "500"],
        capture_output=True, text=True, timeout=110, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert FINAL.match(lines[-1]), lines[-1]
    check = next(line for line in lines if line.startswith("pipeline model/KPI check"))
    # The pipeline really ran: calls were offered, nothing was malformed.
    assert '"normalize_errors": 0' in check and '"offered": 0' not in check
