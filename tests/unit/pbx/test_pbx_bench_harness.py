"""The ingest benchmark harness measures what it claims: every streamed event is seen by
every mode (speed itself is measured in bench/, never asserted here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # spawned benchmark processes import it by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    return load("ingest_link")


def test_prepare_stream_strips_greeting_and_trailing_half(harness: ModuleType) -> None:
    raw = (
        b"Asterisk Call Manager/11.0.0\r\nEvent: A\r\n\r\nEvent: B\r\nX: 1\r\n\r\n"
        b"Event: Shutdown\r\nShutdown: Cleanly\r\n\r\nEvent: C\r\n"
    )
    body, frames = harness.prepare_stream(raw)
    assert body == b"Event: A\r\n\r\nEvent: B\r\nX: 1\r\n\r\n"
    assert frames == 2
    with pytest.raises(ValueError, match="no complete AMI message"):
        harness.prepare_stream(b"Event: A\r\n")


def test_synthetic_stream_is_realistic_enough(harness: ModuleType) -> None:
    synth = sys.modules["ami_synth"]
    events = list(synth.synthetic_events(2000))
    assert len(events) == 2000
    names = {e.split("\r\n", 1)[0] for e in events}
    assert {"Event: AgentConnect", "Event: VarSet", "Event: TestEvent"} <= names
    assert any("José" in e or "Zoë" in e or "Łukasz" in e for e in events)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_every_mode_sees_every_event(harness: ModuleType) -> None:
    from ccops.pbx.framing import NOISE_EVENTS

    synth = sys.modules["ami_synth"]
    stream = synth.synthetic_stream(3000)
    noise = sum(
        1 for e in synth.synthetic_events(3000) if e.split("\r\n", 1)[0][7:] in NOISE_EVENTS
    )
    report = harness.measure_ingest(stream, repeat=2, reps=1)
    runs = {r.mode: r for r in report.runs}
    assert report.stream_events == 6000
    assert runs["stock"].delivered == 6000
    assert runs["link"].delivered == 6000
    assert runs["link-drop"].delivered == 6000 - 2 * noise
    assert all(r.events_per_s > 0 and r.rss_peak_mb > 0 for r in report.runs)
    assert set(report.ratios()) == {"link", "link-drop"}
