"""Fixtures for the AMI fault suite (helpers live in ``link_harness``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_ami import FakeAmi
from link_harness import SECRET


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    async with FakeAmi(secret=SECRET) as server:
        yield server
