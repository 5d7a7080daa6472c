"""The ``ccops`` command line.

``ccops`` alone is the one-command experience: a private daemon on the embedded simulated PBX
plus the console attached to it. The subcommands are for operators and scripts: ``serve``
(the long-running daemon, and its SSH gateway when ``[ssh] enabled``), ``tui`` (the console
attached to a running daemon), ``status`` (the live model, ``--json`` for wallboards),
``check`` (configuration), ``sim`` (the simulated PBX alone, for any AMI tool), ``audit
verify`` and ``demo`` (the plain-text live view).

The console draws on the terminal, so for ``ccops`` and ``ccops tui`` logs go to a file
under the state directory, never to the screen.

Every failure a user can cause (bad config, no daemon, port in use) ends with one clear line
on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccops import __version__
from ccops.config import ConfigError, Settings, load_settings
from ccops.heap import settle_heap

if TYPE_CHECKING:
    from ccops.daemon.service import Daemon
    from ccops.gateway.server import SshGateway

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CONFIG, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccops",
        description="Operations console for Asterisk call centers. "
        "Run without a command to open the console on the embedded simulated PBX.",
    )
    p.add_argument("--version", action="version", version=f"ccops {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = p.add_subparsers(dest="command")

    def with_config(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", type=Path, help="TOML file (default: $CCOPS_CONFIG, "
                        "~/.config/ccops/ccops.toml, /etc/ccops/ccops.toml)")

    sp = sub.add_parser(
        "serve", help="run the daemon (PBX links, model, KPIs, alerts, store, SSH gateway)"
    )
    with_config(sp)

    sp = sub.add_parser("tui", help="the console, attached to a running daemon")
    with_config(sp)
    sp.add_argument("--socket", type=Path, help="daemon socket (default from config)")
    sp.add_argument("--fd", type=int, help="an inherited socket already attached to the "
                    "daemon (the SSH gateway starts consoles this way)")
    sp.add_argument("--theme", choices=("dark", "light", "high-contrast"), default="dark")
    sp.add_argument("--log-file", type=Path, help="log here (default: <state_dir>/console.log)")

    sp = sub.add_parser("status", help="the running daemon's live state")
    with_config(sp)
    sp.add_argument("--json", action="store_true", help="the stable JSON schema ccops.status/1")
    sp.add_argument("--socket", type=Path, help="daemon socket (default from config)")

    sp = sub.add_parser("check", help="validate configuration and playbooks")
    with_config(sp)
    sp.add_argument("--playbooks", type=Path, action="append", default=[], metavar="DIR",
                    help="site playbook directory (adds, or replaces by id); repeatable")

    sp = sub.add_parser("sim", help="run the simulated PBX alone (real AMI over TCP)")
    sp.add_argument("--listen", default="127.0.0.1:5038", help="HOST:PORT (default %(default)s)")
    sp.add_argument("--user", default="ccops", help="AMI username (default %(default)s)")
    sp.add_argument("--secret", default="ccops-sim", help="AMI secret (default %(default)s)")
    sp.add_argument("--scenario", type=Path, help="scenario file (surges, trunk failures, …)")
    sp.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")

    sp = sub.add_parser("incident", help="incident tools")
    isub = sp.add_subparsers(dest="incident_command")
    ir = isub.add_parser("report", help="an incident's report (Markdown), review form or drill "
                         "record")
    with_config(ir)
    ir.add_argument("incident_id", type=int)
    ir.add_argument("--review", action="store_true", help="the post-incident review form")
    ir.add_argument("--drill", action="store_true", help="the drill record and score")

    sp = sub.add_parser("audit", help="audit log tools")
    asub = sp.add_subparsers(dest="audit_command")
    av = asub.add_parser("verify", help="prove the hash-chained audit log is untouched")
    with_config(av)

    sp = sub.add_parser("demo", help="private daemon on the simulator with a live status view")
    with_config(sp)
    sp.add_argument("--seconds", type=float, default=0, help="stop after N seconds (0: never)")
    p.add_argument("--config", type=Path, help="TOML file for plain `ccops`")
    p.add_argument("--theme", choices=("dark", "light", "high-contrast"), default="dark",
                   help="console theme for plain `ccops`")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    command = args.command or "console"
    if command not in ("tui", "console"):  # those draw on the terminal: they log to a file
        logging.basicConfig(level=level, format=LOG_FORMAT)
    try:
        if command == "console":
            return _console(args, level)
        if command == "tui":
            return _tui(args, level)
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
        if command == "incident":
            if args.incident_command != "report":
                print("usage: ccops incident report ID [--review|--drill]", file=sys.stderr)
                return EXIT_USAGE
            return _incident_report(args)
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
    ssh_note = ""
    if settings.ssh.operators is not None:
        from ccops.gateway.operators import load_operators

        try:
            ops = load_operators(settings.ssh.operators)
        except ConfigError as exc:
            problems.extend(exc.problems)
        else:
            state = "enabled" if settings.ssh.enabled else "disabled"
            ssh_note = (f"; ssh {state} on {settings.ssh.host}:{settings.ssh.port} for "
                        f"{len(ops.operator)} operators")
    from ccops.core.playbook_load import PlaybookError, check_parameters, load_playbooks

    dirs = [*settings.playbooks.dirs, *args.playbooks]
    try:
        playbooks = load_playbooks(dirs)
    except PlaybookError as exc:
        problems.extend(exc.problems)
    else:
        problems.extend(check_parameters(playbooks, settings.playbooks.parameters))
    if problems:
        for problem in problems:
            print(f"ccops: config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    where = getattr(args, "config", None) or "defaults"
    if settings.uses_simulator:
        print(f"ok: {where}: no [[pbx]] configured: ccops runs on the embedded SIMULATED PBX"
              f"{ssh_note}")
    else:
        names = ", ".join(f"{p.name} ({p.host}:{p.port})" for p in settings.pbx)
        print(f"ok: {where}: {len(settings.pbx)} PBX: {names}; {len(settings.alerts)} alert rules"
              f"{ssh_note}")
    site = ", ".join(str(d) for d in dirs)
    print(f"ok: {len(playbooks)} playbooks (shipped" + (f" + {site})" if site else ")"))
    from ccops.core.standby import roster_notes
    from ccops.daemon.incident_desk import roster_from

    for note in roster_notes(playbooks, settings.playbooks.parameters,
                             {p.name: p for p in settings.oncall}, roster_from(settings.oncall)):
        print(f"note: {note}")
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

    # Handlers first: a SIGTERM that arrives while the daemon is still starting (its socket
    # already answers) must stop it cleanly, not kill it with the default action.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    daemon = Daemon(settings)
    await daemon.start()
    gateway: SshGateway | None = None
    try:
        if settings.ssh.enabled:
            gateway = await _start_gateway(settings, daemon)
    except BaseException:
        await daemon.stop()
        raise
    if gateway is not None:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, gateway.reload_operators)
    settle_heap()  # started: what lives now lives for the process (ccops/heap.py)
    print(f"ccops daemon: socket {daemon.socket_path}; store {daemon.store_path}", flush=True)
    if gateway is not None:
        made = " (new)" if gateway.host_key_created else ""
        print(f"ccops ssh: listening on {settings.ssh.host}:{gateway.port}; host key "
              f"{gateway.host_key_fingerprint}{made}; {len(gateway.operators)} operators",
              flush=True)
    try:
        await stop.wait()
    finally:
        if gateway is not None:
            await gateway.stop()  # sessions end (and are audited) while the daemon is up
        await daemon.stop()


async def _start_gateway(settings: Settings, daemon: Daemon) -> SshGateway:
    """The SSH gateway wired to the daemon: pre-authenticated sockets and session audit."""
    from ccops.gateway.server import SshGateway

    assert daemon.api is not None
    gw_log = logging.getLogger("ccops.gateway")
    if gw_log.getEffectiveLevel() > logging.INFO:
        gw_log.setLevel(logging.INFO)  # logins and logouts belong in the daemon's log
    gateway = SshGateway(
        settings.ssh,
        state_dir=daemon.state_dir,
        attach=daemon.api.attach_preauthenticated,
        audit=daemon.audit_session,
        revoke=daemon.api.revoke_session,
        notify=daemon.api.notify_session,
    )
    try:
        await gateway.start()
    except OSError as exc:
        raise RuntimeError(
            f"ssh: cannot listen on {settings.ssh.host}:{settings.ssh.port}: "
            f"{exc.strerror or exc}"
        ) from exc
    return gateway


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


def _incident_report(args: argparse.Namespace) -> int:
    from ccops.core.incident_report import drill_record, report_markdown, review_form
    from ccops.core.playbook_load import load_pinned
    from ccops.store.errors import StoreError
    from ccops.store.incidents import read_incident_file

    path = _settings(args).store_path()
    try:
        inc = asyncio.run(read_incident_file(path, args.incident_id))
    except StoreError as exc:
        print(f"ccops incident report: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if inc is None:
        print(f"ccops incident report: no incident {args.incident_id} in {path}",
              file=sys.stderr)
        return EXIT_FAIL
    playbook = load_pinned(inc.document)  # the version the incident ran, not today's file
    if args.drill:
        print(drill_record(inc, playbook), end="")
    elif args.review:
        print(review_form(inc, playbook), end="")
    else:
        print(report_markdown(inc, playbook), end="")
    return EXIT_OK


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


# --------------------------------------------------------------------------- console


def _log_to_file(path: Path, level: int) -> None:
    """Send logging to ``path`` (0600 in a 0700 directory); never to the terminal, which
    the console is drawing on. If the file cannot be opened, logs are dropped, not shown."""
    root = logging.getLogger()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


def _take_controlling_tty() -> None:
    """Started by the SSH gateway in a new session: make the PTY our controlling terminal,
    so the kernel delivers window-size changes (SIGWINCH) to us by itself."""
    import fcntl
    import termios

    if os.isatty(0):
        with contextlib.suppress(OSError):
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _tui(args: argparse.Namespace, level: int) -> int:
    """``ccops tui``: the console on a running daemon (its socket, or an inherited fd)."""
    socket_path: Path | None = args.socket
    log_file: Path | None = args.log_file
    if args.fd is not None:
        _take_controlling_tty()
    elif socket_path is None or log_file is None:
        settings = _settings(args)
        socket_path = socket_path or settings.daemon.resolved_socket()
        log_file = log_file or settings.daemon.resolved_state_dir() / "console.log"
    if log_file is not None:
        _log_to_file(log_file, level)
    else:
        logging.getLogger().addHandler(logging.NullHandler())
    from ccops.tui.app import run_tui_sync

    return run_tui_sync(socket_path, fd=args.fd, theme=args.theme)


def _console(args: argparse.Namespace, level: int) -> int:
    """Plain ``ccops``: a private daemon (on the simulator unless PBXs are configured) and
    the console attached to it, in one process; everything goes when the console quits."""
    settings = _settings(args)
    _log_to_file(settings.daemon.resolved_state_dir() / "console.log", level)
    with tempfile.TemporaryDirectory(prefix="ccops-") as tmp:
        if settings.uses_simulator and settings.daemon.state_dir is None:
            settings = settings.model_copy(
                update={"daemon": settings.daemon.model_copy(update={"state_dir": Path(tmp)})}
            )

        async def run() -> int:
            from ccops.daemon.service import Daemon
            from ccops.tui.app import run_tui

            daemon = Daemon(settings)
            await daemon.start()
            try:
                return await run_tui(daemon.socket_path, theme=args.theme)
            finally:
                await daemon.stop()

        try:
            return asyncio.run(run())
        except RuntimeError as exc:
            print(f"ccops: {exc}", file=sys.stderr)
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
