"""Phone paging on the real Asterisk 22 tier: the daemon pages a sipp phone.

The on-call people's mobiles are reached through ``carrier-b``, whose sipp process is
swapped for ``sipp/pager_phone.xml`` for the test: a phone that answers qualify like a
carrier and, depending on the number dialled, answers and sends DTMF 1 as RFC 4733 events
(the tier's PJSIP endpoints keep the default ``dtmf_mode = rfc4733``), answers and stays
silent, or answers 404. The page lands in the shipped ``[ccops-page]`` dialplan
(config/asterisk/extensions_ccops_page.conf, loaded by the tier verbatim), whose UserEvent
the daemon reads as the product's ``ccops`` AMI user. An unfiltered admin session is the
independent witness of what Asterisk really did.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from asterisk_tier import (
    LOOPBACK,
    SIPP_SCENARIOS,
    AmiClient,
    AmiMessage,
    AsteriskTier,
    SippProcess,
    _port_is_free,
)
from daemon_tier import daemon_settings, wait_live

from ccops.config import OnCallPerson, PagingConfig
from ccops.core.audit import AuditResult
from ccops.core.commands import PagePerson
from ccops.core.execute import Operator
from ccops.core.paging import AttemptOutcome, PageOutcome
from ccops.core.roles import Role
from ccops.daemon.service import Daemon

PCAP_DIR = Path("/usr/share/sip-tester")  # sipp's DTMF captures (package sip-tester)
ROSTER = [
    OnCallPerson(name="duty", display_name="Duty engineer", mobile="5550001"),
    OnCallPerson(name="silent", mobile="5550002"),
    OnCallPerson(name="wrongkey", mobile="5550003"),
    OnCallPerson(name="gone", mobile="5550009"),
    OnCallPerson(name="nophone", extension="desk-999"),
]


@pytest.fixture
def pager_phone(tier: AsteriskTier) -> Iterator[SippProcess]:
    """carrier-b's sipp replaced by the pager phone on the same port; restored after."""
    if not (PCAP_DIR / "dtmf_2833_1.pcap").exists():
        pytest.fail(f"sipp's DTMF captures are missing from {PCAP_DIR} (install sip-tester)")
    text = (SIPP_SCENARIOS / "pager_phone.xml").read_text()
    for key, value in {"PCAP_DIR": str(PCAP_DIR), "ANSWER_AFTER_MS": "300",
                       "PRESS_AFTER_MS": "2500"}.items():
        text = text.replace(f"@@{key}@@", value)
    scenario = tier.sipp_dir / "pager_phone.xml"
    scenario.write_text(text)
    port = tier.carrier_ports["carrier-b"]
    tier.stop_carrier("carrier-b")
    args = [*tier._sipp_base("pager", port), "-sf", str(scenario)]
    phone = SippProcess("pager", args, tier.sipp_dir)
    # Listed with the tier's callers: recorded in pids.json (a hard-killed run is reaped)
    # and stopped by the fixture's stop_callers() even if this teardown never runs.
    tier._callers.append(phone)  # type: ignore[arg-type]
    tier._write_pids()
    try:
        deadline = time.monotonic() + 5
        while _port_is_free(port, socket.SOCK_DGRAM):
            assert phone.running and time.monotonic() < deadline, phone.log_tail()
            time.sleep(0.02)
        tier.wait_contact_status("carrier-b", "Avail", timeout=15)
        yield phone
    finally:
        phone.stop()
        tier.start_carrier("carrier-b")


@pytest.fixture
async def daemon(tier: AsteriskTier, tmp_path: Path, pager_phone: SippProcess
                 ) -> AsyncIterator[Daemon]:
    base = daemon_settings(tier, tmp_path / "state")
    paging = PagingConfig(trunk="carrier-b", max_attempts=2, retry_backoff_s=0.5,
                          ring_timeout_s=10, ack_timeout_s=40, prompt_tries=2,
                          digit_timeout_s=2)
    d = Daemon(base.model_copy(update={"paging": paging, "oncall": ROSTER}))
    await d.start()
    try:
        await wait_live(d)
        yield d
    finally:
        await d.stop()


def _user_events(ami: AmiClient, name: str, page_id: str) -> list[AmiMessage]:
    return [m for m in ami.history if m.event == "UserEvent"
            and m.get("UserEvent") == name and m.get("PageId") == page_id]


