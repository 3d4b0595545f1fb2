from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh(moto_table: str) -> Iterator[None]:
    """Every test on its own moto table (the caches are reset for every test by tests/conftest.py)."""
    yield
