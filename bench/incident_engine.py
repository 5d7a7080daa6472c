"""Incident engine benchmark: the timer tick with many open incidents, and a daemon restart.

What is measured, on a real SQLite file in WAL mode (``synchronous=FULL``, as the daemon
runs it) under a temporary directory, with a fake clock so every run is the same:

* **idle tick** — :meth:`IncidentEngine.tick` with N open incidents (``--per-playbook`` of
  each shipped playbook, cycling through its variants, every parameter set so every timer
  arms; half of them drills) and no timer due: the cost the daemon pays every
  second in a quiet hour (median of many ticks);
* **bare loop** — a plain Python loop over the same timers asking "armed and due?": the
  floor any tick must pay; the idle tick's ratio against it is the engine's overhead;
* **due tick** — K timers made due at once (spread over the incidents, as after a daemon
  outage), one tick that fires them all and saves each touched incident in its own
  transaction (timeline lines included): time per tick and per due timer, and its ratio
  against the idle tick;
* **restart** — a fresh store + engine loading the N open incidents (``load``) and its
  first tick five minutes later (so whatever came due meanwhile fires): against the
  baseline of reading the same rows with the stdlib ``sqlite3`` module (the I/O floor).

Every baseline is measured in the same run; repetitions are interleaved and the median
counts. Use::

    python bench/incident_engine.py                    # 50 of each playbook, 250 due
    python bench/incident_engine.py --per-playbook 100 --due 500 --reps 5
    python bench/incident_engine.py --tiny             # smoke run (tests/bench)

Last line: ``incident_engine: <N> incidents, <T> armed timers; idle tick <a> ms (<r1>x bare
loop); due tick <b> ms for <K> timers, <c> ms/timer (<r2>x idle tick); restart <d> ms
(<r3>x raw read)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ccops.core.clock import FakeClock  # noqa: E402
from ccops.core.incident_state import Actor, TimerState  # noqa: E402
from ccops.core.incidents import IncidentEngine  # noqa: E402
from ccops.core.playbook_load import LoadedPlaybook, load_playbooks  # noqa: E402
from ccops.core.roles import Role  # noqa: E402
from ccops.store.incidents import IncidentStore  # noqa: E402
from ccops.store.sqlite import Store  # noqa: E402

ADMIN = Actor("bench", Role.ADMIN)
ROSTER = {"om_specialist": ["ops1"], "center_manager": ["boss"], "standby_staff": ["s1"]}


@dataclass
class RunResult:
    incidents: int
    armed: int
    due: int
    idle_tick_s: float
    bare_loop_s: float
    due_tick_s: float
    due_tick_cpu_s: float  # process CPU (all threads): the rest of the wall time is fsync
    fired: int
    transactions: int  # incidents touched by the due tick: one write transaction each
    restart_s: float
    restart_cpu_s: float
    restart_load_s: float
    restart_first_tick_s: float
    raw_read_s: float


async def _populate(
    engine: IncidentEngine, playbooks: dict[str, LoadedPlaybook], per_playbook: int
) -> None:
    """``per_playbook`` incidents of every shipped playbook, cycling through its variants."""
    for pid in sorted(playbooks):
        pb = playbooks[pid].playbook
        variants = list(pb.variants) or [None]
        for i in range(per_playbook):
            await engine.start(pid, ADMIN, variant=variants[i % len(variants)],
                               drill=bool(i % 2))


def site_parameters(playbooks: dict[str, LoadedPlaybook]) -> dict[str, dict[str, object]]:
    """A value for every parameter the seeds leave unset, so every timer arms (the bench
    measures timers, and an unset one never fires)."""
    values: dict[str, dict[str, object]] = {}
    for pid, loaded in playbooks.items():
        for name, p in loaded.playbook.parameters.items():
            if p.default is None:
                values.setdefault(pid, {})[name] = {"duration": "15m", "int": 1}.get(p.type, "x")
    return values


def _armed(engine: IncidentEngine) -> list[tuple[int, str]]:
    return [
        (inc.id or 0, key)
        for inc in engine.open_incidents
        for key, t in inc.timers.items()
        if t.state is TimerState.ARMED and t.due_at is not None
    ]


def _bare_loop(engine: IncidentEngine, now: float) -> int:
    due = 0
    for inc in engine.open_incidents:
        for t in inc.timers.values():
            if t.state is TimerState.ARMED and t.due_at is not None and t.due_at <= now:
                due += 1
    return due


def _raw_read(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        rows = 0
        for table in ("incident", "incident_step", "incident_timer", "incident_notification",
                      "incident_timeline"):
            rows += len(conn.execute(f"SELECT * FROM {table}").fetchall())
        return rows
    finally:
        conn.close()


def _median_time(fn: object, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def one_run(
    workdir: Path, playbooks: dict[str, LoadedPlaybook], per_playbook: int, due: int,
    idle_reps: int,
) -> RunResult:
    path = workdir / f"bench-{time.monotonic_ns()}.sqlite3"
    clock = FakeClock()
    store = await Store.open(path, clock=clock)
    try:
        repo = IncidentStore(store)
        engine = IncidentEngine(repo, clock, playbooks, roster=ROSTER, undos=repo,
                                parameters=site_parameters(playbooks))
        await _populate(engine, playbooks, per_playbook)
        engine.take_intents()
        armed = _armed(engine)
        now = clock.now()
        # The earliest timer is due later than "now" (every span is > 0): an idle tick.
        idle = []
        for _ in range(idle_reps):
            t0 = time.perf_counter()
            await engine.tick(now)
            idle.append(time.perf_counter() - t0)
        bare = _median_time(lambda: _bare_loop(engine, now), idle_reps)
        # K timers due at once, spread round-robin over the incidents.
        by_inc: dict[int, list[str]] = {}
        for inc_id, key in armed:
            by_inc.setdefault(inc_id, []).append(key)
        chosen: list[tuple[int, str]] = []
        while len(chosen) < min(due, len(armed)):
            for inc_id in sorted(by_inc):
                if by_inc[inc_id] and len(chosen) < due:
                    chosen.append((inc_id, by_inc[inc_id].pop(0)))
        for inc_id, key in chosen:
            engine.incident(inc_id).timers[key].due_at = now - 1.0
        t0, c0 = time.perf_counter(), time.process_time()
        await engine.tick(now)
        due_tick, due_cpu = time.perf_counter() - t0, time.process_time() - c0
        fired = sum(1 for inc_id, key in chosen
                    if engine.incident(inc_id).timers[key].state is TimerState.FIRED)
    finally:
        await store.close()
    # Restart: a new store and engine load the open incidents; first tick 5 min later.
    raw = _median_time(lambda: _raw_read(path), 3)
    clock.advance(300)
    t0, c0 = time.perf_counter(), time.process_time()
    store = await Store.open(path, clock=clock)
    try:
        repo = IncidentStore(store)
        engine = IncidentEngine(repo, clock, playbooks, roster=ROSTER, undos=repo,
                                parameters=site_parameters(playbooks))
        await engine.load()
        t1 = time.perf_counter()
        await engine.tick()
        t2, c2 = time.perf_counter(), time.process_time()
    finally:
        await store.close()
    return RunResult(per_playbook * len(playbooks), len(armed), len(chosen),
                     statistics.median(idle), bare, due_tick, due_cpu, fired,
                     len({i for i, _ in chosen}), t2 - t0, c2 - c0, t1 - t0, t2 - t1, raw)


async def main_async(args: argparse.Namespace) -> list[RunResult]:
    playbooks = load_playbooks(())
    results = []
    with tempfile.TemporaryDirectory(prefix="ccops-bench-inc-") as tmp:
        for _ in range(args.reps):
            results.append(await one_run(Path(tmp), playbooks, args.per_playbook, args.due,
                                         args.idle_reps))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-playbook", type=int, default=50,
                        help="open incidents of each shipped playbook")
    parser.add_argument("--due", type=int, default=250, help="timers due at once")
    parser.add_argument("--reps", type=int, default=3, help="runs (fresh store each)")
    parser.add_argument("--idle-reps", type=int, default=50, help="idle ticks per run")
    parser.add_argument("--json", type=Path, help="write every run here")
    parser.add_argument("--tiny", action="store_true", help="smoke run: 1 of each, 4 due")
    args = parser.parse_args(argv)
    if args.tiny:
        args.per_playbook, args.due, args.reps, args.idle_reps = 1, 4, 1, 3
    if args.per_playbook < 1 or args.due < 1 or args.reps < 1 or args.idle_reps < 1:
        parser.error("--per-playbook, --due, --reps and --idle-reps must be at least 1")
    results = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")

    def med(name: str) -> float:
        return statistics.median(float(getattr(r, name)) for r in results)

    r0 = results[0]
    idle, bare, due_tick = med("idle_tick_s"), med("bare_loop_s"), med("due_tick_s")
    restart, raw = med("restart_s"), med("raw_read_s")
    for r in results:
        print(f"run: idle {r.idle_tick_s * 1e3:.3f} ms, bare {r.bare_loop_s * 1e3:.3f} ms, "
              f"due {r.due_tick_s * 1e3:.1f} ms, CPU {r.due_tick_cpu_s * 1e3:.1f} ms ({r.fired}/"
              f"{r.due} fired, {r.transactions} transactions), restart "
              f"{r.restart_s * 1e3:.1f} ms, CPU {r.restart_cpu_s * 1e3:.1f} ms (load "
              f"{r.restart_load_s * 1e3:.1f}, first tick {r.restart_first_tick_s * 1e3:.1f}), "
              f"raw read {r.raw_read_s * 1e3:.1f} ms")
    if any(r.fired != r.due for r in results):
        print("incident_engine: not every due timer fired", file=sys.stderr)
        return 1
    per_timer = due_tick / r0.due
    print(
        f"incident_engine: {r0.incidents} incidents, {r0.armed} armed timers; "
        f"idle tick {idle * 1e3:.3f} ms ({idle / bare:.1f}x bare loop); "
        f"due tick {due_tick * 1e3:.1f} ms for {r0.due} timers, {per_timer * 1e3:.3f} ms/timer "
        f"({due_tick / idle:.0f}x idle tick); restart {restart * 1e3:.1f} ms "
        f"({restart / raw:.1f}x raw read)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
