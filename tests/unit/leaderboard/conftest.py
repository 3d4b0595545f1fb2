from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh(moto_table: str) -> Iterator[None]:
    """Every test on its own moto table, with no board remembered from another test."""
    from tickerleague.services import leaderboard
    from tickerleague.services.principals import clear_cache

    leaderboard.forget_warm_state()
    clear_cache()
    yield
    leaderboard.forget_warm_state()
