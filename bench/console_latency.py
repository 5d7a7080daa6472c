"""Console benchmark: event→screen latency in a surge, memory per console, daemon CPU per
client, cold start to first live paint — each printed against a baseline from the same run.

Set-up (as in production: one daemon process, one console process per session):

* **PBX = a separate load generator** (``--feed RATE``, the way to reach issue 3's 13 000
  events/s) — :mod:`feed_pbx` replays the recorded Asterisk 22 stream (with
  ``bench/ingest.py``'s rewriting, imported) at RATE frames/s over TCP; the daemon connects
  to it as to an
  Asterisk (``[[pbx]]``, login, full sync). Markers are ``QueueMemberPause`` frames for a
  dedicated ``billing`` member with the reason ``m<epoch-ms>`` taken when written.
* **or PBX + daemon** (without ``--feed``) — the real
  :class:`ccops.daemon.service.Daemon` with its embedded simulator
  (:class:`ccops.sim.server.SimulatedPbx`, what plain ``ccops`` runs) in one process — a
  separate simulator process outruns the daemon's reader and is dropped for
  not reading, which measures the simulator, not the console — in firehose mode
  (``--cps`` short calls per second; ~5.7 AMI events per call, so the default
  2300 cps asks for ~13 000 events/s). It also emits *markers*: every ``--marker-every``
  seconds it pauses one member of ``billing`` with the reason ``m<epoch-ms>`` — an ordinary
  ``QueueMemberPause`` event that changes a visible cell (the member's state and pause
  reason in the queue view) and carries its own emission time.
  The daemon publishes at ``--publish-hz``; the simulator reaches it over AMI on loopback.
* **consoles** — real ``CcopsApp`` processes (Textual, headless driver, 120×40), one per
  session as the SSH gateway runs them, each showing the ``billing`` queue. A console
  stamps a marker when the repaint that contains the new cell value has been composed
  (``call_after_refresh`` after the table update). Latency = that time − the marker's
  emission time (same host clock). For the daemon CPU stage the 30 clients are plain
  :class:`~ccops.daemon.client.DaemonClient` subscribers in one process (the daemon cannot
  tell them from consoles: same hello, same snapshot and deltas; it pays per client for
  encoding and socket writes, not for what the client renders).

Figures and their baselines (measured in this run):

* latency p50/p99 with ``--consoles`` attached, at the event rate actually reached (the
  daemon's own event counter), against the daemon's publish period (the cadence floor:
  a change waits for the next coalesced delta by design, then the console's repaint);
* RSS per console process, N consoles vs the first one alone;
* daemon CPU (``/proc/<pid>/stat``) with ``--cpu-clients`` attached vs with 0, same load;
* cold start: spawn → first live paint of a console (imports, attach, snapshot, paint)
  against spawn → ``import textual.app`` in a bare interpreter.

Use::

    python bench/console_latency.py --feed 13000         # issue 3's surge, ~2 minutes
    python bench/console_latency.py --feed 13000 --consoles 3 --stock-consoles 1
                                                 # same-run baseline: Textual's DataTable
    python bench/console_latency.py                      # the embedded simulator
    python bench/console_latency.py --publish-hz 1 --refresh-min 0.5    # the old cadence
    python bench/console_latency.py --tiny               # smoke run (tests/bench)

``--stock-consoles N`` gives N of the consoles Textual's own ``DataTable`` for the queue
screen's tables, fed the same rows (``bench/stock_table.py``; the console itself draws
tables with ``ccops/tui/widgets/strip_table.py``), and reports their CPU per update and
latency apart from the others. ``CCOPS_BENCH_PROFILE=FILE`` cProfiles the measured window
of a console showing the queue (the last one to finish writes FILE); the window starts
once the queue screen is open, so opening it is not counted as an update's cost.

The machine matters: on 2 shared cores the PBX, the daemon and ten consoles compete; the
report prints the core count and the event rate reached next to the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MARK_QUEUE = "billing"
PBX_NAME = "sim"  # the embedded simulator's name; the feeder's PBX takes the same name
TICKS = os.sysconf("SC_CLK_TCK")
TARGET_P99_MS = 250.0
TARGET_COLD_S = 1.5
WARM_EVENTS_PER_S = 200.0  # the feeder's pace before the surge (cold start, queues appear)


# --------------------------------------------------------------------------- helpers


def rss_mb(pid: int | None = None) -> float:
    """Resident set size in MiB from ``/proc``."""
    path = f"/proc/{pid or 'self'}/status"
    with open(path) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid``."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


def mark_member(interfaces: Sequence[str]) -> str:
    """The member the markers pause: the same rule on both sides (first by interface)."""
    return sorted(interfaces)[0]


# --------------------------------------------------------------------------- daemon process


def daemon_main(conn: Connection, state_dir: str, publish_hz: float, cps: float,
                marker_every: float, feed_port: int = 0) -> None:
    asyncio.run(_daemon(conn, Path(state_dir), publish_hz, cps, marker_every, feed_port))


async def _marker_loop(daemon: Any, marker_every: float, counter: list[int]) -> None:
    """Pause the marked member with a reason carrying the emission time, now and then."""
    rng = random.Random(7)
    sim = daemon.sim
    while True:
        boot = sim._alive()
        if boot is not None:
            members = list(boot.engine.queues[MARK_QUEUE].members.values())
            iface = mark_member([m.interface for m in members])
            member = next(m for m in members if m.interface == iface)
            boot.engine.pause(member, True, f"m{int(time.time() * 1000)}")
            sim.bus.flush()
            counter[0] += 1
        await asyncio.sleep(marker_every * rng.uniform(0.7, 1.3))


async def _daemon(
    conn: Connection, state_dir: Path, publish_hz: float, cps: float, marker_every: float,
    feed_port: int = 0,
) -> None:
    from pydantic import SecretStr

    from ccops.config import PbxConfig, load_settings
    from ccops.core.events import LinkState
    from ccops.daemon.service import Daemon
    from ccops.heap import settle_heap

    base = load_settings(None, use_default_path=False)
    update: dict[str, Any] = {
        "daemon": base.daemon.model_copy(update={"state_dir": state_dir,
                                                 "publish_hz": publish_hz}),
    }
    if feed_port:  # the paced feeder is the PBX (bench/feed_pbx.py), as an Asterisk would be
        update["pbx"] = [PbxConfig(
            name=PBX_NAME, port=feed_port, secret=SecretStr("bench"), ping_interval=600,
            ping_timeout=600, action_timeout=60, reconcile_interval=0,
        )]
    settings = base.model_copy(update=update)
    # without [[pbx]]: the embedded simulator, as plain `ccops` runs
    daemon = Daemon(settings)
    await daemon.start()
    settle_heap()  # as `ccops serve` does once started
    session = next(iter(daemon.sessions.values()))
    await session.link.wait_for_state(LinkState.LIVE, timeout=30)
    for _ in range(600):  # the first full sync, then the console has something to show
        if session.state.synced_at:
            break
        await asyncio.sleep(0.05)
    conn.send({"socket": str(daemon.socket_path), "pid": os.getpid()})
    markers = [0]
    marking: asyncio.Task[None] | None = None
    while True:
        cmd = await asyncio.to_thread(conn.recv)
        if cmd == "surge":
            if not feed_port:
                daemon.sim.firehose(cps)
        elif cmd == "mark":
            if feed_port:
                continue  # the feeder stamps its own markers
            marking = asyncio.create_task(_marker_loop(daemon, marker_every, markers))
        elif cmd == "stats":
            diag = session.diagnostics()
            conn.send({"events": diag["events"] + diag["dropped_by_filter"],  # frames read
                       "processed": diag["events"],  # past the pre-parse drop set
                       "link": session.link.status.state.value,
                       "reconnects": session.diagnostics()["reconnects"],
                       "markers": markers[0]})
        elif cmd == "stop":
            break
    if marking is not None:
        marking.cancel()
    await daemon.stop()
    conn.send("stopped")


# --------------------------------------------------------------------------- plain clients


def clients_main(conn: Connection, socket_path: str, n: int) -> None:
    asyncio.run(_clients(conn, Path(socket_path), n))


async def _clients(conn: Connection, socket_path: Path, n: int) -> None:
    from ccops.daemon.client import DaemonClient

    clients = [DaemonClient(socket_path) for _ in range(n)]
    await asyncio.gather(*(c.connect(subscribe=True, timeout=30) for c in clients))
    conn.send({"attached": n})
    await asyncio.to_thread(conn.recv)
    frames = sum(c.seq for c in clients)
    await asyncio.gather(*(c.close() for c in clients))
    conn.send({"seq_total": frames})


# --------------------------------------------------------------------------- console process


def stop_requested(out: str) -> bool:
    return os.path.exists(out + ".stop")


def request_stop(proc: subprocess.Popen[str]) -> None:
    Path(str(proc.args) + ".stop").touch()


def save(path: str, result: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(result))


def console_main(args: argparse.Namespace) -> int:
    """One real console (``CcopsApp``, headless), reporting JSON on stdout."""
    return asyncio.run(_console(args))


async def _console(args: argparse.Namespace) -> int:
    spawned = float(args.spawned)
    from ccops.screens.dashboard import DashboardScreen
    from ccops.screens.queue_detail import QueueDetailScreen
    from ccops.tui.app import CcopsApp
    from ccops.tui.link import ConsoleLink
    from ccops.tui.widgets.tile import QueueTile

    if args.stock_cells:  # the baseline: the queue screen's tables on Textual's DataTable
        import stock_table

        from ccops.screens import queue_detail

        queue_detail.LiveTable = stock_table.StockLiveTable  # type: ignore[misc,assignment]
    link = ConsoleLink(Path(args.console))
    app = CcopsApp(link, refresh_min=args.refresh_min, settle_heap_after_first_paint=True)
    out: dict[str, Any] = {"latencies_ms": [], "first_paint_s": None}
    seen: set[str] = set()
    marked: list[str] = []  # the member the markers pause, once the document is known
    original = app._refresh_visible

    def painted_first() -> None:
        if out["first_paint_s"] is None:
            out["first_paint_s"] = time.time() - spawned

    def stamp(reason: str) -> None:
        out["latencies_ms"].append(time.time() * 1000 - int(reason[1:]))

    def refresh_and_look() -> None:
        original()
        screen = app._top()
        if screen is None:  # shutting down
            return
        if out["first_paint_s"] is None and isinstance(screen, DashboardScreen):
            tiles = list(screen.query(QueueTile))
            if tiles and link.attached and app.doc.get("pbx"):
                app.call_after_refresh(painted_first)
        if isinstance(screen, QueueDetailScreen) and marked and screen.ready:
            with contextlib.suppress(Exception):  # rows come and go under a surge
                table: Any = screen.query_one("#members")  # LiveTable, or the baseline's
                col = [c.key for c in table.spec].index("reason")
                reason = str(table.get_row(marked[0])[col])
                out["last_reason"] = reason
                if reason.startswith("m") and reason[1:].isdigit() and reason not in seen:
                    seen.add(reason)
                    app.call_after_refresh(stamp, reason)

    app._refresh_visible = refresh_and_look  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40), headless=True) as pilot:
        deadline = time.monotonic() + 90
        while out["first_paint_s"] is None and time.monotonic() < deadline:
            await pilot.pause(0.01)
        if out["first_paint_s"] is None:
            save(args.out, {"error": f"no live paint in 90 s: {link.reason or 'slow'}"})
            print(json.dumps({"ready": False}), flush=True)
            await link.stop()
            return 1
        if args.iface:
            if args.iface == "pick":
                members = app.doc["pbx"][PBX_NAME]["queues"][MARK_QUEUE]["members"]
                marked.append(mark_member(list(members)))
            else:
                marked.append(args.iface)
            app.open_queue(MARK_QUEUE)
            # the window measures updates, not opening the screen (mount, footer, focus)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (
                isinstance(app.screen, QueueDetailScreen) and app.screen.ready
            ):
                await pilot.pause(0.01)
            await pilot.pause(0.5)
        print(json.dumps({"ready": True}), flush=True)
        # measure until the orchestrator says stop (all consoles share one window)
        profile = os.environ.get("CCOPS_BENCH_PROFILE")  # a path: cProfile the window
        prof: Any = None
        if profile and args.iface:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        cpu0, wall0, refreshes0 = time.process_time(), time.monotonic(), app.refreshes
        for _ in range(int((args.seconds + 300) * 10)):
            if stop_requested(args.out):
                break
            await asyncio.sleep(0.1)
        out["rss_mb"] = rss_mb()
        out["cpu_share"] = (time.process_time() - cpu0) / max(1e-6, time.monotonic() - wall0)
        out["cpu_s"] = time.process_time() - cpu0
        out["refreshes"] = app.refreshes - refreshes0
        if prof is not None:
            prof.disable()
            prof.dump_stats(str(profile))
        out["stock_cells"] = bool(args.stock_cells)
        out["display_errors"] = app.display_errors
        save(args.out, out)  # a file: Textual captures stdout while the app runs
        await link.stop()
    return 0


def spawn_console(
    socket_path: str, seconds: float, refresh_min: float, iface: str | None,
    stock_cells: bool = False,
) -> subprocess.Popen[str]:
    fd, out = tempfile.mkstemp(prefix="ccops-console-", suffix=".json")
    os.close(fd)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--console", socket_path,
           "--seconds", str(seconds), "--refresh-min", str(refresh_min),
           "--spawned", repr(time.time()), "--out", out]
    if iface:
        cmd += ["--iface", iface]
    if stock_cells:
        cmd += ["--stock-cells"]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    proc.args = out  # where its result lands (read by finish)
    return proc


def wait_ready(proc: subprocess.Popen[str]) -> None:
    """Block until the console says it painted live data (or gave up: it has a deadline)."""
    assert proc.stdout is not None
    if not proc.stdout.readline():
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"console exited ({proc.wait()}) before painting: {err[-2000:]}")


def finish(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    request_stop(proc)
    _stdout, stderr = proc.communicate(timeout=timeout)
    path = Path(str(proc.args))
    Path(str(proc.args) + ".stop").unlink(missing_ok=True)
    text = path.read_text() if path.exists() else ""
    path.unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(text) if text.strip() else {}
    if "error" not in result and (proc.returncode != 0 or "latencies_ms" not in result):
        raise RuntimeError(f"console failed ({proc.returncode}): {stderr[-2000:]}")
    return result


def measured(result: dict[str, Any]) -> dict[str, Any]:
    """A console result that must have succeeded (cold start, memory baseline)."""
    if "error" in result:
        raise RuntimeError(f"console: {result['error']}")
    return result


def import_baseline() -> float:
    """Spawn → ``import textual.app`` done, in a bare interpreter (seconds)."""
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", "import time, textual.app; print(time.time())"],
        capture_output=True, text=True, check=True,
    )
    return float(out.stdout.strip()) - start


# --------------------------------------------------------------------------- orchestration


@dataclass
class Report:
    cores: int
    cps: float
    publish_hz: float
    refresh_min: float
    consoles: int
    cpu_clients: int
    feed: float = 0.0
    sent_per_s: float = 0.0  # frames the load generator wrote (it blocks when not read)
    events_per_s: float = 0.0  # AMI frames the daemon read
    processed_per_s: float = 0.0  # of those, past the link's pre-parse drop set
    markers: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    rss_one_mb: float = 0.0
    rss_each_mb: list[float] = field(default_factory=list)
    cpu_idle_s: float = 0.0
    cpu_loaded_s: float = 0.0
    cpu_window_s: float = 0.0
    cold_start_s: list[float] = field(default_factory=list)
    import_baseline_s: list[float] = field(default_factory=list)
    display_errors: int = 0
    link_drops: int = 0
    console_failures: list[str] = field(default_factory=list)
    last_reasons: list[str] = field(default_factory=list)  # the marked cell at the end
    console_cpu: list[float] = field(default_factory=list)  # share of a core, per console
    ms_per_update: list[float] = field(default_factory=list)  # console CPU per repaint
    stock_consoles: int = 0
    stock_cpu: list[float] = field(default_factory=list)  # baseline consoles (DataTable)
    stock_ms_per_update: list[float] = field(default_factory=list)
    stock_latencies_ms: list[float] = field(default_factory=list)

    def lines(self) -> list[str]:
        upd = statistics.median(self.ms_per_update) if self.ms_per_update else float("nan")
        stock = (statistics.median(self.stock_ms_per_update)
                 if self.stock_ms_per_update else float("nan"))
        p50, p99 = pct(self.latencies_ms, 0.5), pct(self.latencies_ms, 0.99)
        floor = 1000.0 / self.publish_hz
        rss_avg = statistics.mean(self.rss_each_mb) if self.rss_each_mb else float("nan")
        cold = statistics.median(self.cold_start_s) if self.cold_start_s else float("nan")
        base = (statistics.median(self.import_baseline_s)
                if self.import_baseline_s else float("nan"))
        cpu_ratio = self.cpu_loaded_s / self.cpu_idle_s if self.cpu_idle_s else float("nan")
        per_client = ((self.cpu_loaded_s - self.cpu_idle_s) / self.cpu_window_s
                      / max(1, self.cpu_clients) * 100 if self.cpu_window_s else float("nan"))
        return [
            f"machine: {self.cores} cores; surge: "
            + (f"recorded Asterisk stream from a load generator asked for {self.feed:,.0f} "
               f"frames/s, {self.sent_per_s:,.0f}/s written"
               if self.feed else f"firehose {self.cps:.0f} calls/s")
            + " → "
            f"{self.events_per_s:,.0f} AMI events/s read by the daemon "
            f"({self.processed_per_s:,.0f}/s past its pre-parse drop set) "
            f"(AMI link drops in the window: {self.link_drops})",
            f"cadence: daemon publish {self.publish_hz:g} Hz (period {floor:.0f} ms), "
            f"console repaint at most every {self.refresh_min * 1000:.0f} ms",
            f"latency event→screen, {self.consoles - self.stock_consoles} consoles"
            + (f" (+{self.stock_consoles} baseline)" if self.stock_consoles else "")
            + f", {len(self.latencies_ms)} samples "
            f"from {self.markers} markers: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
            f"(target p99 ≤ {TARGET_P99_MS:.0f} ms; ×{p99 / floor:.2f} of the publish period)",
            f"console CPU in the window: {statistics.mean(self.console_cpu) * 100:.1f} % of "
            f"a core each, {sum(self.console_cpu) * 100:.0f} % for all {len(self.console_cpu)}"
            if self.console_cpu else "console CPU: n/a",
            f"console CPU per screen update: {upd:.1f} ms (median per console)"
            + (f" vs {stock:.1f} ms for {self.stock_consoles} baseline console(s) on "
               f"Textual's DataTable in this run (×{upd / stock:.2f}; "
               f"their latency p50 {pct(self.stock_latencies_ms, 0.5):.0f} ms, p99 "
               f"{pct(self.stock_latencies_ms, 0.99):.0f} ms, not in the figures above)"
               if self.stock_ms_per_update else "")
            if self.ms_per_update else "console CPU per screen update: n/a",
            f"memory: one console alone {self.rss_one_mb:.1f} MiB RSS; with {self.consoles} "
            f"attached {rss_avg:.1f} MiB each (×{rss_avg / self.rss_one_mb:.2f})"
            if self.rss_one_mb else "memory: n/a",
            f"daemon CPU over {self.cpu_window_s:.0f} s in the surge: 0 clients "
            f"{self.cpu_idle_s:.2f} s, {self.cpu_clients} clients {self.cpu_loaded_s:.2f} s "
            f"(×{cpu_ratio:.2f}; {per_client:.2f} % of a core per client)",
            f"cold start to first live paint: {cold:.2f} s (median of "
            f"{len(self.cold_start_s)}; target ≤ {TARGET_COLD_S} s) vs `import textual.app` "
            f"{base:.2f} s (×{cold / base:.1f})",
            f"console display errors: {self.display_errors}; consoles that never painted "
            f"live: {len(self.console_failures)}"
            + (f" ({self.console_failures[0]})" if self.console_failures else ""),
        ]


def run(args: argparse.Namespace) -> Report:
    ctx = mp.get_context("spawn")
    report = Report(cores=os.cpu_count() or 0, cps=args.cps, publish_hz=args.publish_hz,
                    refresh_min=args.refresh_min, consoles=args.consoles,
                    cpu_clients=args.cpu_clients, feed=args.feed,
                    stock_consoles=min(args.stock_consoles, args.consoles))
    state_dir = Path(tempfile.mkdtemp(prefix="ccb-", dir="/tmp"))
    feed_conn: Connection | None = None
    feeder: Any = None
    feed_port = 0
    if args.feed:  # a separate load-generator process is the PBX (bench/feed_pbx.py)
        import feed_pbx

        feed_conn, feed_child = ctx.Pipe()
        feeder = ctx.Process(target=feed_pbx.serve, args=(feed_child,), daemon=True)
        feeder.start()
        if not feed_conn.poll(60):
            raise RuntimeError("the feeder did not come up")
        feed_port = int(feed_conn.recv())
    daemon_conn, daemon_child = ctx.Pipe()
    daemon = ctx.Process(
        target=daemon_main,
        args=(daemon_child, str(state_dir), args.publish_hz, args.cps, args.marker_every,
              feed_port),
        daemon=True,
    )
    daemon.start()
    try:
        if not daemon_conn.poll(60):
            raise RuntimeError("the daemon did not come up")
        dinfo = daemon_conn.recv()
        sock, dpid = dinfo["socket"], dinfo["pid"]
        if feed_conn is not None:  # a quiet PBX first: queues appear, cold start is idle
            feed_conn.send(("rate", WARM_EVENTS_PER_S))
            time.sleep(2.0)

        # cold start: a console alone, before the surge (what an operator opening it sees)
        for _ in range(args.cold_reps):
            report.import_baseline_s.append(import_baseline())
            proc = spawn_console(sock, 0.5, args.refresh_min, None)
            wait_ready(proc)
            res = measured(finish(proc, 120))
            report.cold_start_s.append(float(res["first_paint_s"]))
        # memory of one console alone (showing the queue, in the surge below for fairness)
        daemon_conn.send("surge")
        if feed_conn is not None:
            feed_conn.send(("rate", args.feed))
        time.sleep(args.settle)
        proc = spawn_console(sock, args.settle, args.refresh_min, "pick")
        wait_ready(proc)
        time.sleep(args.settle)
        report.rss_one_mb = float(measured(finish(proc, 120))["rss_mb"])

        # daemon CPU: 0 clients vs N plain subscribers, same surge, same window
        c0 = cpu_seconds(dpid)
        time.sleep(args.cpu_window)
        report.cpu_idle_s = cpu_seconds(dpid) - c0
        cl_conn, cl_child = ctx.Pipe()
        clients = ctx.Process(target=clients_main, args=(cl_child, sock, args.cpu_clients),
                              daemon=True)
        clients.start()
        if not cl_conn.poll(120):
            raise RuntimeError("plain clients did not attach")
        cl_conn.recv()
        time.sleep(1.0)
        c0 = cpu_seconds(dpid)
        time.sleep(args.cpu_window)
        report.cpu_loaded_s = cpu_seconds(dpid) - c0
        report.cpu_window_s = args.cpu_window
        cl_conn.send("stop")
        cl_conn.recv()
        clients.join(10)

        # latency: N consoles showing the marked queue while the surge runs
        # the console picks the member by the shared rule (mark_member), or is told it
        with_iface = feed_pbx_iface() if feed_conn is not None else "pick"
        procs = [spawn_console(sock, args.seconds, args.refresh_min, with_iface,
                               stock_cells=i < args.stock_consoles)
                 for i in range(args.consoles)]
        for p in procs:
            wait_ready(p)
        daemon_conn.send("stats")
        s0, t0 = daemon_conn.recv(), time.monotonic()
        if feed_conn is not None:
            feed_conn.send("stats")
            sent0 = int(feed_conn.recv()["sent"])
        daemon_conn.send("mark")
        if feed_conn is not None:
            feed_conn.send(("mark", args.marker_every))
        time.sleep(args.seconds)
        results = [finish(p, 120) for p in procs]
        daemon_conn.send("stats")
        s1, t1 = daemon_conn.recv(), time.monotonic()
        report.events_per_s = (s1["events"] - s0["events"]) / (t1 - t0)
        report.processed_per_s = (s1["processed"] - s0["processed"]) / (t1 - t0)
        report.markers = int(s1["markers"])
        if feed_conn is not None:
            feed_conn.send(("mark", 0.0))
            feed_conn.send("stats")
            fstats = feed_conn.recv()
            report.markers = int(fstats["markers"])
            report.sent_per_s = (int(fstats["sent"]) - sent0) / (t1 - t0)
        report.link_drops = int(s1["reconnects"]) - int(s0["reconnects"])
        for res in results:
            if "error" in res:
                report.console_failures.append(str(res["error"]))
                continue
            per_update = float(res.get("cpu_s", 0.0)) / max(1, int(res.get("refreshes", 0)))
            if res.get("stock_cells"):  # the same-run baseline: not in the latency figures
                report.stock_cpu.append(float(res.get("cpu_share", 0.0)))
                report.stock_ms_per_update.append(per_update * 1000)
                report.stock_latencies_ms.extend(float(v) for v in res["latencies_ms"])
                continue
            report.ms_per_update.append(per_update * 1000)
            report.latencies_ms.extend(float(v) for v in res["latencies_ms"])
            report.last_reasons.append(str(res.get("last_reason")))
            report.console_cpu.append(float(res.get("cpu_share", 0.0)))
            report.rss_each_mb.append(float(res["rss_mb"]))
            report.display_errors += int(res.get("display_errors", 0))
    finally:
        with contextlib.suppress(Exception):
            daemon_conn.send("stop")
            daemon_conn.poll(15) and daemon_conn.recv()
        daemon.join(10)
        if daemon.is_alive():
            daemon.terminate()
        if feed_conn is not None:
            with contextlib.suppress(Exception):
                feed_conn.send("stop")
            feeder.join(10)
            if feeder.is_alive():
                feeder.terminate()
        shutil.rmtree(state_dir, ignore_errors=True)
    return report


def feed_pbx_iface() -> str:
    import feed_pbx

    return str(feed_pbx.MARK_IFACE)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cps", type=float, default=2300.0, help="firehose calls/s")
    ap.add_argument("--feed", type=float, default=0.0,
                    help="AMI events/s from a separate load generator replaying the recorded "
                    "Asterisk stream (bench/feed_pbx.py) instead of the embedded simulator; "
                    "--cps is then unused")
    ap.add_argument("--consoles", type=int, default=10)
    ap.add_argument("--stock-consoles", type=int, default=0,
                    help="how many of --consoles show the queue's tables on Textual's own "
                    "DataTable fed the same rows (bench/stock_table.py), the same-run "
                    "baseline; reported apart, not in the latency figures")
    ap.add_argument("--cpu-clients", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=30.0, help="latency window per console")
    ap.add_argument("--cpu-window", type=float, default=10.0)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--cold-reps", type=int, default=3)
    ap.add_argument("--marker-every", type=float, default=None,
                    help="seconds between markers (default 1.3 publish periods, so that "
                    "coalescing does not hide most of them)")
    ap.add_argument("--publish-hz", type=float, default=None,
                    help="daemon publish rate (default: the shipped default)")
    ap.add_argument("--refresh-min", type=float, default=None,
                    help="console repaint throttle (default: the shipped default)")
    ap.add_argument("--tiny", action="store_true", help="a smoke run of every stage")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    # internal: run as one console process
    ap.add_argument("--console", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--iface", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--stock-cells", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--spawned", default="0", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.publish_hz is None:
        from ccops.config import DaemonConfig

        args.publish_hz = float(DaemonConfig.model_fields["publish_hz"].default)
    if args.refresh_min is None:
        from ccops.tui.app import REFRESH_MIN_S

        args.refresh_min = REFRESH_MIN_S
    if args.marker_every is None:
        args.marker_every = 1.3 / args.publish_hz
    if args.tiny:
        args.cps, args.consoles, args.cpu_clients = 50.0, 1, 2
        args.seconds, args.cpu_window, args.settle, args.cold_reps = 3.0, 1.0, 0.5, 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.console:
        return console_main(args)
    report = run(args)
    for line in report.lines():
        print(line)
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
