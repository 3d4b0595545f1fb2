"""Shared plumbing of the HTTP quote providers: one GET with a timeout and a verdict, a per-container rate
limiter, the budget a `fetch` spends its calls within, strict JSON-to-Decimal parsing and timestamp sanity
checks.

`requests` is imported inside the functions that use it, so importing a provider costs nothing at cold start
until it is first asked for a quote.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickerleague import tracing
from tickerleague.domain.quotes import MAX_PRICE, QuoteProviderError

if TYPE_CHECKING:
    import requests

logger = logging.getLogger("tickerleague.quotes")

DEFAULT_TIMEOUT = (2.0, 4.0)  # (connect, read) seconds, per request
DEFAULT_RETRY_AFTER_SECONDS = 60
# A provider's timestamp outside [2000-01-01, now + this] is garbage (a unit mix-up, an empty record).
MAX_CLOCK_SKEW = timedelta(minutes=5)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST_SECONDS = int((datetime(2000, 1, 1, tzinfo=UTC) - _UNIX_EPOCH).total_seconds())


def utcnow() -> datetime:
    return datetime.now(UTC)


class RateLimiter:
    """At most `max_calls` in any `per_seconds` window, in this container (a sliding window of call times).

    It never sleeps: a caller that gets False stops and returns what it has, because a Lambda waiting on a
    limiter pays for the wait. `block(seconds)` honours a provider's Retry-After: no call goes out until it
    has passed. Callers that share a provider share its limiter (`provider_from_config` caches providers).
    """

    def __init__(self, max_calls: int, per_seconds: float = 60.0, monotonic: Callable[[], float] = time.monotonic):
        if max_calls < 1 or per_seconds <= 0:
            raise ValueError("a rate limit needs max_calls >= 1 and a positive window")
        self.max_calls = max_calls
        self.per_seconds = per_seconds
        self._monotonic = monotonic
        self._calls: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            now = self._monotonic()
            if now < self._blocked_until:
                return False
            while self._calls and self._calls[0] <= now - self.per_seconds:
                self._calls.popleft()
            if len(self._calls) >= self.max_calls:
                return False
            self._calls.append(now)
            return True

    def block(self, seconds: float) -> None:
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._monotonic() + seconds)

    def seconds_until_available(self) -> int:
        """Whole seconds until `try_acquire` can next succeed (0 when it can now)."""
        with self._lock:
            now = self._monotonic()
            wait = max(0.0, self._blocked_until - now)
            if len(self._calls) >= self.max_calls:
                wait = max(wait, self._calls[len(self._calls) - self.max_calls] + self.per_seconds - now)
            return int(wait) + (1 if wait > int(wait) else 0)


def parse_retry_after(headers: Mapping[str, str], now: datetime) -> int | None:
    """Seconds to wait, from `Retry-After` (delta-seconds or an HTTP date) or Finnhub's `X-Ratelimit-Reset`
    (a Unix time); None when neither is usable. Always at least 1."""
    raw = headers.get("Retry-After")
    if raw:
        raw = raw.strip()
        if raw.isdigit():
            return max(1, int(raw))
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(1, int((when - now).total_seconds()) + 1)
    reset = headers.get("X-Ratelimit-Reset")
    if reset and reset.strip().isdigit():
        return max(1, int(reset.strip()) - int(now.timestamp()))
    return None


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"non-finite number {token} in payload")


def loads_decimal(text: str) -> Any:
    """JSON with every non-integer number as a Decimal (never a float); NaN and Infinity are refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def is_zero_or_missing(raw: object) -> bool:
    """A JSON null or a numeric zero: how providers spell "no data" (not "bad data")."""
    if raw is None:
        return True
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        return False
    return raw == 0


