"""Paging policy: deny-list, roster validation, rate limits and backoff, on a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccops.config import (
    ConfigError,
    OnCallPerson,
    PagingConfig,
    Settings,
    denied_number,
    load_settings,
)
from ccops.core.clock import FakeClock
from ccops.core.paging import (
    PagingRefused,
    RateLimiter,
    backoff,
    check_denied,
    longest_page,
    originate_reason,
    target_for_attempt,
    targets,
)

DENY = list(PagingConfig().deny_numbers)
PREFIXES = ["0", "00", "9"]


@pytest.mark.parametrize(
    ("number", "hit"),
    [
        ("112", "112"),
        ("+112", "112"),
        ("9112", "112"),  # outside-line prefix 9
        ("0 119", "119"),
        ("00911", "911"),
        ("(1)(1)(0)", "110"),
        ("999", "999"),
        ("120", "120"),
        ("13800138000", None),
        ("2001", None),
        ("1120", None),  # starts with 112 but is another number
        ("91120", None),
        ("9-1-1", "911"),
        ("desk-999", None),  # an endpoint name, not digits that are dialled
    ],
)
def test_deny_list_matches_emergency_numbers_and_their_prefixed_forms(
    number: str, hit: str | None
) -> None:
    assert denied_number(number, DENY, PREFIXES) == hit


def test_deny_list_is_configurable() -> None:
    assert denied_number("5550000", ["5550000"], []) == "5550000"
    assert denied_number("112", ["911"], []) is None


def test_a_roster_with_an_emergency_number_is_a_located_config_error(tmp_path: Path) -> None:
    path = tmp_path / "ccops.toml"
    path.write_text(
        '[paging]\ntrunk = "carrier-b"\n\n[[oncall]]\nname = "alice"\nextension = "2001"\n\n'
        '[[oncall]]\nname = "bob"\nmobile = "0112"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    text = str(err.value)
    assert str(path) in text and "line" in text
    assert "oncall[1] (bob).mobile '0112' reaches emergency number 112" in text


def test_roster_rules() -> None:
    with pytest.raises(ValueError, match="needs an extension or a mobile"):
        OnCallPerson(name="nobody")
    with pytest.raises(ValueError, match="mobile needs a trunk"):
        Settings(oncall=[OnCallPerson(name="m", mobile="13800138000")])
    with pytest.raises(ValueError, match="repeated: a"):
        Settings(oncall=[OnCallPerson(name="a", extension="1"),
                         OnCallPerson(name="a", extension="2")])
    with pytest.raises(ValueError, match="must contain"):
        PagingConfig(extension_channel="PJSIP/2001")
    ok = Settings(paging=PagingConfig(trunk="carrier-b"),
                  oncall=[OnCallPerson(name="m", mobile="+86 138 0013 8000")])
    assert ok.oncall[0].mobile == "+86 138 0013 8000"


def test_targets_in_order_and_cycled() -> None:
    person = OnCallPerson(name="a", extension="2001", mobile="+86 138-0013", trunk="carrier-b")
    cfg = PagingConfig()
    plan = targets(person, cfg)
    assert [(t.kind, t.channel) for t in plan] == [
        ("extension", "PJSIP/2001"), ("mobile", "PJSIP/+861380013@carrier-b")]
    assert [target_for_attempt(plan, n).kind for n in (1, 2, 3)] == [
        "extension", "mobile", "extension"]
    mobile_first = targets(person, PagingConfig(order="mobile_first"))
    assert mobile_first[0].kind == "mobile"


def test_check_denied_refuses_before_anything_is_sent() -> None:
    person = OnCallPerson(name="a", extension="2001", mobile="9112", trunk="t")
    with pytest.raises(PagingRefused, match="reaches emergency number 112"):
        check_denied(targets(person, PagingConfig()), PagingConfig())
    check_denied(targets(OnCallPerson(name="b", extension="2001"), PagingConfig()),
                 PagingConfig())


def test_backoff_doubles_and_caps() -> None:
    cfg = PagingConfig(retry_backoff_s=30, retry_backoff_max_s=100)
    assert [backoff(cfg, n) for n in (1, 2, 3, 4)] == [30.0, 60.0, 100.0, 100.0]


def test_rate_limit_per_person_slides_with_the_clock() -> None:
    clock = FakeClock()
    limits = RateLimiter(PagingConfig(max_calls_per_person=2, rate_window_s=600), clock)
    limits.check("a")
    limits.record("a")
    clock.advance(100)
    limits.check("a")
    limits.record("a")
    with pytest.raises(PagingRefused, match=r"2 calls to a .* next call possible in 500 s"):
        limits.check("a")
    limits.check("b")  # another person is not affected
    clock.advance(500)  # the first call leaves the window at exactly 600 s
    limits.check("a")


def test_rate_limit_total() -> None:
    clock = FakeClock()
    limits = RateLimiter(PagingConfig(max_calls_total=3, rate_window_s=60), clock)
    for who in "abc":
        limits.check(who)
        limits.record(who)
    with pytest.raises(PagingRefused, match="max_calls_total = 3"):
        limits.check("d")
    clock.advance(60)
    limits.check("d")


def test_originate_reasons_in_words() -> None:
    assert originate_reason(4) == "answered"
    assert "no answer" in originate_reason(3)
    assert originate_reason(0).startswith("no channel")
    assert originate_reason(42) == "failed (reason 42)"


def test_longest_page_bounds_a_client_timeout() -> None:
    cfg = PagingConfig(max_attempts=2, ring_timeout_s=30, ack_timeout_s=90, retry_backoff_s=30)
    assert longest_page(cfg) == 2 * (30 + 15 + 90) + 30
