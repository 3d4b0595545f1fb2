"""Finnhub quotes: `GET {base}/quote?symbol=AAPL` with the key in the `X-Finnhub-Token` header (never in
the URL, so it stays out of access logs), one symbol per call.

The answer is `{c, d, dp, h, l, o, pc, t}`: `c` the current (last) price and `t` its Unix time in seconds.
An unknown symbol answers 200 with every field 0 or null (`{"c": 0, ..., "t": 0}`): that symbol is left out,
not an error.

Limits: the free plan allows 60 calls a minute (and 30 a second on every plan). A per-container
sliding-window limiter keeps to `max_calls_per_minute`; once it is spent the fetch returns what it has rather
than wait (the refresh job runs every minute and picks up the rest: the symbols asked least recently go
first, so every symbol gets its turn). A 429 blocks further calls for its
Retry-After (or `X-Ratelimit-Reset`). Calls are sequential within `time_budget_seconds` and stop after
`max_consecutive_failures` timeouts or 5xx in a row, so a provider outage cannot eat a Lambda's timeout.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
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

logger = logging.getLogger("tickerleague.quotes.finnhub")

DEFAULT_BASE_URL = "https://finnhub.io/api/v1"
_MAX_REMEMBERED = 10_000
SOURCE = "finnhub"


def parse_quote(symbol: str, payload: Any, now: datetime) -> tuple[Quote | None, str | None]:
    """(quote, None) for a good answer, (None, None) for an unknown symbol, (None, reason) if malformed."""
    if not isinstance(payload, dict):
        return None, "payload is not an object"
    price_raw, time_raw = payload.get("c"), payload.get("t")
    if "c" in payload and "t" in payload and is_zero_or_missing(price_raw) and is_zero_or_missing(time_raw):
        return None, None  # Finnhub's answer for a symbol it does not know
    priced, problem = priced_at(price_raw, time_raw, 1, now)
    if priced is None:
        return None, problem
    return Quote(symbol, *priced, SOURCE), None


class FinnhubQuoteProvider:
    name = SOURCE

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_calls_per_minute: int = 60,
        time_budget_seconds: float = 20.0,
        max_consecutive_failures: int = 2,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_key:
            raise ValueError("the finnhub provider needs an API key")
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self.limiter = limiter or RateLimiter(max_calls_per_minute, 60.0, monotonic)
        self._calls = CallBudget(
            provider=SOURCE,
            fatal_statuses=frozenset({401}),  # a bad key fails every call: say so at once
            log=logger,
            limiter=self.limiter,
            time_budget_seconds=time_budget_seconds,
            monotonic=monotonic,
            max_consecutive_failures=max_consecutive_failures,
        )
        # When the budget cannot cover every symbol, the least recently asked go first (round robin).
        self._asked_at: dict[str, int] = {}
        self._asks = itertools.count()
        self._http = HttpJsonClient(SOURCE, {"X-Finnhub-Token": api_key}, timeout, clock)

    def fetch(self, symbols: Sequence[str]) -> dict[str, Quote]:
        wanted = sorted(clean_symbols(symbols), key=lambda symbol: self._asked_at.get(symbol, -1))
        if len(self._asked_at) > _MAX_REMEMBERED:
            self._asked_at.clear()
        quotes: dict[str, Quote] = {}
        failures: list[QuoteProviderError] = []
        for [symbol], payload in self._calls.answers(wanted, self._ask, failures):
            quote, problem = parse_quote(symbol, payload, self._clock())
            if quote is not None:
                quotes[symbol] = quote
            elif problem is not None:
                logger.warning("finnhub: malformed quote for %s: %s", symbol, problem)
                failures.append(QuoteProviderError(False, f"malformed quote for {symbol}: {problem}", provider=SOURCE))
            else:
                logger.info("finnhub: unknown symbol %s", symbol)
        if not quotes and failures:
            raise most_telling(failures)
        return quotes

    def _ask(self, batch: list[str]) -> Any:
        """One `/quote` call for the batch's one symbol, remembered as its latest turn."""
        [symbol] = batch
        self._asked_at[symbol] = next(self._asks)
        return self._http.get_json(f"{self._base_url}/quote", {"symbol": symbol})
