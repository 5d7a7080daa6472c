"""Fan-out of simulated events to AMI sessions (and to in-process taps).

An event is serialised once; each session whose read permission and event mask cover the
event's class gets the same ``bytes`` object appended to its pending list. Pending frames
are written in one ``write`` per session when the engine finishes a batch of timers, which
is what lets one client receive tens of thousands of events per second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Protocol

from ccops.sim.wire import event_frame


class Sink(Protocol):
    """A receiver of event frames (an AMI session)."""

    def accepts(self, cls: int) -> bool:
        """Whether an event of this class is wanted now."""

    def push(self, frame: bytes) -> None:
        """Queue a frame for the next flush."""

    def flush(self) -> None:
        """Write what is queued."""


Tap = Callable[[str, int, bytes], None]


class EventBus:
    """Serialise-once broadcast with per-class interest and counters."""

    def __init__(self) -> None:
        self._sinks: list[Sink] = []
        self._taps: list[Tap] = []
        self.counts: Counter[str] = Counter()
        self.emitted = 0

    def attach(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def detach(self, sink: Sink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def add_tap(self, tap: Tap) -> None:
        """Observe every event (tests, drill recorders); taps see all classes."""
        self._taps.append(tap)

    def remove_tap(self, tap: Tap) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    def wants(self, cls: int) -> bool:
        """Whether anybody would receive an event of this class (skip building noise)."""
        if self._taps:
            return True
        return any(s.accepts(cls) for s in self._sinks)

    def emit(self, name: str, cls: int, body: str) -> None:
        self.counts[name] += 1
        self.emitted += 1
        frame: bytes | None = None
        for sink in self._sinks:
            if sink.accepts(cls):
                if frame is None:
                    frame = event_frame(name, cls, body)
                sink.push(frame)
        if self._taps:
            if frame is None:
                frame = event_frame(name, cls, body)
            for tap in self._taps:
                tap(name, cls, frame)

    def flush(self) -> None:
        for sink in list(self._sinks):
            sink.flush()

    @property
    def sinks(self) -> list[Sink]:
        return list(self._sinks)
