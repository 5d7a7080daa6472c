"""Daemon CPU at a live load on the real Asterisk tier, as a share of Asterisk's own CPU.

What is measured: one real Asterisk 22 (``tests/integration/asterisk_tier.py``, see
``docs/asterisk-tier.md``) takes about ``--rate`` calls/s from sipp callers spread over
its three queues (hotline 50 %, billing 30 %, repairs 20 %) for ``--seconds``; agents
answer with short talk times, callers who wait longer than ``--patience`` hang up. A real
``ccops serve`` (a separate process, configured with the tier's ``ccops`` AMI user exactly
as an installation would be) watches it: link, normalisation, model, KPIs, alerts, store,
status publishing — the whole daemon.

The figure is CPU time (``utime + stime`` from ``/proc/<pid>/stat``, every thread of the
process) of the daemon process and of the Asterisk process, both as deltas over the same
window: from just before the first call to a moment after the last caller finished (so
the tail of every call's events is included). The sipp processes (load generators) are
in neither. The daemon's AMI event count comes from its own counters (``ccops status
--json``, read before and after the window) and the calls completed from sipp's
statistics. Target: daemon ≤ 5 % of Asterisk.

Needs the tier (root, ``scripts/asterisk-chroot.sh``); without it this exits with code 2
and the reason. Use::

    python bench/daemon_cpu.py                     # ~10 calls/s for 60 s
    python bench/daemon_cpu.py --seconds 3 --rate 2 --patience 2    # smoke run

Last line: ``daemon_cpu: daemon <D> s; asterisk <A> s; ratio <P> %; events <E>; calls
completed <C>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests" / "integration") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "integration"))

from asterisk_tier import AsteriskTier, CallerRun, TierError, unavailable_reason  # noqa: E402

TARGET_PERCENT = 5.0
PBX_NAME = "tier"
#: Share of the call rate per queue, and the trunk each queue's callers come in on.
QUEUE_MIX: tuple[tuple[str, float, str], ...] = (
    ("hotline", 0.5, "carrier-a"),
    ("billing", 0.3, "carrier-b"),
    ("repairs", 0.2, "carrier-a"),
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a whole process (all threads), in seconds, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces or ')': fields are counted after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


@dataclass
class Result:
    seconds: float  # the measured window, wall time
    daemon_cpu: float
    asterisk_cpu: float
    events: int  # AMI events the daemon processed in the window
    calls_placed: int
    calls_completed: int
    calls_failed: int
    kpi_offered: int  # calls the daemon's KPIs counted as offered today
    idle_seconds: float  # a quiet window before the load (no calls)
    idle_daemon_cpu: float

    @property
    def percent(self) -> float:
        return 100.0 * self.daemon_cpu / self.asterisk_cpu if self.asterisk_cpu else float("inf")

    def lines(self) -> list[str]:
        return [
            f"window: {self.seconds:.1f} s; calls placed {self.calls_placed}, completed "
            f"{self.calls_completed}, failed {self.calls_failed}; daemon KPIs offered "
            f"{self.kpi_offered}",
            f"daemon CPU {self.daemon_cpu:.2f} s ({100 * self.daemon_cpu / self.seconds:.1f} % "
            f"of a core); Asterisk CPU {self.asterisk_cpu:.2f} s "
            f"({100 * self.asterisk_cpu / self.seconds:.1f} % of a core)",
            f"daemon idle before the load: {self.idle_daemon_cpu:.2f} s CPU in "
            f"{self.idle_seconds:.1f} s ({100 * self.idle_daemon_cpu / self.idle_seconds:.1f} % "
            "of a core: ticks, KPI persistence, publishing)"
            if self.idle_seconds > 0
            else "daemon idle before the load: not measured",
            f"AMI events processed by the daemon: {self.events} "
            f"({self.events / self.seconds:.0f}/s; "
            f"{1e6 * self.daemon_cpu / max(1, self.events):.0f} µs CPU per event incl. idle work)",
            f"target ≤ {TARGET_PERCENT} % of Asterisk: "
            f"{'PASS' if self.percent <= TARGET_PERCENT else 'MISS'}",
        ]

    def final_line(self) -> str:
        return (
            f"daemon_cpu: daemon {self.daemon_cpu:.2f} s; asterisk {self.asterisk_cpu:.2f} s; "
            f"ratio {self.percent:.2f} %; events {self.events}; "
            f"calls completed {self.calls_completed}"
        )


# --------------------------------------------------------------------------- daemon


def write_config(tier: AsteriskTier, workdir: Path, publish_hz: float | None = None) -> Path:
    """A ccops configuration for the tier, as an installation would write it
    (``publish_hz`` None: the daemon's default)."""
    ep = tier.endpoint("ccops")
    secret = workdir / "tier.secret"
    secret.write_text(ep.secret)
    secret.chmod(0o600)
    config = workdir / "ccops.toml"
    config.write_text(
        f"""[[pbx]]
name = "{PBX_NAME}"
host = "{ep.host}"
port = {ep.port}
username = "{ep.username}"
secret_file = "{secret}"

  [[pbx.trunks]]
  name = "carrier-a"
  capacity = 30
  [[pbx.trunks]]
  name = "carrier-b"
  capacity = 30

[daemon]
state_dir = "{workdir / "state"}"
"""
        + (f"publish_hz = {publish_hz}\n" if publish_hz is not None else "")
    )
    return config


def status(config: Path) -> dict[str, Any]:
    """The daemon's ``ccops status --json`` document."""
    out = subprocess.run(
        [sys.executable, "-m", "ccops", "status", "--json", "--config", str(config)],
        capture_output=True, text=True, timeout=30, cwd=REPO,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"ccops status failed: {(out.stderr or out.stdout).strip()[-400:]}")
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def wait_live(config: Path, daemon: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = "no status yet"
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"ccops serve exited with code {daemon.returncode}")
        try:
            doc = status(config)
            link = doc["pbx"][PBX_NAME]["link"]
            if link["state"] == "live":
                return doc
            last = f"{link['state']}: {link['detail']}"
        except (RuntimeError, KeyError, json.JSONDecodeError, subprocess.TimeoutExpired) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"the daemon's link to the tier is not live after {timeout:.0f} s ({last})")


