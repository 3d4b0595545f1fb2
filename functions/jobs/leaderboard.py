"""The leaderboard recompute, every minute (EventBridge schedule): live standings of every active contest.

Answers a summary per contest (outcome, entries read, capacity consumed); a contest that failed makes the whole
invocation fail after the others were done, so the function's error metric and its retries see it.
"""

from __future__ import annotations

from typing import Any

from tickerleague import correlation, tracing
from tickerleague.logs import logger  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import leaderboard_recompute


@tracing.handler
@correlation.per_run
def recompute(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reports = leaderboard_recompute.recompute_active()
    return {"contests": [report.log_fields() for report in reports]}
