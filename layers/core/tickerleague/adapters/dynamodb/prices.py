"""Prices to mark positions with, from the stored quotes (`services.ports.PriceSource`): the latest quote of each
symbol, or the last snapshot at or before a time (the final standings)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tickerleague.lazy import lazy_module

if TYPE_CHECKING:
    from tickerleague.adapters.dynamodb import quotes
else:  # PynamoDB is imported at first use, not at cold start (tickerleague/lazy.py)
    quotes = lazy_module("tickerleague.adapters.dynamodb.quotes")

LOOKUPS_IN_PARALLEL = 16


class StoredPrices:
    """Prices from the market-data engineer's quote items (latest quote; snapshot at or before a time)."""

    def latest(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        return {symbol: quote.price for symbol, quote in quotes.get_latest_many(symbols).items()} if symbols else {}

    def at(self, symbols: Sequence[str], when: datetime) -> dict[str, Decimal]:
        """The last snapshot at or before `when`; without one, the latest quote if it is not newer than `when`."""

        def one(symbol: str) -> tuple[str, Decimal | None]:
            quote = quotes.quote_at(symbol, when)
            if quote is None:
                latest = quotes.get_latest(symbol)
                quote = latest if latest is not None and latest.as_of <= when else None
            return symbol, quote.price if quote is not None else None

        with ThreadPoolExecutor(max_workers=LOOKUPS_IN_PARALLEL) as pool:
            found = list(pool.map(one, symbols))
        return {symbol: price for symbol, price in found if price is not None}