def counters(doc: dict[str, Any]) -> tuple[int, int]:
    """(AMI events processed, KPI offered today summed over queues) from a status document."""
    pbx = doc["pbx"][PBX_NAME]
    offered = sum(q["kpi"]["today"]["offered"] for q in pbx["queues"].values())
    return int(pbx["link"]["counters"]["events"]), int(offered)


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    if daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(5)


# --------------------------------------------------------------------------- run


def run(
    seconds: float,
    rate: float,
    patience: float,
    talk: tuple[int, int],
    idle: float,
    profile: Path | None = None,
    publish_hz: float | None = None,
) -> Result:
    with tempfile.TemporaryDirectory(prefix="ccops-daemon-cpu-") as tmp:
        workdir = Path(tmp)
        tier = AsteriskTier()
        try:
            tier.start()
            tier.wait_settled()
            tier.set_agent_talk_time(*talk)
            asterisk_pid = tier.asterisk_pid
            if asterisk_pid is None:
                raise TierError("the tier reports no Asterisk PID")
            config = write_config(tier, workdir, publish_hz)
            log = (workdir / "daemon.log").open("wb")
            # cProfile (--profile) writes its file when the daemon exits on SIGTERM.
            prof = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
            daemon = subprocess.Popen(
                [sys.executable, *prof, "-m", "ccops", "serve", "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )  # fmt: skip
            try:
                wait_live(config, daemon, 60)
                time.sleep(2.0)  # let the first sync's tail and the first ticks pass
                i0 = cpu_seconds(daemon.pid)
                time.sleep(idle)
                idle_cpu = cpu_seconds(daemon.pid) - i0
                events0, offered0 = counters(status(config))
                d0, a0, t0 = cpu_seconds(daemon.pid), cpu_seconds(asterisk_pid), time.monotonic()
                runs: list[CallerRun] = []
                for queue, share, trunk in QUEUE_MIX:
                    per_queue = rate * share
                    count = max(1, round(per_queue * seconds))
                    runs.append(
                        tier.start_callers(
                            queue, count=count, rate=per_queue, patience_s=patience, trunk=trunk
                        )
                    )
                stats = [r.wait_done(timeout=seconds + patience + 120) for r in runs]
                time.sleep(2.0)  # the last hang-ups' events reach the daemon
                d1, a1, t1 = cpu_seconds(daemon.pid), cpu_seconds(asterisk_pid), time.monotonic()
                events1, offered1 = counters(status(config))
                if daemon.poll() is not None:
                    raise RuntimeError(f"ccops serve exited with code {daemon.returncode}")
            except BaseException:
                log.flush()
                tail = (workdir / "daemon.log").read_text(errors="replace")[-2000:]
                print(f"--- daemon log tail ---\n{tail}", file=sys.stderr)
                raise
            finally:
                stop_daemon(daemon)
                log.close()
        finally:
            tier.close()
    return Result(
        seconds=t1 - t0,
        daemon_cpu=d1 - d0,
        asterisk_cpu=a1 - a0,
        events=events1 - events0,
        calls_placed=sum(s.created for s in stats),
        calls_completed=sum(s.successful for s in stats),
        calls_failed=sum(s.failed for s in stats),
        kpi_offered=offered1 - offered0,
        idle_seconds=idle,
        idle_daemon_cpu=idle_cpu,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long calls arrive")
    parser.add_argument("--rate", type=float, default=10.0, help="calls per second, in total")
    parser.add_argument("--patience", type=float, default=8.0, help="caller patience, seconds")
    parser.add_argument("--talk", default="1,3", help="agent talk time range, seconds: LO,HI")
    parser.add_argument(
        "--idle", type=float, default=10.0, help="quiet seconds measured before the load"
    )
    parser.add_argument(
        "--profile", type=Path, help="run the daemon under cProfile, stats to this file"
    )
    parser.add_argument(
        "--publish-hz",
        type=float,
        help="the daemon's publish_hz (its tick rate); default: the daemon's own default",
    )
    args = parser.parse_args(argv)
    try:
        low, high = (int(v) for v in args.talk.split(","))
    except ValueError:
        parser.error("--talk must be two whole numbers of seconds: LO,HI")
    if args.seconds <= 0 or args.rate <= 0 or args.patience <= 0 or not 0 <= low <= high:
        parser.error("--seconds, --rate and --patience must be positive, and LO ≤ HI")
    if args.idle < 0:
        parser.error("--idle must be 0 or more")
    if args.publish_hz is not None and not 0 < args.publish_hz <= 20:
        parser.error("--publish-hz must be in (0, 20]")
    reason = unavailable_reason()
    if reason is not None:
        print(
            f"daemon_cpu: the real Asterisk tier is unavailable: {reason} "
            "(build it with: sudo scripts/asterisk-chroot.sh)",
            file=sys.stderr,
        )
        return 2
    profile = args.profile.resolve() if args.profile is not None else None
    result = run(
        args.seconds, args.rate, args.patience, (low, high), args.idle, profile, args.publish_hz
    )
    for line in result.lines():
        print(line)
    print(result.final_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
