"""AMI ingest benchmark: our link vs stock panoramisk 1.4, in the same run.

What is measured (research §4 method, so the numbers compare): a server process streams a
block of raw AMI bytes over loopback TCP as fast as ``sendall`` allows, after a normal
greeting + Login exchange; a separate client process receives it and the clock runs from a
``BenchStart`` event to a ``BenchEnd`` event. Rates are *stream* events/s (frames in the
stream ÷ wall time), so a mode that drops noise before parsing gets credit for it. CPU is
the client's process time; RSS comes from ``/proc/self/status`` (growth = peak − RSS at
``BenchStart``).

Modes:

* ``stock`` — panoramisk 1.4 ``Manager`` with one empty sync ``'*'`` handler (the baseline);
* ``link`` — :class:`ccops.pbx.link.AmiLink`, every message to a sync ``on_message``;
* ``link-drop`` — the same with the pre-parse drop set (``NOISE_EVENTS``).

Every handler does the same minimal work (count, spot ``BenchEnd``). Modes are interleaved
across repetitions to spread machine noise; medians are reported.

Use::

    python bench/ingest_link.py --events 1000000 --reps 3
    python bench/ingest_link.py --stream tests/data/asterisk22/stream.ami.gz --repeat 20

or from another benchmark: ``measure_ingest(raw_bytes, repeat=..., reps=...)``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# The synthetic generator sits next to this file; make it importable however this module
# was reached (as a script, from bench/ingest.py, or by path from a test).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import ami_synth  # noqa: E402

MODES = ("stock", "link", "link-drop")
GREETING = b"Asterisk Call Manager/11.0.0\r\n"
START = b"Event: BenchStart\r\n\r\n"
END = b"Event: BenchEnd\r\n\r\n"


@dataclass
class RunResult:
    mode: str
    events_per_s: float
    cpu_us_per_event: float
    delivered: int  # messages handed to the handler (fewer with the drop set)
    rss_start_mb: float
    rss_peak_mb: float
    rss_growth_mb: float
    seconds: float


@dataclass
class IngestReport:
    stream_events: int  # frames per run (block frames × repeat)
    stream_bytes: int
    runs: list[RunResult] = field(default_factory=list)

    def by_mode(self) -> dict[str, list[RunResult]]:
        out: dict[str, list[RunResult]] = {}
        for run in self.runs:
            out.setdefault(run.mode, []).append(run)
        return out

    def median(self, mode: str) -> float:
        return statistics.median(r.events_per_s for r in self.by_mode()[mode])

    def ratios(self) -> dict[str, float]:
        """Median events/s of each mode divided by stock's (same run)."""
        modes = self.by_mode()
        if "stock" not in modes:
            return {}
        base = self.median("stock")
        return {m: round(self.median(m) / base, 2) for m in modes if m != "stock"}

    def summary(self) -> str:
        lines = [
            f"stream: {self.stream_events} events/run, "
            f"{self.stream_bytes / self.stream_events:.0f} B/event",
            f"{'mode':<10} {'events/s median':>16} {'min–max':>21} {'CPU µs/ev':>10} "
            f"{'peak RSS MB':>11} {'RSS growth MB':>13}",
        ]
        for mode, runs in self.by_mode().items():
            rates = [r.events_per_s for r in runs]
            lines.append(
                f"{mode:<10} {statistics.median(rates):>16,.0f} "
                f"{min(rates):>10,.0f}–{max(rates):<10,.0f} "
                f"{statistics.median(r.cpu_us_per_event for r in runs):>10.2f} "
                f"{max(r.rss_peak_mb for r in runs):>11.1f} "
                f"{max(r.rss_growth_mb for r in runs):>13.1f}"
            )
        ratios = self.ratios()
        if ratios:
            lines.append("vs stock: " + ", ".join(f"{m} ×{v}" for m, v in ratios.items()))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream_events": self.stream_events,
            "stream_bytes": self.stream_bytes,
            "runs": [asdict(r) for r in self.runs],
            "medians": {m: self.median(m) for m in self.by_mode()},
            "ratios": self.ratios(),
        }


# --------------------------------------------------------------------------- stream


