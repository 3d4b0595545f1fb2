"""Quotes: the price of one symbol at one instant from one source, and the port quote providers implement.

A `Quote` is always good: a positive, finite `Decimal` price quantized to 4 dp (half-even) and an aware UTC
`as_of`. The constructor enforces it, so a provider adapter cannot hand out a bad quote as a good one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from tickerleague.clock import iso
from tickerleague.domain.money import price_str, to_price

# No listed US stock trades near this; a bigger "price" is a unit or parsing error, not a quote.
MAX_PRICE = Decimal("1000000000")


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    price: Decimal
    as_of: datetime
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise ValueError("a quote needs a symbol")
        if isinstance(self.price, bool) or not isinstance(self.price, Decimal):
            raise TypeError(f"quote price must be a Decimal, not {type(self.price).__name__}")
        if not self.price.is_finite() or self.price <= 0 or self.price > MAX_PRICE:
            raise ValueError(f"quote price must be finite, positive and plausible, got {self.price}")
        price = to_price(self.price)
        if price <= 0:
            raise ValueError(f"quote price {self.price} rounds to zero at 4 decimal places")
        if not isinstance(self.as_of, datetime) or self.as_of.tzinfo is None or self.as_of.utcoffset() is None:
            raise ValueError("quote as_of must be a timezone-aware datetime")
        if not self.source:
            raise ValueError("a quote needs a source")
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "as_of", self.as_of.astimezone(UTC))

    def to_dict(self) -> dict[str, Any]:
        """The contract's quote object `{symbol, price, asOf, source}`, the price a 4-dp decimal string."""
        return {
            "symbol": self.symbol,
            "price": price_str(self.price),
            "asOf": iso(self.as_of),
            "source": self.source,
        }


class QuoteProviderError(Exception):
    """A provider could not answer at all (a partial answer is returned, not raised).

    `retryable`: trying again later may succeed (429, 5xx, timeouts, connection errors); False for
    configuration errors (bad key, no entitlement) and payloads that make no sense. `retry_after_seconds` is
    the provider's hint, if any; `status` the HTTP status, if there was one.
    """

    def __init__(
        self,
        retryable: bool,
        reason: str,
        *,
        provider: str = "",
        retry_after_seconds: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{provider or 'quote provider'}: {reason}")
        self.retryable = retryable
        self.reason = reason
        self.provider = provider
        self.retry_after_seconds = retry_after_seconds
        self.status = status


class QuoteProvider(Protocol):
    """Fetches the latest quotes. Returns what it could get, keyed by the canonical symbols it was asked for;
    a symbol it does not know, or whose data is bad, is left out. Raises `QuoteProviderError` only when it got
    nothing at all because of a failure (an empty answer for unknown symbols is not a failure)."""

    name: str

    def fetch(self, symbols: Sequence[str]) -> dict[str, Quote]: ...


def is_stale(quote: Quote, now: datetime, max_age: timedelta) -> bool:
    """Whether the quote is older than `max_age` at `now`. A quote stamped in the future (clock skew) is not
    stale."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now - quote.as_of > max_age


def quote_age(quote: Quote, now: datetime) -> timedelta:
    """How old the quote is at `now` (negative when stamped in the future)."""
    return now - quote.as_of
