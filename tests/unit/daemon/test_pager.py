"""The pager against a scripted AMI link: retries, backoff, rate limits, deny-list, races."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from ccops.config import OnCallPerson, PagingConfig
from ccops.core.audit import AuditEntry, AuditResult
from ccops.core.clock import FakeClock
from ccops.core.commands import PagePerson, parse_command
from ccops.core.events import Event, OriginateResult, PageResponse
from ccops.core.paging import AttemptOutcome, PageOutcome
from ccops.daemon.pager import PageEvent, PageEventKind, Pager
from ccops.pbx.errors import AmiConnectionLost, AmiNotConnected
from ccops.pbx.message import AmiMessage

EXT = "PJSIP/2001"
MOBILE = "PJSIP/13800138000@carrier-b"


class ScriptedLink:
    """Answers Originate like Asterisk: "queued", then OriginateResponse and the verdict.

    ``behaviours`` maps a Channel to: ``ack``, ``noack`` (answered, no key), ``wrong`` (2),
    ``hangup``, ``fail`` (reason 0), ``noanswer`` (reason 3), ``busy`` (5), ``lost`` (the
    link drops while sending), ``down`` (not connected: nothing sent). ``race`` delivers the
    OriginateResponse before the action returns, as it can when both are in one read.
    """

    id_prefix = "ccops-test-"

    def __init__(self, clock: FakeClock, behaviours: Mapping[str, str], race: bool = False):
        self.clock = clock
        self.behaviours = behaviours
        self.race = race
        self.sent: list[dict[str, Any]] = []
        self.pager: Pager | None = None
        self._n = 0

    async def action(self, name: str, fields: Mapping[str, Any] | None = None, *,
                     timeout: float | None = None) -> AmiMessage:
        assert name == "Originate" and fields is not None and self.pager is not None
        self._n += 1
        aid = f"{self.id_prefix}{self._n}"
        self.sent.append(dict(fields))
        how = self.behaviours.get(str(fields["Channel"]), "noanswer")
        if how == "lost":
            raise AmiConnectionLost("Originate: connection lost; outcome unknown, not re-sent")
        if how == "down":
            raise AmiNotConnected("pbx p is not connected (down: connection refused)")
        cid = str(fields["ChannelId"])
        page_id = next(v.split("=", 1)[1] for v in fields["Variable"]
                       if v.startswith("CCOPS_PAGE_ID="))
        at = self.clock.now()
        events: list[Event] = []
        # Another console's Originate is broadcast to us too: it must change nothing.
        events.append(OriginateResult(pbx="p", at=at, action_id="someone-else-1",
                                      success=False, reason=0))
        reason = {"fail": 0, "noanswer": 3, "busy": 5}.get(how)
        if reason is not None:
            events.append(OriginateResult(pbx="p", at=at, action_id=aid, success=False,
                                          reason=reason))
        else:
            events.append(OriginateResult(pbx="p", at=at, action_id=aid, success=True,
                                          reason=4, uniqueid=cid, channel=str(fields["Channel"])))
            digit, why = {"ack": ("1", ""), "noack": ("", "timeout"), "wrong": ("2", "digit"),
                          "hangup": ("", "hangup")}[how]
            events.append(PageResponse(pbx="p", at=at + 7, page_id=page_id,
                                       acknowledged=digit == "1", digit=digit, reason=why,
                                       uniqueid=cid))
        pager = self.pager
        if self.race:
            for ev in events:
                pager.on_pbx_event(ev)
        else:
            loop = asyncio.get_running_loop()
            for ev in events:
                loop.call_soon(pager.on_pbx_event, ev)
        return AmiMessage({"Response": "Success", "ActionID": aid,
                           "Message": "Originate successfully queued"})


class Rig:
    def __init__(self, behaviours: Mapping[str, str], *, race: bool = False,
                 roster: list[OnCallPerson] | None = None, **paging: Any) -> None:
        self.clock = FakeClock()
        self.link = ScriptedLink(self.clock, behaviours, race)
        self.delays: list[float] = []
        self.events: list[PageEvent] = []
        self.audit: list[AuditEntry] = []
        people = roster or [OnCallPerson(name="alice", extension="2001",
                                         mobile="13800138000", trunk="carrier-b")]
        self.pager = Pager(PagingConfig(**paging), people,
                           {"p": SimpleNamespace(link=self.link)}, self.clock,
                           on_event=self.events.append, audit=self._audit, sleep=self._sleep)
        self.link.pager = self.pager

    async def _sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)

    async def _audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]


async def test_acknowledged_on_the_first_call() -> None:
    rig = Rig({EXT: "ack"})
    result = await rig.pager.page("alice", "trunk carrier-a down", "INC-7")
    assert result.outcome is PageOutcome.ACKNOWLEDGED
    assert (result.digit, len(result.attempts)) == ("1", 1)
    assert result.acknowledged_at == rig.clock.now() + 7
    assert rig.kinds() == ["dialing", "answered", "acknowledged"]
    sent = rig.link.sent[0]
    assert sent["Async"] == "true" and sent["Context"] == "ccops-page"
    assert sent["Timeout"] == "30000" and sent["ChannelId"] == f"{result.page_id}-1"
    assert f"CCOPS_PAGE_ID={result.page_id}" in sent["Variable"]
    assert "CCOPS_PAGE_SOUND=vm-Urgent" in sent["Variable"]
    [entry] = rig.audit
    assert (entry.action, entry.result, entry.params["ref"]) == (
        "page_person", AuditResult.OK, "INC-7")
    assert entry.readback is not None and entry.readback["outcome"] == "acknowledged"


async def test_no_key_on_the_extension_then_acknowledged_on_the_mobile() -> None:
    rig = Rig({EXT: "noack", MOBILE: "ack"})
    result = await rig.pager.page("alice")
    assert result.outcome is PageOutcome.ACKNOWLEDGED
    assert [a.target.channel for a in result.attempts] == [EXT, MOBILE]
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.NO_ACK,
                                                    AttemptOutcome.ACKNOWLEDGED]
    assert result.attempts[0].reason == "answered, no key"
    assert rig.delays == [30.0]
    assert rig.kinds() == ["dialing", "answered", "attempt_failed", "dialing", "answered",
                           "acknowledged"]


async def test_never_reached_retries_with_backoff_then_fails() -> None:
    rig = Rig({EXT: "fail", MOBILE: "noanswer"}, retry_backoff_s=20)
    result = await rig.pager.page("alice")
    assert result.outcome is PageOutcome.FAILED
    assert [a.reason for a in result.attempts] == [
        "no channel could be created (unknown number, endpoint or trunk down)",
        "rang out, no answer",
        "no channel could be created (unknown number, endpoint or trunk down)",
    ]
    assert rig.delays == [20.0, 40.0]
    assert rig.kinds()[-1] == "failed"
    assert result.detail.startswith("not reached in 3 call(s)")
    assert rig.audit[0].result is AuditResult.FAILED


async def test_answered_but_never_acknowledged() -> None:
    rig = Rig({EXT: "wrong", MOBILE: "hangup"}, max_attempts=2)
    result = await rig.pager.page("alice")
    assert result.outcome is PageOutcome.NOT_ACKNOWLEDGED
    assert [a.reason for a in result.attempts] == ["pressed 2, not 1",
                                                   "hung up before pressing 1"]
    assert [a.digit for a in result.attempts] == ["2", ""]


async def test_an_emergency_number_is_refused_before_any_action() -> None:
    roster = [OnCallPerson(name="bob", extension="2002", mobile="0119", trunk="carrier-b")]
    rig = Rig({}, roster=roster)
    result = await rig.pager.page("bob", "fire")
    assert result.outcome is PageOutcome.REFUSED
    assert "reaches emergency number 119" in result.detail
    assert rig.link.sent == []
    assert rig.kinds() == ["refused"]
    assert rig.audit[0].result is AuditResult.REFUSED


async def test_a_custom_deny_list_entry_is_refused() -> None:
    rig = Rig({}, deny_numbers=["2001"])
    result = await rig.pager.page("alice")
    assert result.outcome is PageOutcome.REFUSED and rig.link.sent == []


async def test_rate_limit_per_person_stops_retries_and_refuses_until_the_window_passes()\
        -> None:
    rig = Rig({}, max_calls_per_person=2, rate_window_s=600, retry_backoff_s=10)
    first = await rig.pager.page("alice")
    assert len(first.attempts) == 2 and first.outcome is PageOutcome.FAILED
    assert "rate limit: 2 calls to alice" in first.detail
    second = await rig.pager.page("alice")
    assert second.outcome is PageOutcome.REFUSED and len(rig.link.sent) == 2
    rig.clock.advance(600)
    third = await rig.pager.page("alice")
    assert third.outcome is PageOutcome.FAILED and len(rig.link.sent) == 4


async def test_global_rate_limit() -> None:
    roster = [OnCallPerson(name=n, extension=e) for n, e in (("a", "201"), ("b", "202"))]
    rig = Rig({"PJSIP/201": "ack", "PJSIP/202": "ack"}, roster=roster, max_calls_total=1)
    assert (await rig.pager.page("a")).acknowledged
    refused = await rig.pager.page("b")
    assert refused.outcome is PageOutcome.REFUSED and "max_calls_total = 1" in refused.detail


async def test_a_lost_link_is_not_retried() -> None:
    rig = Rig({EXT: "lost"})
    result = await rig.pager.page("alice")
    assert result.outcome is PageOutcome.FAILED
    assert len(rig.link.sent) == 1 and rig.delays == []
    assert result.attempts[0].outcome is AttemptOutcome.UNKNOWN
    assert "not retried" in result.detail


async def test_a_link_that_is_down_sent_nothing_so_the_next_call_goes_out() -> None:
    rig = Rig({EXT: "down", MOBILE: "ack"})
    result = await rig.pager.page("alice")
    assert result.acknowledged
    assert result.attempts[0].reason.startswith("not sent: pbx p is not connected")
    assert rig.delays == [30.0]


async def test_originate_response_before_the_action_returns() -> None:
    rig = Rig({EXT: "ack"}, race=True)
    result = await rig.pager.page("alice")
    assert result.acknowledged and len(result.attempts) == 1


async def test_unknown_person() -> None:
    rig = Rig({})
    result = await rig.pager.page("mallory")
    assert result.outcome is PageOutcome.REFUSED
    assert "not on the on-call roster (alice)" in result.detail


async def test_page_person_command() -> None:
    rig = Rig({EXT: "ack"})
    command = parse_command("page-person", {"person": "alice", "message": "A3 power cut",
                                            "ref": "INC-9"})
    assert isinstance(command, PagePerson)
    outcome = await rig.pager.perform(command)
    assert outcome.ok and outcome.readback is not None
    assert outcome.readback["ref"] == "INC-9"
    assert rig.audit == []  # the executor audits commands itself
    with pytest.raises(ValueError, match="person"):
        parse_command("page_person", {"person": "alice\r\nAction: Originate"})


async def test_listeners_get_every_event() -> None:
    rig = Rig({EXT: "ack"})
    seen: list[PageEventKind] = []
    rig.pager.subscribe(lambda ev: seen.append(ev.kind))
    await rig.pager.page("alice")
    assert seen[-1] is PageEventKind.ACKNOWLEDGED
    frame = rig.events[-1].as_dict()
    assert (frame["type"], frame["change"], frame["attempt"]) == ("page", "acknowledged", 1)
    # Pushed to every console, viewers included: no phone numbers in it.
    assert "13800138000" not in str(frame) and "2001" not in str(frame)
    assert frame["page"]["attempts"][0]["kind"] == "extension"
