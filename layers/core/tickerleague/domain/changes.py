"""What a change of one portfolio is made of and what came of committing it; what placing an order reads first.

Services decide these with the rules of `tickerleague.domain.trading`; the order store (a port, implemented by
`tickerleague.adapters.dynamodb.orders`) reads and commits them in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from tickerleague.clock import iso_ms
from tickerleague.domain.contests import Contest
from tickerleague.domain.entries import Entry
from tickerleague.domain.portfolio import Portfolio
from tickerleague.domain.quotes import Quote
from tickerleague.domain.trading import Order


@dataclass(frozen=True)
class PlacementSnapshot:
    """Everything placing an order reads, in ONE BatchGetItem: the contest, the caller's entry, the symbol's
    latest quote and the clientOrderId marker."""

    contest: Contest | None
    entry: Entry | None
    quote: Quote | None
    original_order_id: str | None
    original_order_hash: str | None = None  # the marker's fingerprint of the original order (None: an old marker)


class Outcome(StrEnum):
    COMMITTED = "committed"
    STALE_ENTRY = "stale_entry"  # the entry changed since it was read (its fresh value is in `entry`, if returned)
    DUPLICATE = "duplicate"  # the clientOrderId was already used (`original_order_id`)
    ORDER_CHANGED = "order_changed"  # the order being closed is no longer open (`order`, if returned)
    CONFLICT = "conflict"  # another transaction held an item: try again


@dataclass(frozen=True)
class CommitResult:
    outcome: Outcome
    entry: Entry | None = None  # COMMITTED: as written; STALE_ENTRY: as found (when returned)
    original_order_id: str | None = None
    order: Order | None = None
    original_order_hash: str | None = None  # DUPLICATE: the marker's fingerprint of the original order


@dataclass(frozen=True)
class PortfolioChange:
    """The entry as read, its new portfolio, the new trades-per-day map and order-limit TAT (None: unchanged)."""

    entry: Entry
    portfolio: Portfolio
    trades_by_day: dict[str, int] | None = None
    require_active: bool = True  # placements need an active entry; fills, cancels and expiries do not
    order_tat_ms: int | None = None  # an admitted placement: the order rate limit's new TAT (None: unchanged)

    def entry_after(self, now: datetime) -> Entry:
        """The entry as this change writes it."""
        entry = self.entry
        return replace(
            entry, portfolio=self.portfolio, version=entry.version + 1, updated_at=iso_ms(now),
            trades_by_day=self.trades_by_day if self.trades_by_day is not None else entry.trades_by_day,
            order_tat_ms=self.order_tat_ms if self.order_tat_ms is not None else entry.order_tat_ms,
        )
