"""Fixtures for the console tests: a real in-process daemon on the simulator, and the app.

Every live test runs the real ``Daemon`` (store, executor, publisher) on the embedded
simulated PBX in a temporary state directory, and the console attached through the real
Unix socket, so what passes here is what an operator gets.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tui_helpers import daemon_settings, make_app

from ccops.daemon.service import Daemon
from ccops.tui.app import CcopsApp


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # short path: a Unix socket path must stay under ~108 bytes
    path = Path(tempfile.mkdtemp(prefix="ccops-tui-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def daemon(state_dir: Path) -> AsyncIterator[Daemon]:
    d = Daemon(daemon_settings(state_dir))
    await d.start()
    yield d
    with contextlib.suppress(Exception):
        await d.stop()


@pytest.fixture
async def app(daemon: Daemon) -> AsyncIterator[CcopsApp]:
    a = make_app(daemon.socket_path)
    yield a
    await a.link.stop()
    assert a.display_errors == 0, f"a screen failed to render: {a.last_display_error}"
