"""The interim live view behind plain ``ccops``: a private daemon plus a refreshing status.

It starts the daemon in this process (on the embedded simulator unless PBXs are configured)
and attaches to it through the same socket API every other client uses, so what it shows is
exactly what ``ccops status`` and the console get. The full-screen Textual console replaces
this view (issue 3); until then this is the one-command experience.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from ccops.config import Settings
from ccops.daemon.client import DaemonClient
from ccops.daemon.render import status_renderable
from ccops.daemon.service import Daemon


async def run_live_view(settings: Settings, *, seconds: float = 0) -> None:
    daemon = Daemon(settings)
    await daemon.start()
    client = DaemonClient(daemon.socket_path)
    console = Console()
    try:
        await client.connect(subscribe=True)
        header = Text()
        header.append("ccops ", style="bold")
        if settings.uses_simulator:
            header.append("SIMULATED PBX", style="bold reverse magenta")
            header.append("  (no [[pbx]] configured: this is the embedded simulator)")
        header.append("   Ctrl-C to quit", style="dim")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds if seconds > 0 else None
        with Live(console=console, auto_refresh=False, screen=sys.stdout.isatty()) as live:
            while deadline is None or loop.time() < deadline:
                live.update(Group(header, status_renderable(client.document)), refresh=True)
                await asyncio.sleep(1.0)
                if client.closed.is_set():
                    raise RuntimeError(f"lost the daemon: {client.error}")
        console.print(Group(header, status_renderable(client.document)))
    finally:
        with contextlib.suppress(Exception):
            await client.close()
        await daemon.stop()
