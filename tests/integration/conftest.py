"""Fixtures for tests against the real Asterisk 22 tier (see docs/asterisk-tier.md).

One Asterisk per test session (starting takes about half a second, but qualify and the
outbound registration need a couple more to settle). Each test gets it back healthy:
callers stopped, carriers running, Asterisk up, trunks qualified.

Skip or fail: without the chroot a developer's run skips these tests with the reason;
with ``CI=true`` a missing tier FAILS, so CI can never go green by silently skipping the
only tests that talk to a real PBX.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

# The harness is imported as a top-level module (``from asterisk_tier import ...``) by
# these fixtures, the tier's tests and scripts/record_asterisk_stream.py alike, whether
# or not tests/ becomes a package: one module object, one atexit clean-up.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from asterisk_tier import AmiClient, AsteriskTier, unavailable_reason

_SESSION_TIER: list[AsteriskTier] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "asterisk: needs the real Asterisk 22 tier (scripts/asterisk-chroot.sh)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the tier is marked ``asterisk`` (select with ``-m asterisk``)."""
    for item in items:
        if "asterisk_tier" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.asterisk)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach Asterisk's log tail to failed tier tests: the PBX side of the story."""
    report = yield
    if report.failed and _SESSION_TIER and "asterisk_tier" in getattr(item, "fixturenames", ()):
        report.sections.append(("Asterisk tier log", _SESSION_TIER[0].log_tail(40)))
    return report


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def asterisk_tier() -> Iterator[AsteriskTier]:
    """The session's Asterisk, started once, closed (processes and files) at the end.

    ``CCOPS_TIER_KEEP=1`` keeps the run directory (configs, logs, sipp traces).
    """
    reason = unavailable_reason()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"CI=true but the Asterisk tier is unavailable: {reason}", pytrace=False)
        pytest.skip(f"Asterisk tier unavailable: {reason}")
    tier = AsteriskTier(keep_files=os.environ.get("CCOPS_TIER_KEEP") == "1")
    _SESSION_TIER.append(tier)
    try:
        tier.start()
        tier.wait_settled()
        yield tier
    finally:
        _SESSION_TIER.remove(tier)
        tier.close()


@pytest.fixture
def tier(asterisk_tier: AsteriskTier) -> Iterator[AsteriskTier]:
    """The session tier, healthy before the test and repaired after it."""
    asterisk_tier.ensure_healthy()
    yield asterisk_tier
    asterisk_tier.stop_callers()


@pytest.fixture
async def ami_ccops(tier: AsteriskTier) -> AsyncIterator[AmiClient]:
    """A session as the product's ``ccops`` user (filters of config/asterisk/manager.conf)."""
    async with tier.ami("ccops") as client:
        yield client


@pytest.fixture
async def ami_admin(tier: AsteriskTier) -> AsyncIterator[AmiClient]:
    """An unfiltered ``read=all`` session, for checking what Asterisk really emitted."""
    async with tier.ami("tier-admin") as client:
        yield client
