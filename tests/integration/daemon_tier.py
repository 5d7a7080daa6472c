"""The ccops daemon pointed at the real Asterisk tier, and an independent oracle for it.

Used by test_daemon_asterisk.py. Three things live here:

* :func:`daemon_settings` — a daemon configured like a site would configure it (one
  ``[[pbx]]`` with the tier's ``ccops`` AMI user, both carriers as trunks), but with a
  short backoff so a restarted Asterisk is found again in well under a second.
* :func:`wait_for` — poll the daemon's status document until a condition holds (no fixed
  sleeps); on timeout the assertion says what was awaited and what the document showed.
* :func:`asterisk_view` / :func:`daemon_view` — the same comparable shape built twice: once
  from what Asterisk answers a separate ``tier-admin`` session (``QueueStatus``,
  ``PJSIPShowEndpoints``, ``PJSIPShowRegistrationsOutbound``), once from the daemon's
  model. The Asterisk side is parsed here, by hand, on purpose: it must not share code
  with the product it checks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asterisk_tier import AmiClient, AsteriskTier
from pydantic import SecretStr

from ccops.config import KpiConfig, PbxConfig, Settings, TrunkConfig, load_settings
from ccops.daemon.service import Daemon

PBX = "tier"

#: EndpointList ``DeviceState`` text → the model's device state (ast_devstate_str names).
ENDPOINT_STATES = {
    "Unknown": "UNKNOWN",
    "Not in use": "NOT_INUSE",
    "In use": "INUSE",
    "Busy": "BUSY",
    "Invalid": "INVALID",
    "Unavailable": "UNAVAILABLE",
    "Ringing": "RINGING",
    "Ring+Inuse": "RINGINUSE",
    "On Hold": "ONHOLD",
}

Doc = dict[str, Any]
View = dict[str, Any]


def daemon_settings(tier: AsteriskTier, state_dir: Path, kpi: KpiConfig | None = None) -> Settings:
    """Settings for a daemon watching ``tier`` as the product's ``ccops`` AMI user."""
    ep = tier.endpoint("ccops")
    pbx = PbxConfig(
        name=PBX,
        host=ep.host,
        port=ep.port,
        username=ep.username,
        secret=SecretStr(ep.secret),
        connect_timeout=2.0,
        login_timeout=3.0,
        ping_interval=1.0,
        ping_timeout=2.0,
        backoff_initial=0.2,
        backoff_max=0.5,
        reconcile_interval=0,  # only login/Reload syncs: the tests see exactly those
        trunks=[TrunkConfig(name="carrier-a", capacity=10), TrunkConfig(name="carrier-b")],
    )
    base = load_settings(None, use_default_path=False)
    return base.model_copy(
        update={
            "pbx": [pbx],
            "kpi": kpi or base.kpi,
            "daemon": base.daemon.model_copy(update={"state_dir": state_dir, "publish_hz": 10.0}),
        }
    )


def pbx_doc(daemon: Daemon) -> Doc:
    doc: Doc = daemon.status_document()["pbx"][PBX]
    return doc


