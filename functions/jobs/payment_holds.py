"""Scheduled every minute (LOCAL_SCHEDULE_RATE_SECONDS shortens it locally): the payments sweep.

1. Release the seats of unpaid entries whose PAYMENT_HOLD_SECONDS ran out (services.payments.expire_holds).
2. Settle cancelled paid contests: refund every paid entry once, cancel pending PaymentIntents
   (services.payments_cancellation), within the Lambda's time left (the next minute goes on).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickerleague import correlation, tracing
from tickerleague.logs import logger  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import payments, payments_cancellation


def _time_left(context: Any) -> Callable[[], float] | None:
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return None
    return lambda: float(context.get_remaining_time_in_millis()) / 1000


@tracing.handler
@correlation.per_run
def sweep(event: dict[str, Any], context: Any) -> dict[str, Any]:
    holds = payments.expire_holds()
    cancelled = payments_cancellation.settle_cancelled_contests(time_left=_time_left(context))
    return {"holds": holds, "cancelledContests": cancelled}
