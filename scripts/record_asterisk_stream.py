#!/usr/bin/env python3
"""Record what a real Asterisk 22 says over AMI under call-center load.

Why: the simulated PBX (``ccops.sim``), the conformance test and the ingest benchmark
need ground truth. This drives the real-Asterisk tier (tests/integration/asterisk_tier.py)
through ~3-4 minutes of realistic traffic and saves, in tests/data/asterisk22/:

* ``stream.ami(.gz)``: every byte the ``ccops`` session received (greeting included),
  that user being configured exactly as config/asterisk/manager.conf says (its read
  classes and event filters), while it runs the console's list and control actions;
* ``stream-unfiltered.ami(.gz)``: a ``read=all`` session without filters for the first
  part of the load: the noise (VarSet, TestEvent, RTCP, MOH ...) an unconfigured site
  sends, for the ingest benchmark;
* ``monitor.ami``: the read-only ``monitor`` session (permission errors, a window with
  events on to catch another session's OriginateResponse);
* ``actions.json``: every action sent (session, time, ActionID, fields, outcome);
* ``fields.json``: the header catalogue built from the above (format: docs/asterisk-tier.md);
* ``README.md``: how it was recorded.

Secrets never reach the files: the outbound registration and desk phone passwords (which
Asterisk prints in PJSIPShow* answers) are replaced by ``********`` in the bytes.

Run as root with the chroot built (scripts/asterisk-chroot.sh)::

    python3 scripts/record_asterisk_stream.py            # full recording, ~4 minutes
    python3 scripts/record_asterisk_stream.py --load-seconds 30 --out /tmp/rec   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gzip
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from asterisk_tier import (  # noqa: E402
    AmiClient,
    AmiError,
    AmiMessage,
    AmiResult,
    AsteriskTier,
    CallerRun,
    TierSettings,
)

REDACTED = "********"
GZIP_ABOVE = 2_000_000
DEFAULT_OUT = REPO / "tests" / "data" / "asterisk22"


# =========================================================================== sessions


@dataclass
class Session:
    """One recorded AMI session: the client and the bytes it received."""

    name: str
    user: str
    filename: str
    raw: bytearray = field(default_factory=bytearray)
    client: AmiClient | None = None
    closed_at: float | None = None

    def tap(self, chunk: bytes) -> None:
        self.raw.extend(chunk)

    @property
    def ami(self) -> AmiClient:
        assert self.client is not None, f"session {self.name} not connected"
        return self.client


@dataclass
class ActionRecord:
    session: str
    action: str
    action_id: str
    t: float
    fields: list[tuple[str, str]]
    note: str
    response: str = ""
    message: str = ""
    items: int = 0
    complete: str = ""


class Recorder:
    """Runs the scenario: sessions, load, actions; keeps the action log."""

    def __init__(self, tier: AsteriskTier) -> None:
        self.tier = tier
        self.t0 = time.monotonic()
        self.sessions: dict[str, Session] = {}
        self.actions: list[ActionRecord] = []
        self.callers: list[CallerRun] = []
        self.batches: dict[str, str] = {}
        self.observations: dict[str, Any] = {}

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    async def until(self, t: float) -> None:
        """Sleep until ``t`` seconds into the recording (no-op if already past)."""
        delay = t - (time.monotonic() - self.t0)
        if delay > 0:
            await asyncio.sleep(delay)

    def log(self, text: str) -> None:
        print(f"[{self.now():7.1f}s] {text}", flush=True)

    async def open(self, name: str, user: str, filename: str, events: bool | str) -> Session:
        session = Session(name, user, filename)
        ep = self.tier.endpoint(user)
        session.client = await AmiClient.connect(
            ep.host, ep.port, ep.username, ep.secret, events=events, tap=session.tap
        )
        self.sessions[name] = session
        return session

    async def act(
        self,
        session: str,
        action: str,
        fields: Mapping[str, str] | list[tuple[str, str]] | None = None,
        note: str = "",
        timeout: float = 15.0,
    ) -> AmiResult | None:
        """Run one action in a session and log it; errors are data, not failures."""
        ami = self.sessions[session].ami
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields or [])
        record = ActionRecord(session, action, "", self.now(), pairs, note)
        self.actions.append(record)
        try:
            result = await ami.request(action, pairs, timeout=timeout)
        except AmiError as exc:
            record.response = f"(no answer: {exc})"
            self.log(f"{session}: {action} -> {record.response}")
            return None
        record.action_id = result.response.action_id
        record.response = result.response.response
        record.message = result.message
        record.items = len(result.items)
        record.complete = result.complete.event if result.complete else ""
        self.log(
            f"{session}: {action} {dict(pairs) if len(pairs) < 5 else ''} -> "
            f"{record.response} {record.message!r} items={record.items}"
        )
        return result

    def callers_batch(
        self,
        queue: str,
        *,
        rate: float,
        seconds: float,
        patience_s: float,
        trunk: str = "carrier-a",
        hold_s: float | None = None,
    ) -> None:
        count = max(1, round(rate * seconds))
        run = self.tier.start_callers(
            queue,
            count=count,
            rate=rate,
            patience_s=patience_s,
            trunk=trunk,
            hold_s=hold_s,
            max_concurrent=count,
        )
        self.callers.append(run)
        self.batches[run.name] = (
            f"{queue} via {trunk}: {count} calls at {rate}/s from t={self.now():.0f}s, "
            f"patience {patience_s:g}s" + (f", hold after {hold_s:g}s" if hold_s else "")
        )
        self.log(f"callers {run.name}: {self.batches[run.name]}")

    def last_event(self, session: str, predicate: Callable[[AmiMessage], bool]) -> AmiMessage:
        for msg in reversed(self.sessions[session].ami.history):
            if predicate(msg):
                return msg
        raise LookupError("no such event yet")


# =========================================================================== scenario


LIST_SNAPSHOT: list[tuple[str, dict[str, str]]] = [
    ("QueueStatus", {}),
    ("QueueSummary", {}),
    ("PJSIPShowEndpoints", {}),
    ("PJSIPShowContacts", {}),
    ("PJSIPShowAors", {}),
    ("PJSIPShowRegistrationsOutbound", {}),
    ("CoreShowChannels", {}),
    ("DeviceStateList", {}),
    ("DBGetTree", {"Family": "ccops"}),
]


async def snapshot(rec: Recorder, note: str) -> None:
    """The console's full sync, as it runs it after connecting."""
    for action, fields in LIST_SNAPSHOT:
        await rec.act("ccops", action, fields, note)


