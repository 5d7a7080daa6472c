"""A short client-side history of queue numbers, for the dashboard's trend sparklines.

Why client-side: the status document carries the *current* numbers and 15-minute KPI
buckets; a one-hour trend at one-minute resolution needs samples the daemon does not keep.
The console records one sample per document update into per-minute bins (the worst value
of the minute wins: a spike of 20 waiting must not average away), bounded to ``minutes``
bins per series, so memory is constant however long the console runs.

The history starts when the console attaches; the dashboard says how much it covers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Series:
    bins: deque[tuple[int, float]] = field(default_factory=deque)  # (minute, value)


class History:
    """Per-key, per-minute maxima (or minima) of sampled values over the last ``minutes``."""

    def __init__(self, minutes: int = 60) -> None:
        self.minutes = minutes
        self._series: dict[tuple[str, str], _Series] = {}
        self.first_sample_at: float | None = None

    def record(
        self, key: str, metric: str, value: float | None, now: float, *, keep: str = "max"
    ) -> None:
        """Add a sample; ``keep`` is ``max`` (waiting) or ``min`` (service level)."""
        if value is None:
            return
        if self.first_sample_at is None:
            self.first_sample_at = now
        minute = int(now // 60)
        series = self._series.setdefault((key, metric), _Series())
        if series.bins and series.bins[-1][0] == minute:
            old = series.bins[-1][1]
            merged = max(old, value) if keep == "max" else min(old, value)
            series.bins[-1] = (minute, merged)
        else:
            series.bins.append((minute, value))
        while series.bins and series.bins[0][0] <= minute - self.minutes:
            series.bins.popleft()

    def values(self, key: str, metric: str, now: float) -> list[float | None]:
        """One value per minute for the last ``minutes`` minutes, ``None`` where unsampled."""
        minute = int(now // 60)
        series = self._series.get((key, metric))
        by_minute = dict(series.bins) if series else {}
        return [by_minute.get(m) for m in range(minute - self.minutes + 1, minute + 1)]

    def covered_minutes(self, now: float) -> int:
        if self.first_sample_at is None:
            return 0
        return min(self.minutes, int((now - self.first_sample_at) // 60) + 1)

    def forget(self, keep_keys: set[str]) -> None:
        """Drop series of queues that no longer exist."""
        for k in [k for k in self._series if k[0] not in keep_keys]:
            del self._series[k]