async def wait_for(
    daemon: Daemon,
    condition: Callable[[Doc], Any],
    what: str,
    timeout: float = 10.0,
    *,
    whole: bool = False,
) -> Any:
    """Poll the status document (the tier's PBX, or the ``whole`` document) until
    ``condition`` returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    doc: Doc = {}
    while True:
        doc = daemon.status_document() if whole else pbx_doc(daemon)
        try:
            result = condition(doc)
        except (KeyError, IndexError, TypeError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            excerpt = json.dumps(doc.get("link", doc.get("alerts")), default=str)[:600]
            raise AssertionError(f"not after {timeout}s: {what}; document: {excerpt}")
        await asyncio.sleep(0.05)


async def wait_live(daemon: Daemon, after: float = 0.0, timeout: float = 15.0) -> Doc:
    """The link is live and a full sync finished after ``after`` (epoch seconds)."""
    doc: Doc = await wait_for(
        daemon,
        lambda d: d
        if d["link"]["state"] == "live"
        and not d["sync"]["syncing"]
        and (d["sync"]["synced_at"] or 0) > after
        else None,
        f"link live and synced after {after}",
        timeout,
    )
    return doc


# ----------------------------------------------------------------------------- the oracle


async def asterisk_view(admin: AmiClient) -> View:
    """What Asterisk itself says, via a separate read=all session (never the daemon's)."""
    status = await admin.request("QueueStatus")
    if not status.ok or status.complete is None:
        raise AssertionError(f"QueueStatus failed: {status.message}")
    queues: dict[str, Any] = {}
    for item in status.items:
        q = item.get("Queue")
        if item.event == "QueueParams":
            queues.setdefault(q, {"members": {}, "callers": {}})
            queues[q]["strategy"] = item.get("Strategy")
            queues[q]["calls"] = int(item.get("Calls"))
    for item in status.items:
        q = item.get("Queue")
        if item.event == "QueueMember":
            queues[q]["members"][item.get("Location")] = {
                "name": item.get("Name"),
                "membership": item.get("Membership"),
                "penalty": int(item.get("Penalty")),
                "paused": item.get("Paused") == "1",
                "paused_reason": item.get("PausedReason"),
                "status": int(item.get("Status")),
            }
        elif item.event == "QueueEntry":
            queues[q]["callers"][item.get("Uniqueid")] = {
                "channel": item.get("Channel"),
                "position": int(item.get("Position")),
            }
    endpoints_reply = await admin.request("PJSIPShowEndpoints")
    if not endpoints_reply.ok:
        raise AssertionError(f"PJSIPShowEndpoints failed: {endpoints_reply.message}")
    endpoints = {
        item.get("ObjectName"): _endpoint_state(item.get("DeviceState"))
        for item in endpoints_reply.items
        if item.event == "EndpointList"
    }
    regs_reply = await admin.request("PJSIPShowRegistrationsOutbound")
    if not regs_reply.ok:
        raise AssertionError(f"PJSIPShowRegistrationsOutbound failed: {regs_reply.message}")
    registrations = {
        item.get("ObjectName"): item.get("Status")
        for item in regs_reply.items
        if item.event == "OutboundRegistrationDetail"
    }
    return {"queues": queues, "endpoints": endpoints, "registrations": registrations}


def _endpoint_state(text: str) -> str:
    return ENDPOINT_STATES.get(text, text)


def daemon_view(daemon: Daemon) -> View:
    """The same shape from the daemon: queues from its status document (what clients see),
    endpoints from its model (the document lists trunks only; desk phones are endpoints too)."""
    doc = pbx_doc(daemon)
    queues: dict[str, Any] = {}
    for name, q in doc["queues"].items():
        queues[name] = {
            "strategy": q["strategy"],
            "calls": q["waiting"],
            "members": {
                iface: {
                    "name": m["name"],
                    "membership": m["membership"],
                    "penalty": m["penalty"],
                    "paused": m["paused"],
                    "paused_reason": m["paused_reason"],
                    "status": m["device_status_code"],
                }
                for iface, m in q["members"].items()
            },
            "callers": {
                c["uniqueid"]: {"channel": c["channel"], "position": c["position"]}
                for c in q["callers"]
            },
        }
    state = daemon.sessions[PBX].state
    endpoints = {name: ep.device_state for name, ep in state.endpoints.items()}
    trunks = doc["trunks"]
    for name, trunk in trunks.items():  # the document agrees with the model
        assert trunk["device_state"] == endpoints.get(name), (name, trunk, endpoints)
    registrations = {name: r.status for name, r in state.registrations.items()}
    for trunk in trunks.values():
        if trunk["registration"]:
            assert trunk["registration_status"] == registrations[trunk["registration"]]
    return {"queues": queues, "endpoints": endpoints, "registrations": registrations}


def differences(expected: View, actual: View, path: str = "") -> list[str]:
    """Readable differences between two views (empty: equal)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            where = f"{path}/{key}"
            if key not in actual:
                out.append(f"{where}: only Asterisk has {expected[key]!r}")
            elif key not in expected:
                out.append(f"{where}: only the daemon has {actual[key]!r}")
            else:
                out.extend(differences(expected[key], actual[key], where))
        return out
    return [] if expected == actual else [f"{path}: Asterisk {expected!r}, daemon {actual!r}"]


async def wait_model_equals_asterisk(
    daemon: Daemon, admin: AmiClient, timeout: float = 10.0
) -> View:
    """Compare until equal: under load both sides move, so a single comparison could race
    an event in flight. Raises with the last differences; returns the agreed view."""
    deadline = time.monotonic() + timeout
    diff: list[str] = []
    while True:
        before = daemon_view(daemon)
        truth = await asterisk_view(admin)
        after = daemon_view(daemon)  # the daemon's model on either side of Asterisk's answer
        for mine in (before, after):
            diff = differences(truth, mine)
            if not diff:
                return truth
        if time.monotonic() > deadline:
            raise AssertionError(
                f"model differs from Asterisk after {timeout}s:\n" + "\n".join(diff[:30])
            )
        await asyncio.sleep(0.1)
