"""Routing toggles in the simulated PBX, read from its AstDB the way the shipped dialplan
snippet (``config/asterisk/extensions_ccops.conf``) reads them on a real Asterisk.

Why the same rules: drills run on the simulator. If overflow or night mode did nothing
there, an admin would rehearse a toggle that "works" and learn nothing about what callers
get; worse, the console's read-back would be green while the drill's queues stayed full.

Keys (family ``ccops``), as the console's performer writes them:

* ``overflow/<queue>``: ``on`` sends new arrivals to the queue's configured overflow queue
  (the sim's ``overflow_to``, standing in for the snippet's ``CCOPS_OVERFLOW_<queue>``);
  any other value that names a queue sends them there. Callers already waiting stay.
* ``night/<did>``: the call hears the night prompt and is hung up (the snippet's default
  night destination ``ccops-night``), no queue.
* ``forced_route/<did>``: a value naming a queue sends the DID's calls there; ``on`` uses
  the queue's ``overflow_to`` (the sim has no other dialplan destinations); with neither,
  the call is routed normally, as the snippet does when no destination is configured.
* ``emergency_announcement/<did>`` and ``/<queue>``: the caller hears the announcement
  before joining, i.e. joins that much later (announcement lengths below).

Precedence as in the snippet: DID announcement, forced route, night; then at the queue:
announcement, overflow. Each step that changes a call is reported with
``UserEvent(CcopsRouting, Kind, Target, Destination)``, as the snippet does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FAMILY = "ccops"
#: Length (s) of the prompts the snippet plays by default (core sounds, en_US_f_Allison).
PROMPT_SECONDS: Mapping[str, float] = {
    "tt-allbusy": 9.0,  # CCOPS_ANNOUNCE_PROMPT
    "ss-noservice": 4.9,  # CCOPS_NIGHT_PROMPT
    "im-sorry": 1.0,
}
ANNOUNCE_PROMPT = "tt-allbusy"
NIGHT_PROMPT = "ss-noservice"
#: A custom announcement's length when the sim does not know the sound.
UNKNOWN_PROMPT_S = 10.0


@dataclass(frozen=True, slots=True)
class RoutingStep:
    """One diversion, reported as ``UserEvent(CcopsRouting)``."""

    kind: str
    target: str
    destination: str


@dataclass(slots=True)
class RoutePlan:
    """Where an arriving call goes: ``queue`` (None: night prompt then hang-up), after
    ``delay`` seconds of announcements."""

    queue: str | None
    delay: float = 0.0
    steps: list[RoutingStep] = field(default_factory=list)
    overflowed_from: str | None = None


def _get(astdb: Mapping[str, str], kind: str, target: str) -> str | None:
    value = astdb.get(f"/{FAMILY}/{kind}/{target}")
    return value if value else None


def _sound(value: str) -> str:
    return ANNOUNCE_PROMPT if value == "on" else value


def plan_route(
    astdb: Mapping[str, str],
    overflow_to: Mapping[str, str | None],
    did: str,
    queue: str,
) -> RoutePlan:
    """The route of a call to ``did`` whose normal queue is ``queue``.

    ``overflow_to`` maps every queue name to its configured overflow queue (or None).
    """
    plan = RoutePlan(queue=queue)
    announce = _get(astdb, "emergency_announcement", did)
    if announce is not None:
        sound = _sound(announce)
        plan.steps.append(RoutingStep("emergency_announcement", did, sound))
        plan.delay += PROMPT_SECONDS.get(sound, UNKNOWN_PROMPT_S)
    forced = _get(astdb, "forced_route", did)
    forced_dest = None
    if forced is not None:
        forced_dest = forced if forced in overflow_to else overflow_to.get(queue)
    if forced_dest is not None:
        plan.steps.append(RoutingStep("forced_route", did, forced_dest))
        queue = forced_dest
    elif _get(astdb, "night", did) is not None:
        plan.steps.append(RoutingStep("night", did, "ccops-night/s/1"))
        plan.queue = None
        plan.delay += PROMPT_SECONDS[NIGHT_PROMPT]
        return plan
    announce = _get(astdb, "emergency_announcement", queue)
    if announce is not None:
        sound = _sound(announce)
        plan.steps.append(RoutingStep("emergency_announcement", queue, sound))
        plan.delay += PROMPT_SECONDS.get(sound, UNKNOWN_PROMPT_S)
    overflow = _get(astdb, "overflow", queue)
    if overflow is not None:
        dest = overflow_to.get(queue) if overflow == "on" else overflow
        if dest is not None and dest != queue and dest in overflow_to:
            plan.steps.append(RoutingStep("overflow", queue, dest))
            plan.overflowed_from = queue
            queue = dest
    plan.queue = queue
    return plan
