"""Every process-wide cache of the package, reset in one place (an autouse fixture in tests/conftest.py runs it
before and after each test), so no test sees what another one remembered.

A module not imported yet has nothing cached and is not imported here.
"""

from __future__ import annotations

import sys
from typing import Any


def _loaded(name: str) -> Any:
    return sys.modules.get(name)


def reset_process_caches() -> None:
    if (memory := _loaded("tickerleague.services.placement_memory")) is not None:
        memory.default_memory().clear()  # what the last placements read (services/placement_memory.py)
    if (active := _loaded("tickerleague.services.active_symbols")) is not None:
        active.forget_active_symbol_cache()  # symbols this container added to the active set
    if (principals := _loaded("tickerleague.services.principals")) is not None:
        principals.clear_cache()  # account status behind bearer tokens
    if (board := _loaded("tickerleague.services.leaderboard_recompute")) is not None:
        board.forget_warm_state()  # the recompute's warm boards
    if (market := _loaded("tickerleague.services.market")) is not None:
        market.default_cache().clear()  # quotes fetched by this container
    if (quotes := _loaded("tickerleague.adapters.quotes")) is not None:
        quotes.clear_provider_cache()  # quote provider instances (their rate limiters and budgets)
