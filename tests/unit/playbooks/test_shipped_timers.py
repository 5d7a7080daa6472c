"""Every shipped playbook's timers and levels against domain.md §2.2 / §2.4.6, to the second.

The table below is copied from domain.md (seed timers column of §2.4.6 and the A2, A6, A8
time limits); a playbook edit that changes a seed number fails here.
"""

from __future__ import annotations

import pytest
from pb_helpers import LI, T0, Harness

from ccops.core.clock import FakeClock
from ccops.core.incident_state import TimerState
from ccops.core.playbook_load import LoadedPlaybook

MIN = 60.0

# playbook → {timer key: (kind, seconds after detection/start)}; domain.md §2.4.6:
#   A2: 5 min report; 10 min → ops supervisor + centre manager; 60 min → vendor
#   A6: 10 min staffing assessment
#   A8: 30 min per level (L1 → L2 ≥ 30 min, L2 → L3 ≥ 30 min: L3 no earlier than 60 min)
#   every other plan: none ("immediately" only)
SEED_TIMERS: dict[str, dict[str, tuple[str, float]]] = {
    "a1_seat_equipment": {},
    "a2_app_network_failure": {
        "report_supervisor": ("deadline", 5 * MIN),
        "escalate_10m": ("watchdog", 10 * MIN),
        "escalate_60m": ("watchdog", 60 * MIN),
    },
    "a3_power_cut": {},
    "a4_air_conditioning": {},
    "a5_fire_theft": {},
    "a6_personal_accident": {"staffing_assessment": ("deadline", 10 * MIN)},
    "a7_network_information_system": {},
    "a8_call_surge": {"support_levels:L2": ("level", 30 * MIN)},  # L3 is armed when L2 starts
    "a9_media": {},
    **{pid: {} for pid in (
        "b1_hall_surge", "b2_hall_system_failure", "b3_robbery", "b4_hall_fire", "b5_hall_siege",
        "b6_hall_disorder", "b7_customer_illness", "b8_customer_injury", "b9_lost_property",
        "b10_media_report",
    )},
}
# Timers the seeds leave unset: present, but never armed until a site sets them.
UNSET = {"a1_seat_equipment": {"om_reminder"}}
LEVELS = {"a8_call_surge": [(1, 0.0), (2, 30 * MIN), (3, 60 * MIN)]}


def test_table_covers_every_shipped_playbook(shipped: dict[str, LoadedPlaybook]) -> None:
    assert set(SEED_TIMERS) == set(shipped)


def _variant(loaded: LoadedPlaybook) -> str | None:
    return next(iter(loaded.playbook.variants), None)


@pytest.mark.parametrize("playbook_id", sorted(SEED_TIMERS))
async def test_seed_timers_arm_and_fire_at_the_exact_second(
    playbook_id: str, harness: Harness, clock: FakeClock, shipped: dict[str, LoadedPlaybook]
) -> None:
    engine = harness.engine
    assert engine is not None
    inc = await engine.start(playbook_id, LI, variant=_variant(shipped[playbook_id]))
    assert inc.id is not None
    armed = {k: (t.kind, t.due_at) for k, t in inc.timers.items() if t.state is TimerState.ARMED}
    expected = {k: (kind, T0 + s) for k, (kind, s) in SEED_TIMERS[playbook_id].items()}
    assert armed == expected
    unset = {k for k, t in inc.timers.items() if t.state is TimerState.UNSET}
    assert unset == UNSET.get(playbook_id, set())
    for key, (_kind, seconds) in sorted(SEED_TIMERS[playbook_id].items(), key=lambda kv: kv[1][1]):
        clock.advance(T0 + seconds - 1 - clock.now())
        await engine.tick()
        assert engine.incident(inc.id).timers[key].state is TimerState.ARMED, key
        clock.advance(1)
        await engine.tick()
        fired = engine.incident(inc.id).timers[key]
        assert fired.state is TimerState.FIRED and fired.fired_at == T0 + seconds, key
        assert fired.lateness == 0.0


@pytest.mark.parametrize("playbook_id", sorted(LEVELS))
async def test_levels_escalate_every_30_minutes_while_not_controlled(
    playbook_id: str, harness: Harness, clock: FakeClock
) -> None:
    engine = harness.engine
    assert engine is not None
    inc = await engine.start(playbook_id, LI)
    assert inc.id is not None
    for level, at in LEVELS[playbook_id]:
        clock.advance(T0 + at - clock.now())
        await engine.tick()
        current = engine.incident(inc.id)
        assert current.level == level and current.level_started_at == T0 + at
    # and no level 4: the last level arms nothing
    clock.advance(10 * 3600)
    await engine.tick()
    assert engine.incident(inc.id).level == 3
