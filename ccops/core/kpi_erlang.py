"""The Erlang C block of a queue's KPI snapshot: what the surge playbook reads.

Separate from :mod:`ccops.core.erlang` (pure queueing maths) because this is about
presenting an estimate honestly: every figure is None with a ``reason`` when an input is
missing, and nothing infinite ever reaches JSON.
"""

from __future__ import annotations

from typing import Any

from ccops.core import erlang


def staffing_view(rate: float, aht: float, agents: int, threshold: int) -> dict[str, Any]:
    """What ``agents`` agents would achieve; ``asa`` None when the queue cannot drain."""
    s = erlang.staffing(rate, aht, agents, threshold)
    stable = agents > s.traffic or s.traffic == 0
    return {
        "agents": agents,
        "service_level": s.service_level,
        "asa": s.asa if stable else None,
        "p_wait": s.p_wait,
        "occupancy": s.occupancy,
        "stable": stable,
    }


def erlang_view(
    arrival_rate: float | None,
    aht: float | None,
    sl_target: float,
    sl_threshold: int,
    staffed: int | None,
) -> dict[str, Any]:
    """Required agents for ``arrival_rate`` calls/hour at ``aht`` seconds, and the gap.

    ``arrival_rate`` None means "not observed long enough"; ``aht`` None "no completed call
    yet". ``gap`` = required − staffed: positive means short of agents.
    """
    view: dict[str, Any] = {
        "arrival_rate": arrival_rate,
        "aht": aht,
        "traffic": None,
        "required": None,
        "sl_target": sl_target,
        "sl_threshold": sl_threshold,
        "at_required": None,
        "staffed": staffed,
        "at_staffed": None,
        "gap": None,
        "reason": None,
    }
    if arrival_rate is None:
        view["reason"] = "warming up: arrival rate needs more observation"
        return view
    if aht is None:
        view["reason"] = "no completed calls yet: handle time unknown"
        return view
    view["traffic"] = erlang.traffic_intensity(arrival_rate, aht)
    try:
        required = erlang.required_agents(arrival_rate, aht, sl_target, sl_threshold)
    except erlang.ErlangError as exc:
        view["reason"] = str(exc)
        return view
    view["required"] = required
    view["at_required"] = staffing_view(arrival_rate, aht, required, sl_threshold)
    if staffed is not None:
        view["at_staffed"] = staffing_view(arrival_rate, aht, max(0, staffed), sl_threshold)
        view["gap"] = required - staffed
    return view
