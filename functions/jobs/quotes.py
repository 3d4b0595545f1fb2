"""Scheduled every minute: refresh the latest quotes of the symbols held or ordered in contests.

The symbols come from the active-symbols set (`SYMBOLS#ACTIVE`, one GetItem): placements add a symbol the first
time an entry buys or orders it, and the nightly reconciliation prunes it to what active contests hold or have open
orders for. While the market is closed nothing is fetched: prices do not move, and the last one stays good.
"""

from __future__ import annotations

from typing import Any

from tickerleague import correlation, tracing
from tickerleague.clock import utcnow
from tickerleague.config import settings
from tickerleague.domain.market_calendar import calendar_from_config
from tickerleague.logs import logger  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import market, matching


@tracing.handler
@correlation.per_run
def refresh(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = utcnow()
    if not calendar_from_config(settings().market_calendar).is_open(now):
        return {"skipped": "market closed"}
    symbols = matching.symbols_to_refresh()
    if not symbols:
        return {"requested": 0}
    return market.refresh_quotes(symbols, now).as_dict()
