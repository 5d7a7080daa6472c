"""The emergency playbooks run by a duty team leader over SSH, end to end.

A real ``ccops serve`` (daemon, SSH gateway, the embedded simulated PBX — or, for the
surge, a separate ``ccops sim`` that keeps running across the daemon restart as Asterisk
would) per test, its wall clock moved from outside by libfaketime (e2e_playbooks.py says
why), stopped and started again on the same state directory. Everything is done through
the console's keys and read off its screen (asyncssh PTY rendered by pyte, or the real
OpenSSH client under tmux); the daemon socket and ``ccops incident report`` only
cross-check the store.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator

import pytest
from e2e_playbooks import (
    LIBFAKETIME,
    Screen,
    Site,
    TmuxTerminal,
    Typist,
    close_incident,
    complete_step,
    console_clock,
    incident,
    open_incident,
    open_playbook,
    report_cli,
    row_of,
    select_step,
    site,
    steps_row,
    wait_notice,
    wait_row,
    wait_step,
)
from e2e_ssh import Tmux, connect, open_terminal

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not LIBFAKETIME.exists() and os.environ.get("CI") != "true",
        reason="needs libfaketime (scripts/test installs faketime; in CI it must run)",
    ),
]

COLS, ROWS = 300, 50  # wide: the timeline detail is read whole, clear of the notices
REPORT_SECTIONS = (  # domain.md §2.5: the seven items of the incident report
    "## 1. Site", "## 2. Time", "## 3. Type", "## 4. Impact and severity",
    "## 5. Measures taken and degree of control",
    "## 6. Trend, potential losses and next measures", "## 7. Other",
)

QUIET = """
name = "playbooks e2e"
[sim]
profile = "flat"
rate_scale = 3
agent_pauses = false
"""

SURGE_CONFIG = """
[playbooks.parameters.a8_call_surge]
pbx = "main"
surge_queue = "hotline"
overflow_destination = "voicemail"
"""


@pytest.fixture
def surge_site() -> Iterator[Site]:
    with site(QUIET, SURGE_CONFIG, own_pbx=True) as s:  # the PBX outlives the restart
        yield s


# --------------------------------------------------------------------------- A8 surge


async def test_surge_overflow_escalation_on_time_restart_close(surge_site: Site) -> None:
    s = surge_site
    served = s.start()
    async with await connect(served, "lead") as conn:
        raw = await open_terminal(conn, COLS, ROWS)
        term = Typist(raw)
        try:
            await term.wait_for(lambda t: "lead (supervisor)" in term.line(0) and "hotline" in t)
            await open_playbook(term, "a8_call_surge")
            await term.wait_for("Start incident: a8_call_surge")
            await term.wait_for("Start a REAL incident from playbook a8_call_surge v")
            await term.keys("\r")  # not destructive: the action button has the focus
            head = await term.wait_for(lambda t: "#1 Abnormal inbound call surge" in t
                                       and "surge level L1" in t)
            assert "OPEN" in head
            # the status bar, on every screen: the incident, its level, the next countdown
            await term.wait_for(lambda t: "⚠ INC 1 A8 L1 · next" in term.line(0))
            badge = re.search(r"⚠ INC 1 A8 L1 · next (\d\d):(\d\d)", term.line(0))
            assert badge, term.line(0)
            assert 28 * 60 < int(badge[1]) * 60 + int(badge[2]) <= 30 * 60

            inc = await incident(s.socket, 1)
            l2 = next(t for t in inc["timers"] if t["key"] == "support_levels:L2")
            assert l2["due_at"] == pytest.approx(inc["started_at"] + 1800, abs=1e-6)

            # a check step, its field recorded
            row = await complete_step(term, "unified_command", ["team B moved to hotline"])
            assert "lead" in row
            # the overflow PBX step: what will happen, confirm, the PBX's read-back
            await select_step(term, "overflow")
            await term.keys("x")
            await term.wait_for("Run PBX step overflow")
            confirm = await term.wait_for("Tab to the action button")  # opens on Cancel
            assert "set overflow for hotline on main to 'voicemail' for 60 min" in confirm
            await term.keys("\t", "\r")
            done = await wait_step(term, "overflow", "done")
            assert "lead" in done
            readback = await wait_row(term, "pbx_action", "overflow")
            assert "Asterisk confirms overflow for hotline is on" in readback, readback
            assert "ccops/overflow/hotline = 'voicemail'" in readback, readback
            await wait_notice(term, "read-back:")
            # :routing: the flag as Asterisk reads it back
            await term.keys(":", "routing", "\r")
            await term.wait_for(lambda t: "Routing" in term.line(1))
            flag = await wait_row(term, "overflow", "hotline", check=lambda ln: "ON" in ln)
            assert "voicemail" in flag and "⚑ ON" in flag, flag
            assert "⚠ INC 1 A8 L1" in term.line(0)  # the badge here too

            # ---- escalation on time: level 2 exactly 30 minutes after the start
            await open_incident(term, 1)
            await term.wait_for("surge level L1")
            s.wall.set(l2["due_at"] - 4.0)
            while s.wall.now() < l2["due_at"] - 0.5:
                assert "surge level L1" in term.text, term.text
                assert "level 2:" not in term.text
                await asyncio.sleep(0.2)
            assert (await incident(s.socket, 1))["level"] == 1  # not a moment early
            # L2 on screen within the daemon's 1 s tick (plus the console's refresh)
            text = await term.wait_for("surge level L2", timeout=6)
            after = s.wall.now() - l2["due_at"]
            inc = await incident(s.socket, 1)
            fired = next(t for t in inc["timers"] if t["key"] == "support_levels:L2")
            assert fired["state"] == "fired"
            # on the daemon's next work tick (once a second, woken at publish_hz = 2)
            assert 0 <= fired["lateness"] < 1.5, fired
            level_row = await wait_row(term, " level ", "level 2:")
            due = console_clock(l2["due_at"])
            assert f"due {due}" in level_row, level_row
            # the timeline: fired at the deadline, to the second (no lateness to report)
            assert level_row.split()[0] == console_clock(fired["fired_at"]), level_row
            assert fired["fired_at"] - l2["due_at"] < 1.5
            assert (" late)" in level_row) == (fired["lateness"] >= 1), level_row
            assert f"L2 since {due}" in text
            assert after < 6
        finally:
            await raw.close()

    # ---- restart: down across the level-3 deadline; it fires at once on start, late
    l3 = next(t for t in (await incident(s.socket, 1))["timers"]
              if t["key"] == "support_levels:L3")
    assert l3["due_at"] == pytest.approx(l2["due_at"] + 1800, abs=1e-6)
    assert s.stop() == 0
    s.wall.set(l3["due_at"] + 300)  # the daemon was down 5 minutes past the deadline
    served = s.start()
    async with await connect(served, "lead") as conn:
        raw = await open_terminal(conn, COLS, ROWS)
        term = Typist(raw)
        try:
            await term.wait_for("hotline")
            await open_incident(term, 1)
            text = await term.wait_for("surge level L3")
            level_row = await wait_row(term, " level ", "level 3:")
            due = console_clock(l3["due_at"])
            late = re.search(rf"due {due}, (5m\d*s?) late", level_row)
            assert late, level_row
            assert f"L3 since {due}" in text

            # ---- close: the overflow change is still on the PBX; undo it and close
            await complete_step(term, "controlled", ["11:32"])
            await term.keys("\x1b")
            gates = await wait_row(term, "Closure blocked:")
            assert "PBX change of step overflow is not undone" in gates, gates
            await term.keys("C")
            await term.wait_for("Close incident 1")
            modal = await term.wait_for("PBX changes this incident made, still in force (1)")
            assert "overflow hotline → voicemail" in modal, modal
            assert "Undo 1 change" in modal, modal
            await term.keys("u")
            await term.wait_for(lambda t: "#1 Abnormal" in t and "CLOSED" in t)
            undone = await wait_row(term, "pbx_undo", "overflow")
            assert "undone: overflow hotline → voicemail; Asterisk now says off" in undone
            print(term.text)  # shown with -s: the closed incident
            await term.keys(":", "routing", "\r")
            await term.wait_for(lambda t: "Routing" in term.line(1))
            flag = await wait_row(term, "overflow", "hotline", check=lambda ln: "off" in ln)
            assert "○ off" in flag and "voicemail" not in flag, flag
            assert "INC 1" not in term.line(0)  # no open incident: no badge
        finally:
            await raw.close()
    inc = await incident(s.socket, 1)
    fired = next(t for t in inc["timers"] if t["key"] == "support_levels:L3")
    assert 300 <= fired["lateness"] < 330, fired
    assert inc["status"] == "closed" and inc["closed_by"] == "lead"
    steps = {st["id"]: st for st in inc["steps"]}
    assert steps["unified_command"]["record"] == {"agents_added": "team B moved to hotline"}
    assert steps["controlled"]["record"] == {"controlled_at": "11:32"}
    report = report_cli(s.config, 1)
    for section in REPORT_SECTIONS:
        assert section in report, (section, report)
    assert "overflow" in report


# --------------------------------------------------------------------------- outage

OUTAGE = """
name = "carrier outage e2e"
[sim]
profile = "flat"
rate_scale = 3
agent_pauses = false