async def scenario(rec: Recorder, load_s: float) -> None:
    """The recorded story; times scale with ``load_s`` (full run: 170 s of calls)."""
    tier = rec.tier
    k = load_s / 170.0

    def at(t: float) -> float:
        return 5 + t * k

    # ---------------------------------------------------------------- before any call
    await rec.act("ccops", "Ping", note="keepalive")
    await rec.act("ccops", "PJSIPShowContacts", note="no dynamic contact registered yet")
    tier.start_desk_phone()
    for _ in range(50):
        if "desk-201/" in tier.cli("pjsip show contacts"):
            break
        await asyncio.sleep(0.1)
    await snapshot(rec, "initial sync")
    await rec.act("ccops", "PJSIPShowEndpoint", {"Endpoint": "carrier-a"}, "detail with auth")
    await rec.act("ccops", "PJSIPShowEndpoint", {"Endpoint": "nosuch"}, "unknown endpoint")
    await rec.act("ccops", "QueueStatus", {"Queue": "nosuchqueue"}, "unknown queue")
    await rec.act("ccops", "Status", note="channel status list")
    await rec.act("ccops", "CoreStatus")
    await rec.act("ccops", "Queues", note="legacy action, gone in Asterisk 22")
    await rec.act("ccops", "UserEvent", {"UserEvent": "CcopsHello"}, "ccops lacks write=user")
    await rec.act("ccops", "DBGet", {"Family": "ccops", "Key": "nosuch"}, "missing key")
    await rec.act("ccops", "DBDel", {"Family": "ccops", "Key": "nosuch"}, "missing key")
    await rec.act("ccops", "DBPut", {"Family": "ccops", "Key": "night-mode", "Val": "0"})
    await rec.act("ccops", "DBGet", {"Family": "ccops", "Key": "night-mode"})
    for action, fields in [
        ("PJSIPShowEndpoints", {}),
        ("PJSIPShowRegistrationsOutbound", {}),
        ("CoreShowChannels", {}),
        ("DBGet", {"Family": "ccops", "Key": "night-mode"}),
        ("DBPut", {"Family": "ccops", "Key": "x", "Val": "1"}),
        ("QueuePause", {"Interface": "Local/agent1@agents/n", "Paused": "true"}),
        ("Originate", {"Channel": "Local/echo@originate", "Application": "Wait", "Data": "1"}),
        ("QueueStatus", {}),
        ("QueueSummary", {}),
        ("Ping", {}),
    ]:
        await rec.act("monitor", action, fields, "read-only user")

    # ---------------------------------------------------------------- load
    rec.log("load starts")
    base = load_s
    rec.callers_batch("hotline", rate=0.6, seconds=base, patience_s=60)  # -> some time out
    rec.callers_batch("hotline", rate=0.3, seconds=base, patience_s=20)
    rec.callers_batch("hotline", rate=0.3, seconds=base, patience_s=6)  # -> abandons
    rec.callers_batch("billing", rate=0.3, seconds=base, patience_s=40, trunk="carrier-b")
    rec.callers_batch("repairs", rate=0.2, seconds=base, patience_s=25, trunk="carrier-b")
    rec.callers_batch("repairs", rate=0.05, seconds=base, patience_s=30, hold_s=3)

    await rec.until(at(10))
    await rec.act(
        "ccops",
        "QueuePause",
        {
            "Interface": "Local/agent2@agents/n",
            "Queue": "hotline",
            "Paused": "true",
            "Reason": "lunch",
        },
        "pause with reason",
    )
    await rec.act(
        "ccops",
        "QueueAdd",
        {
            "Queue": "hotline",
            "Interface": "Local/agent9@agents/n",
            "Penalty": "2",
            "MemberName": "Ida Imhof",
            "StateInterface": "Local/agent9@agents/n",
        },
        "dynamic member",
    )
    await rec.act(
        "ccops",
        "QueueAdd",
        {"Queue": "hotline", "Interface": "Local/agent9@agents/n", "MemberName": "Ida Imhof"},
        "already there",
    )
    await rec.act(
        "ccops",
        "QueueAdd",
        {"Queue": "nosuchqueue", "Interface": "Local/agent9@agents/n"},
        "no such queue",
    )
    await rec.act(
        "ccops",
        "QueuePenalty",
        {"Interface": "Local/agent9@agents/n", "Penalty": "1", "Queue": "hotline"},
    )
    await rec.act(
        "ccops",
        "QueuePause",
        {"Interface": "Local/agent77@agents/n", "Paused": "true"},
        "interface in no queue",
    )

    await rec.until(at(20))
    await snapshot(rec, "sync under load")
    await rec.act("ccops", "QueueStatus", {"Member": "Local/agent3@agents/n"}, "member filter")
    await rec.act(
        "ccops",
        "Originate",
        {
            "Channel": "Local/echo@originate",
            "Context": "originate",
            "Exten": "echo",
            "Priority": "1",
            "Async": "true",
            "ChannelId": "ccops-orig-1",
            "CallerID": "ccops <100>",
        },
        "async originate to a Local channel (monitor has events on now)",
    )
    await rec.act(
        "ccops",
        "Originate",
        {"Channel": "Local/nosuch@originate", "Application": "Wait", "Data": "1", "Async": "true"},
        "async originate to a missing extension",
    )
    await asyncio.sleep(4)
    await rec.act("monitor", "Events", {"EventMask": "off"}, "events off again")

    await rec.until(at(30))
    # Agent transfers its caller to billing (BlindTransfer, AgentComplete Reason transfer).
    try:
        connected = {
            m.get("Uniqueid"): m
            for m in rec.sessions["ccops"].ami.history
            if m.event == "AgentConnect" and m.get("Queue") == "hotline"
        }
        done = {
            m.get("Uniqueid")
            for m in rec.sessions["ccops"].ami.history
            if m.event in ("AgentComplete", "Hangup")
        }
        live = [m for uid, m in connected.items() if uid not in done]
        if live:
            await rec.act(
                "ccops",
                "BlindTransfer",
                {"Channel": live[-1].get("DestChannel"), "Context": "inbound", "Exten": "billing"},
                "agent transfers caller to billing",
            )
    except LookupError:
        pass

    await rec.until(at(40))
    await rec.act(
        "ccops",
        "QueuePause",
        {"Interface": "Local/agent2@agents/n", "Queue": "hotline", "Paused": "false"},
    )
    await rec.act(
        "ccops",
        "QueuePause",
        {"Interface": "Local/agent3@agents/n", "Paused": "true", "Reason": "coaching"},
        "all queues of the interface",
    )

    await rec.until(at(50))
    rec.log("surge")
    rec.callers_batch("hotline", rate=2.0, seconds=30 * k, patience_s=15)
    await rec.act(
        "ccops",
        "QueuePause",
        {"Interface": "Local/agent3@agents/n", "Paused": "maybe"},
        "not true-ish: unpauses",
    )

    await rec.until(at(60))
    rec.log("carrier-b down")
    tier.stop_carrier("carrier-b")
    await rec.act(
        "ccops",
        "DBPut",
        {"Family": "ccops/overflow", "Key": "repairs", "Val": "billing"},
        "overflow on",
    )
    # A caller waiting in a queue is hung up by the console / redirected elsewhere.
    entries = await rec.act("ccops", "QueueStatus", {"Queue": "hotline"}, "find waiting callers")
    waiting = [m for m in (entries.items if entries else []) if m.event == "QueueEntry"]
    if len(waiting) >= 2:
        await rec.act(
            "ccops",
            "Redirect",
            {
                "Channel": waiting[-1].get("Channel"),
                "Context": "inbound",
                "Exten": "repairs",
                "Priority": "1",
            },
            "move a waiting caller to repairs",
        )
        await rec.act(
            "ccops",
            "Hangup",
            {"Channel": waiting[-2].get("Channel"), "Cause": "16"},
            "console hangs up a waiting caller",
        )

    await rec.until(at(75))
    await snapshot(rec, "sync with a trunk down")

    await rec.until(at(90))
    rec.log("carrier-b up; module reload app_queue")
    tier.start_carrier("carrier-b")
    tier.cli("module reload app_queue.so")

    await rec.until(at(95))
    # Down longer than SIP timer B (32 s) so the re-REGISTER can time out (Registry event).
    rec.log("carrier-a down (registration carrier)")
    tier.stop_carrier("carrier-a")
    await asyncio.sleep(3)
    await rec.act(
        "ccops", "PJSIPRegister", {"Registration": "carrier-a-reg"}, "re-register, carrier dead"
    )
    await rec.act("ccops", "DBGetTree", {"Family": "ccops"})
    await rec.act("ccops", "DBDel", {"Family": "ccops/overflow", "Key": "repairs"}, "overflow off")

    await rec.until(at(140))
    rec.log("carrier-a up")
    tier.start_carrier("carrier-a")
    await asyncio.sleep(1)
    await rec.act(
        "ccops", "PJSIPRegister", {"Registration": "carrier-a-reg"}, "re-register, carrier back"
    )
    await rec.act("ccops", "PJSIPQualify", {"Endpoint": "carrier-a"})

    await rec.until(at(150))
    rec.log("reload pjsip")
    tier.cli("module reload res_pjsip.so")
    await rec.act(
        "ccops", "QueueRemove", {"Queue": "hotline", "Interface": "Local/agent9@agents/n"}
    )
    await rec.act(
        "ccops",
        "QueueRemove",
        {"Queue": "hotline", "Interface": "Local/agent9@agents/n"},
        "not there",
    )
    await rec.act(
        "ccops",
        "QueueRemove",
        {"Queue": "hotline", "Interface": "Local/agent1@agents/n"},
        "static member",
    )

    await rec.until(at(160))
    await snapshot(rec, "sync late in the load")

    # ---------------------------------------------------------------- drain
    await rec.until(5 + load_s)
    rec.log("load generation over; waiting for calls to drain")
    deadline = time.monotonic() + 90
    for caller in rec.callers:
        remaining = max(0.1, deadline - time.monotonic())
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(caller.wait, remaining)
    for caller in rec.callers:
        caller.stop()
    await asyncio.sleep(2)
    await snapshot(rec, "final sync")
    await rec.act("ccops", "Ping")


