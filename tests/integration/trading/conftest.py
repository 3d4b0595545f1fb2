"""Trading concurrency tests against DynamoDB Local (moto serialises on the GIL: it is no concurrency oracle).
The table comes from the shared `ddb_table` fixture (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.trading import World, make_world


@pytest.fixture
def world(ddb_table: str) -> Iterator[World]:
    yield make_world()
