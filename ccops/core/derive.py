"""Views derived from the model at a given time: agent state, time in state, queue summary.

Why separate from the reducer: some states depend on the clock, not only on events. An
agent in after-call work becomes available when the wrap-up time runs out, and no event
says so. The reducer records what the events imply (using the event's time); these pure
functions answer "what is it *now*" for the alert rules and the UI, with ``now`` passed in
so they stay deterministic under a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccops.core.events import DeviceState
from ccops.core.model import (
    ACW,
    AVAILABLE,
    ON_CALL,
    ON_HOLD,
    PAUSED,
    RINGING,
    UNAVAILABLE,
    Member,
    PbxState,
    Queue,
)

_DOWN = (DeviceState.INVALID, DeviceState.UNAVAILABLE)
_BUSY = (DeviceState.INUSE, DeviceState.BUSY, DeviceState.RINGINUSE)


def member_state(m: Member, now: float) -> str:
    """The domain state (domain.md §4.4) of a member at ``now``, in precedence order:

    1. a call from this queue (``AgentConnect`` seen, or ``InCall: 1``) → on_call / on_hold;
    2. ringing for a caller of this queue (``AgentCalled``) → ringing;
    3. paused → ``acw`` when the reason is ``acw``, else ``paused:<reason>`` (``paused``
       when Asterisk gives no reason);
    4. device invalid/unavailable → unavailable;
    5. device busy with a call from elsewhere (``Status: 2``, ``InCall: 0``) → on_call,
       device on hold → on_hold, device ringing (a direct call) → ringing;
    6. inside the wrap-up time after our last call → acw;
    7. otherwise available (device not in use, or unknown: Asterisk rings those too).
    """
    if m.current_uniqueid or m.in_call:
        return ON_HOLD if m.on_hold else ON_CALL
    if m.ringing_uniqueid:
        return RINGING
    if m.paused:
        reason = m.paused_reason
        if reason.lower() == ACW:
            return ACW
        return f"{PAUSED}:{reason}" if reason else PAUSED
    status = m.status
    if status in _DOWN:
        return UNAVAILABLE
    if status in _BUSY:
        return ON_CALL
    if status is DeviceState.ONHOLD:
        return ON_HOLD
    if status is DeviceState.RINGING:
        return RINGING
    if m.wrapup_until > now:
        return ACW
    return AVAILABLE


def effective_state(m: Member, now: float) -> tuple[str, float]:
    """(state, since) at ``now``: the reducer's state, unless a wrap-up ran out since."""
    if m.state == ACW and m.wrapup_until and now >= m.wrapup_until and not m.paused:
        state = member_state(m, now)
        if state != ACW:
            return state, m.wrapup_until
    return m.state, m.state_since


def member_time_in_state(m: Member, now: float) -> float:
    """Seconds the member has been in its current (effective) state; never negative."""
    _, since = effective_state(m, now)
    return max(0.0, now - since) if since else 0.0


@dataclass(frozen=True, slots=True)
class QueueView:
    """A queue at a glance; the numbers the alert rules and the wallboard use."""

    queue: str
    waiting: int
    longest_wait: float  # seconds the oldest waiting caller has waited, 0 if none
    members: int
    available: int
    ringing: int
    on_call: int  # includes members busy with a call from another queue
    on_hold: int
    acw: int
    paused: int
    unavailable: int


def queue_view(q: Queue, now: float) -> QueueView:
    oldest = min((c.joined_at for c in q.callers.values()), default=None)
    counts = {AVAILABLE: 0, RINGING: 0, ON_CALL: 0, ON_HOLD: 0, ACW: 0, PAUSED: 0, UNAVAILABLE: 0}
    for m in q.members.values():
        state, _ = effective_state(m, now)
        if state.startswith(PAUSED):
            state = PAUSED
        if state in counts:
            counts[state] += 1
    return QueueView(
        queue=q.name,
        waiting=len(q.callers),
        longest_wait=max(0.0, now - oldest) if oldest is not None else 0.0,
        members=len(q.members),
        available=counts[AVAILABLE],
        ringing=counts[RINGING],
        on_call=counts[ON_CALL],
        on_hold=counts[ON_HOLD],
        acw=counts[ACW],
        paused=counts[PAUSED],
        unavailable=counts[UNAVAILABLE],
    )


# Across queues an agent shows its most engaged state: a call anywhere beats ringing, which
# beats wrap-up; available in one queue beats paused in another (they can take calls).
_AGENT_RANK = {ON_HOLD: 0, ON_CALL: 1, RINGING: 2, ACW: 3, AVAILABLE: 4, PAUSED: 5, UNAVAILABLE: 6}


@dataclass(frozen=True, slots=True)
class AgentView:
    """One interface across all the queues it is a member of."""

    interface: str
    name: str
    state: str
    since: float
    queues: tuple[str, ...]


def agent_views(pbx: PbxState, now: float) -> list[AgentView]:
    """Agents (by interface) with their combined state, sorted by name then interface."""
    best: dict[str, tuple[int, str, float, str]] = {}
    queues: dict[str, list[str]] = {}
    for qname in sorted(pbx.queues):
        for iface, m in pbx.queues[qname].members.items():
            state, since = effective_state(m, now)
            rank = _AGENT_RANK.get(PAUSED if state.startswith(PAUSED) else state, 7)
            queues.setdefault(iface, []).append(qname)
            current = best.get(iface)
            if current is None or rank < current[0] or (rank == current[0] and since < current[2]):
                best[iface] = (rank, state, since, m.name or (current[3] if current else ""))
    views = [
        AgentView(interface=i, name=b[3], state=b[1], since=b[2], queues=tuple(queues[i]))
        for i, b in best.items()
    ]
    views.sort(key=lambda v: (v.name, v.interface))
    return views
