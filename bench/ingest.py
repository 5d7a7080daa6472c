"""Full-pipeline ingest benchmark: the daemon's AMI path vs stock panoramisk, same run.

What is measured: a feeder process replays the recorded real-Asterisk stream
(``tests/data/asterisk22/stream.ami.gz``, the ``ccops`` user's filtered session) over a
loopback TCP socket as fast as ``sendall`` allows. The measured process is the consumer,
one asyncio loop on one core:

* ``pipeline`` — :class:`ccops.daemon.pbx_session.PbxSession`, wired exactly as the daemon
  wires it: :class:`~ccops.pbx.link.AmiLink` → :func:`~ccops.pbx.normalize.normalize` →
  :class:`~ccops.core.reducer.Reducer` (the live model) → :class:`~ccops.core.kpi.KpiEngine`,
  plus the daemon's once-a-second time-driven work (model expiry, KPI tick, closed-bucket
  drain). It logs in and runs its full sync first (the feeder answers the list actions
  with empty lists); only the streaming is timed.
* ``stock`` — panoramisk 1.4 ``Manager`` with one empty sync ``'*'`` handler, on the same
  bytes (the baseline of the issue's ≥ 1.6× target).

The clock runs from a ``BenchStart`` event to a ``BenchEnd`` event; rates are stream
frames ÷ wall time. Memory: the consumer's RSS is read from ``/proc/self/status`` every
``--sample-every`` events; "growth" is RSS at the last sample minus RSS at the first
(100 k → 1 M events with the defaults), which must stay flat.

Keeping the content realistic when the 219 s recording is repeated: each repetition is
the same PBX later in time, not a replay of the same calls. Every ``…Uniqueid`` /
``…Linkedid`` is shifted (``epoch.seq`` → ``epoch + r·span``), channel name sequence
numbers (``PJSIP/carrier-a-0000002f``) and bridge ids are shifted per repetition, so each
repetition's 359 queue callers are new calls the reducer and the KPIs count, not
duplicates they drop. ``Event: Reload`` frames (the recording's two ``module reload``
steps) are left out: each triggers a full resync, which only a real PBX can answer
truthfully; the feeder's empty lists would sweep the model in the middle of the replay.
``Shutdown`` is left out too (it ends the session).

Modes are interleaved across ``--reps`` repetitions; the final line uses each mode's best
run (machine noise on shared cores only ever slows a run down). Use::

    python bench/ingest.py                      # 1 M events, 3 runs of each mode
    python bench/ingest.py --events 2000 --reps 1 --sample-every 500   # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
from ingest_link import (  # noqa: E402
    END,
    GREETING,
    START,
    load_stream,
    prepare_stream,
    run_feeder_and_consumer,
)

REPO = _HERE.parent
DEFAULT_STREAM = REPO / "tests" / "data" / "asterisk22" / "stream.ami.gz"
MODES = ("pipeline", "stock")
TARGET_EVENTS_PER_S = 60_000
TARGET_RATIO = 1.6
#: RSS growth over the sampled window that still counts as flat (allocator noise).
FLAT_RSS_MB = 5.0
#: Frames left out of every repetition (see the module docstring).
SKIPPED_EVENTS = (b"Event: Reload\r\n", b"Event: Shutdown\r\n")


# --------------------------------------------------------------------------- the stream

_UID = re.compile(rb"^(?!Bridge)\w*(?:Uniqueid|Linkedid): ([^\r\n<]+)\r$", re.MULTILINE)
_CHANNEL = re.compile(rb"(?:PJSIP|Local|SIP|IAX2|DAHDI)/[^\r\n;,/ ]*-([0-9a-f]{8})(?=[;\r,])")
_NUMERIC_UID = re.compile(rb"\d+\.\d+$")
_BRIDGE = re.compile(rb"^Bridge(?:Uniqueid|Id): ([0-9a-f]{8})-[0-9a-f-]{27}\r$", re.MULTILINE)


class StreamTemplate:
    """The recording split into literal bytes and call identifiers, so that repetition
    ``r`` is produced by one ``join`` with that repetition's identifiers.

    Identifiers are rewritten by kind: a Uniqueid/Linkedid ``E.S`` becomes
    ``(E + r·span).S`` (``span`` = the recording's range of epochs + 1, so repetitions
    never collide), one set by an Originate's ``ChannelId`` (``ccops-orig-1;2``) gets
    ``-r<r>`` (``<unknown>`` stays), a channel sequence ``0000002f`` is shifted by
    ``r·(max + 1)``, a bridge id's first group by ``r``.
    """

    def __init__(self, body: bytes) -> None:
        spans: list[tuple[int, int, str, bytes]] = []
        for m in _UID.finditer(body):
            kind = "uid" if _NUMERIC_UID.match(m.group(1)) else "named"
            spans.append((m.start(1), m.end(1), kind, m.group(1)))
        for m in _CHANNEL.finditer(body):
            spans.append((m.start(1), m.end(1), "chan", m.group(1)))
        for m in _BRIDGE.finditer(body):
            spans.append((m.start(1), m.end(1), "bridge", m.group(1)))
        spans.sort()
        self.literals: list[bytes] = []
        self.keys: list[tuple[str, bytes]] = []
        pos = 0
        for start, end, kind, value in spans:
            if start < pos:
                raise ValueError(f"overlapping identifiers at byte {start}")
            self.literals.append(body[pos:start])
            self.keys.append((kind, value))
            pos = end
        self.literals.append(body[pos:])
        self.distinct = sorted(set(self.keys))
        epochs = [int(v.split(b".")[0]) for k, v in self.distinct if k == "uid"]
        self.uid_span = (max(epochs) - min(epochs) + 1) if epochs else 1
        seqs = [int(v, 16) for k, v in self.distinct if k == "chan"]
        self.chan_span = (max(seqs) + 1) if seqs else 1

    def identifiers(self) -> int:
        return len(self.keys)

    def _rewrite(self, kind: str, value: bytes, rep: int) -> bytes:
        if kind == "uid":
            epoch, _, seq = value.partition(b".")
            return b"%d.%s" % (int(epoch) + rep * self.uid_span, seq)
        if kind == "chan":
            return b"%08x" % ((int(value, 16) + rep * self.chan_span) & 0xFFFFFFFF)
        if kind == "named":  # an Originate's own ChannelId, e.g. ccops-orig-1;2
            head, sep, tail = value.partition(b";")
            return b"%s-r%d%s%s" % (head, rep, sep, tail) if rep else value
        return b"%08x" % ((int(value, 16) + rep) & 0xFFFFFFFF)

    def render(self, rep: int) -> bytes:
        """Repetition ``rep`` (0 = the recording as is)."""
        table = {key: self._rewrite(key[0], key[1], rep) for key in self.distinct}
        pieces: list[bytes] = [b""] * (2 * len(self.keys) + 1)
        pieces[0::2] = self.literals
        pieces[1::2] = [table[key] for key in self.keys]
        return b"".join(pieces)


def build_stream(raw: bytes) -> tuple[bytes, int]:
    """The recording as complete frames, without the frames this benchmark skips."""
    body, _frames = prepare_stream(raw)
    parts = [p for p in body.split(b"\r\n\r\n") if p and not p.startswith(SKIPPED_EVENTS)]
    if not parts:
        raise ValueError("the stream holds no usable AMI message")
    return b"\r\n\r\n".join(parts) + b"\r\n\r\n", len(parts)


def write_repeated(template: StreamTemplate, repeat: int, path: Path) -> int:
    """Write ``repeat`` repetitions to ``path`` (rendered before any clock runs)."""
    size = 0
    with path.open("wb") as out:
        for rep in range(repeat):
            size += out.write(template.render(rep))
    return size


# --------------------------------------------------------------------------- results


@dataclass
class RunResult:
    mode: str
    events_per_s: float
    cpu_us_per_event: float
    seconds: float
    delivered: int  # messages handed to the handler
    rss_samples: list[tuple[int, float]]  # (events seen, RSS MB)
    rss_peak_mb: float
    checks: dict[str, Any] = field(default_factory=dict)  # pipeline: what the model saw

    @property
    def rss_growth_mb(self) -> float | None:
        if len(self.rss_samples) < 2:
            return None
        return round(self.rss_samples[-1][1] - self.rss_samples[0][1], 1)


@dataclass
class Report:
    stream_events: int
    stream_bytes: int
    repeat: int
    runs: list[RunResult] = field(default_factory=list)

    def best(self, mode: str) -> RunResult:
        return max((r for r in self.runs if r.mode == mode), key=lambda r: r.events_per_s)

    def cpu_rate(self, mode: str) -> float:
        """Events per second of consumer CPU time, best run: what one dedicated core does
        (time the process spent descheduled by other load does not count)."""
        return 1e6 / min(r.cpu_us_per_event for r in self.runs if r.mode == mode)

    def modes(self) -> list[str]:
        return list(dict.fromkeys(r.mode for r in self.runs))

    def summary(self) -> str:
        lines = [
            f"stream: {self.stream_events:,} events/run ({self.repeat} repetitions), "
            f"{self.stream_bytes / self.stream_events:.0f} B/event",
            f"{'mode':<9} {'best ev/s':>10} {'all runs ev/s':>30} {'CPU µs/ev':>9} "
            f"{'peak RSS MB':>11} {'RSS growth MB':>13}",
        ]
        for mode in self.modes():
            runs = [r for r in self.runs if r.mode == mode]
            best = self.best(mode)
            growth = [g for g in (r.rss_growth_mb for r in runs) if g is not None]
            lines.append(
                f"{mode:<9} {best.events_per_s:>10,.0f} "
                f"{', '.join(f'{r.events_per_s:,.0f}' for r in runs):>30} "
                f"{best.cpu_us_per_event:>9.2f} {max(r.rss_peak_mb for r in runs):>11.1f} "
                f"{(f'{max(growth):+.1f}' if growth else 'n/a'):>13}"
            )
        for run in self.runs:
            if run.rss_samples:
                first, last = run.rss_samples[0], run.rss_samples[-1]
                lines.append(
                    f"  {run.mode} RSS: {first[1]:.1f} MB at {first[0]:,} events → "
                    f"{last[1]:.1f} MB at {last[0]:,} events"
                )
        if {"pipeline", "stock"} <= set(self.modes()):
            ours, stock = self.cpu_rate("pipeline"), self.cpu_rate("stock")
            lines.append(
                f"per CPU second of the consumer (robust to a busy machine): pipeline "
                f"{ours:,.0f} events/s, stock {stock:,.0f} events/s, ratio {ours / stock:.2f}"
            )
        if "pipeline" in self.modes():
            checks = self.best("pipeline").checks
            lines.append("pipeline model/KPI check (best run): " + json.dumps(checks))
        return "\n".join(lines)

    def verdict(self) -> list[str]:
        """The issue's targets, each with PASS/MISS (informational: no exit code)."""
        if not {"pipeline", "stock"} <= set(self.modes()):
            return []
        ours, stock = self.best("pipeline"), self.best("stock")
        ratio = ours.events_per_s / stock.events_per_s
        growth = ours.rss_growth_mb
        out = [
            f"target ≥ {TARGET_EVENTS_PER_S:,} events/s: "
            f"{'PASS' if ours.events_per_s >= TARGET_EVENTS_PER_S else 'MISS'}",
            f"target ≥ {TARGET_RATIO}× stock: {'PASS' if ratio >= TARGET_RATIO else 'MISS'}",
        ]
        if growth is None:
            out.append("flat memory: not measured (too few events for two RSS samples)")
        else:
            flat = growth <= FLAT_RSS_MB
            out.append(
                f"flat memory (growth ≤ {FLAT_RSS_MB} MB over the samples): "
                f"{'PASS' if flat else 'MISS'} ({growth:+.1f} MB)"
            )
        return out

    def final_line(self) -> str:
        ours, stock = self.best("pipeline"), self.best("stock")
        return (
            f"ingest: {ours.events_per_s:.0f} events/s; stock panoramisk empty handler "
            f"{stock.events_per_s:.0f} events/s; ratio {ours.events_per_s / stock.events_per_s:.2f}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream_events": self.stream_events,
            "stream_bytes": self.stream_bytes,
            "repeat": self.repeat,
            "runs": [{**asdict(r), "rss_growth_mb": r.rss_growth_mb} for r in self.runs],
        }


