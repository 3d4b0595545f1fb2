"""Polygon.io (now branded Massive) quotes from the stocks snapshot:
`GET {base}/v2/snapshot/locale/us/markets/stocks/tickers?tickers=AAPL,MSFT` with `Authorization: Bearer
<key>` (the key never goes in the URL). Many tickers per call; `batch_size` (default 100) keeps URLs short.

The answer is `{"status": "OK" | "DELAYED", "count": n, "tickers": [{"ticker", "lastTrade": {"p", "t" (ns)},
"min": {"c", "t" (ms, bar start)}, "day", "prevDay", "updated", ...}]}`. The price is the last trade
(`lastTrade.p` at `lastTrade.t`); plans without trades in the snapshot (Stocks Starter) fall back to the
latest minute bar's close, stamped with the bar's start (conservative for staleness). Unknown tickers are
simply absent. Between the daily reset (03:30 ET) and the first trade the snapshot holds zeros: such a ticker
is left out (the caller keeps its stored quote), never quoted at 0. The base URL is configurable
(`https://api.massive.com` serves the same API).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from tickerleague.adapters.quotes._http import (
    DEFAULT_TIMEOUT,
    CallBudget,
    HttpJsonClient,
    RateLimiter,
    clean_symbols,
    is_zero_or_missing,
    most_telling,
    priced_at,
    utcnow,
)
from tickerleague.domain.quotes import Quote, QuoteProviderError

logger = logging.getLogger("tickerleague.quotes.polygon")

DEFAULT_BASE_URL = "https://api.polygon.io"
SNAPSHOT_PATH = "/v2/snapshot/locale/us/markets/stocks/tickers"
SOURCE = "polygon"
_GOOD_STATUSES = frozenset({"OK", "DELAYED"})


def _price_from(
    block: object, price_key: str, unit_per_second: int, now: datetime
) -> tuple[tuple[Decimal, datetime] | None, str | None]:
    """From a `{<price_key>, t}` block: ((price, as_of), None); (None, None) when it is absent or all zero;
    (None, reason) when malformed."""
    if block is None:
        return None, None
    if not isinstance(block, dict):
        return None, "block is not an object"
    price_raw = block.get(price_key)
    time_raw = block.get("t")
    if is_zero_or_missing(price_raw) and is_zero_or_missing(time_raw):
        return None, None
    return priced_at(price_raw, time_raw, unit_per_second, now)


def parse_ticker(item: Any, now: datetime) -> tuple[Quote | None, str | None]:
    """(quote, None) for a usable snapshot row; (None, None) when it holds no price yet; (None, reason) when
    it is malformed. The last trade (`p`, ns) wins; else the minute bar (`c`, ms)."""
    if not isinstance(item, dict) or not isinstance(item.get("ticker"), str):
        return None, "row is not an object with a ticker"
    symbol = item["ticker"]
    trade, trade_problem = _price_from(item.get("lastTrade"), "p", 1_000_000_000, now)
    if trade is not None:
        return Quote(symbol, trade[0], trade[1], SOURCE), None
    bar, bar_problem = _price_from(item.get("min"), "c", 1_000, now)
    if bar is not None:
        return Quote(symbol, bar[0], bar[1], SOURCE), None
    problem = trade_problem or bar_problem
    return None, problem


class PolygonQuoteProvider:
    name = SOURCE

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        batch_size: int = 100,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_calls_per_minute: int = 100,
        time_budget_seconds: float = 20.0,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_key:
            raise ValueError("the polygon provider needs an API key")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self.limiter = limiter or RateLimiter(max_calls_per_minute, 60.0, monotonic)
        self._calls = CallBudget(
            provider=SOURCE,
            fatal_statuses=frozenset({401, 403}),  # a bad key or plan fails every batch alike: say so at once
            log=logger,
            limiter=self.limiter,
            time_budget_seconds=time_budget_seconds,
            monotonic=monotonic,
            batch_size=batch_size,
        )
        self._http = HttpJsonClient(SOURCE, {"Authorization": f"Bearer {api_key}"}, timeout, clock)

    def fetch(self, symbols: Sequence[str]) -> dict[str, Quote]:
        quotes: dict[str, Quote] = {}
        failures: list[QuoteProviderError] = []
        for batch, payload in self._calls.answers(clean_symbols(symbols), self._ask, failures):
            problem = self._collect(payload, set(batch), quotes)
            if problem is not None:
                logger.warning("polygon: malformed snapshot: %s", problem)
                failures.append(QuoteProviderError(False, f"malformed snapshot: {problem}", provider=SOURCE))
        if not quotes and failures:
            raise most_telling(failures)
        return quotes

    def _ask(self, batch: list[str]) -> Any:
        """One snapshot call for the batch's tickers."""
        return self._http.get_json(f"{self._base_url}{SNAPSHOT_PATH}", {"tickers": ",".join(batch)})

    def _collect(self, payload: Any, asked: set[str], quotes: dict[str, Quote]) -> str | None:
        """Add the good rows of one snapshot to `quotes`; the reason if the payload as a whole is unusable."""
        if not isinstance(payload, dict):
            return "payload is not an object"
        status = payload.get("status")
        if status not in _GOOD_STATUSES:
            return f"status {status!r}"
        rows = payload.get("tickers", [])
        if rows is None:
            rows = []
        if not isinstance(rows, list):
            return "tickers is not a list"
        now = self._clock()
        bad = 0
        for row in rows:
            quote, problem = parse_ticker(row, now)
            if quote is not None and quote.symbol in asked:
                quotes[quote.symbol] = quote
            elif problem is not None:
                bad += 1
                logger.warning("polygon: malformed row %s: %s", _ticker_of(row), problem)
        if bad and bad == len(rows):
            return f"all {bad} rows malformed"
        return None


def _ticker_of(row: Any) -> str:
    return str(row.get("ticker")) if isinstance(row, dict) else "?"
