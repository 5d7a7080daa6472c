"""One AMI message as it came off the wire, before it means anything.

Kept deliberately plain (a dict and a sequence number) because every event passes through
here at surge rates; the typed events in :mod:`ccops.core.events` are built from it by
:mod:`ccops.pbx.normalize`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class AmiMessage:
    """Headers of one AMI message.

    ``headers`` holds the first value of each header name exactly as Asterisk spelled it.
    Asterisk's Debian build repeats some headers (``State:`` twice in a ``TestEvent``), so
    later values of a repeated name are kept in ``repeated`` instead of silently replacing
    the first. ``seq`` is the arrival order on one connection: snapshot items and live
    events are merged by it during a resync. ``received_at`` is wall-clock seconds, since
    Asterisk events carry no timestamp by default.
    """

    headers: dict[str, str]
    seq: int = 0
    received_at: float = 0.0
    repeated: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    @property
    def event(self) -> str:
        """The event name, or '' for a response."""
        return self.headers.get("Event", "")

    @property
    def response(self) -> str:
        """'Success', 'Error', 'Follows', 'Goodbye' for responses; '' for events."""
        return self.headers.get("Response", "")

    @property
    def action_id(self) -> str:
        return self.headers.get("ActionID", "")

    def all_values(self, name: str) -> list[str]:
        """Every value of a header, in order, including repeats."""
        values = [self.headers[name]] if name in self.headers else []
        values.extend(v for k, v in self.repeated if k == name)
        return values
