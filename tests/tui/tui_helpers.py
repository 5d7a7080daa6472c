"""Helpers for the console tests: a static link, screen text export, waiting, settings."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot

from ccops.config import AlertRule, Settings, load_settings
from ccops.tui.app import CcopsApp
from ccops.tui.link import ConsoleLink

BUSY_SCENARIO = """
name = "tui tests"
[sim]
profile = "flat"
rate_scale = 6
agent_pauses = false
"""


class StaticLink(ConsoleLink):
    """A link that is 'attached' to a fixed document (no daemon): for snapshots and pure UI
    behaviour. Commands sent are recorded and answered with ``reply``."""

    def __init__(
        self,
        doc: dict[str, Any],
        *,
        role: str = "admin",
        name: str = "alice",
        attached: bool = True,
    ) -> None:
        super().__init__(Path("/nonexistent/static.sock"))
        self._static = doc
        self.operator = {"name": name, "role": role, "via": "ssh", "session_id": "s1"}
        self._attach = attached
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.reply: dict[str, Any] = {
            "type": "result",
            "result": {
                "status": "ok",
                "ok": True,
                "detail": "done",
                "summary": "done",
                "readback": None,
            },
        }
        self.audit_records: list[dict[str, Any]] = []

    @property
    def document(self) -> dict[str, Any]:
        return self._static

    def set_document(self, doc: dict[str, Any]) -> None:
        self._static = doc
        if self.on_document is not None:
            self.on_document(set())

    def start(self) -> None:
        self.attached = self._attach
        self.ever_attached = self._attach
        self.reason = "" if self._attach else "no ccops daemon at /nonexistent/static.sock"
        if self.on_state is not None:
            self.on_state()
        if self.on_document is not None:
            self.on_document(set())

    async def stop(self) -> None:
        return None

    async def execute(
        self, command: str, params: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        self.sent.append((command, params))
        return self.reply

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """The daemon's audit paging, over ``audit_records`` (operator/result filters only)."""
        recs = [
            r
            for r in self.audit_records
            if all(r.get(k) == fields[k] for k in ("operator", "result") if k in fields)
        ]
        limit = int(fields.get("limit", 100))
        if "after_seq" in fields:
            recs = [r for r in recs if int(r["seq"]) > int(fields["after_seq"])]
        elif "before_seq" in fields:
            recs = sorted(
                (r for r in recs if int(r["seq"]) < int(fields["before_seq"])),
                key=lambda r: -int(r["seq"]),
            )
        return {
            "type": "result",
            "result": {"records": recs[:limit], "more": len(recs) > limit},
        }


def make_app(socket: Path) -> CcopsApp:
    """The console attached to a daemon socket, with fast retries and refreshes for tests."""
    link = ConsoleLink(socket, retry_initial=0.2, retry_max=0.5)
    return CcopsApp(link, refresh_min=0.05)


def screen_text(app: CcopsApp) -> str:
    """The current screen as plain text (what a terminal would show, without colours)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    console.print(update)
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines())


def normalise(text: str) -> str:
    """Mask what changes between runs: wall-clock times."""
    return re.sub(r"\b\d\d:\d\d(:\d\d)?\b", "hh:mm", text)


async def until(
    pilot: Pilot[Any], predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition"
) -> None:
    """Pump the app until ``predicate()`` is true (fails the test with ``what`` if not)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # not ready yet (widget not mounted…)
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def daemon_settings(
    state_dir: Path,
    *,
    scenario: str = BUSY_SCENARIO,
    alerts: list[AlertRule] | None = None,
    pbx: list[dict[str, Any]] | None = None,
) -> Settings:
    base = load_settings(None, use_default_path=False)
    scen = state_dir / "scenario.toml"
    scen.write_text(scenario)
    update: dict[str, Any] = {
        "daemon": base.daemon.model_copy(update={"state_dir": state_dir, "publish_hz": 4.0}),
        "sim": base.sim.model_copy(update={"scenario": scen, "seed": 3}),
    }
    if alerts is not None:
        update["alerts"] = alerts
    settings = base.model_copy(update=update)
    if pbx is not None:
        from ccops.config import PbxConfig

        settings = settings.model_copy(update={"pbx": [PbxConfig.model_validate(p) for p in pbx]})
    return settings


async def kill_daemon(daemon: Any) -> None:
    """Stop a daemon the way a crash looks to its clients: their sockets close at once
    (``ApiServer.stop`` now closes them too; closing first makes the order deterministic)."""
    for channel in list(daemon.publisher.clients):
        channel.writer.close()
    await asyncio.sleep(0)
    await daemon.stop()
