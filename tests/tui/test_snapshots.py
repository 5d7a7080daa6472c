"""Pinned text snapshots of the main screens, from a fixed document and a frozen clock.

Text, not SVG: the export is what the terminal shows (box drawing, glyphs, words), so a diff
reads like the screen; wall-clock times are masked because they render in the machine's
local zone. To accept a deliberate change, review the diff and run with
``CCOPS_UPDATE_SNAPSHOTS=1``; a missing snapshot fails (it is never silently created).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tui_docs import NOW, stale, status_doc
from tui_helpers import StaticLink, normalise, screen_text, until

from ccops.screens.queue_detail import QueueDetailScreen
from ccops.tui.app import CcopsApp
from ccops.tui.dialogs import ConfirmModal
from ccops.tui.widgets.tile import QueueTile

SNAPSHOTS = Path(__file__).parent / "snapshots"

Steps = Callable[[Any, CcopsApp], Awaitable[None]]


async def render(
    doc: dict[str, Any], size: tuple[int, int], steps: Steps | None = None, role: str = "admin"
) -> str:
    app = CcopsApp(StaticLink(doc, role=role), now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: len(app.screen.query(QueueTile)) == 3, what="tiles")
        await pilot.pause(0.1)
        if steps is not None:
            await steps(pilot, app)
        return await stable_text(pilot, app)


async def stable_text(pilot: Any, app: CcopsApp) -> str:
    """The screen once it stopped changing (the footer repaints after bindings change)."""
    last = ""
    for _ in range(40):
        await pilot.pause(0.05)
        text = normalise(screen_text(app))
        lines = text.rstrip().splitlines()
        if text == last and lines and lines[-1].strip():
            return text
        last = text
    return last


def check(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    text = text.rstrip("\n")
    if os.environ.get("CCOPS_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(
            f"no snapshot {path.name}; review the output and run with "
            f"CCOPS_UPDATE_SNAPSHOTS=1\n{text}"
        )
    expected = path.read_text(encoding="utf-8").rstrip("\n")
    if text != expected:
        diff = "\n".join(
            difflib.unified_diff(
                expected.splitlines(), text.splitlines(), "snapshot", "now", lineterm=""
            )
        )
        pytest.fail(f"screen {name} changed:\n{diff}")


async def test_snapshot_dashboard() -> None:
    check("dashboard_120x40", await render(status_doc(), (120, 40)))


async def test_snapshot_dashboard_80x24() -> None:
    check("dashboard_80x24", await render(status_doc(), (80, 24)))


async def test_snapshot_dashboard_pbx_down() -> None:
    check("dashboard_stale", await render(stale(status_doc()), (120, 40)))


async def test_snapshot_queue_detail_viewer() -> None:
    async def open_hotline(pilot: Any, app: CcopsApp) -> None:
        app.open_queue("hotline")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")

    check(
        "queue_hotline_viewer", await render(status_doc(), (120, 40), open_hotline, role="viewer")
    )


async def test_snapshot_overflow_confirmation() -> None:
    async def confirm(pilot: Any, app: CcopsApp) -> None:
        await pilot.press("2")
        await pilot.pause(0.1)
        table = app.screen.query_one("LiveTable")
        table.select_key("sim/billing")  # type: ignore[attr-defined]
        await pilot.press("o", "enter", "enter", "ctrl+u", *"hotline", "enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")

    check("overflow_confirm", await render(status_doc(), (120, 40), confirm))
