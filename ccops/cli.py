"""The ``ccops`` command line.

``ccops`` alone is the one-command experience: a private daemon on the embedded simulated PBX
plus a live view. The subcommands are for operators and scripts: ``serve`` (the long-running
daemon), ``status`` (the live model, ``--json`` for wallboards), ``check`` (configuration),
``sim`` (the simulated PBX alone, for any AMI tool) and ``audit verify``.

Every failure a user can cause (bad config, no daemon, port in use) ends with one clear line
on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ccops import __version__
from ccops.config import ConfigError, Settings, load_settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CONFIG, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccops",
        description="Operations console for Asterisk call centers. "
        "Run without a command to watch the embedded simulated PBX.",
    )
    p.add_argument("--version", action="version", version=f"ccops {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = p.add_subparsers(dest="command")

    def with_config(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", type=Path, help="TOML file (default: $CCOPS_CONFIG, "
                        "~/.config/ccops/ccops.toml, /etc/ccops/ccops.toml)")

    sp = sub.add_parser("serve", help="run the daemon (PBX links, model, KPIs, alerts, store)")
    with_config(sp)

    sp = sub.add_parser("status", help="the running daemon's live state")
    with_config(sp)
    sp.add_argument("--json", action="store_true", help="the stable JSON schema ccops.status/1")
    sp.add_argument("--socket", type=Path, help="daemon socket (default from config)")

    sp = sub.add_parser("check", help="validate configuration")
    with_config(sp)

    sp = sub.add_parser("sim", help="run the simulated PBX alone (real AMI over TCP)")
    sp.add_argument("--listen", default="127.0.0.1:5038", help="HOST:PORT (default %(default)s)")
    sp.add_argument("--user", default="ccops", help="AMI username (default %(default)s)")
    sp.add_argument("--secret", default="ccops-sim", help="AMI secret (default %(default)s)")
    sp.add_argument("--scenario", type=Path, help="scenario file (surges, trunk failures, …)")
    sp.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")

    sp = sub.add_parser("audit", help="audit log tools")
    asub = sp.add_subparsers(dest="audit_command")
    av = asub.add_parser("verify", help="prove the hash-chained audit log is untouched")
    with_config(av)

    sp = sub.add_parser("demo", help="private daemon on the simulator with a live status view")
    with_config(sp)
    sp.add_argument("--seconds", type=float, default=0, help="stop after N seconds (0: never)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = args.command or "demo"
    try:
        if command == "check":
            return _check(args)
        if command == "sim":
            return _sim(args)
        if command == "serve":
            return _serve(args)
        if command == "status":
            return _status(args)
        if command == "audit":
            if args.audit_command != "verify":
                print("usage: ccops audit verify [--config FILE]", file=sys.stderr)
                return EXIT_USAGE
            return _audit_verify(args)
        if command == "demo":
            return _demo(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"ccops: config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
    print(f"ccops: unknown command {command}", file=sys.stderr)
    return EXIT_USAGE


def _settings(args: argparse.Namespace) -> Settings:
    path: Path | None = getattr(args, "config", None)
    return load_settings(path)


# --------------------------------------------------------------------------- check


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    problems: list[str] = []
    for pbx in settings.pbx:
        try:
            pbx.resolve_secret()
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        for problem in problems:
            print(f"ccops: config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    where = getattr(args, "config", None) or "defaults"
    if settings.uses_simulator:
        print(f"ok: {where}: no [[pbx]] configured: ccops runs on the embedded SIMULATED PBX")
    else:
        names = ", ".join(f"{p.name} ({p.host}:{p.port})" for p in settings.pbx)
        print(f"ok: {where}: {len(settings.pbx)} PBX: {names}; {len(settings.alerts)} alert rules")
    return EXIT_OK


# --------------------------------------------------------------------------- sim


def _parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise SystemExit(f"ccops sim: --listen wants HOST:PORT, got {value!r}")
    return host or "127.0.0.1", int(port)


def _sim(args: argparse.Namespace) -> int:
    from ccops.sim.server import run_sim

    host, port = _parse_listen(args.listen)

    def ready(bound: int) -> None:
        print(f"SIMULATED PBX: AMI on {host}:{bound} (user {args.user}); Ctrl-C to stop",
              flush=True)

    try:
        asyncio.run(
            run_sim(host, port, username=args.user, secret=args.secret,
                    scenario=args.scenario, seed=args.seed, ready=ready)
        )
    except OSError as exc:
        print(f"ccops sim: cannot listen on {host}:{port}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


# --------------------------------------------------------------------------- serve


async def _run_daemon_until_signal(settings: Settings) -> None:
    from ccops.daemon.service import Daemon

    daemon = Daemon(settings)
    await daemon.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(f"ccops daemon: socket {daemon.socket_path}; store {daemon.store_path}", flush=True)
    try:
        await stop.wait()
    finally:
        await daemon.stop()


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        asyncio.run(_run_daemon_until_signal(settings))
    except RuntimeError as exc:
        print(f"ccops serve: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


# --------------------------------------------------------------------------- status


def _status(args: argparse.Namespace) -> int:
    from ccops.daemon.client import DaemonClient, DaemonUnavailable

    settings = _settings(args)
    path = args.socket or settings.daemon.resolved_socket()

    async def fetch() -> dict[str, Any]:
        client = DaemonClient(path)
        await client.connect(subscribe=True)
        try:
            return client.document
        finally:
            await client.close()

    try:
        doc = asyncio.run(fetch())
    except DaemonUnavailable as exc:
        print(f"ccops status: {exc}; start it with `ccops serve`", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.json:
        json.dump(doc, sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from ccops.daemon.render import render_status

        render_status(doc)
    return EXIT_OK


# --------------------------------------------------------------------------- audit


def _audit_verify(args: argparse.Namespace) -> int:
    from ccops.store.audit_verify import verify_file

    settings = _settings(args)
    path = settings.store_path()
    if not path.exists():
        print(f"ccops audit verify: no store at {path}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    result = asyncio.run(verify_file(path))
    if result.ok:
        print(f"ok: {path}: audit chain of {result.count} records verified")
        return EXIT_OK
    print(f"TAMPERED: {path}: record {result.first_bad_seq}: {result.reason}", file=sys.stderr)
    return EXIT_FAIL


# --------------------------------------------------------------------------- demo


def _demo(args: argparse.Namespace) -> int:
    """Private daemon on the simulator and a live view, in one process."""
    settings = _settings(args)
    with tempfile.TemporaryDirectory(prefix="ccops-") as tmp:
        if settings.uses_simulator and settings.daemon.state_dir is None:
            settings = settings.model_copy(
                update={"daemon": settings.daemon.model_copy(update={"state_dir": Path(tmp)})}
            )
        from ccops.daemon.live_view import run_live_view

        try:
            asyncio.run(run_live_view(settings, seconds=args.seconds))
        except RuntimeError as exc:
            print(f"ccops: {exc}", file=sys.stderr)
            return EXIT_FAIL
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
