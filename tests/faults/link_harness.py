"""Helpers for the AMI fault suite: config with short timeouts, recorders, bounded waits.

Every wait here is bounded: a fault test must fail, not hang.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from ccops.config import PbxConfig
from ccops.core.clock import Clock, SystemClock
from ccops.core.events import LinkState
from ccops.pbx.link import AmiLink, LinkStatus
from ccops.pbx.message import AmiMessage

SECRET = "s3cret"


def make_config(port: int, **overrides: Any) -> PbxConfig:
    """Short timeouts so every fault resolves in well under a second."""
    values: dict[str, Any] = {
        "name": "test",
        "host": "127.0.0.1",
        "port": port,
        "username": "ccops",
        "connect_timeout": 1.0,
        "login_timeout": 1.0,
        "ping_interval": 30.0,
        "ping_timeout": 1.0,
        "action_timeout": 1.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "auth_backoff": 0.3,
    }
    values.update(overrides)
    return PbxConfig(**values)


class Recorder:
    """Collects what the link hands out; an optional hook can raise to test isolation."""

    def __init__(self) -> None:
        self.messages: list[tuple[AmiMessage, str | None]] = []
        self.states: list[LinkStatus] = []
        self.logins: list[int] = []
        self.hook: Callable[[AmiMessage, str | None], None] | None = None

    def on_message(self, msg: AmiMessage, list_name: str | None) -> None:
        self.messages.append((msg, list_name))
        if self.hook is not None:
            self.hook(msg, list_name)

    def on_state(self, status: LinkStatus) -> None:
        self.states.append(status)

    def events(self, name: str | None = None) -> list[AmiMessage]:
        return [m for m, lst in self.messages if lst is None and (name is None or m.event == name)]

    def items(self, list_name: str) -> list[AmiMessage]:
        return [m for m, lst in self.messages if lst == list_name]

    def states_named(self, state: LinkState) -> list[LinkStatus]:
        return [s for s in self.states if s.state == state]


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll ``predicate`` every 10 ms; fail the test if it never holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running_link(
    port: int,
    *,
    recorder: Recorder | None = None,
    secret: str = SECRET,
    on_login: Callable[[int], Awaitable[None]] | None = None,
    clock: Clock | None = None,
    drop_events: frozenset[str] | None = None,
    **config: Any,
) -> AsyncIterator[tuple[AmiLink, Recorder]]:
    """A started link (stopped on exit, whatever happened)."""
    rec = recorder or Recorder()
    kwargs: dict[str, Any] = {}
    if drop_events is not None:
        kwargs["drop_events"] = drop_events
    link = AmiLink(
        make_config(port, **config),
        secret=secret,
        on_message=rec.on_message,
        on_state=rec.on_state,
        on_login=on_login,
        clock=clock or SystemClock(),
        rng=random.Random(7),
        **kwargs,
    )
    await link.start()
    try:
        yield link, rec
    finally:
        await asyncio.wait_for(link.stop(), 5.0)
