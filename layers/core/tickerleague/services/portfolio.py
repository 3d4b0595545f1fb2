"""Portfolio valuation at the latest quotes: the portfolio route and "my standing" of the leaderboard use it.

The route costs two round trips: the entry (read by the caller) and one BatchGetItem of the held symbols' latest
quotes (100 symbols a round trip; an entry holds far fewer). The quotes are whatever the table holds, whatever
their age: while the market is closed the last price is the price. A held symbol without any stored quote is
marked at its average cost (no unrealized P&L) rather than failing the whole portfolio.

Conventions (docs/design/trading.md): `cash` includes cash reserved by open buy orders (it is still the entry's);
`totalValue = cash + sum(quantity x lastPrice)` rounded once; `returnPct = (totalValue - startingCash) /
startingCash x 100`, 4 decimals, half-even; `asOf` is the valuation instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tickerleague.clock import iso
from tickerleague.domain.entries import Entry
from tickerleague.domain.principal import Principal
from tickerleague.domain.quotes import Quote
from tickerleague.domain.trading import PositionValuation, value
from tickerleague.errors import NotFound
from tickerleague.ids import is_ulid

QuoteReader = Callable[[Sequence[str]], Mapping[str, Quote]]


def _latest_quotes(symbols: Sequence[str]) -> Mapping[str, Quote]:
    from tickerleague.adapters.dynamodb import orders as orders_table

    return orders_table.latest_quotes(symbols)


@dataclass(frozen=True)
class PortfolioView:
    contest_id: str
    cash: Decimal
    positions: list[PositionValuation]  # symbol, quantity, avg_cost, last_price, market_value, unrealized_pnl, ...
    total_value: Decimal
    return_pct: Decimal
    as_of: str  # ISO 8601 UTC, Z


def held_symbols(entry: Entry) -> list[str]:
    return sorted(symbol for symbol, position in entry.portfolio.positions.items() if position.quantity > 0)


def view_at(entry: Entry, quotes: Mapping[str, Quote], now: datetime) -> PortfolioView:
    """Pure: the portfolio marked to `quotes`."""
    valuation = value(entry.portfolio, {symbol: quote.price for symbol, quote in quotes.items()})
    return PortfolioView(
        contest_id=entry.contest_id, cash=valuation.cash, positions=list(valuation.positions),
        total_value=valuation.total_value, return_pct=valuation.return_pct, as_of=iso(now),
    )


def value_portfolio(entry: Entry, now: datetime, *, read_quotes: QuoteReader = _latest_quotes) -> PortfolioView:
    """One entry at the latest stored quotes (one BatchGetItem; none when it holds nothing)."""
    symbols = held_symbols(entry)
    return view_at(entry, read_quotes(symbols) if symbols else {}, now)


def get_portfolio(principal: Principal, contest_id: str, now: datetime, *,
                  read_quotes: QuoteReader = _latest_quotes) -> PortfolioView:
    """GET /v1/contests/{contestId}/portfolio: the caller's portfolio; 404 when they have not joined."""
    from tickerleague.adapters.dynamodb import entries as entries_table

    entry = entries_table.get_entry(contest_id, principal.user_id) if is_ulid(contest_id) else None
    if entry is None:
        raise NotFound("You have not joined this contest.")
    return value_portfolio(entry, now, read_quotes=read_quotes)
