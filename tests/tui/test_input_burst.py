"""Keys arriving in one burst (a paste, a fast typist over SSH/VPN) work exactly like slow
typing: ``:queue billing⏎`` as a single chunk opens the queue, and nothing typed after the
``:`` leaks into the screen under the prompt as its own keys (``u`` unpause, ``e`` penalty…).

The chunk goes through Textual's own terminal parser and every resulting key is handed to
the driver back to back, as the Linux driver does with one ``read()`` of the terminal."""

from __future__ import annotations

from textual._xterm_parser import XTermParser
from textual.events import Key
from tui_docs import NOW, status_doc
from tui_helpers import StaticLink, until

from ccops.screens.queue_detail import QueueDetailScreen
from ccops.screens.queues import QueuesScreen
from ccops.tui.app import CcopsApp
from ccops.tui.widgets.command_bar import CommandBar


def feed_chunk(app: CcopsApp, data: str) -> int:
    """Everything in ``data`` as one terminal read; returns the number of keys sent."""
    driver = app._driver
    assert driver is not None
    n = 0
    for event in XTermParser().feed(data):
        if isinstance(event, Key):
            event.set_sender(app)
            driver.send_message(event)
            n += 1
    return n


async def test_command_line_in_one_chunk_opens_the_queue() -> None:
    link = StaticLink(status_doc())
    app = CcopsApp(link, now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert feed_chunk(app, ":queue billing\r") == 15
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="queue opened")
        screen = app.screen
        assert isinstance(screen, QueueDetailScreen) and screen.queue == "billing"
        assert link.sent == []


async def test_burst_on_a_screen_with_letter_keys_sends_nothing() -> None:
    """On the queue screen ``u``, ``e``, ``p`` are actions: a burst after ``:`` must land in
    the prompt, and a typo there just says "unknown command"."""
    link = StaticLink(status_doc())
    app = CcopsApp(link, now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_queue("billing")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
        await pilot.pause(0.2)
        feed_chunk(app, ":pause queue\r")
        await pilot.pause(0.3)
        assert isinstance(app.screen, QueueDetailScreen)  # no modal opened by p/u/e
        assert not app.screen.query_one(CommandBar).is_open
        assert link.sent == []


async def test_filter_and_pilot_press_without_pauses() -> None:
    app = CcopsApp(StaticLink(status_doc()), now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        feed_chunk(app, ":queues\r/bil\r")
        await until(pilot, lambda: isinstance(app.screen, QueuesScreen), what="queues")
        screen = app.screen
        await until(pilot, lambda: screen.filter_text == "bil", what="filter from the burst")
        # Pilot's own press() of the whole line behaves the same
        await pilot.press("escape", "colon", *"queue billing", "enter")
        await until(pilot, lambda: isinstance(app.screen, QueueDetailScreen), what="detail")
