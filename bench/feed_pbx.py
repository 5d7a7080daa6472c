"""A paced AMI load generator: the recorded real-Asterisk stream at a chosen event rate,
plus timestamped marker events, served to the daemon as its PBX over TCP.

Why a separate process and not the embedded simulator: at 13 000 events/s the simulator's
own call generation shares the daemon's core and collapses first (docs/performance.md), so
a console benchmark would measure the simulator. Here the daemon connects to this process
exactly as to an Asterisk (``[[pbx]]`` with host/port/secret), logs in, runs its full
sync, and then reads real Asterisk 22 frames at ``rate`` events/s.

The stream and its rewriting come from :mod:`ingest` (imported, not copied): each
repetition of the recording gets new Uniqueids/channel names, so it is the same PBX later
in time, not duplicates. Action replies (login, ping, list actions answered empty) are
``ingest._action_reply``. Pacing: every ``TICK_S`` the feeder sends the frames that are
due (``rate × elapsed`` minus what was sent); if the daemon does not read fast enough, TCP
back-pressure blocks ``sendall`` and the rate reached (counted by the daemon) falls below
the rate asked, which the benchmark reports.

Markers: a dedicated member ``MARK_IFACE`` is added to ``MARK_QUEUE`` once, then every
``marker_every`` seconds a ``QueueMemberPause`` with ``Reason: m<epoch-ms>`` is sent for it
(the time it is written to the socket): each marker changes the visible pause-reason cell.
No other frame touches that member.
"""

from __future__ import annotations

import random
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
from ingest import DEFAULT_STREAM, StreamTemplate, _action_reply, build_stream  # noqa: E402
from ingest_link import GREETING, load_stream  # noqa: E402

MARK_QUEUE = "billing"
MARK_IFACE = "Local/0-bench-marker@agents/n"  # sorts first: the benchmark's rule picks it
TICK_S = 0.005


def member_frame(event: str, *, paused: bool, reason: str) -> bytes:
    """One queue-member event for the marker member, as Asterisk 22 words it."""
    return (
        f"Event: {event}\r\nPrivilege: agent,all\r\nQueue: {MARK_QUEUE}\r\n"
        f"MemberName: Bench Marker\r\nInterface: {MARK_IFACE}\r\n"
        f"StateInterface: {MARK_IFACE}\r\nMembership: dynamic\r\nPenalty: 0\r\n"
        f"CallsTaken: 0\r\nLastCall: 0\r\nLastPause: 0\r\nLoginTime: 0\r\nInCall: 0\r\n"
        f"Status: 1\r\nPaused: {int(paused)}\r\nPausedReason: {reason}\r\n"
        f"Reason: {reason}\r\nRinginuse: 0\r\nWrapuptime: 0\r\n\r\n"
    ).encode()


class Frames:
    """An endless supply of rewritten frames, one repetition rendered at a time."""

    def __init__(self, template: StreamTemplate) -> None:
        self.template = template
        self.rep = 0
        self.frames: list[bytes] = []
        self.pos = 0

    def take(self, n: int) -> bytes:
        out: list[bytes] = []
        while n > 0:
            if self.pos >= len(self.frames):
                body = self.template.render(self.rep)
                self.rep += 1
                self.frames = [f + b"\r\n\r\n" for f in body.split(b"\r\n\r\n") if f]
                self.pos = 0
            chunk = self.frames[self.pos : self.pos + n]
            self.pos += len(chunk)
            n -= len(chunk)
            out.extend(chunk)
        return b"".join(out)


def serve(conn: Connection, stream: str = "") -> None:
    """Process entry point: send the port, accept one daemon, answer its actions, then obey
    the pipe: ``("rate", events_per_s)`` sets the pace (the marker member is added before
    the first frame), ``("mark", seconds)`` starts markers, ``"stats"`` answers counters,
    ``"stop"`` ends."""
    body, _n = build_stream(load_stream(Path(stream) if stream else DEFAULT_STREAM))
    frames = Frames(StreamTemplate(body))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    conn.send(listener.getsockname()[1])
    client, _ = listener.accept()
    lock = threading.Lock()
    state = {"rate": 0.0, "stop": False, "mark_every": 0.0, "sent": 0, "markers": 0}

    def send(data: bytes) -> None:
        with lock:
            client.sendall(data)

    def reader() -> None:
        buf = b""
        try:
            while chunk := client.recv(65536):
                buf += chunk
                while b"\r\n\r\n" in buf:
                    block, buf = buf.split(b"\r\n\r\n", 1)
                    if block.strip():
                        send(_action_reply(block))
        except OSError:
            return

    def control() -> None:
        while not state["stop"]:
            cmd = conn.recv()
            if isinstance(cmd, tuple) and cmd[0] == "rate":
                if not state["rate"]:
                    send(member_frame("QueueMemberAdded", paused=False, reason=""))
                state["rate"] = float(cmd[1])
            elif isinstance(cmd, tuple) and cmd[0] == "mark":
                state["mark_every"] = float(cmd[1])
            elif cmd == "stats":
                conn.send({"sent": state["sent"], "markers": state["markers"]})
            elif cmd == "stop":
                state["stop"] = True

    send(GREETING)
    threading.Thread(target=reader, daemon=True).start()
    threading.Thread(target=control, daemon=True).start()
    rng = random.Random(7)
    while not state["rate"] and not state["stop"]:
        time.sleep(0.01)
    last = time.monotonic()
    budget = 0.0  # frames due and not yet sent (a slow reader is not owed a burst later)
    next_mark = 0.0
    try:
        while not state["stop"]:
            now = time.monotonic()
            budget = min(budget + float(state["rate"]) * (now - last), float(state["rate"]))
            last = now
            due = int(budget)
            if due > 0:
                send(frames.take(due))
                budget -= due
                state["sent"] = int(state["sent"]) + due
            every = float(state["mark_every"])
            if every and now >= next_mark:
                if next_mark:
                    reason = f"m{int(time.time() * 1000)}"
                    send(member_frame("QueueMemberPause", paused=True, reason=reason))
                    state["markers"] = int(state["markers"]) + 1
                next_mark = now + every * rng.uniform(0.7, 1.3)
            time.sleep(TICK_S)
    except OSError:
        pass
    client.close()
    listener.close()