def positive_price(raw: object) -> Decimal | None:
    """A price from a JSON number: a finite Decimal or int above zero and below `MAX_PRICE`, else None.
    Strings, booleans, nulls, NaN, zero and negatives are all refused."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, Decimal):
        value = raw
    else:
        return None
    if not value.is_finite() or value <= 0 or value > MAX_PRICE:
        return None
    return value


def timestamp(raw: object, unit_per_second: int, now: datetime) -> datetime | None:
    """An aware UTC datetime from an integer Unix time in the given unit (1 s, 1_000 ms, 1_000_000_000 ns),
    or None when it is missing, not an integer, or outside [2000-01-01, now + MAX_CLOCK_SKEW]."""
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        return None
    seconds, remainder = divmod(raw, unit_per_second)
    latest = (now + MAX_CLOCK_SKEW - _UNIX_EPOCH).total_seconds()
    if not _EARLIEST_SECONDS <= seconds <= latest:  # compare as numbers first: no datetime overflow
        return None
    micros = remainder * 1_000_000 // unit_per_second
    return _UNIX_EPOCH + timedelta(seconds=seconds, microseconds=micros)


def priced_at(price_raw: object, time_raw: object, unit_per_second: int,
              now: datetime) -> tuple[tuple[Decimal, datetime] | None, str | None]:
    """((price, as_of), None) from a provider's raw price and Unix time, or (None, what is wrong with them)."""
    price = positive_price(price_raw)
    if price is None:
        return None, f"bad price {price_raw!r}"
    as_of = timestamp(time_raw, unit_per_second, now)
    if as_of is None:
        return None, f"bad timestamp {time_raw!r}"
    return (price, as_of), None


