"""Scheduled every minute: fill the open limit orders the latest quotes cross, expire the day orders after the
close and the orders of contests that are no longer active (services.matching)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickerleague import correlation, tracing
from tickerleague.clock import utcnow
from tickerleague.config import settings
from tickerleague.domain.market_calendar import calendar_from_config
from tickerleague.logs import logger  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import matching


def _time_left(context: Any) -> Callable[[], float] | None:
    """Seconds before the Lambda's timeout, so a long run stops cleanly (the next minute's run goes on)."""
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return None
    return lambda: float(context.get_remaining_time_in_millis()) / 1000


@tracing.handler
@correlation.per_run
def match(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = matching.match_open_orders(utcnow(), calendar=calendar_from_config(settings().market_calendar),
                                        time_left=_time_left(context))
    return {"symbols": report.symbols, "examined": report.examined, "filled": report.filled,
            "expired": report.expired, "rejected": report.rejected, "outOfTime": report.out_of_time}
