"""Pure parts of the console: formatting, view models, history, tiles, the registry, the
status bar and banner, and the keyed table — no daemon needed."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from tui_docs import NOW, stale, status_doc
from tui_helpers import StaticLink, until

from ccops.core.commands import COMMANDS
from ccops.core.roles import Role
from ccops.daemon.client import DaemonUnavailable
from ccops.tui import fmt, registry, view
from ccops.tui.app import CcopsApp, readback_text
from ccops.tui.chrome import AttachInfo, banner, pbx_problems, read_only, status_line
from ccops.tui.history import History
from ccops.tui.link import ConsoleLink, socket_from_fd
from ccops.tui.registry import Situation, availability
from ccops.tui.themes import DARK, LIGHT, palette_for, theme_name
from ccops.tui.tiles import downsample, tile_text
from ccops.tui.widgets.live_table import Cell, Column, LiveTable

PAL = palette_for(DARK)
LIVE = AttachInfo(True, True, None, None, "", True)


# --------------------------------------------------------------------------- fmt


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "–"),
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m00s"),
        (185, "3m05s"),
        (3600, "1h00m"),
        (7325, "2h02m"),
        (90000, "1d01h"),
        (-5, "0s"),
        (float("nan"), "–"),
    ],
)
def test_age(seconds: float | None, text: str) -> None:
    assert fmt.age(seconds) == text


def test_pct_and_num() -> None:
    assert fmt.pct(0.805) == "80%" and fmt.pct(0.117, 1) == "11.7%" and fmt.pct(None) == "–"
    assert fmt.num(3.0) == "3" and fmt.num(2.5) == "2.5" and fmt.num(None) == "–"


def test_sparkline_scales_and_shows_gaps() -> None:
    assert fmt.sparkline([0, 4, 8], 3) == "▁▅█"
    assert fmt.sparkline([None, 1.0], 4) == "   █"
    assert fmt.sparkline([0, 0], 2) == "▁▁"
    assert fmt.sparkline([], 0) == ""


def test_state_looks_carry_words_not_only_colour() -> None:
    assert fmt.member_look("paused:meal").label == "‖ paused meal"
    assert fmt.member_look("unavailable").word == "UNAVAILABLE"
    assert fmt.member_look("something_new").word == "something new"
    assert fmt.link_look("down").label == "✖ DOWN"
    assert fmt.trunk_look(None, None).word == "unknown"
    assert fmt.trunk_look(None, False).word == "DOWN"
    assert fmt.severity_look("critical").label == "‼ CRITICAL"
    assert fmt.result_look("refused").word == "REFUSED"


# --------------------------------------------------------------------------- view models


def test_view_reads_the_document() -> None:
    doc = status_doc()
    qs = {q.name: q for q in view.queues(doc)}
    assert set(qs) == {"billing", "hotline", "repairs"}
    hot = qs["hotline"]
    assert hot.waiting == 3 and hot.gap == 3 and hot.below_target and hot.key == "sim/hotline"
    assert qs["repairs"].gap is None and "warming up" in qs["repairs"].gap_reason
    callers = view.callers(view.queue_doc(doc, "sim", "hotline") or {})
    assert [c.position for c in callers] == [1, 2, 3]
    members = view.members(view.queue_doc(doc, "sim", "hotline") or {})
    assert {m.state for m in members} >= {"on_call", "paused:break", "unavailable"}
    ivs = view.intervals(view.queue_doc(doc, "sim", "hotline") or {})
    assert ivs[-1].current and len(ivs) == 4
    trunks = {t.name: t for t in view.trunks(doc)}
    assert trunks["carrier-a"].rtt_ms == 12.0 and trunks["carrier-b"].up is False
    assert trunks["carrier-b"].history[-1][1] is False
    flag = view.flag_for(doc, "sim", "overflow", "hotline")
    assert flag is not None and flag.is_on and flag.value == "billing"
    alerts = view.active_alerts(doc)
    assert [a.severity for a in alerts] == ["critical", "warning"]
    assert view.worst_alert(doc, "sim:hotline") is not None
    assert view.simulated(doc)


def test_view_tolerates_missing_and_odd_fields() -> None:
    doc: dict[str, Any] = {
        "pbx": {
            "p": {
                "queues": {"q": {"waiting": "x", "kpi": None, "members": {"a": 5}}},
                "trunks": {"t": {}},
                "flags": {"f/k": {}},
                "agents": {"i": {"since": True}},
            }
        },
        "alerts": [None, {"id": 1}],
    }
    q = view.queues(doc)[0]
    assert q.waiting == 0 and q.sl is None and q.gap is None
    assert view.members(view.queue_doc(doc, "p", "q") or {}) == []
    assert view.trunks(doc)[0].up is None
    assert view.flags(doc) == []  # no value: nothing set
    assert view.agents(doc, NOW)[0].time_in_state is None
    assert view.active_alerts(doc)[0].id == 1
    assert view.links({}) == [] and view.queues({}) == []


def test_flag_off_values() -> None:
    for value, on in (("on", True), ("billing", True), ("off", False), ("0", False)):
        f = view.FlagView("p", "ccops", "overflow/q", "overflow", "q", value, None)
        assert f.is_on is on


# --------------------------------------------------------------------------- history, tiles


def test_history_keeps_worst_value_per_minute_and_bounds_memory() -> None:
    h = History(minutes=3)
    h.record("q", "waiting", 2, 60.0)
    h.record("q", "waiting", 7, 70.0)
    h.record("q", "waiting", 1, 80.0)
    h.record("q", "sl", 0.9, 60.0, keep="min")
    h.record("q", "sl", 0.6, 61.0, keep="min")
    assert h.values("q", "waiting", 80.0) == [None, None, 7]
    assert h.values("q", "sl", 80.0)[-1] == 0.6
    for minute in range(2, 50):
        h.record("q", "waiting", minute, minute * 60.0)
    assert len(h.values("q", "waiting", 49 * 60.0)) == 3
    assert h._series[("q", "waiting")].bins.__len__() <= 3
    h.forget(set())
    assert h.values("q", "waiting", 49 * 60.0) == [None, None, None]


def test_downsample_keeps_the_worst() -> None:
    assert downsample([1, 9, 2, 3], 2) == [9, 3]
    assert downsample([1, 9, 2, 3], 2, keep="min") == [1, 2]
    assert downsample([None, None, 1, 2], 2) == [None, 2]
    assert downsample([1, 2], 5) == [1, 2]


def test_tile_text_fits_and_says_needs() -> None:
    hot = next(q for q in view.queues(status_doc()) if q.name == "hotline")
    text = tile_text(hot, [0, 3, 6], [0.9, 0.7], 3, PAL)
    lines = text.plain.splitlines()
    assert len(lines) == 8
    assert max(len(line) for line in lines) <= 36
    assert "needs +3 agents" in text.plain and "▼" in text.plain and "1 unavailable" in text.plain


# --------------------------------------------------------------------------- registry


def test_every_core_command_has_a_ui_entry() -> None:
    assert registry.core_commands_covered() == set(COMMANDS)


def test_keys_are_unique_within_each_scope() -> None:
    scopes = {s for c in registry.COMMAND_TABLE for s in c.scopes}
    for scope in scopes:
        keys = [c.key for c in registry.commands_for(scope) if c.key]
        assert len(keys) == len(set(keys)), scope


def test_every_bound_action_exists_on_its_screens() -> None:
    from ccops.tui.app import CcopsApp as AppCls

    screens = {cls.SCOPE: cls for cls in AppCls.MODES.values()}
    from ccops.screens.queue_detail import QueueDetailScreen

    screens["queue"] = QueueDetailScreen
    from ccops.screens.incident import IncidentScreen

    screens["incident"] = IncidentScreen
    for cmd in registry.COMMAND_TABLE:
        name = cmd.action.split("(")[0]
        if name.startswith("app."):
            assert hasattr(AppCls, "action_" + name[4:]), cmd.id
            continue
        for scope in cmd.scopes:
            targets = screens.values() if scope == registry.ALL else [screens[scope]]
            for cls in targets:
                assert hasattr(cls, "action_" + name), (cmd.id, cls.__name__)


def test_availability_role_then_links() -> None:
    pause = registry.BY_ID["member.pause"]
    ack = registry.BY_ID["alert.ack"]
    viewer = Situation(role=Role.VIEWER, attached=True)
    a = availability(pause, viewer)
    assert not a.visible and "READ-ONLY for role viewer" in a.reason
    sup_down = Situation(role=Role.SUPERVISOR, attached=True, pbx_down={"sim": "PBX sim link DOWN"})
    assert availability(pause, sup_down) == registry.Availability(True, False, "PBX sim link DOWN")
    assert availability(pause, sup_down, "other").enabled  # another PBX is fine
    assert availability(ack, sup_down).enabled  # alerts do not need the PBX
    lost = Situation(role=Role.ADMIN, attached=False, daemon_reason="daemon gone")
    assert availability(ack, lost) == registry.Availability(True, False, "daemon gone")
    unknown = Situation(role=None, attached=False)
    assert not availability(pause, unknown).enabled
    nav = registry.BY_ID["nav.filter"]
    assert availability(nav, viewer).enabled


def test_resources_and_aliases() -> None:
    assert registry.resource(":q").name == "queues"  # type: ignore[union-attr]
    assert registry.resource("Trunk").name == "trunks"  # type: ignore[union-attr]
    assert registry.resource("nope") is None


# --------------------------------------------------------------------------- chrome


def test_status_line_live_admin() -> None:
    line = status_line(status_doc(), LIVE, "alice", Role.ADMIN, NOW, PAL).plain
    assert "● sim LIVE" in line and "SIMULATED" in line and "alice (admin)" in line
    assert "● LIVE" in line and "READ-ONLY" not in line and "STALE" not in line


def test_status_line_fits_80_columns_with_clock_and_live_state() -> None:
    line = status_line(status_doc(), LIVE, "alice", Role.VIEWER, NOW, PAL, compact=True).plain
    assert len(line) <= 78, line  # the clock is the last thing on the line: it must show
    assert "● LIVE" in line and "READ-ONLY" in line and "SIM" in line and "ago" in line
    full = status_line(status_doc(), LIVE, "alice", Role.VIEWER, NOW, PAL).plain
    assert len(full) > len(line) and "last event" in full and "SIMULATED" in full


def test_status_line_viewer_stale_and_lost() -> None:
    doc = stale(status_doc())
    line = status_line(doc, LIVE, "vera", Role.VIEWER, NOW, PAL).plain
    assert "READ-ONLY" in line and "✖ sim DOWN since" in line and "retry 4s" in line
    assert "STALE" in line
    lost = AttachInfo(False, True, NOW - 30, NOW + 3, "closed", True)
    line = status_line(status_doc(), lost, "alice", Role.ADMIN, NOW, PAL).plain
    assert "DAEMON LOST retry 3s" in line and "STALE" in line
    text = banner(status_doc(), lost, NOW, PAL)
    assert text is not None and "Daemon connection lost since" in text.plain
    assert "Retrying in 3s" in text.plain


def test_banner_and_problems() -> None:
    assert banner(status_doc(), LIVE, NOW, PAL) is None
    text = banner(stale(status_doc()), LIVE, NOW, PAL)
    assert text is not None and "connection refused" in text.plain
    assert "PBX actions are disabled" in text.plain
    problems = pbx_problems(stale(status_doc()), LIVE, NOW)
    assert "PBX sim link DOWN" in problems["sim"]
    gone = AttachInfo(False, False, None, None, "no daemon", False)
    gone_text = banner({}, gone, NOW, PAL)
    assert gone_text is not None and "Quit (ctrl+q) and reconnect" in gone_text.plain


def test_read_only_roles() -> None:
    assert read_only(Role.VIEWER) and read_only(Role.DISPATCHER) and read_only(None)
    assert not read_only(Role.SUPERVISOR) and not read_only(Role.ADMIN)


def test_readback_text() -> None:
    assert (
        readback_text({"family": "ccops", "key": "overflow/q", "value": "b", "previous": None})
        == "AstDB ccops/overflow/q = 'b' (was not set)"
    )
    assert (
        readback_text({"hotline": {"paused": "1", "reason": "break"}})
        == "hotline: paused=1 reason=break"
    )
    assert readback_text(None) == ""
    assert readback_text("x" * 300).endswith("…")


def test_themes() -> None:
    assert theme_name("light") == LIGHT.name and theme_name("HC") == "ccops-contrast"
    assert theme_name("neon") is None
    assert palette_for(LIGHT).bad != palette_for(DARK).bad


# --------------------------------------------------------------------------- link


def test_link_needs_a_way_in() -> None:
    with pytest.raises(ValueError, match="socket path"):
        ConsoleLink()


def test_fd_that_is_not_a_unix_socket_is_refused() -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(DaemonUnavailable, match="not a socket"):
            socket_from_fd(r)
    finally:
        os.close(r)
        os.close(w)
    tcp = socket.socket()
    fd = tcp.detach()
    try:
        with pytest.raises(DaemonUnavailable, match="not a Unix stream socket"):
            socket_from_fd(fd)
    finally:
        os.close(fd)


async def test_link_without_daemon_reports_and_keeps_retrying(tmp_path: Path) -> None:
    link = ConsoleLink(tmp_path / "none.sock", retry_initial=0.05, retry_max=0.05)
    states: list[str] = []
    link.on_state = lambda: states.append(link.reason)
    link.start()
    import asyncio

    for _ in range(100):
        if link.attempts >= 3:
            break
        await asyncio.sleep(0.02)
    await link.stop()
    assert link.attempts >= 3 and not link.attached and link.can_retry
    assert "no ccops daemon" in link.reason and link.document == {}
    with pytest.raises(DaemonUnavailable):
        await link.execute("pause_member", {})


# --------------------------------------------------------------------------- keyed table


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LiveTable([Column("name", "name"), Column("n", "n", 4, right=True)], id="t")


def _rows(data: list[tuple[str, int]]) -> list[tuple[str, list[Cell]]]:
    return [(k, [Cell(k), Cell(str(n), sort_value=n)]) for k, n in data]


async def test_live_table_updates_in_place_and_keeps_cursor() -> None:
    app = _TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(LiveTable)
        table.sync(_rows([("a", 1), ("b", 2), ("c", 3)]))
        await pilot.pause()
        table.select_key("b")
        table.sync(_rows([("a", 1), ("b", 5), ("c", 3)]))
        assert table.updates == 1  # one cell changed, one update
        assert table.selected_key == "b"
        table.sync(_rows([("a", 1), ("b", 5), ("c", 3)]))
        assert table.updates == 1  # nothing changed, nothing touched
        table.set_sort("n")
        assert table.keys == ["a", "c", "b"] and table.selected_key == "b"
        table.set_sort("n")
        assert table.keys == ["b", "c", "a"]
        table.sync(_rows([("c", 3), ("d", 0)]))  # a and b gone, d new
        assert table.keys == ["c", "d"]
        table.sort_column = None
        table.sync(_rows([("d", 0), ("c", 3)]))  # natural order follows the input
        assert table.keys == ["d", "c"]
        styled = Cell("x", style="bold")
        assert styled.signature() != Cell("x").signature()
        assert styled.rich_style.bold and not Cell("x").rich_style  # parsed once, cached


async def test_palette_lists_only_allowed_commands() -> None:
    from ccops.tui.palette_provider import RegistryProvider

    app = CcopsApp(StaticLink(status_doc(), role="viewer"), now=lambda: NOW, refresh_min=0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_queue("hotline")
        await until(pilot, lambda: getattr(app.screen, "SCOPE", "") == "queue", what="queue")
        provider = RegistryProvider(app.screen)
        labels = [label for label, *_ in provider._entries()]
        assert "nav: Filter" in labels and "view: Queues" in labels
        assert not any("Pause" in label for label in labels)
        assert "view: Trunks" not in labels and "view: Audit" not in labels  # no capability