# --------------------------------------------------------------------------- feeder


def _action_reply(block: bytes) -> bytes:
    """What the feeder answers to one action: Login/Ping succeed, lists come back empty."""
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    action = headers.get("action", "")
    aid = headers.get("actionid", "")
    if action.lower() == "login":
        return (
            f"Response: Success\r\nActionID: {aid}\r\nMessage: Authentication accepted\r\n\r\n"
        ).encode()
    if action.lower() in ("ping", "logoff", "events"):
        return f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n".encode()
    return (
        f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n"
        f"Message: {action} will follow\r\n\r\n"
        f"Event: {action}Complete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
        "ListItems: 0\r\n\r\n"
    ).encode()


def _serve(path: str, out: Connection) -> None:
    """One client: greeting, answer every action (a reader thread), and once the client
    has been quiet for a moment (login and full sync done), stream the file."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(60)
    out.send(listener.getsockname()[1])
    client, _ = listener.accept()
    lock = threading.Lock()
    state = {"last_action": 0.0, "logged_in": False}

    def send(data: bytes) -> None:
        with lock:
            client.sendall(data)

    def reader() -> None:
        buf = b""
        try:
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while b"\r\n\r\n" in buf:
                    block, buf = buf.split(b"\r\n\r\n", 1)
                    if block.strip():
                        send(_action_reply(block))
                        state["last_action"] = time.monotonic()
                        state["logged_in"] = True
        except OSError:
            return

    send(GREETING)
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if state["logged_in"] and time.monotonic() - state["last_action"] > 0.5:
            break
    send(START)
    with open(path, "rb") as data:
        carry = b""
        while chunk := data.read(1 << 20):
            chunk = carry + chunk
            end = chunk.rfind(b"\r\n\r\n")
            if end < 0:  # no frame ends in this chunk yet
                carry = chunk
                continue
            carry = chunk[end + 4 :]
            send(chunk[: end + 4])  # whole frames only: action replies go between them
        if carry:
            send(carry)
    send(END)
    thread.join(600)  # until the client leaves
    client.close()
    listener.close()


# --------------------------------------------------------------------------- consumer


def _rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc."""
    current = peak = 0.0
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return current, peak