# The on-call phones (the simulator's desk phones) answer and press 1.
[phones.desk-201]
answer_after = [0.5, 0.8]
digit = "1"
digit_after = [0.5, 0.8]

[phones.desk-202]
answer_after = [0.5, 0.8]
digit = "1"
digit_after = [0.5, 0.8]

[[steps]]
at = "0s"
action = "trunk_down"
trunk = "carrier-b"
"""

OUTAGE_CONFIG = """
[paging]
max_attempts = 2
retry_backoff_s = 1
ring_timeout_s = 10
ack_timeout_s = 20

[[oncall]]
name = "om-duty"
display_name = "O&M engineer on duty"
role = "maintenance"
extension = "desk-201"

[[oncall]]
name = "centre-mgr"
display_name = "Centre manager"
role = "center_manager"
extension = "desk-202"
"""


async def test_outage_suggested_deadline_watchdog_page_acknowledged_close() -> None:
    with site(OUTAGE, OUTAGE_CONFIG) as s:
        served = s.start()
        async with await connect(served, "lead") as conn:
            raw = await open_terminal(conn, COLS, ROWS)
            term = Typist(raw)
            try:
                await term.wait_for(lambda t: "lead (supervisor)" in term.line(0))
                await term.keys(":", "playbooks", "\r")
                # carrier-b stops answering; at its next qualify the console suggests
                text = await term.wait_for(
                    lambda t: "Suggested by the live alerts" in t
                    and "★ Application or network system failure" in t, timeout=20)
                sugg = row_of(text, "★ Application or network system failure")
                assert "carrier-b" in sugg, sugg
                first = row_of(text, "a2_app_network_failure")
                assert "★ yes" in first, first
                # start it from the suggestion (the cursor stays where it was: select A2)
                await term.keys("/", "a2_app", "\r")
                await term.wait_for(lambda t: "(1 of" in term.line(1))
                await term.keys("s")
                await term.wait_for("Start incident: a2_app_network_failure")
                modal = await term.wait_for("Start a REAL incident from playbook a2_app")
                assert "★ Application or network system failure" in modal
                await term.keys("\r")
                await term.wait_for(lambda t: "#1 Application or network system failure" in t
                                    and "next deadline:" in t)
                # O&M is paged at once: the phone answers, 1 is pressed, recorded
                row = await wait_step(term, "notify_om", "acknowledged", timeout=30)
                await wait_row(term, "notify_om",
                               "page acknowledged by phone (keypress 1) by om-duty")
                inc = await incident(s.socket, 1)
                page = next(n for n in inc["notifications"]
                            if n["step"] == "notify_om" and n["channel"] == "phone")
                assert page["target"] == "om-duty" and page["acked_by"] == "om-duty"
                assert f"ack {console_clock(page['acked_at'])} om-d" in row, row  # (column cut)

                # the deadline step ("report within 5 minutes"), done in time
                deadline = await wait_step(term, "report_supervisor", "pending")
                assert re.search(r"in 0[45]:\d\d", deadline), deadline
                await complete_step(term, "report_supervisor", [])
                margin = await wait_row(term, "step_done", "before the deadline)")
                assert re.search(r"\((4m\d+s|5m) before the deadline\)", margin), margin

                # the 10-minute watchdog fires at its minute (the daemon's clock moved)
                wd = next(t for t in inc["timers"] if t["step"] == "escalate_10m")
                assert wd["due_at"] == pytest.approx(inc["detected_at"] + 600, abs=1e-6)
                s.wall.set(wd["due_at"] - 2.0)
                await term.absent_for("watchdog_fired", 1.0)
                fired = await wait_row(term, "watchdog_fired", timeout=6)
                assert f"due {console_clock(wd['due_at'])}" in fired, fired
                # the centre manager's phone rings; their keypress acknowledges the step
                row = await wait_step(term, "escalate_10m", "acknowledged", timeout=30)
                ack = next(n for n in (await incident(s.socket, 1))["notifications"]
                           if n["step"] == "escalate_10m" and n["channel"] == "phone")
                assert ack["target"] == "centre-mgr" and ack["acked_by"] == "centre-mgr"
                assert f"ack {console_clock(ack['acked_at'])} cent" in row, row  # (column cut)
                timer = next(t for t in (await incident(s.socket, 1))["timers"]
                             if t["step"] == "escalate_10m")
                assert 0 <= timer["lateness"] < 1.5, timer  # on the daemon's next tick
                assert fired.split()[0] == console_clock(timer["fired_at"]), fired
                assert (" late)" in fired) == (timer["lateness"] >= 1), fired
                await wait_row(term, "escalate_10m",
                               "page acknowledged by phone (keypress 1) by centre-mgr")
                await wait_row(term, "escalate_10m", "no on-call person for operations")

                # recovery, then the after-recovery steps; closure
                await complete_step(term, "recovered", ["10:41"], match="Application recovered")
                await complete_step(term, "phone_leaders", [])
                await complete_step(term, "fault_form", ["outage logged", "SF-0042"])
                await complete_step(term, "follow_ups", [])
                await close_incident(term, 1)
            finally:
                await raw.close()
        inc = await incident(s.socket, 1)
        assert inc["status"] == "closed"
        report = report_cli(s.config, 1)
        for section in REPORT_SECTIONS:
            assert section in report, (section, report)
        assert "Application or network system failure" in report
        assert "page acknowledged by phone (keypress 1) by centre-mgr" in report


# --------------------------------------------------------------------------- fire

FIRE_CONFIG = """
[playbooks.parameters.a5_fire_theft]
pbx = "sim"
inbound_did = "4930100"
forced_destination = "site-b"
"""


@pytest.fixture(scope="module")
def fire_site() -> Iterator[Site]:
    """One daemon for both fire runs (asyncssh, then OpenSSH): incidents 1 and 2."""
    with site(QUIET, FIRE_CONFIG) as s:
        s.start()
        yield s


async def fire_drill(term: Screen, *, refusals: bool = True) -> int:
    """A5, fire: start, evacuation steps, the notification, the gates, close. Returns the
    incident id the screen showed. ``refusals``: also try what the console must refuse
    (a step before the one it needs; closing with a required step open)."""
    await term.wait_for(lambda t: "lead (supervisor)" in term.line(0) and "hotline" in t)
    await open_playbook(term, "a5_fire_theft")
    await term.wait_for("a5_fire_theft: which case?")
    await term.wait_for("fire: fire")
    await term.keys("\r")  # the first case: fire
    await term.wait_for("Variant: fire")
    await term.keys("\r")
    text = await term.wait_for(lambda t: re.search(r"#(\d+) Security: fire or theft", t) is not None
                               and "(a5_fire_theft v" in t and "fire)" in t)
    m = re.search(r"#(\d+) Security: fire or theft", text)
    assert m
    inc_id = int(m[1])
    # only the fire case's steps
    await wait_step(term, "call_119", "pending")
    assert steps_row(term.text, "preserve_scene") == ""
    # the supervisor is told on the console; nobody on the roster: said on the timeline
    await wait_notice(term, "Fire at the call centre - evacuation under way")
    await wait_row(term, "no on-call person for call-centre supervisor")

    if refusals:
        await fire_refusals(term, inc_id)
    else:
        await complete_step(term, "call_119", ["14:02"])
        await complete_step(term, "evacuate", [], match="organises the evacuation")

    # acknowledge the notification to the supervisor (console key a)
    await select_step(term, "notify_supervisor_fire")
    await term.keys("a")
    await term.wait_for("Acknowledge step notify_supervisor_fire")
    await term.keys("\r")
    row = await wait_step(term, "notify_supervisor_fire", "acknowledged")
    assert "lead" in row

    await complete_step(term, "report_after_safety", ["23", "centre leadership by phone"])
    await close_incident(term, inc_id)
    return inc_id


async def fire_refusals(term: Screen, inc_id: int) -> None:
    """What must be refused, with the reason on screen; call_119 and evacuate done."""
    # the report after safety needs the evacuation first: refused, and said why
    await select_step(term, "report_after_safety")
    await term.keys("c")
    await term.wait_for("Complete step report_after_safety")
    await term.keys("12", "\r", "duty manager", "\r", "\r")
    await wait_notice(term, "refused", "step report_after_safety needs step evacuate first")
    assert " done " not in steps_row(term.text, "report_after_safety")

    await complete_step(term, "call_119", ["14:02"])
    await complete_step(term, "evacuate", [], match="organises the evacuation")
    # closing now: the gates refuse, and the screen says which
    await term.keys("\x1b")
    gates = await wait_row(term, "Closure blocked:")
    assert "step report_after_safety" in gates and "is not done" in gates, gates
    await term.keys("C")
    await term.wait_for(f"Close incident {inc_id}")
    modal = await term.wait_for("Closure gates NOT met")
    assert "report_after_safety" in modal
    await term.keys("\t", "\r")  # confirm anyway: the daemon refuses with the same reason
    await wait_notice(term, "close incident", "refused", "report_after_safety")
    assert f"#{inc_id} Security: fire or theft" in term.text and "OPEN" in term.text


async def check_fire_closed(s: Site, inc_id: int) -> None:
    inc = await incident(s.socket, inc_id)
    assert inc["status"] == "closed" and inc["variant"] == "fire"
    steps = {st["id"]: st for st in inc["steps"]}
    assert steps["call_119"]["record"] == {"called_119_at": "14:02"}
    assert steps["report_after_safety"]["record"] == {
        "headcount": "23", "reported_to": "centre leadership by phone"}
    report = report_cli(s.config, inc_id)
    for section in REPORT_SECTIONS:
        assert section in report, (section, report)
    assert "Security: fire or theft" in report


async def test_fire_evacuation_gates_close_report(fire_site: Site) -> None:
    assert fire_site.served is not None
    async with await connect(fire_site.served, "lead") as conn:
        raw = await open_terminal(conn, COLS, ROWS)
        term = Typist(raw)
        try:
            inc_id = await fire_drill(term)
        finally:
            await raw.close()
    await check_fire_closed(fire_site, inc_id)


@pytest.mark.skipif(
    not (shutil.which("tmux") and shutil.which("ssh")) and os.environ.get("CI") != "true",
    reason="needs tmux and OpenSSH (scripts/test installs them; in CI they must run)",
)
async def test_fire_over_openssh_in_tmux(fire_site: Site) -> None:
    served = fire_site.served
    assert served is not None
    known = fire_site.root / "known_hosts"
    command = (
        f"ssh -tt -p {served.port} -i {fire_site.keys['lead']} -o IdentitiesOnly=yes "
        f"-o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known} "
        f"lead@127.0.0.1; echo SSH-EXIT=$?; sleep 30"
    )
    tmux = Tmux(f"ccops-pb-{os.getpid()}", command, cols=COLS, rows=ROWS)
    try:
        term = Typist(TmuxTerminal(tmux))
        inc_id = await fire_drill(term, refusals=False)
        await term.keys(":", "quit", "\r")
        await term.wait_for("SSH-EXIT=0")
    finally:
        tmux.kill()
    await check_fire_closed(fire_site, inc_id)
