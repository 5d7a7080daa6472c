"""Text formatting for the console: ages, percentages, sparklines and state words.

Why one module: every screen must say the same thing the same way (``3m05s`` everywhere, a
missing number is always ``–``), and each state carries a glyph *and* a word so it reads
the same with ``NO_COLOR``, on a monochrome terminal or to a colour-blind operator. The
functions are pure (``now`` is passed in), so snapshot tests can freeze time.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

DASH = "–"
_BARS = "▁▂▃▄▅▆▇█"


def age(seconds: float | None) -> str:
    """A duration the way an operator reads it: ``42s``, ``3m05s``, ``2h04m``, ``3d02h``."""
    if seconds is None or not math.isfinite(seconds):
        return DASH
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def since(at: float | None, now: float) -> str:
    """Age of an epoch timestamp at ``now`` (``–`` when unknown)."""
    return DASH if not at else age(now - at)


def clock(at: float | None, *, seconds: bool = True) -> str:
    """Local wall-clock time of an epoch timestamp, ``HH:MM:SS``."""
    if not at:
        return DASH
    fmt = "%H:%M:%S" if seconds else "%H:%M"
    return _dt.datetime.fromtimestamp(at).strftime(fmt)


def day_clock(at: float | None, now: float) -> str:
    """``HH:MM:SS`` today, ``Mon DD HH:MM`` on another day."""
    if not at:
        return DASH
    when = _dt.datetime.fromtimestamp(at)
    if when.date() == _dt.datetime.fromtimestamp(now).date():
        return when.strftime("%H:%M:%S")
    return when.strftime("%b %d %H:%M")


def pct(value: float | None, digits: int = 0) -> str:
    """A ratio (0..1) as a percentage."""
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value * 100:.{digits}f}%"


def secs(value: float | None) -> str:
    """A number of seconds as an age (ASA, AHT)."""
    return DASH if value is None else age(value)


def num(value: int | float | None) -> str:
    """A count, ``–`` when unknown."""
    if value is None:
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value))


def sparkline(values: list[float | None], width: int) -> str:
    """Block-character sparkline of the last ``width`` values, scaled to their own max.

    ``None`` (no sample in that slot) draws a blank so gaps stay visible; all-zero data draws
    the lowest bar rather than nothing, so a quiet queue still shows a line.
    """
    tail = values[-width:] if width > 0 else []
    known = [v for v in tail if v is not None]
    top = max(known, default=0.0)
    out: list[str] = []
    for v in tail:
        if v is None:
            out.append(" ")
        elif top <= 0:
            out.append(_BARS[0])
        else:
            idx = round((v / top) * (len(_BARS) - 1))
            out.append(_BARS[max(0, min(len(_BARS) - 1, idx))])
    return "".join(out).rjust(width)


# --------------------------------------------------------------------------- states


@dataclass(frozen=True, slots=True)
class StateLook:
    """How a state is shown: a glyph, a word and a tone (``good``/``warn``/``bad``/``info``/
    ``muted``) that the theme turns into a colour."""

    glyph: str
    word: str
    tone: str

    @property
    def label(self) -> str:
        return f"{self.glyph} {self.word}"


_MEMBER: dict[str, StateLook] = {
    "available": StateLook("●", "available", "good"),
    "ringing": StateLook("◔", "ringing", "info"),
    "on_call": StateLook("◉", "on call", "info"),
    "on_hold": StateLook("◎", "on hold", "warn"),
    "acw": StateLook("◑", "wrap-up", "info"),
    "paused": StateLook("‖", "paused", "warn"),
    "unavailable": StateLook("✖", "UNAVAILABLE", "bad"),
    "logged_out": StateLook("○", "logged out", "muted"),
}


_ASTERISK_STATUS = {
    "unknown": "unknown",
    "not_inuse": "not in use",
    "inuse": "in use",
    "busy": "busy",
    "invalid": "invalid",
    "unavailable": "unavailable",
    "ringing": "ringing",
    "ringinuse": "ring+in use",
    "onhold": "on hold",
}


def asterisk_status(device_status: str) -> str:
    """Asterisk's member ``Status`` in the words of ``queue show`` (what the PBX itself
    says, next to the state ccops derives from it: wrap-up and pauses are ours)."""
    return _ASTERISK_STATUS.get(device_status, device_status.replace("_", " ") or DASH)


def member_look(state: str | None) -> StateLook:
    """Look of a member/agent state; ``paused:<reason>`` shows the reason."""
    if not state:
        return StateLook("?", "unknown", "muted")
    if state.startswith("paused"):
        _, _, reason = state.partition(":")
        base = _MEMBER["paused"]
        return StateLook(base.glyph, f"paused {reason}" if reason else "paused", base.tone)
    return _MEMBER.get(state, StateLook("?", state.replace("_", " "), "muted"))


_LINK: dict[str, StateLook] = {
    "live": StateLook("●", "LIVE", "good"),
    "syncing": StateLook("◌", "SYNCING", "warn"),
    "connecting": StateLook("◌", "CONNECTING", "warn"),
    "down": StateLook("✖", "DOWN", "bad"),
    "auth_failed": StateLook("✖", "AUTH FAILED", "bad"),
    "stopped": StateLook("■", "STOPPED", "bad"),
}


def link_look(state: str | None) -> StateLook:
    return _LINK.get(state or "", StateLook("?", (state or "unknown").upper(), "bad"))


def trunk_look(up: bool | None, reachable: bool | None) -> StateLook:
    """A trunk is UP, DOWN or unknown (no qualify and no registration said either way)."""
    value = up if up is not None else reachable
    if value is True:
        return StateLook("▲", "UP", "good")
    if value is False:
        return StateLook("▼", "DOWN", "bad")
    return StateLook("?", "unknown", "muted")


_SEVERITY: dict[str, StateLook] = {
    "critical": StateLook("‼", "CRITICAL", "bad"),
    "warning": StateLook("!", "WARNING", "warn"),
    "info": StateLook("i", "info", "info"),
}

SEVERITY_RANK = {"critical": 3, "warning": 2, "info": 1}


def severity_look(severity: str | None) -> StateLook:
    return _SEVERITY.get(severity or "", StateLook("?", (severity or "unknown"), "muted"))


def result_look(status: str | None) -> StateLook:
    """Look of a command/audit result."""
    if status == "ok":
        return StateLook("✔", "ok", "good")
    if status == "refused":
        return StateLook("⊘", "REFUSED", "bad")
    if status in ("failed", "invalid"):
        return StateLook("✖", (status or "").upper(), "bad")
    return StateLook("?", status or "unknown", "muted")
