"""One real ``ccops serve`` (daemon on the simulator plus SSH gateway) for the e2e tests.

It runs as a separate process, exactly as an admin starts it, and is shared by the tests in
this directory to keep them quick: each test opens its own SSH sessions against it. It is
stopped as soon as the last test here has run (not at the end of the whole session), so it
does not keep a busy simulator running while the rest of the suite runs on a small machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_ssh import Served, serve

HERE = Path(__file__).parent
_stack = contextlib.ExitStack()
_served: list[Served] = []


def _stop() -> None:
    _served.clear()
    _stack.close()


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    if not _served:
        _served.append(_stack.enter_context(serve()))
    yield _served[0]
    _stop()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is None or Path(nextitem.path).parent != HERE:
        _stop()
