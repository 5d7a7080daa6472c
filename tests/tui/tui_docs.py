"""A hand-made ``ccops.status/1`` document with fixed times, for snapshots and pure tests.

The shape follows ``Daemon.status_document()`` (``_pbx_document``); the numbers are chosen
to exercise every state a screen can show: callers waiting past the threshold, a queue below
its SL target with an Erlang gap, paused/ringing/on-call/unavailable members, a trunk down
with history, an overflow flag on and active alerts.
"""

from __future__ import annotations

import copy
from typing import Any

NOW = 1_780_000_000.0  # a fixed instant; snapshots render local times from it


def _kpi(
    offered: int,
    answered: int,
    within: int,
    abandoned: int,
    sl: float | None,
    asa: float | None,
    aht: float | None,
    gap: int | None,
    required: int | None,
    reason: str | None = None,
    start: float = NOW - 600,
) -> dict[str, Any]:
    block = {
        "entered": offered,
        "offered": offered,
        "answered": answered,
        "answered_within": within,
        "abandoned": abandoned,
        "short_abandoned": 0,
        "timeouts": 0,
        "completed": answered,
        "transfers": 0,
        "service_level": sl,
        "answer_rate": answered / offered if offered else None,
        "abandon_rate": abandoned / offered if offered else None,
        "asa": asa,
        "avg_talk": aht,
        "avg_wrapup": 0.0,
        "aht": aht,
        "longest_wait": 95.0 if offered else None,
    }
    intervals = []
    for i in range(4):
        s = start - 900 * (3 - i)
        intervals.append(
            {**block, "start": s, "end": s + 900, "offered": max(0, offered // 4 + i - 1)}
        )
    return {
        "sl_threshold": 20,
        "sl_target": 0.8,
        "short_abandon": 20,
        "today": dict(block),
        "rolling": {**block, "window_s": 3600.0, "covered_s": 3600.0},
        "current_bucket": dict(intervals[-1]),
        "intervals": intervals,
        "erlang": {
            "arrival_rate": 120.0,
            "aht": aht,
            "traffic": 5.0,
            "required": required,
            "sl_target": 0.8,
            "sl_threshold": 20,
            "at_required": None,
            "staffed": None,
            "at_staffed": None,
            "gap": gap,
            "reason": reason,
        },
    }


_DEVICE = {
    "on_call": ("inuse", 2),
    "ringing": ("ringing", 6),
    "unavailable": ("unavailable", 5),
}


def _member(
    iface: str,
    name: str,
    state: str,
    since: float,
    *,
    paused: bool = False,
    reason: str = "",
    calls: int = 0,
    penalty: int = 0,
    membership: str = "static",
) -> dict[str, Any]:
    return {
        "interface": iface,
        "name": name,
        "state_interface": iface,
        "membership": membership,
        "penalty": penalty,
        "calls_taken": calls,
        "last_call": None,
        "last_pause": None,
        "login_time": NOW - 7200,
        "in_call": state == "on_call",
        # what Asterisk reports for the phone: wrap-up and pauses are ccops' own states
        "device_status": _DEVICE.get(state, ("not_inuse", 1))[0],
        "device_status_code": _DEVICE.get(state, ("not_inuse", 1))[1],
        "paused": paused,
        "paused_reason": reason,
        "paused_since": since if paused else None,
        "wrapup_time": 0,
        "wrapup_until": None,
        "state": state,
        "state_since": since,
        "busy_elsewhere": False,
        "ringing": None,
        "current_call": None,
        "time_in_state": NOW - since,
    }


def _caller(uid: str, pos: int, num: str, wait: float) -> dict[str, Any]:
    return {
        "uniqueid": uid,
        "channel": f"PJSIP/carrier-a-0000{uid[-2:]}",
        "position": pos,
        "joined_at": NOW - wait,
        "caller_num": num,
        "caller_name": "",
        "abandoned": False,
        "wait": wait,
    }


def status_doc() -> dict[str, Any]:
    """A fresh copy of the fixed document."""
    return copy.deepcopy(_DOC)


def _queue(
    name: str,
    members: list[dict[str, Any]],
    callers: list[dict[str, Any]],
    kpi: dict[str, Any],
    agents: dict[str, int],
) -> dict[str, Any]:
    return {
        "name": name,
        "strategy": "leastrecent",
        "params": {
            "max_callers": 0,
            "calls": len(callers),
            "service_level": 20,
            "ast_holdtime": 0,
            "ast_talktime": 0,
            "ast_completed": 0,
            "ast_abandoned": 0,
            "weight": 0,
        },
        "wrapup_time": 10,
        "waiting": len(callers),
        "longest_wait": max((c["wait"] for c in callers), default=0.0),
        "agents": agents,
        "callers": callers,
        "members": {m["interface"]: m for m in members},
        "kpi": kpi,
    }


_HOTLINE_MEMBERS = [
    _member("PJSIP/1001", "Amelia Hart", "on_call", NOW - 185, calls=14),
    _member("PJSIP/1002", "Bruno Costa", "ringing", NOW - 4, calls=11),
    _member(
        "PJSIP/1003",
        "Chen Jing",
        "paused:break",
        NOW - 420,
        paused=True,
        reason="break",
        calls=9,
        penalty=1,
    ),
    _member("PJSIP/1004", "Dmitri Volkov", "acw", NOW - 12, calls=12, membership="dynamic"),
    _member("PJSIP/1005", "Elena Marquez", "unavailable", NOW - 3600, calls=0),
]
_BILLING_MEMBERS = [
    _member("PJSIP/2001", "Kasia Nowak", "available", NOW - 62, calls=7),
    _member("PJSIP/2002", "Liam O'Brien", "on_call", NOW - 40, calls=8),
]

_DOC: dict[str, Any] = {
    "schema": "ccops.status/1",
    "generated_at": NOW,
    "daemon": {
        "version": "0.1.0",
        "pid": 1,
        "started_at": NOW - 7200,
        "uptime": 7200.0,
        "simulated": True,
        "clients": 1,
        "snapshot_mode_drops": 0,
        "store": "/tmp/x.sqlite3",
        "tick_errors": 0,
        "kpi_errors": 0,
    },
    "alerts": [
        {
            "rule": "queue-waiting",
            "scope": "sim:hotline",
            "metric": "waiting",
            "severity": "critical",
            "op": ">=",
            "value": 6.0,
            "threshold": 5.0,
            "raised_at": NOW - 130,
            "message": "hotline: 6 callers waiting (>= 5)",
            "cleared_at": None,
            "cleared_reason": None,
            "acknowledged_by": None,
            "acknowledged_at": None,
            "engine_id": "e1",
            "id": 7,
            "active": True,
        },
        {
            "rule": "trunk-down",
            "scope": "sim:carrier-b",
            "metric": "trunk_reachable",
            "severity": "warning",
            "op": "<",
            "value": 0.0,
            "threshold": 1.0,
            "raised_at": NOW - 600,
            "message": "carrier-b unreachable",
            "cleared_at": None,
            "cleared_reason": None,
            "acknowledged_by": "alice",
            "acknowledged_at": NOW - 500,
            "engine_id": "e2",
            "id": 5,
            "active": True,
        },
    ],
    "recent_alerts": [
        {
            "rule": "sl-low",
            "scope": "sim:billing",
            "metric": "service_level",
            "severity": "warning",
            "op": "<",
            "value": 0.7,
            "threshold": 0.75,
            "raised_at": NOW - 3000,
            "message": "billing: SL 70% (< 75%)",
            "cleared_at": NOW - 2400,
            "cleared_reason": "recovered",
            "acknowledged_by": "bob",
            "acknowledged_at": NOW - 2900,
            "engine_id": "e0",
            "id": 3,
            "active": False,
        },
    ],
    "pbx": {
        "sim": {
            "name": "sim",
            "simulated": True,
            "production": True,
            "link": {
                "state": "live",
                "stale": False,
                "detail": "connected",
                "since": NOW - 7000,
                "next_retry_at": None,
                "epoch": 1,
                "last_event_at": NOW - 1,
                "asterisk_version": "22.0.0",
                "host": "127.0.0.1",
                "port": 5038,
                "simulated": True,
                "last_reload_at": None,
                "last_shutdown_at": None,
                "last_shutdown": "",
                "counters": {},
            },
            "sync": {"epoch": 1, "syncing": False, "synced_at": NOW - 7000, "failed": []},
            "queues": {
                "billing": _queue(
                    "billing",
                    _BILLING_MEMBERS,
                    [],
                    _kpi(40, 39, 37, 1, 0.95, 6.0, 170.0, -1, 1),
                    {
                        "members": 2,
                        "available": 1,
                        "ringing": 0,
                        "on_call": 1,
                        "on_hold": 0,
                        "acw": 0,
                        "paused": 0,
                        "unavailable": 0,
                    },
                ),
                "hotline": _queue(
                    "hotline",
                    _HOTLINE_MEMBERS,
                    [
                        _caller("1780.11", 1, "0403605555", 95.0),
                        _caller("1780.12", 2, "0211234567", 41.0),
                        _caller("1780.13", 3, "", 12.0),
                    ],
                    _kpi(120, 100, 78, 14, 0.72, 24.0, 205.0, 3, 8),
                    {
                        "members": 5,
                        "available": 0,
                        "ringing": 1,
                        "on_call": 1,
                        "on_hold": 0,
                        "acw": 1,
                        "paused": 1,
                        "unavailable": 1,
                    },
                ),
                "repairs": _queue(
                    "repairs",
                    [],
                    [],
                    _kpi(
                        0,
                        0,
                        0,
                        0,
                        None,
                        None,
                        None,
                        None,
                        None,
                        reason="warming up: arrival rate needs more observation",
                    ),
                    {
                        "members": 0,
                        "available": 0,
                        "ringing": 0,
                        "on_call": 0,
                        "on_hold": 0,
                        "acw": 0,
                        "paused": 0,
                        "unavailable": 0,
                    },
                ),
            },
            "agents": {
                m["interface"]: {
                    "name": m["name"],
                    "state": m["state"],
                    "since": m["state_since"],
                    "queues": [q],
                    "calls": m["calls_taken"],
                    "calls_per_hour": 4.0,
                    "logged_in_time": 7200.0,
                    "talk_time": 1800.0,
                    "hold_time": 0.0,
                    "holds": 0,
                    "state_seconds": {},
                    "occupancy": 0.62,
                    "pause_by_reason": {"break": 600.0} if m["paused"] else {},
                }
                for q, ms in (("hotline", _HOTLINE_MEMBERS), ("billing", _BILLING_MEMBERS))
                for m in ms
            },
            "trunks": {
                "carrier-a": {
                    "name": "carrier-a",
                    "is_trunk": True,
                    "capacity": 30,
                    "channels_in_use": 24,
                    "reported_channels": 0,
                    "usage": 0.8,
                    "reachable": True,
                    "up": True,
                    "peer_status": "",
                    "device_state": "INUSE",
                    "registration": "carrier-a-reg",
                    "registration_status": "Registered",
                    "transport": "transport-udp",
                    "aor": "carrier-a",
                    "outbound_auths": "carrier-a-auth",
                    "contacts": [
                        {
                            "aor": "carrier-a",
                            "uri": "sip:198.51.100.7:5060",
                            "status": "Reachable",
                            "rtt_usec": 12000,
                            "dynamic": False,
                            "since": NOW - 7000,
                        }
                    ],
                    "last_change": NOW - 7000,
                    "history": [],
                    "rtt_ms": 12.0,
                },
                "carrier-b": {
                    "name": "carrier-b",
                    "is_trunk": True,
                    "capacity": 30,
                    "channels_in_use": 0,
                    "reported_channels": 0,
                    "usage": 0.0,
                    "reachable": False,
                    "up": False,
                    "peer_status": "",
                    "device_state": "UNAVAILABLE",
                    "registration": None,
                    "registration_status": "",
                    "transport": "transport-udp",
                    "aor": "carrier-b",
                    "outbound_auths": "",
                    "contacts": [
                        {
                            "aor": "carrier-b",
                            "uri": "sip:203.0.113.9:5060",
                            "status": "Unreachable",
                            "rtt_usec": 0,
                            "dynamic": False,
                            "since": NOW - 600,
                        }
                    ],
                    "last_change": NOW - 600,
                    "history": [
                        {"at": NOW - 5000, "up": False, "cause": "ContactStatus"},
                        {"at": NOW - 4900, "up": True, "cause": "ContactStatus"},
                        {"at": NOW - 600, "up": False, "cause": "ContactStatus Unreachable"},
                    ],
                    "rtt_ms": None,
                },
            },
            "flags": {
                "ccops/overflow/hotline": {
                    "family": "ccops",
                    "key": "overflow/hotline",
                    "value": "billing",
                    "read_at": NOW - 300,
                },
            },
            "channel_count": 31,
            "anomalies": {},
        }
    },
}


def stale(
    doc: dict[str, Any], *, state: str = "down", since: float = NOW - 125, retry_in: float = 4.0
) -> dict[str, Any]:
    """The same document with the PBX link down (what the daemon sends while it retries)."""
    link = doc["pbx"]["sim"]["link"]
    link.update(
        {
            "state": state,
            "stale": True,
            "since": since,
            "next_retry_at": NOW + retry_in,
            "detail": "connection refused",
        }
    )
    return doc