async def test_phone_presses_1_and_the_step_is_acknowledged(
    daemon: Daemon, ami_admin: AmiClient, pager_phone: SippProcess, asterisk_tier: AsteriskTier
) -> None:
    op = Operator(name="lead", role=Role.SUPERVISOR, session_id="t", via="local")
    before = time.time()
    result = await daemon.execute(op, PagePerson(person="duty", message="A2 outage",
                                                 ref="INC-1"))
    assert result.ok, f"{result.detail}\n{pager_phone.log_tail()}"
    page = result.readback
    assert page is not None
    assert (page["outcome"], page["digit"], len(page["attempts"])) == ("acknowledged", "1", 1)
    assert (page["pbx"], page["simulated"]) == ("tier", False)
    assert before <= page["attempts"][0]["answered_at"] <= page["acknowledged_at"] <= time.time()
    # The witness: Asterisk's own DTMF and the dialplan's event for this page.
    ack = _user_events(ami_admin, "CcopsPageAck", page["page_id"])
    assert len(ack) == 1 and ack[0].get("Digit") == "1"
    assert ack[0].get("Uniqueid") == f"{page['page_id']}-1"  # our ChannelId
    dtmf = [m for m in ami_admin.history if m.event == "DTMFEnd"
            and m.get("Uniqueid") == f"{page['page_id']}-1"]
    assert [m.get("Digit") for m in dtmf] == ["1"]
    assert daemon.store is not None
    records = await daemon.store.audit_page(0, 100)
    mine = [r.entry for r in records if r.entry.action == "page_person"]
    assert mine[-1].result is AuditResult.OK and mine[-1].params["ref"] == "INC-1"


async def test_answered_but_silent_is_retried_then_not_acknowledged(
    daemon: Daemon, ami_admin: AmiClient
) -> None:
    assert daemon.pager is not None
    result = await daemon.pager.page("silent", "A8 surge", "INC-2")
    assert result.outcome is PageOutcome.NOT_ACKNOWLEDGED, result.detail
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.NO_ACK] * 2
    assert [a.reason for a in result.attempts] == ["answered, no key"] * 2
    noack = _user_events(ami_admin, "CcopsPageNoAck", result.page_id)
    assert [m.get("Reason") for m in noack] == ["timeout", "timeout"]
    assert [m.get("Attempt") for m in noack] == ["1", "2"]


async def test_a_wrong_key_is_not_an_acknowledgement(daemon: Daemon) -> None:
    assert daemon.pager is not None
    result = await daemon.pager.page("wrongkey", "A4 air conditioning", "INC-4")
    assert result.outcome is PageOutcome.NOT_ACKNOWLEDGED, result.detail
    assert result.attempts[0].digit == "2"
    assert result.attempts[0].reason == "pressed 2, not 1"


async def test_unreachable_numbers_fail_and_are_recorded(daemon: Daemon) -> None:
    assert daemon.pager is not None
    gone = await daemon.pager.page("gone", "A3 power cut", "INC-3")
    assert gone.outcome is PageOutcome.FAILED, gone.detail
    assert len(gone.attempts) == 2
    assert all(a.outcome is AttemptOutcome.FAILED and a.answered_at is None
               for a in gone.attempts)
    nophone = await daemon.pager.page("nophone", "A3 power cut", "INC-3")
    assert nophone.outcome is PageOutcome.FAILED
    assert nophone.attempts[0].reason.startswith("no channel could be created")
    assert daemon.store is not None
    records = await daemon.store.audit_page(0, 100)
    failed = [r.entry for r in records if r.entry.action == "page_person"]
    assert [e.result for e in failed[-2:]] == [AuditResult.FAILED, AuditResult.FAILED]
    assert "not reached in 2 call(s)" in failed[-2].detail


async def test_an_emergency_number_is_never_dialled(daemon: Daemon, ami_admin: AmiClient
                                                    ) -> None:
    assert daemon.pager is not None
    daemon.pager.roster["fire"] = OnCallPerson(name="fire", mobile="9119", trunk="carrier-b")
    seen = len(ami_admin.history)
    result = await daemon.pager.page("fire", "A5 fire")
    assert result.outcome is PageOutcome.REFUSED
    assert "reaches emergency number 119" in result.detail
    assert not [m for m in ami_admin.history[seen:] if m.event == "OriginateResponse"]
    assert LOOPBACK  # the tier is loopback-only: nothing could leave the machine anyway
