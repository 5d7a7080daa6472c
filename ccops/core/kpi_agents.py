"""What an agent is doing, derived from facts the AMI stream gives us (domain.md §4.4).

Why derive instead of tracking transitions: Asterisk tells us separate facts in any order —
queue membership and pause per queue (``QueueMember…``), the device state, ``AgentCalled``
/ ``AgentConnect`` / ``AgentComplete`` for queue calls, ``Hold`` on the agent's channel —
and exposes no wrap-up flag at all. Keeping the facts and recomputing the state from them
after every change makes the result independent of event order and easy to test.

States (the domain's names; ``paused:<reason>`` carries the pause reason):

===============  =============================================================================
``logged_out``   member of no queue
``on_call``      between AgentConnect and AgentComplete; also a device busy outside a queue call
``on_hold``      on a queue call with the caller held (ChannelHold); also device ONHOLD
``ringing``      AgentCalled not yet answered/refused; also device RINGING
``acw``          paused with an after-call-work reason, or inside the wrap-up time after a
                 call (queue/member ``wrapuptime``: Asterisk offers no calls then)
``paused:<r>``   paused in every queue it belongs to, with reason ``r`` as Asterisk gives it
                 (plain ``paused`` when there is none)
``unavailable``  device UNAVAILABLE or INVALID
``available``    member, not paused everywhere, device free, no wrap-up running
``unknown``      the PBX link is down: we cannot know (extension; kept out of occupancy)
===============  =============================================================================

These are the names the live model uses (:mod:`ccops.core.model`); the difference is scope:
the model derives a state per queue membership, the KPI engine one per agent across all its
queues (so "paused" here means paused everywhere, i.e. taking no calls at all).

Precedence follows that table: a queue call beats everything, ringing beats pauses (a
paused member cannot be rung by the queue, so ringing means the pause is over), pauses beat
device state, and the derived wrap-up only shows while nothing else explains the agent.
"""

from __future__ import annotations

from ccops.core.events import DeviceState

DEFAULT_ACW_REASONS = frozenset({"acw"})
"""Pause reasons that mean after-call work (compared case-insensitively); domain.md §4.4
names ``acw``, and the live model (:func:`ccops.core.derive.member_state`) uses the same."""

LOGGED_OUT = "logged_out"
AVAILABLE = "available"
RINGING = "ringing"
ON_CALL = "on_call"
ON_HOLD = "on_hold"
ACW = "acw"
UNAVAILABLE = "unavailable"
UNKNOWN = "unknown"
PAUSED = "paused"

_HEX = frozenset("0123456789abcdefABCDEF")
_BUSY_DEVICE = frozenset({DeviceState.INUSE, DeviceState.BUSY, DeviceState.RINGINUSE})
_DEAD_DEVICE = frozenset({DeviceState.UNAVAILABLE, DeviceState.INVALID})


class AgentFacts:
    """Everything known about one member interface on one PBX, plus its accounting cursor."""

    __slots__ = (
        "call_queue",
        "call_uid",
        "device",
        "hold_since",
        "interface",
        "link_down",
        "name",
        "on_hold",
        "pause_reason",
        "queues",
        "ringing",
        "since",
        "since_state",
        "state",
        "state_interface",
        "wrap_measuring",
        "wrap_queue",
        "wrap_seconds",
        "wrap_start",
        "wrapup_until",
        "wrapup_w",
    )

    def __init__(self, interface: str, name: str, at: float) -> None:
        self.interface = interface
        self.name = name or interface
        self.state_interface = ""
        self.queues: dict[str, bool] = {}  # queue → paused there
        self.pause_reason = ""  # reason of the latest pause
        self.device = DeviceState.UNKNOWN
        self.wrapup_w = 0  # the member's own Wrapuptime (0 = queue default)
        self.call_uid: str | None = None  # caller uniqueid of the connected queue call
        self.call_queue = ""
        self.on_hold = False
        self.hold_since = 0.0
        self.ringing: set[str] = set()  # caller uniqueids offered to this agent right now
        self.wrapup_until = 0.0  # derived wrap-up (Asterisk's wrapuptime) ends here
        self.link_down = False
        # a completed call's wrap-up, until we know how long it was
        self.wrap_queue: str | None = None
        self.wrap_start = 0.0
        self.wrap_seconds = 0.0  # the configured fallback
        self.wrap_measuring = False  # an ACW pause is running: measure it
        # accounting cursor: time up to ``since`` has been booked in ``state``
        self.state = LOGGED_OUT
        self.since = at
        self.since_state = at  # when ``state`` began (for "in this state for 4 min")

    def paused_everywhere(self) -> bool:
        """Paused in every queue it is in (then the queue engine offers it nothing)."""
        return bool(self.queues) and all(self.queues.values())

    def in_acw_pause(self, acw_reasons: frozenset[str]) -> bool:
        return self.paused_everywhere() and self.pause_reason.strip().lower() in acw_reasons

    def derive(self, now: float, acw_reasons: frozenset[str]) -> str:
        """The domain state now, from the facts (see the module table for precedence)."""
        if self.link_down:
            return UNKNOWN
        if not self.queues:
            return LOGGED_OUT
        if self.call_uid is not None:
            return ON_HOLD if self.on_hold else ON_CALL
        if self.ringing:
            return RINGING
        if self.paused_everywhere():
            reason = self.pause_reason.strip()
            if reason.lower() in acw_reasons:
                return ACW
            return f"{PAUSED}:{reason}" if reason else PAUSED
        dev = self.device
        if dev in _DEAD_DEVICE:
            return UNAVAILABLE
        if dev == DeviceState.ONHOLD:
            return ON_HOLD
        if dev in _BUSY_DEVICE:
            return ON_CALL
        if dev == DeviceState.RINGING:
            return RINGING
        if now < self.wrapup_until:
            return ACW
        return AVAILABLE

    def derived_acw_ends(self, acw_reasons: frozenset[str]) -> float | None:
        """When the current ``acw`` state ends by itself (derived wrap-up), else None."""
        if self.state == ACW and not self.in_acw_pause(acw_reasons):
            return self.wrapup_until
        return None


def channel_device(channel: str) -> str:
    """The device (member interface) a channel name belongs to.

    ``PJSIP/agent1-0000002a`` → ``PJSIP/agent1``; ``Local/agent1@agents-00000001;1`` →
    ``Local/agent1@agents``. Asterisk appends exactly eight hex digits to channel names, so
    an endpoint such as ``PJSIP/carrier-b`` comes back unchanged.
    """
    semi = channel.rfind(";")
    if semi > 0 and channel[semi + 1 :].isdigit():
        channel = channel[:semi]
    dash = channel.rfind("-")
    if dash > 0:
        suffix = channel[dash + 1 :]
        if len(suffix) == 8 and all(ch in _HEX for ch in suffix):
            return channel[:dash]
    return channel


def interface_devices(interface: str, state_interface: str) -> tuple[str, ...]:
    """Device names under which a member's channels may appear (for hold association)."""
    out = [interface]
    if interface.endswith("/n"):
        out.append(interface[:-2])  # Local/x@ctx/n dials channels named Local/x@ctx-…
    if state_interface and state_interface != interface:
        out.append(state_interface)
    return tuple(out)
