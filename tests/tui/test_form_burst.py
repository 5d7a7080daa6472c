"""A form filled in one burst (a fast typist over a laggy SSH link: ``value⏎value⏎⏎``
arriving in one read) works exactly like slow typing: each value lands in its own field and
the last Enter submits. Textual moves the focus to the next field only after the Enter has
been handled, so without holding the keys typed ahead, the second value was appended to the
first field and the submitting Enter was spent moving the focus again (the form stayed open).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from test_input_burst import feed_chunk
from tui_docs import NOW, status_doc
from tui_helpers import StaticLink, until

from ccops.tui.app import CcopsApp
from ccops.tui.dialogs import Field, FormModal


async def test_form_values_and_submit_in_one_burst() -> None:
    app = CcopsApp(StaticLink(status_doc()), now=lambda: NOW, refresh_min=0.0)
    got: list[dict[str, Any] | None] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        form = FormModal(
            "Complete step",
            lambda: Text("two fields and a note"),
            [Field("who", "Who"), Field("where", "Where"),
             Field("note", "Note", optional=True)],
            validate=lambda v: [],
            action_label="Complete",
        )
        app.push_screen(form, got.append)
        await until(pilot, lambda: app.screen is form, what="form open")
        await pilot.pause(0.1)
        feed_chunk(app, "team B\rhall 2\r\r")
        await until(pilot, lambda: bool(got), what="form submitted")
        assert got == [{"who": "team B", "where": "hall 2"}]