class _Probe:
    """The per-event bookkeeping both modes share: count, clock, RSS samples."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sample_every: int) -> None:
        self.count = 0
        self.started = False
        self.sample_every = sample_every
        self.next_sample = sample_every
        self.samples: list[tuple[int, float]] = []
        self.t0 = self.cpu0 = self.t1 = self.cpu1 = 0.0
        self.done: asyncio.Future[None] = loop.create_future()

    def lost(self, why: str) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(f"connection lost before BenchEnd: {why}"))

    def mark(self, event: str) -> None:
        """A BenchStart/BenchEnd frame (or an RSS sample point) was reached."""
        if event == "BenchStart":
            self.started = True
            self.count = 0
            self.t0, self.cpu0 = time.perf_counter(), time.process_time()
        elif event == "BenchEnd":
            self.t1, self.cpu1 = time.perf_counter(), time.process_time()
            if self.samples:  # the end of the window, so growth covers all of it
                self.samples.append((self.count, round(_rss_mb()[0], 1)))
            if not self.done.done():
                self.done.set_result(None)
        elif self.started:
            self.samples.append((self.count, round(_rss_mb()[0], 1)))
            self.next_sample += self.sample_every


async def _run_stock(port: int, probe: _Probe) -> dict[str, Any]:
    from panoramisk import Manager

    manager = Manager(
        host="127.0.0.1", port=port, username="bench", secret="bench",
        ping_delay=3600, ping_interval=3600, reconnect_timeout=3600,
        loop=asyncio.get_running_loop(),
    )  # fmt: skip

    def handler(_manager: Any, message: Any) -> None:
        event = message.event
        probe.count += 1
        if probe.count >= probe.next_sample or event in ("BenchStart", "BenchEnd"):
            probe.mark(event)

    manager.register_event("*", handler)
    manager.on_disconnect = lambda _manager, exc: probe.lost(f"panoramisk: {exc!r}")
    await manager.connect()
    await probe.done
    manager.close()
    return {}


async def _run_pipeline(port: int, probe: _Probe) -> dict[str, Any]:
    from ccops.config import KpiConfig, PbxConfig
    from ccops.core.clock import SystemClock
    from ccops.core.kpi import KpiEngine
    from ccops.daemon.pbx_session import PbxSession
    from ccops.pbx.link import LinkStatus
    from ccops.pbx.message import AmiMessage
    from ccops.pbx.normalize import HANDLED_EVENTS

    daemon_on_message = PbxSession._on_message

    class BenchSession(PbxSession):
        """The daemon's session; only the probe's bookkeeping is added per message."""

        ingest_events = HANDLED_EVENTS | {"BenchStart", "BenchEnd"}

        def _on_message(self, msg: AmiMessage, list_action: str | None) -> None:
            event = msg.headers.get("Event")
            if event == "BenchStart" or event == "BenchEnd":
                probe.mark(event)
                return
            daemon_on_message(self, msg, list_action)  # bound once: no super() per event
            probe.count += 1
            if probe.count >= probe.next_sample:
                probe.mark("")

    def on_link(status: LinkStatus) -> None:
        if status.state.value in ("down", "auth_failed"):
            probe.lost(status.detail)

    clock = SystemClock()
    kpi_config = KpiConfig()
    kpi = KpiEngine(kpi_config, clock)
    config = PbxConfig(
        name="bench", port=port, ping_interval=600, ping_timeout=600, action_timeout=60,
        reconcile_interval=0,
    )  # fmt: skip
    session = BenchSession(
        config, secret="bench", kpi=kpi, kpi_config=kpi_config, clock=clock, on_link=on_link
    )

    async def daemon_tick() -> None:
        # What Daemon.tick does for the model and the KPIs (alerts, store and publishing
        # are outside this benchmark), at the default publish_hz of 1.
        while True:
            await asyncio.sleep(1.0)
            now = clock.now()
            session.reducer.expire(session.state, now)
            kpi.tick(now)
            kpi.drain_closed()
            kpi.current_records()
            kpi.drain_closed_agents()
            kpi.current_agent_records()

    ticker = asyncio.create_task(daemon_tick())
    await session.start()
    try:
        await probe.done
    finally:
        ticker.cancel()
        await session.stop()
    today: dict[str, int] = {}
    for queue in kpi.snapshot("bench", intervals=0)["queues"].values():
        for key in ("offered", "answered", "abandoned", "timeouts", "transfers"):
            today[key] = today.get(key, 0) + queue["today"][key]
    diag = session.diagnostics()
    return {
        "kpi_today": today,
        "kpi_errors": kpi.errors,
        "normalize_errors": diag["normalize_errors"],
        "model_anomalies": diag["anomalies"],
        "unknown_events": diag["unknown_events"],
        "channels_at_end": len(session.state.channels),
        "syncs": diag["syncs"],
    }


def _client(
    mode: str, port: int, stream_events: int, sample_every: int, profile: str, out: Connection
) -> None:
    logging.basicConfig(level=logging.WARNING, format=f"[{mode}] %(levelname)s %(message)s")

    async def main() -> RunResult | str:
        probe = _Probe(asyncio.get_running_loop(), sample_every)
        runner: Callable[[int, _Probe], Any] = _run_stock if mode == "stock" else _run_pipeline
        try:
            checks = await asyncio.wait_for(runner(port, probe), 1800)
        except Exception as exc:
            return f"{mode}: {exc!r}"
        wall = probe.t1 - probe.t0
        return RunResult(
            mode=mode,
            events_per_s=stream_events / wall,
            cpu_us_per_event=(probe.cpu1 - probe.cpu0) / stream_events * 1e6,
            seconds=round(wall, 3),
            delivered=probe.count,
            rss_samples=probe.samples,
            rss_peak_mb=round(_rss_mb()[1], 1),
            checks=checks,
        )

    if profile and mode == "pipeline":
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, main())
        profiler.dump_stats(profile)
        out.send(result)
    else:
        out.send(asyncio.run(main()))


def _one_run(
    path: str, mode: str, stream_events: int, sample_every: int, profile: str = ""
) -> RunResult:
    result: RunResult = run_feeder_and_consumer(
        _serve,
        (path,),
        _client,
        lambda port, res_tx: (mode, port, stream_events, sample_every, profile, res_tx),
        mode,
        1900,
    )
    return result


def measure(
    raw: bytes,
    *,
    events: int,
    reps: int = 3,
    modes: Sequence[str] = MODES,
    sample_every: int = 100_000,
    progress: Callable[[str], None] | None = None,
    profile: str = "",
) -> Report:
    """Replay ``raw`` (a recording) as at least ``events`` frames per run, ``reps`` runs
    of each mode, interleaved."""
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"unknown modes {sorted(unknown)}; choose from {MODES}")
    body, frames = build_stream(raw)
    template = StreamTemplate(body)
    repeat = max(1, math.ceil(events / frames))
    with tempfile.TemporaryDirectory(prefix="ccops-bench-") as tmp:
        path = Path(tmp) / "stream.ami"
        size = write_repeated(template, repeat, path)
        report = Report(stream_events=frames * repeat, stream_bytes=size, repeat=repeat)
        for rep in range(reps):
            for mode in modes:
                run = _one_run(str(path), mode, report.stream_events, sample_every, profile)
                report.runs.append(run)
                if progress is not None:
                    progress(f"run {rep + 1}/{reps} {mode}: {run.events_per_s:,.0f} events/s")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per run (min)")
    parser.add_argument("--reps", type=int, default=3, help="runs of each mode (best counts)")
    parser.add_argument("--stream", type=Path, default=DEFAULT_STREAM, help=".ami or .ami.gz")
    parser.add_argument("--modes", default=",".join(MODES), help="pipeline,stock")
    parser.add_argument(
        "--sample-every", type=int, default=100_000, help="RSS sample interval (events)"
    )
    parser.add_argument("--json", type=Path, help="write the full report here")
    parser.add_argument(
        "--profile", type=Path, help="cProfile the pipeline consumer into this pstats file"
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.reps < 1 or args.sample_every < 1:
        parser.error("--events, --reps and --sample-every must be positive")
    modes = [m for m in args.modes.split(",") if m]
    try:
        raw = load_stream(args.stream)
    except OSError as exc:
        print(f"cannot read the stream {args.stream}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    report = measure(
        raw, events=args.events, reps=args.reps, modes=modes, sample_every=args.sample_every,
        progress=lambda line: print(line, flush=True),
        profile=str(args.profile or ""),
    )  # fmt: skip
    print(f"recorded stream {args.stream}")
    print(report.summary())
    for line in report.verdict():
        print(line)
    if args.json is not None:
        args.json.write_text(json.dumps(report.as_dict(), indent=2))
    if {"pipeline", "stock"} <= set(modes):
        print(report.final_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