class HttpJsonClient:
    """One GET with an explicit timeout; answers the decoded JSON of a 200 or raises `QuoteProviderError`."""

    def __init__(
        self,
        provider: str,
        headers: Mapping[str, str],
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._provider = provider
        self._headers = dict(headers)
        self._timeout = timeout
        self._clock = clock
        self._session: requests.Session | None = None

    def _get_session(self) -> requests.Session:
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers.update({"Accept": "application/json", "User-Agent": "tickerleague/quotes"})
            session.headers.update(self._headers)
            self._session = session
        return self._session

    def get_json(self, url: str, params: Mapping[str, str]) -> Any:
        import requests

        error = self._error
        try:
            with tracing.subsegment("quotes.get"):  # no URL or params in the trace: they may hold the API key
                response = self._get_session().get(url, params=dict(params), timeout=self._timeout,
                                                   allow_redirects=False)
        except requests.Timeout as exc:
            raise error(True, f"timed out ({type(exc).__name__})") from exc
        except requests.ConnectionError as exc:
            raise error(True, f"connection failed ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise error(False, f"request failed ({type(exc).__name__})") from exc

        status = response.status_code
        if status == 429:
            wait = parse_retry_after(response.headers, self._clock()) or DEFAULT_RETRY_AFTER_SECONDS
            raise error(True, "rate limited (429)", status=status, retry_after_seconds=wait)
        if status >= 500:
            hint = parse_retry_after(response.headers, self._clock()) if status == 503 else None
            raise error(True, f"server error ({status})", status=status, retry_after_seconds=hint)
        if status in (401, 403):
            raise error(False, f"not authorized ({status}): check the API key and plan", status=status)
        if status != 200:
            raise error(False, f"unexpected status {status}", status=status)
        try:
            return loads_decimal(response.text)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError, and so is a NaN
            raise error(False, "malformed JSON payload", status=status) from exc

    def _error(
        self,
        retryable: bool,
        reason: str,
        *,
        status: int | None = None,
        retry_after_seconds: int | None = None,
    ) -> QuoteProviderError:
        return QuoteProviderError(
            retryable, reason, provider=self._provider, status=status, retry_after_seconds=retry_after_seconds
        )


def clean_symbols(symbols: Any) -> list[str]:
    """Canonical, valid, unique symbols in first-seen order; anything else is dropped (and never sent)."""
    from tickerleague.domain.symbols import canonical_symbol, is_valid_symbol

    seen: dict[str, None] = {}
    for raw in symbols:
        if not isinstance(raw, str):
            continue
        symbol = canonical_symbol(raw)
        if is_valid_symbol(symbol):
            seen.setdefault(symbol, None)
    return list(seen)


@dataclass(frozen=True, kw_only=True)
class CallBudget:
    """How a provider's `fetch` spends its calls: sequentially, in batches of `batch_size` symbols, within
    `time_budget_seconds` and the `limiter`, so a slow or failing provider cannot eat a Lambda's timeout.

    `answers` makes the calls and yields each answered batch with its decoded payload. It stops, recording
    why in `failures`, at the first of:
    - the time budget spent (a retryable failure);
    - the limiter's budget spent (retryable, with the seconds until it frees up as `retry_after_seconds`);
    - a 429, which also blocks the limiter for its Retry-After (`DEFAULT_RETRY_AFTER_SECONDS` without one);
    - `max_consecutive_failures` retryable failures in a row (timeouts, 5xx), when set; a permanent failure
      resets the count, and None never stops.
    Any other failure is recorded and the next batch is asked. A failure whose status is in `fatal_statuses`
    (a bad key fails every call alike) is raised at once. Log lines go to `log`, prefixed with `provider`.
    """

    provider: str
    fatal_statuses: frozenset[int]
    log: logging.Logger
    limiter: RateLimiter
    time_budget_seconds: float
    monotonic: Callable[[], float]
    batch_size: int = 1
    max_consecutive_failures: int | None = None

    def answers(
        self,
        symbols: Sequence[str],
        request: Callable[[list[str]], Any],
        failures: list[QuoteProviderError],
    ) -> Iterator[tuple[list[str], Any]]:
        """(batch, payload) for each batch of `symbols` that `request` got an answer for; every failure that
        is not raised is appended to `failures`."""
        consecutive = 0
        deadline = self.monotonic() + self.time_budget_seconds
        for start in range(0, len(symbols), self.batch_size):
            batch = list(symbols[start : start + self.batch_size])
            left = len(symbols) - start
            if self.monotonic() >= deadline:
                self.log.warning("%s: time budget spent, %d symbols left for the next run", self.provider, left)
                failures.append(QuoteProviderError(True, "time budget spent", provider=self.provider))
                return
            if not self.limiter.try_acquire():
                wait = self.limiter.seconds_until_available()
                self.log.info("%s: rate budget spent, %d symbols left for the next run", self.provider, left)
                failures.append(
                    QuoteProviderError(
                        True, "rate limit budget spent", provider=self.provider, retry_after_seconds=wait
                    )
                )
                return
            try:
                payload = request(batch)
            except QuoteProviderError as exc:
                if exc.status in self.fatal_statuses:
                    raise
                failures.append(exc)
                if exc.status == 429:
                    self.limiter.block(exc.retry_after_seconds or DEFAULT_RETRY_AFTER_SECONDS)
                    self.log.warning("%s: 429, backing off %ss", self.provider, exc.retry_after_seconds)
                    return
                self.log.warning("%s: %s for %s", self.provider, exc.reason, _named(batch))
                consecutive = consecutive + 1 if exc.retryable else 0
                if self.max_consecutive_failures is not None and consecutive >= self.max_consecutive_failures:
                    return
                continue
            consecutive = 0
            yield batch, payload


def _named(symbols: list[str], at_most: int = 5) -> str:
    """A batch's symbols for a log line: the first few, then how many more."""
    shown = ",".join(symbols[:at_most])
    return shown if len(symbols) <= at_most else f"{shown} and {len(symbols) - at_most} more"


def most_telling(failures: list[QuoteProviderError]) -> QuoteProviderError:
    """The failure to report when nothing came back: a retryable one (best with a Retry-After) beats a
    permanent one."""
    for failure in failures:
        if failure.retryable and failure.retry_after_seconds is not None:
            return failure
    for failure in failures:
        if failure.retryable:
            return failure
    return failures[0]
