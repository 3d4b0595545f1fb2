"""A contest entry: one player's seat in one contest, with the portfolio it trades."""

from __future__ import annotations

from dataclasses import dataclass

from tickerleague.domain.portfolio import Portfolio


@dataclass(frozen=True)
class Entry:
    entry_id: str
    contest_id: str
    user_id: str
    display_name: str
    status: str  # active | pending_payment | cancelled | refunded
    joined_at: str  # ISO 8601 with milliseconds, Z
    portfolio: Portfolio
    version: int = 0  # bumped by every write of the portfolio; conditions use it for optimistic concurrency
    trades_by_day: dict[str, int] | None = None  # {"2026-12-01": 3}, for maxTradesPerDay
    updated_at: str | None = None
    # The order rate limit's GCRA theoretical arrival time (epoch ms; 0: never limited), moved by every admitted
    # placement inside its own transaction (domain/rate_limit.py, services/orders.py).
    order_tat_ms: int = 0