def prepare_stream(raw: bytes) -> tuple[bytes, int]:
    """Complete frames only, without a greeting or Shutdown; returns (bytes, frames).

    A recording may start with the greeting line, end mid-message, and end with
    ``Event: Shutdown`` (the recorded Asterisk was stopped): the server sends its own
    greeting, and a Shutdown would end every client's session at the first repeat.
    """
    if raw.startswith(b"Asterisk Call Manager/"):
        raw = raw[raw.index(b"\r\n") + 2 :]
    end = raw.rfind(b"\r\n\r\n")
    if end < 0:
        raise ValueError("the stream holds no complete AMI message")
    parts = [
        part
        for part in raw[:end].split(b"\r\n\r\n")
        if part.strip() and not part.startswith(b"Event: Shutdown\r\n")
    ]
    if not parts:
        raise ValueError("the stream holds no complete AMI message")
    return b"\r\n\r\n".join(parts) + b"\r\n\r\n", len(parts)


def load_stream(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


# --------------------------------------------------------------------------- processes


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


def _reset_peak_rss() -> None:
    """Reset VmHWM so the peak covers the measured window only (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def _serve(path: str, repeat: int, out: Connection) -> None:
    """One client: greeting, answer its Login, pause, stream, then drain until it leaves."""
    data = Path(path).read_bytes()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(60)
    out.send(listener.getsockname()[1])
    client, _ = listener.accept()
    client.settimeout(120)
    client.sendall(GREETING)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = client.recv(4096)
        if not chunk:
            return
        buf += chunk
    action_id = ""
    for line in buf.split(b"\r\n\r\n", 1)[0].decode().split("\r\n"):
        if line.lower().startswith("actionid:"):
            action_id = line.split(":", 1)[1].strip()
    client.sendall(
        f"Response: Success\r\nActionID: {action_id}\r\n"
        "Message: Authentication accepted\r\n\r\n".encode()
    )
    time.sleep(0.3)  # let the client settle after login: only streaming is timed
    client.sendall(START)
    for _ in range(repeat):
        client.sendall(data)
    client.sendall(END)
    try:
        while client.recv(65536):
            pass
    except OSError:
        pass
    client.close()
    listener.close()


class _Probe:
    """The measured handler's work: count, and stamp BenchStart/BenchEnd."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.count = 0
        self.t0 = self.cpu0 = self.t1 = self.cpu1 = 0.0
        self.rss0 = 0.0
        self.done: asyncio.Future[None] = loop.create_future()

    def lost(self, why: str) -> None:
        """The connection ended before BenchEnd: fail the run now, not at the timeout."""
        if not self.done.done():
            self.done.set_exception(RuntimeError(f"connection lost before BenchEnd: {why}"))

    def seen(self, event: str) -> None:
        self.count += 1
        if event == "BenchStart":
            _reset_peak_rss()
            self.rss0 = _rss_mb()[0]
            self.count = 0
            self.t0, self.cpu0 = time.perf_counter(), time.process_time()
        elif event == "BenchEnd":
            self.t1, self.cpu1 = time.perf_counter(), time.process_time()
            if not self.done.done():
                self.done.set_result(None)


async def _run_stock(port: int, probe: _Probe) -> None:
    from panoramisk import Manager

    manager = Manager(
        host="127.0.0.1",
        port=port,
        username="bench",
        secret="bench",
        ping_delay=3600,
        ping_interval=3600,
        reconnect_timeout=3600,
        loop=asyncio.get_running_loop(),
    )

    def handler(_manager: Any, message: Any) -> None:
        probe.seen(message.event)

    manager.register_event("*", handler)
    manager.on_disconnect = lambda _manager, exc: probe.lost(f"panoramisk: {exc!r}")
    await manager.connect()
    await asyncio.wait_for(probe.done, 600)
    manager.close()


async def _run_link(port: int, probe: _Probe, drop: bool) -> None:
    from ccops.config import PbxConfig
    from ccops.core.clock import SystemClock
    from ccops.pbx.framing import NOISE_EVENTS
    from ccops.pbx.link import AmiLink

    def on_message(msg: Any, _list_name: str | None) -> None:
        probe.seen(msg.headers.get("Event", ""))

    link = AmiLink(
        PbxConfig(name="bench", port=port, ping_interval=600, action_timeout=60),
        secret="bench",
        on_message=on_message,
        on_state=lambda status: (
            probe.lost(status.detail) if status.state.value in ("down", "auth_failed") else None
        ),
        clock=SystemClock(),
        drop_events=NOISE_EVENTS if drop else frozenset(),
    )
    await link.start()
    await asyncio.wait_for(probe.done, 600)
    await link.stop()


def _client(mode: str, port: int, stream_events: int, out: Connection) -> None:
    async def main() -> RunResult | str:
        probe = _Probe(asyncio.get_running_loop())
        try:
            if mode == "stock":
                await _run_stock(port, probe)
            else:
                await _run_link(port, probe, drop=(mode == "link-drop"))
        except Exception as exc:
            return f"{mode}: {exc}"
        _current, peak = _rss_mb()
        wall = probe.t1 - probe.t0
        return RunResult(
            mode=mode,
            events_per_s=stream_events / wall,
            cpu_us_per_event=(probe.cpu1 - probe.cpu0) / stream_events * 1e6,
            delivered=probe.count - 1,  # minus BenchEnd
            rss_start_mb=round(probe.rss0, 1),
            rss_peak_mb=round(peak, 1),
            rss_growth_mb=round(max(0.0, peak - probe.rss0), 1),
            seconds=round(wall, 3),
        )

    out.send(asyncio.run(main()))


def run_feeder_and_consumer(
    serve: Callable[..., None],
    serve_args: tuple[Any, ...],
    consume: Callable[..., None],
    consume_args: Callable[[int, Connection], tuple[Any, ...]],
    mode: str,
    timeout: float,
) -> Any:
    """One measured run in two spawned processes: a feeder serving the stream on a loopback
    port, and the consumer under test, which sends back its result (or an error string).

    Both benchmarks (link only here, full pipeline in ``ingest.py``) run this way so the
    measured process does nothing but consume; both processes are always reaped.
    """
    ctx = mp.get_context("spawn")
    port_rx, port_tx = ctx.Pipe(duplex=False)
    res_rx, res_tx = ctx.Pipe(duplex=False)
    server = ctx.Process(target=serve, args=(*serve_args, port_tx), daemon=True)
    server.start()
    try:
        if not port_rx.poll(30):
            raise RuntimeError("benchmark feeder did not start")
        port = port_rx.recv()
        client = ctx.Process(target=consume, args=consume_args(port, res_tx), daemon=True)
        client.start()
        try:
            if not res_rx.poll(timeout):
                raise RuntimeError(f"{mode}: no result within {timeout:.0f} s")
            result = res_rx.recv()
            if isinstance(result, str):
                raise RuntimeError(f"benchmark run failed: {result}")
            return result
        finally:
            client.join(10)
            if client.is_alive():
                client.kill()
    finally:
        server.join(10)
        if server.is_alive():
            server.kill()


def _one_run(path: str, repeat: int, mode: str, stream_events: int, timeout: float) -> RunResult:
    result: RunResult = run_feeder_and_consumer(
        _serve,
        (path, repeat),
        _client,
        lambda port, res_tx: (mode, port, stream_events, res_tx),
        mode,
        timeout,
    )
    return result


def measure_ingest(
    stream: bytes,
    *,
    repeat: int = 1,
    reps: int = 3,
    modes: Sequence[str] = MODES,
    timeout: float = 900.0,
) -> IngestReport:
    """Serve ``stream`` (raw AMI bytes) ``repeat`` times per run over loopback and measure
    each mode ``reps`` times, interleaved. Returns every run plus medians and ratios."""
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"unknown modes {sorted(unknown)}; choose from {MODES}")
    body, frames = prepare_stream(stream)
    report = IngestReport(stream_events=frames * repeat, stream_bytes=len(body) * repeat)
    with tempfile.NamedTemporaryFile(prefix="ami-stream-", suffix=".ami") as tmp:
        tmp.write(body)
        tmp.flush()
        for _ in range(reps):
            for mode in modes:
                report.runs.append(_one_run(tmp.name, repeat, mode, report.stream_events, timeout))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="synthetic events per run")
    parser.add_argument("--block", type=int, default=100_000, help="synthetic block size")
    parser.add_argument("--stream", type=Path, help="a recorded stream (.ami or .ami.gz)")
    parser.add_argument("--repeat", type=int, default=1, help="times the recording is sent")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", type=Path, help="write the full report here")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    if args.stream is not None:
        raw = load_stream(args.stream)
        repeat = args.repeat
        label = f"recorded stream {args.stream}"
    else:
        block = min(args.block, args.events)
        if args.events % block:
            parser.error("--events must be a multiple of --block")
        raw = ami_synth.synthetic_stream(block)
        repeat = args.events // block
        label = f"SYNTHETIC stream ({block} events × {repeat})"
    report = measure_ingest(raw, repeat=repeat, reps=args.reps, modes=modes)
    print(label)
    print(report.summary())
    if args.json is not None:
        args.json.write_text(json.dumps({"label": label, **report.as_dict()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
