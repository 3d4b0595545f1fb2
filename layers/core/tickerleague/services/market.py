"""Market data use cases: a symbol's current quote, the scheduled refresh of many quotes, search and the clock.

`current_quote` looks in three places, cheapest first, and stops at the first quote fresh enough:
  1. this container's memory (a lookup made in the last `CACHE_TTL`, 5 s, is reused as it was: a burst of requests
     for one symbol costs one table read, and a provider outage is not hammered);
  2. the table's latest quote (written every minute by the refresh job);
  3. the quote provider, whose answer is then stored (latest + snapshot) for everyone else.
"Fresh enough": while the market is open, at most `QUOTE_MAX_AGE_SECONDS` (120 s) old; while it is closed, taken
at or after the last session's close minus that age (the closing price stays good all weekend, so nothing is
refetched). What a caller gets when there is no fresh quote depends on its purpose:
  - `purpose="quote"` (GET /v1/stocks/{symbol}/quote): the newest quote there is, whatever its age (its `asOf`
    says how old); 503 SERVICE_UNAVAILABLE when there is none at all; an unknown symbol is 404 NOT_FOUND;
  - `purpose="order"` (placing an order): 422 QUOTE_STALE; an unknown symbol is 422 UNKNOWN_SYMBOL.
Every port (store, provider, universe, calendar, cache) can be passed in; by default they come from the settings.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from tickerleague.domain.market_calendar import TradingCalendar, calendar_from_config
from tickerleague.domain.quotes import Quote, QuoteProvider, QuoteProviderError
from tickerleague.domain.symbols import Symbol, SymbolUniverse
from tickerleague.errors import NotFound, RuleViolation, ServiceUnavailable

logger = logging.getLogger("tickerleague.market")

CACHE_TTL = timedelta(seconds=5)
REFRESH_BATCH = 100

Purpose = Literal["quote", "order"]


class QuoteStore(Protocol):
    def get_latest(self, symbol: str) -> Quote | None: ...

    def get_latest_many(self, symbols: Iterable[str]) -> dict[str, Quote]: ...

    def put_latest(self, quote: Quote, now: datetime) -> bool: ...

    def put_snapshots(self, quotes: Iterable[Quote]) -> int: ...


# ---------------------------------------------------------------------------------------------------- cache
class QuoteCache:
    """Per-container memory of recent lookups: symbol -> (best quote found or None, when it was looked up).

    The clock is the `now` each caller passes, so tests (and the refresh job) control time. Bounded (LRU)."""

    def __init__(self, ttl: timedelta = CACHE_TTL, max_entries: int = 4096) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Quote | None, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, symbol: str, now: datetime) -> tuple[bool, Quote | None]:
        """(hit, quote): a hit is a lookup made within `ttl` before `now` (its quote may be None)."""
        with self._lock:
            entry = self._entries.get(symbol)
            if entry is None:
                return False, None
            quote, looked_up_at = entry
            if not timedelta(0) <= now - looked_up_at <= self.ttl:
                del self._entries[symbol]
                return False, None
            self._entries.move_to_end(symbol)
            return True, quote

    def remember(self, symbol: str, quote: Quote | None, now: datetime) -> None:
        with self._lock:
            previous = self._entries.get(symbol)
            if quote is None and previous is not None and previous[0] is not None:
                quote = previous[0]  # never forget a quote we had because a later lookup found nothing
            elif previous is not None and previous[0] is not None and quote is not None:
                quote = newest(quote, previous[0])
            self._entries[symbol] = (quote, now)
            self._entries.move_to_end(symbol)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = QuoteCache()


def default_cache() -> QuoteCache:
    return _cache


# ---------------------------------------------------------------------------------------------------- defaults
def default_store() -> QuoteStore:
    from tickerleague.adapters.dynamodb.quotes import DynamoQuoteStore

    return DynamoQuoteStore()


def default_provider() -> QuoteProvider:
    from tickerleague.adapters.quotes import provider_from_settings

    return provider_from_settings()


def default_calendar() -> TradingCalendar:
    from tickerleague.config import settings

    return calendar_from_config(settings().market_calendar)


def default_max_age() -> timedelta:
    from tickerleague.config import settings

    return timedelta(seconds=settings().quote_max_age_seconds)


# ---------------------------------------------------------------------------------------------------- rules
def newest(first: Quote, second: Quote) -> Quote:
    return second if second.as_of > first.as_of else first


def is_fresh(quote: Quote, now: datetime, max_age: timedelta, calendar: TradingCalendar) -> bool:
    """Open market: at most `max_age` old. Closed market: taken no earlier than `max_age` before the last close
    (the closing price is the current price until the next open). A quote from the future counts as fresh."""
    if calendar.is_open(now):
        return now - quote.as_of <= max_age
    last_close = calendar.previous_close(now)
    if last_close is None:
        return now - quote.as_of <= max_age
    return quote.as_of >= last_close - max_age


def _unknown(symbol: str, purpose: Purpose) -> Exception:
    if purpose == "order":
        return RuleViolation(f"{symbol} is not a tradable symbol.", code="UNKNOWN_SYMBOL", details={"symbol": symbol})
    return NotFound(f"No stock with the symbol {symbol}.")


def _no_fresh_quote(symbol: str, purpose: Purpose, best: Quote | None) -> Exception:
    if purpose == "order":
        details: dict[str, object] = {"symbol": symbol}
        if best is not None:
            details["asOf"] = best.to_dict()["asOf"]
        return RuleViolation(f"No current quote for {symbol}; try again shortly.", code="QUOTE_STALE", details=details)
    return ServiceUnavailable(f"No quote for {symbol} is available right now; try again shortly.")


# ---------------------------------------------------------------------------------------------------- use cases
def lookup_symbol(symbol: str, *, purpose: Purpose = "quote", universe: SymbolUniverse | None = None) -> Symbol:
    """The canonical symbol, or NOT_FOUND / UNKNOWN_SYMBOL (per purpose)."""
    known = (universe or SymbolUniverse.default()).get(symbol) if isinstance(symbol, str) else None
    if known is None:
        raise _unknown(str(symbol)[:32], purpose)
    return known


def current_quote(
    symbol: str,
    now: datetime,
    *,
    purpose: Purpose = "quote",
    store: QuoteStore | None = None,
    provider: QuoteProvider | None = None,
    universe: SymbolUniverse | None = None,
    calendar: TradingCalendar | None = None,
    cache: QuoteCache | None = None,
    max_age: timedelta | None = None,
) -> Quote:
    """The current quote of `symbol` at `now` (see the module docstring for where it comes from and what
    happens when there is none)."""
    canonical = lookup_symbol(symbol, purpose=purpose, universe=universe).symbol
    cache = cache if cache is not None else default_cache()
    calendar = calendar or default_calendar()
    max_age = max_age if max_age is not None else default_max_age()

    hit, cached = cache.lookup(canonical, now)
    if hit:
        if cached is not None and (purpose == "quote" or is_fresh(cached, now, max_age, calendar)):
            return cached
        raise _no_fresh_quote(canonical, purpose, cached)

    store = store or default_store()
    best = store.get_latest(canonical)
    if best is not None and is_fresh(best, now, max_age, calendar):
        cache.remember(canonical, best, now)
        return best

    fetched = _fetch_one(provider or default_provider(), canonical)
    if fetched is not None:
        _store(store, [fetched], now)
        best = fetched if best is None else newest(best, fetched)
    cache.remember(canonical, best, now)
    if best is not None and (purpose == "quote" or is_fresh(best, now, max_age, calendar)):
        return best
    raise _no_fresh_quote(canonical, purpose, best)


def _fetch_one(provider: QuoteProvider, symbol: str) -> Quote | None:
    try:
        return provider.fetch([symbol]).get(symbol)
    except QuoteProviderError as error:
        logger.warning("quote provider failed for %s: %s", symbol, error)
        return None


def _store(store: QuoteStore, quotes: Sequence[Quote], now: datetime) -> tuple[int, int]:
    """Latest (never backwards) + snapshots. Returns (latest written, latest skipped as older)."""
    written = skipped = 0
    for quote in quotes:
        if store.put_latest(quote, now):
            written += 1
        else:
            skipped += 1
    store.put_snapshots(quotes)
    return written, skipped


@dataclass
class RefreshStats:
    """What one refresh did. `error` is the provider's failure when it returned nothing for a batch."""

    requested: int = 0
    fetched: int = 0
    stored: int = 0
    not_newer: int = 0
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retry_after_seconds: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "requested": self.requested,
            "fetched": self.fetched,
            "stored": self.stored,
            "notNewer": self.not_newer,
            "unknown": self.unknown,
            "missing": self.missing,
            "errors": self.errors,
            "retryAfterSeconds": self.retry_after_seconds,
        }