# =========================================================================== catalogue


def split_messages(raw: bytes) -> tuple[str, list[AmiMessage]]:
    """Greeting line and messages of a recorded session, in order."""
    greeting, _, rest = raw.partition(b"\r\n")
    messages = [AmiMessage.parse(part) for part in rest.split(b"\r\n\r\n") if part.strip()]
    return greeting.decode(), messages


def _position(names: list[str], name: str) -> str:
    index = names.index(name)
    if index == len(names) - 1:
        return "last"
    return {0: "first", 1: "second", 2: "third"}.get(index, f"index {index}")


class _Shape:
    """Header names of one kind of message, accumulated over every instance."""

    def __init__(self) -> None:
        self.count = 0
        self.order: list[str] = []
        self.every: set[str] | None = None
        self.repeated: set[str] = set()
        self.action_id_at: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()
        self.privilege: Counter[str] = Counter()
        self.sessions: set[str] = set()

    def add(self, msg: AmiMessage, session: str) -> None:
        names = msg.names()
        self.count += 1
        self.sessions.add(session)
        for name in names:
            if name not in self.order:
                self.order.append(name)
        self.every = set(names) if self.every is None else self.every & set(names)
        counts = Counter(names)
        self.repeated |= {n for n, c in counts.items() if c > 1}
        if "ActionID" in names:
            self.action_id_at[_position(names, "ActionID")] += 1
        if msg.response and "Message" in msg:
            self.messages[msg.get("Message")] += 1
        if "Privilege" in msg:
            self.privilege[msg.get("Privilege")] += 1

    def as_json(self, *, messages: bool = False) -> dict[str, Any]:
        every = self.every or set()
        out: dict[str, Any] = {
            "count": self.count,
            "headers": self.order,
            "optional": [n for n in self.order if n not in every],
        }
        if self.repeated:
            out["repeated"] = sorted(self.repeated)
        if self.action_id_at:
            out["action_id_at"] = dict(self.action_id_at)
        if self.privilege:
            out["privilege"] = sorted(self.privilege)
        if messages:
            out["messages"] = dict(self.messages)
        out["sessions"] = sorted(self.sessions)
        return out


