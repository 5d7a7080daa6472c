"""The numbers an AMI link keeps about itself (shown in ``ccops status`` and exported).

Every defect the link tolerates is counted here rather than raised: a bad frame, a handler
that threw, a ping that went unanswered. A counter that moves is how an operator learns the
link is sick before the model goes wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(slots=True)
class LinkCounters:
    """Cumulative over the link's life (they survive reconnects)."""

    messages: int = 0  # messages parsed (after the pre-parse drop set)
    events: int = 0  # unsolicited events handed to on_message (list items excluded)
    list_items: int = 0  # list-action items handed to on_message
    dropped_by_filter: int = 0  # skipped by the pre-parse drop set
    malformed: int = 0  # frames with a defect (skipped, or glued and split again)
    callback_errors: int = 0  # on_message / on_state / on_login raised
    unmatched_responses: int = 0  # responses nobody waits for (late, after a timeout)
    connections: int = 0  # TCP connections established
    reconnects: int = 0  # connection attempts after the first
    auth_failures: int = 0
    ping_timeouts: int = 0  # pings unanswered while nothing else arrived → abort
    pings_late: int = 0  # pings unanswered while data kept arriving (no abort)
    action_timeouts: int = 0
    overflow_aborts: int = 0  # a message outgrew max_message_bytes → abort + reconnect
    bytes: int = 0

    def snapshot(self) -> LinkCounters:
        return replace(self)