def refresh_quotes(
    symbols: Iterable[str],
    now: datetime,
    *,
    store: QuoteStore | None = None,
    provider: QuoteProvider | None = None,
    universe: SymbolUniverse | None = None,
    cache: QuoteCache | None = None,
    batch_size: int = REFRESH_BATCH,
) -> RefreshStats:
    """Fetch the quotes of `symbols` in batches, store each as the latest (never backwards) and as a snapshot,
    and remember them in this container's cache. A provider failure ends the run (the next run picks up) and is
    reported in the stats, never raised: one bad minute must not fail the schedule."""
    universe = universe or SymbolUniverse.default()
    store = store or default_store()
    provider = provider or default_provider()
    cache = cache if cache is not None else default_cache()
    stats = RefreshStats()

    wanted: list[str] = []
    for raw in dict.fromkeys(symbols):
        known = universe.get(raw) if isinstance(raw, str) else None
        if known is None:
            stats.unknown.append(str(raw)[:32])
        elif known.symbol not in wanted:
            wanted.append(known.symbol)
    stats.requested = len(wanted)

    for start in range(0, len(wanted), batch_size):
        batch = wanted[start : start + batch_size]
        try:
            quotes = provider.fetch(batch)
        except QuoteProviderError as error:
            logger.warning("quote refresh: %s", error)
            stats.errors.append(str(error))
            stats.retry_after_seconds = error.retry_after_seconds
            stats.missing.extend(wanted[start:])
            break
        good = [quotes[symbol] for symbol in batch if symbol in quotes]
        stats.fetched += len(good)
        stats.missing.extend(symbol for symbol in batch if symbol not in quotes)
        if good:
            written, skipped = _store(store, good, now)
            stats.stored += written
            stats.not_newer += skipped
            for quote in good:
                cache.remember(quote.symbol, quote, now)
    logger.info("quote refresh: %s", stats.as_dict())
    return stats


def latest_quotes(symbols: Iterable[str], *, store: QuoteStore | None = None) -> dict[str, Quote]:
    """The stored latest quotes of many symbols at once (portfolio valuation, leaderboards); no provider call."""
    return (store or default_store()).get_latest_many(symbols)


def search_symbols(query: str, limit: int, *, universe: SymbolUniverse | None = None) -> list[Symbol]:
    """`GET /v1/stocks?query=&limit=`."""
    return (universe or SymbolUniverse.default()).search(query, limit)


def market_clock(now: datetime, *, calendar: TradingCalendar | None = None) -> dict[str, object]:
    """`GET /v1/market/clock`: `{isOpen, now, nextOpen, nextClose, calendar}`."""
    return (calendar or default_calendar()).clock(now)
