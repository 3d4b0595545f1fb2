"""Fixtures of the market-data tests."""

from __future__ import annotations

import pytest

from tests.support.market import FakeMonotonic


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()
