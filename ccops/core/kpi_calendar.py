"""Where a moment falls: the KPI interval (bucket) and the operating day, in local time.

Why a class of its own: supervisors read "09:15–09:30" and "today" on their wall clock, in
the center's time zone, across daylight-saving changes; getting that right once, with a
cache so the hot path pays a comparison instead of a ``datetime`` conversion, matters more
than the few lines it costs.

Rules:

* Buckets are ``bucket_minutes`` long and aligned to the local wall clock (minutes since
  local midnight, floored), so 15-minute buckets start at :00, :15, :30, :45 local time
  (a length that does not divide the day, e.g. 7 minutes, restarts at local midnight).
* The day starts at ``day_reset`` local time (e.g. ``"06:00"`` for a center whose night
  shift ends at 08:00 but reports from 06:00). A bucket never straddles the reset: it is cut
  there, so "today" is always a whole number of buckets (one may be shorter than usual).
* On a daylight-saving change the day is 23 or 25 hours long; buckets stay contiguous (the
  end of one is the start of the next) because they are computed in absolute seconds from
  the local offset at that instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class KpiCalendar:
    """Bucket and day ranges as epoch seconds ``[start, end)``; cached for the hot path."""

    __slots__ = ("_b_end", "_b_start", "_bucket_s", "_d_end", "_d_start", "_reset", "tz")

    def __init__(self, timezone: str, bucket_minutes: int, day_reset: str) -> None:
        if not 1 <= bucket_minutes <= 1440:
            raise ValueError(f"bucket_minutes must be 1–1440, got {bucket_minutes}")
        try:
            hh, mm = (int(x) for x in day_reset.split(":"))
        except ValueError as exc:
            raise ValueError(f"day_reset must be HH:MM, got {day_reset!r}") from exc
        if not (0 <= hh < 24 and 0 <= mm < 60):
            raise ValueError(f"day_reset must be HH:MM, got {day_reset!r}")
        self.tz = ZoneInfo(timezone)
        self._bucket_s = bucket_minutes * 60
        self._reset = (hh, mm)
        self._b_start = 1.0
        self._b_end = 0.0  # empty: the first lookup computes
        self._d_start = 1.0
        self._d_end = 0.0

    @property
    def bucket_seconds(self) -> int:
        """The nominal bucket length (the one at the day reset may be shorter)."""
        return self._bucket_s

    def day(self, t: float) -> tuple[float, float]:
        """The operating day containing ``t``: from one ``day_reset`` to the next."""
        if self._d_start <= t < self._d_end:
            return self._d_start, self._d_end
        local = datetime.fromtimestamp(t, self.tz)
        hh, mm = self._reset
        date = local.date()
        start = datetime(date.year, date.month, date.day, hh, mm, tzinfo=self.tz).timestamp()
        if start > t:
            date -= timedelta(days=1)
            start = datetime(date.year, date.month, date.day, hh, mm, tzinfo=self.tz).timestamp()
        nxt = date + timedelta(days=1)
        end = datetime(nxt.year, nxt.month, nxt.day, hh, mm, tzinfo=self.tz).timestamp()
        self._d_start, self._d_end = start, end
        return start, end

    def bucket(self, t: float) -> tuple[float, float]:
        """The interval containing ``t``, cut at the day reset."""
        if self._b_start <= t < self._b_end:
            return self._b_start, self._b_end
        start, end = self._compute_bucket(t)
        self._b_start, self._b_end = start, end
        return start, end

    def bucket_uncached(self, t: float) -> tuple[float, float]:
        """Like :meth:`bucket` without disturbing the cache (for old or future moments)."""
        if self._b_start <= t < self._b_end:
            return self._b_start, self._b_end
        return self._compute_bucket(t)

    def _compute_bucket(self, t: float) -> tuple[float, float]:
        local = datetime.fromtimestamp(t, self.tz)
        offset = local.utcoffset()
        off_s = offset.total_seconds() if offset is not None else 0.0
        local_s = t + off_s  # seconds on a clock that reads local time as if it were UTC
        midnight = local_s - (local_s % 86_400)
        floored = midnight + ((local_s - midnight) // self._bucket_s) * self._bucket_s
        start = floored - off_s
        end = start + self._bucket_s
        d_start, d_end = self.day(t)
        return max(start, d_start), min(end, d_end)
