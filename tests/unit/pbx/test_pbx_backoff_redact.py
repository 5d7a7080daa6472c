"""Reconnect delays and secret masking: small pure helpers of the AMI link."""

from __future__ import annotations

import random

import pytest

from ccops.core.clock import FakeClock
from ccops.pbx.backoff import Backoff
from ccops.pbx.link import _Throttle
from ccops.pbx.message import AmiMessage
from ccops.pbx.redact import MASK, is_sensitive, redact, redact_fields


class TestBackoff:
    def test_ceiling_doubles_then_caps(self) -> None:
        b = Backoff(0.5, 30.0)
        assert [b.ceiling(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
        assert b.ceiling(10_000) == 30.0  # no overflow for absurd counts
        assert b.ceiling(-3) == 0.5

    def test_jitter_stays_within_half_to_full(self) -> None:
        b = Backoff(1.0, 8.0, rng=random.Random(1))
        for n in range(6):
            for _ in range(200):
                d = b.delay(n)
                assert b.ceiling(n) * 0.5 <= d <= b.ceiling(n)

    def test_jitter_actually_spreads_delays(self) -> None:
        b = Backoff(1.0, 8.0, rng=random.Random(2))
        assert len({round(b.delay(3), 6) for _ in range(50)}) > 40

    def test_no_jitter_is_exact(self) -> None:
        assert Backoff(0.25, 1.0, jitter=0).delay(1) == 0.5

    @pytest.mark.parametrize(
        ("initial", "maximum", "jitter"), [(0, 1, 0.5), (1, -1, 0.5), (1, 2, 1.0)]
    )
    def test_bad_parameters_are_refused(
        self, initial: float, maximum: float, jitter: float
    ) -> None:
        with pytest.raises(ValueError):
            Backoff(initial, maximum, jitter=jitter)


class TestRedact:
    def test_passwords_and_secrets_are_masked_everywhere(self) -> None:
        msg = AmiMessage(
            {"Event": "OutboundRegistrationDetail", "Password": "hunter2", "ObjectName": "a"},
            seq=3,
            received_at=1.0,
            repeated=[("AuthSecret", "s"), ("Md5Cred", "abc"), ("Contact", "sip:x")],
        )
        clean = redact(msg)
        assert clean.headers == {
            "Event": "OutboundRegistrationDetail",
            "Password": MASK,
            "ObjectName": "a",
        }
        assert clean.repeated == [("AuthSecret", MASK), ("Md5Cred", MASK), ("Contact", "sip:x")]
        assert (clean.seq, clean.received_at) == (3, 1.0)
        assert msg.headers["Password"] == "hunter2"  # the original is untouched

    def test_action_fields(self) -> None:
        assert redact_fields({"Username": "ccops", "Secret": "x"}) == {
            "Username": "ccops",
            "Secret": MASK,
        }

    @pytest.mark.parametrize("name", ["secret", "SECRET", "password", "OutboundPassword"])
    def test_sensitive_names(self, name: str) -> None:
        assert is_sensitive(name)

    @pytest.mark.parametrize("name", ["Key", "Family", "Username", "Channel"])
    def test_ordinary_names(self, name: str) -> None:
        assert not is_sensitive(name)


def test_throttle_allows_one_line_per_interval_and_counts_the_rest() -> None:
    clock = FakeClock()
    t = _Throttle(clock, interval=10)
    assert t.allow() == 0
    assert t.allow() is None and t.allow() is None
    clock.advance(10)
    assert t.allow() == 2
    assert t.allow() is None