def build_catalogue(
    sessions: Iterable[tuple[str, bytes]], actions: list[ActionRecord]
) -> dict[str, Any]:
    """Classify every recorded message and collect header shapes (see docs)."""
    sent = {a.action_id: a for a in actions if a.action_id}
    events: dict[str, _Shape] = {}
    responses: dict[str, dict[str, _Shape]] = {}
    items: dict[str, dict[str, _Shape]] = {}
    completes: dict[str, dict[str, _Shape]] = {}
    list_actions: set[str] = set()
    greetings: set[str] = set()
    for session, raw in sessions:
        greeting, messages = split_messages(raw)
        greetings.add(greeting)
        open_lists: set[str] = set()
        for msg in messages:
            action_id = msg.action_id
            action = sent.get(action_id)
            if msg.response:  # (OriginateResponse is an event: .response is "" for events)
                if action is not None:
                    name = action.action
                elif msg.get("Message") in ("Authentication accepted", "Authentication failed"):
                    name = "Login"  # sent by AmiClient.connect, not through the recorder
                elif msg.response == "Goodbye":
                    name = "Logoff"
                else:
                    name = "(unknown action)"
                shape = responses.setdefault(name, {}).setdefault(msg.response, _Shape())
                shape.add(msg, session)
                if msg.get("EventList").lower() == "start":
                    open_lists.add(action_id)
                    list_actions.add(name)
                continue
            if action_id in open_lists and action is not None:
                if msg.get("EventList").lower() == "complete":
                    open_lists.discard(action_id)
                    completes.setdefault(action.action, {}).setdefault(msg.event, _Shape()).add(
                        msg, session
                    )
                else:
                    items.setdefault(action.action, {}).setdefault(msg.event, _Shape()).add(
                        msg, session
                    )
                continue
            events.setdefault(msg.event or "(none)", _Shape()).add(msg, session)
    catalogue_actions: dict[str, Any] = {}
    for name in sorted(responses):
        entry: dict[str, Any] = {
            "list": name in list_actions,
            "responses": {
                kind: shape.as_json(messages=True) for kind, shape in responses[name].items()
            },
        }
        if name in items:
            entry["items"] = {ev: shape.as_json() for ev, shape in sorted(items[name].items())}
        if name in completes:
            entry["complete"] = {
                ev: shape.as_json() for ev, shape in sorted(completes[name].items())
            }
        catalogue_actions[name] = entry
    return {
        "greeting": sorted(greetings),
        "events": {name: shape.as_json() for name, shape in sorted(events.items())},
        "actions": catalogue_actions,
    }


