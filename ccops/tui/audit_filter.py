"""The audit screen's filter line: ``field:value`` words go to the daemon, the rest is text.

Why split: the audit log can be long, so "refused actions by bob since 02:00" must be asked
of the daemon (which filters and pages in SQL) rather than fetched whole and searched here.
Words the daemon does not understand stay a plain substring filter on the loaded rows, as
on every other screen, so ``/`` works the same everywhere.

Syntax (words separated by spaces; any order)::

    operator:bob  result:refused  kind:member  action:pause_member
    since:02:00   since:-2h   until:2026-12-03T08:00   (local time)

A malformed word is reported with its position and the filter is not applied, so nothing
is silently dropped.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

FIELDS = ("operator", "result", "kind", "action", "since", "until")
RESULTS = ("ok", "refused", "failed")
KINDS = ("member", "routing", "alert", "session")
_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class AuditFilterError(ValueError):
    """A filter word that cannot be read; the message says which word and why."""


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the daemon is asked to filter (``server``) and the local text (``text``)."""

    server: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def describe(self) -> str:
        """``operator=bob, result=refused`` for the screen's state line."""
        parts = []
        for key in FIELDS:
            if key in self.server:
                value = self.server[key]
                if key in ("since", "until"):
                    value = _dt.datetime.fromtimestamp(value).strftime("%b %d %H:%M")
                parts.append(f"{key}={value}")
        return ", ".join(parts)


def _when(word: str, value: str, now: float) -> float:
    rel = _RELATIVE.match(value)
    if rel:
        return now - float(rel.group(1)) * _UNIT[rel.group(2)]
    today = _dt.datetime.fromtimestamp(now)
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", value):
            hh, mm = (int(p) for p in value.split(":"))
            return today.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
        return _dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        pass
    raise AuditFilterError(
        f"{word!r}: expected a time like 02:00, -2h, -30m or 2026-12-03T08:00"
    )


def parse_filter(text: str, now: float) -> AuditFilter:
    """Split the filter line; :class:`AuditFilterError` names the first bad word."""
    server: dict[str, Any] = {}
    rest: list[str] = []
    for i, word in enumerate(text.split(), start=1):
        key, sep, value = word.partition(":")
        key = key.lower()
        if not sep or key not in FIELDS:
            rest.append(word)
            continue
        if not value:
            raise AuditFilterError(f"word {i} {word!r}: {key} needs a value after ':'")
        if key == "result" and value.lower() not in RESULTS:
            raise AuditFilterError(f"word {i} {word!r}: result is one of {', '.join(RESULTS)}")
        if key == "kind" and value.lower() not in KINDS:
            raise AuditFilterError(f"word {i} {word!r}: kind is one of {', '.join(KINDS)}")
        if key in ("since", "until"):
            server[key] = _when(word, value, now)
        elif key in ("result", "kind"):
            server[key] = value.lower()
        else:
            server[key] = value
    if "since" in server and "until" in server and server["since"] >= server["until"]:
        raise AuditFilterError("since must be before until")
    return AuditFilter(server, " ".join(rest))
