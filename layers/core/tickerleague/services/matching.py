"""Open limit orders: fill the ones the latest quote crosses, expire the ones whose time is up.

The matcher runs every minute (functions/jobs/orders.match). It reads the active-symbols set and their latest
quotes (one GetItem, one BatchGetItem per 100 symbols), then each symbol's open orders from the sparse GSI1
partition `OPENORDERS#<symbol>`. For each open order, in this order:
  1. its contest is no longer active, or past its end -> expired ("contest ended"), reservation released;
  2. a `day` order past its session's close -> expired ("session closed");
  3. the market is open, the symbol's quote is fresh (QUOTE_MAX_AGE_SECONDS) and crosses the limit -> filled at
     the quote's price at match time (a buy at or below its limit, a sell at or above: never worse than the
     limit), with the contest's commission, in ONE transaction with the entry (see services.orders);
  4. otherwise it stays open.
Each step is conditioned on the order still being open, so overlapping runs, cancels and the contest-end hook never
act twice on one order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from tickerleague import metrics
from tickerleague.config import settings
from tickerleague.domain.contests import Contest, ContestStatus
from tickerleague.domain.entries import Entry
from tickerleague.domain.market_calendar import TradingCalendar
from tickerleague.domain.quotes import Quote, is_stale
from tickerleague.domain.trading import Order, commission_of, crosses, is_expired
from tickerleague.services.orders import Closing, OrderStore, close_open_order

logger = logging.getLogger("tickerleague.matching")


class MatchingStore(OrderStore, Protocol):
    def active_symbols(self) -> tuple[set[str], int]: ...

    def open_orders_for_symbol(self, symbol: str) -> Iterator[Order]: ...

    def entries_of_contest(self, contest_id: str) -> Iterator[Entry]: ...

    def orders_of_entry(self, contest_id: str, user_id: str, *, open_only: bool = False) -> list[Order]: ...


ContestReader = Callable[[str], Contest | None]


def _read_contest(contest_id: str) -> Contest | None:
    from tickerleague.adapters.dynamodb import contests as contests_table

    return contests_table.get(contest_id, consistent=True)


def _store() -> MatchingStore:
    from tickerleague.adapters.dynamodb.orders import OrderTable

    return OrderTable()


@dataclass
class MatchReport:
    symbols: int = 0
    examined: int = 0
    filled: int = 0
    expired: int = 0
    rejected: int = 0
    out_of_time: bool = False

    def count(self, order: Order | None) -> None:
        if order is None:
            return
        if order.status == "filled":
            self.filled += 1
        elif order.status == "expired":
            self.expired += 1
        elif order.status == "rejected":
            self.rejected += 1


def _count_metric(ended: Order | None) -> None:
    """`OrdersFilled{type=limit, side}` once per fill: `ended` is set only for the run whose transaction closed the
    order (an overlapping run or a retry finds it closed and gets None). Market orders are counted where they are
    placed (services/orders.py)."""
    if ended is not None and ended.status == "filled":
        metrics.count("OrdersFilled", type="limit", side=ended.side)


def closing_for(order: Order, contest: Contest | None, quote: Quote | None, now: datetime) -> Closing | None:
    """What should happen to one open order now (None: nothing). `quote` is None unless it may be used: the
    market is open and the quote is fresh."""
    if contest is None or contest.status is not ContestStatus.ACTIVE or now >= contest.ends_at:
        return Closing("expired", "contest ended")
    if is_expired(order, now):
        return Closing("expired", "session closed")
    if quote is not None and order.limit_price is not None and crosses(order.side, order.limit_price, quote.price):
        return Closing("filled", "limit crossed", quote=quote, commission=commission_of(contest.rules))
    return None


def usable_quotes(quotes: dict[str, Quote], now: datetime, calendar: TradingCalendar,
                  max_age: timedelta) -> dict[str, Quote]:
    """The quotes an order may fill on: none while the market is closed, and only fresh ones while it is open."""
    if not calendar.is_open(now):
        return {}
    return {symbol: quote for symbol, quote in quotes.items() if not is_stale(quote, now, max_age)}


def match_open_orders(now: datetime, *, calendar: TradingCalendar, store: MatchingStore | None = None,
                      read_contest: ContestReader = _read_contest, max_age: timedelta | None = None,
                      time_left: Callable[[], float] | None = None, sleep: Callable[[float], None] = time.sleep,
                      ) -> MatchReport:
    """One matching run at `now`. `time_left()` (seconds) stops it early, safely, before the Lambda's timeout."""
    store = store or _store()
    max_age = max_age if max_age is not None else timedelta(seconds=settings().quote_max_age_seconds)
    symbols, _ = store.active_symbols()
    quotes = usable_quotes(store.latest_quotes(sorted(symbols)), now, calendar, max_age) if symbols else {}
    contests: dict[str, Contest | None] = {}
    report = MatchReport(symbols=len(symbols))
    for symbol in sorted(symbols):
        for order in store.open_orders_for_symbol(symbol):
            if time_left is not None and time_left() < 5:
                report.out_of_time = True
                return report
            report.examined += 1
            if order.contest_id not in contests:
                contests[order.contest_id] = read_contest(order.contest_id)
            closing = closing_for(order, contests[order.contest_id], quotes.get(symbol), now)
            if closing is not None:
                result = close_open_order(store, order.contest_id, order.user_id, order.order_id,
                                          closing=closing, now=now, sleep=sleep)
                report.count(result.ended)
                _count_metric(result.ended)
    logger.info("matching: %s", report)
    return report


def expire_contest_orders(contest_id: str, ended_at: datetime, *, store: MatchingStore | None = None,
                          sleep: Callable[[float], None] = time.sleep) -> int:
    """Expire every open order (day and gtc) of a contest and release its reservations. Idempotent: an order
    already closed is left alone. Only entries holding a reservation can have open orders, so only their order
    lists are read. Returns how many orders this call expired."""
    store = store or _store()
    expired = 0
    for entry in store.entries_of_contest(contest_id):
        if not _has_reservations(entry):
            continue
        for order in store.orders_of_entry(contest_id, entry.user_id, open_only=True):
            result = close_open_order(store, contest_id, entry.user_id, order.order_id,
                                      closing=Closing("expired", "contest ended"), now=ended_at, sleep=sleep)
            expired += result.ended is not None
    return expired


def _has_reservations(entry: Entry) -> bool:
    portfolio = entry.portfolio
    return portfolio.reserved_cash > 0 or any(position.reserved_quantity > 0
                                              for position in portfolio.positions.values())


def expire_open_orders_at_end(contest_id: str, ended_at: datetime) -> None:
    """The contest-end lifecycle hook (services.lifecycle_hooks.HOOKS)."""
    count = expire_contest_orders(contest_id, ended_at)
    logger.info("contest %s ended: %d open orders expired", contest_id, count)


def symbols_to_refresh(store: MatchingStore | None = None) -> Sequence[str]:
    """The symbols the quote refresh job fetches: the active-symbols set (bought or ordered in a contest)."""
    symbols, _ = (store or _store()).active_symbols()
    return sorted(symbols)
