"""The paging dialplan's UserEvents become typed PageResponse events at the edge."""

from __future__ import annotations

from ccops.core.events import PageResponse, UserEvent
from ccops.pbx.message import AmiMessage
from ccops.pbx.normalize import normalize

SNAPSHOT = {
    "Event": "UserEvent", "Privilege": "user,all", "Channel": "PJSIP/carrier-b-00000007",
    "ChannelState": "6", "ChannelStateDesc": "Up", "CallerIDNum": "5550001",
    "Context": "ccops-page", "Exten": "s", "Priority": "14", "Uniqueid": "pg-abc-1",
    "Linkedid": "pg-abc-1",
}


def page_event(**fields: str) -> object:
    return normalize(AmiMessage({**SNAPSHOT, **fields}, received_at=100.0), "pbx1", None)


def test_ack_from_the_shipped_dialplan() -> None:
    ev = page_event(UserEvent="CcopsPageAck", PageId="pg-abc", Attempt="1", Digit="1")
    assert ev == PageResponse(pbx="pbx1", at=100.0, page_id="pg-abc", acknowledged=True,
                              digit="1", uniqueid="pg-abc-1",
                              channel="PJSIP/carrier-b-00000007")


def test_noack_reasons() -> None:
    ev = page_event(UserEvent="CcopsPageNoAck", PageId="pg-abc", Digit="", Reason="timeout")
    assert isinstance(ev, PageResponse)
    assert (ev.acknowledged, ev.digit, ev.reason) == (False, "", "timeout")
    ev = page_event(UserEvent="CcopsPageNoAck", PageId="pg-abc", Digit="2", Reason="digit")
    assert isinstance(ev, PageResponse) and ev.digit == "2" and not ev.acknowledged


def test_simulator_spelling_and_only_digit_one_acknowledges() -> None:
    ev = page_event(UserEvent="CcopsPageAck", CCOPS_PAGE_ID="pg-sim", Digit="1")
    assert isinstance(ev, PageResponse) and ev.page_id == "pg-sim" and ev.acknowledged
    ev = page_event(UserEvent="CcopsPageAck", PageId="pg-x", Digit="7")
    assert isinstance(ev, PageResponse) and not ev.acknowledged


def test_without_a_page_id_it_stays_a_plain_user_event() -> None:
    ev = page_event(UserEvent="CcopsPageAck", Digit="1")
    assert isinstance(ev, UserEvent) and ev.name == "CcopsPageAck"