# =========================================================================== output


def _has_timestamp(raw: Mapping[str, bytes], action_id: str) -> bool:
    marker = f"ActionID: {action_id}\r\n".encode()
    for data in raw.values():
        start = data.find(marker)
        if start >= 0:
            end = data.find(b"\r\n\r\n", start)
            return b"\r\nTimestamp: " in data[start:end]
    return False


def redact(raw: bytes, secrets: Iterable[str]) -> bytes:
    for secret in secrets:
        raw = raw.replace(secret.encode(), REDACTED.encode())
    return raw


def write_stream(out: Path, filename: str, data: bytes) -> Path:
    """Write raw bytes; gzip (deterministic header) above 2 MB."""
    for stale in (out / filename, out / f"{filename}.gz"):
        stale.unlink(missing_ok=True)
    if len(data) > GZIP_ABOVE:
        path = out / f"{filename}.gz"
        with (
            path.open("wb") as fh,
            gzip.GzipFile(filename=filename, mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz,
        ):
            gz.write(data)
        return path
    path = out / filename
    path.write_bytes(data)
    return path


def write_readme(
    out: Path,
    *,
    version: str,
    ami_version: str,
    started: str,
    files: dict[str, tuple[Path, int]],
    calls: list[str],
    event_counts: Counter[str],
    observations: dict[str, Any],
) -> None:
    lines = [
        "# Asterisk 22 AMI recordings",
        "",
        "Ground truth for the simulated PBX, the conformance test and the ingest benchmark.",
        "Regenerate with `python3 scripts/record_asterisk_stream.py` (root, chroot built by",
        "`scripts/asterisk-chroot.sh`); the format of `fields.json` is described in",
        "`docs/asterisk-tier.md`.",
        "",
        f"* Asterisk: `{version}` (Debian sid package, chroot), AMI `{ami_version}`",
        f"* Recorded: {started} UTC (load, drain, graceful shutdown)",
        "* Configuration: tests/integration/asterisk_conf/ (queues hotline/billing/repairs,",
        "  Local-channel agents agent1..agent8, trunks carrier-a/carrier-b, outbound",
        "  registration on carrier-a, desk phone desk-201)",
        "* Calls (sipp batches; patience = how long a caller stays before hanging up):",
        *[f"  * {line}" for line in calls],
        "* Story: sync; pause with reason, dynamic member add/penalty/remove, error cases;",
        "  sync under load; async Originate (ok + failing); agent blind transfer; surge;",
        "  carrier-b down/up; AstDB overflow flag; Redirect and Hangup of waiting callers;",
        "  `module reload app_queue.so`; carrier-a down (PJSIPRegister while dead) and up;",
        "  `module reload res_pjsip.so`; final sync; graceful `core stop now` (Shutdown).",
        "  Every action with its outcome is in `actions.json`.",
        "",
        "| file | bytes | what |",
        "|---|---|---|",
    ]
    what = {
        "stream.ami": "`ccops` user exactly as config/asterisk/manager.conf (filters on)",
        "stream-unfiltered.ami": "`tier-admin` (read=all, no filter), first part of the load",
        "monitor.ami": "`monitor` (read-only; events on only around the Originate)",
    }
    for name, (path, size) in files.items():
        lines.append(f"| `{path.name}` | {size} | {what.get(name, '')} |")
    lines += [
        "| `actions.json` | | actions sent: session, t, ActionID, fields, outcome |",
        "| `fields.json` | | header catalogue (events, list actions, responses) |",
        "",
        "Passwords Asterisk prints (outbound registration and desk phone auth) were",
        f"replaced by `{REDACTED}` in the bytes; nothing else was changed.",
        "",
        "## Events in stream.ami",
        "",
        ", ".join(f"{name} {count}" for name, count in event_counts.most_common()),
        "",
        "## Observations checked while recording",
        "",
    ]
    for key, value in observations.items():
        lines.append(f"* {key}: {value}")
    (out / "README.md").write_text("\n".join(lines) + "\n")


# =========================================================================== main


async def drive(tier: AsteriskTier, args: argparse.Namespace) -> tuple[Recorder, str]:
    """Boot, open the sessions, play the scenario, shut Asterisk down gracefully."""
    boot = tier.start()
    version = tier.cli("core show version").strip()
    await asyncio.to_thread(tier.wait_settled)
    await asyncio.to_thread(tier.wait_registered, 15)
    rec = Recorder(tier)
    rec.log(f"Asterisk up in {boot:.2f}s")

    # Wrong secret: Asterisk answers after a deliberate delay.
    ep = tier.endpoint("ccops")
    began = time.monotonic()
    try:
        await AmiClient.connect(ep.host, ep.port, ep.username, "wrong", events=False)
    except AmiError as exc:
        rec.observations["wrong secret"] = f"{exc} after {time.monotonic() - began:.2f}s"

    await rec.open("ccops", "ccops", "stream.ami", events=True)
    unfiltered = await rec.open("unfiltered", "tier-admin", "stream-unfiltered.ami", True)
    await rec.open("monitor", "monitor", "monitor.ami", events=False)

    async def close_unfiltered() -> None:
        await rec.until(5 + args.unfiltered_seconds)
        await unfiltered.ami.close()
        unfiltered.closed_at = rec.now()
        rec.log("unfiltered session logged off")

    async def monitor_window() -> None:
        # Events on for the monitor around the Originate (broadcast ActionIDs, note 6).
        await rec.until(5 + 20 * args.load_seconds / 170.0 - 1)
        await rec.act("monitor", "Events", {"EventMask": "on"}, "window for Originate")

    await asyncio.gather(scenario(rec, args.load_seconds), close_unfiltered(), monitor_window())

    # Graceful shutdown while ccops and monitor are connected: Shutdown event, then EOF.
    rec.log("core stop now")
    await asyncio.to_thread(tier.stop)
    await asyncio.sleep(0.5)
    for session in rec.sessions.values():
        if session.client is not None:
            await session.client.close(logoff=False)
    rec.observations["session length"] = f"{rec.now():.0f}s"
    return rec, version


def save(rec: Recorder, tier: AsteriskTier, out: Path, version: str, started: str) -> None:
    """Redact, write the streams, the action log, the catalogue and the README."""
    out.mkdir(parents=True, exist_ok=True)
    calls: list[str] = []
    for caller in rec.callers:
        st = caller.stats()
        calls.append(
            f"{rec.batches[caller.name]} -> {st.created} placed, {st.successful} completed, "
            f"{st.failed} failed"
        )
    calls.append(f"total: {sum(c.stats().created for c in rec.callers)} calls")

    secrets = tier.redactions
    raw = {name: redact(bytes(s.raw), secrets) for name, s in rec.sessions.items()}
    for data in raw.values():
        for secret in secrets:
            assert secret.encode() not in data
    files: dict[str, tuple[Path, int]] = {}
    for name, session in rec.sessions.items():
        path = write_stream(out, session.filename, raw[name])
        files[session.filename] = (path, path.stat().st_size)

    log = []
    for a in rec.actions:
        log.append(
            {
                "session": a.session,
                "user": rec.sessions[a.session].user,
                "t": a.t,
                "action": a.action,
                "action_id": a.action_id,
                "fields": [(k, REDACTED if v in secrets else v) for k, v in a.fields],
                "note": a.note,
                "response": a.response,
                "message": a.message,
                "items": a.items,
                "complete": a.complete,
            }
        )
    (out / "actions.json").write_text(json.dumps(log, indent=1) + "\n")

    greeting, ccops_msgs = split_messages(raw["ccops"])
    ami_version = greeting.rsplit("/", 1)[-1]
    catalogue = {
        "format": 1,
        "asterisk_version": version,
        "ami_version": ami_version,
        "recorded": started,
        "sources": {files[s.filename][0].name: s.user for s in rec.sessions.values()},
        **build_catalogue(
            [(rec.sessions[name].user, data) for name, data in raw.items()], rec.actions
        ),
    }
    (out / "fields.json").write_text(json.dumps(catalogue, indent=1) + "\n")

    event_counts = Counter(m.event for m in ccops_msgs if m.event)
    waits = {q: str(w) for q, w in tier.settings.max_wait_s.items()}
    timeouts = sum(
        1
        for m in ccops_msgs
        if m.event == "QueueCallerAbandon" and m.get("HoldTime") == waits.get(m.get("Queue"))
    )
    rec.observations["queue outcomes (ccops stream)"] = (
        f"{event_counts['QueueCallerJoin']} joins, {event_counts['AgentConnect']} answered, "
        f"{event_counts['QueueCallerAbandon']} QueueCallerAbandon of which ~{timeouts} are "
        "queue timeouts (HoldTime = the queue's max wait: Asterisk reports a timeout as an "
        "abandon)"
    )
    _, unf_msgs = split_messages(raw["unfiltered"])
    unf_counts = Counter(m.event for m in unf_msgs if m.event)
    rec.observations["unfiltered session"] = f"{len(unf_msgs)} messages; top: " + ", ".join(
        f"{n} {c}" for n, c in unf_counts.most_common(8)
    )
    dup = [m.event for m in unf_msgs if len(set(m.names())) != len(m.names())]
    rec.observations["messages with a repeated header (unfiltered)"] = dict(Counter(dup))
    rec.observations["events with Timestamp/SystemName headers"] = sum(
        1 for m in ccops_msgs if m.event and ("Timestamp" in m or "SystemName" in m)
    )
    rec.observations["responses with a Timestamp header"] = sorted(
        {a.action for a in rec.actions if a.response and _has_timestamp(raw, a.action_id)}
    )
    rec.observations["messages containing a bare LF (not CRLF)"] = [
        m.get("Message") for m in ccops_msgs if "\n" in "".join(v for _, v in m.headers)
    ]
    write_readme(
        out,
        version=version,
        ami_version=ami_version,
        started=started,
        files=files,
        calls=calls,
        event_counts=event_counts,
        observations=rec.observations,
    )
    print(json.dumps({k: v[1] for k, v in files.items()}, indent=1))
    print(f"timings: {tier.timings}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument(
        "--load-seconds", type=float, default=170.0, help="how long calls are generated"
    )
    parser.add_argument(
        "--unfiltered-seconds",
        type=float,
        default=60.0,
        help="how long the unfiltered read=all session stays connected",
    )
    parser.add_argument("--keep", action="store_true", help="keep the tier's run directory")
    args = parser.parse_args()
    settings = TierSettings(
        agent_talk_s=(5, 20),
        max_wait_s={"hotline": 40, "billing": 50, "repairs": 30},
        desk_phone=False,  # registered during the recording, after an empty PJSIPShowContacts
    )
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    with AsteriskTier(settings=settings, keep_files=args.keep) as tier:
        print(f"tier run dir: {tier.run_dir}", flush=True)
        rec, version = asyncio.run(drive(tier, args))
        save(rec, tier, args.out, version, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
