"""`Quote` enforces a good quote; `is_stale`; `QuoteProviderError`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from tickerleague.domain.quotes import Quote, QuoteProviderError, is_stale, quote_age

AT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("187.43", "187.4300"),
        ("1.00005", "1.0000"),  # half-even: ties go to the even digit
        ("1.00015", "1.0002"),
        ("1.000051", "1.0001"),
        ("7", "7.0000"),
    ],
)
def test_price_is_quantized_half_even(raw: str, expected: str) -> None:
    quote = Quote("AAPL", Decimal(raw), AT, "test")
    assert quote.price == Decimal(expected)
    assert str(quote.price) == expected


@pytest.mark.parametrize("bad", [Decimal(0), Decimal("-1"), Decimal("NaN"), Decimal("Infinity"), Decimal("0.00004")])
def test_bad_prices_are_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError):
        Quote("AAPL", bad, AT, "test")


def test_implausible_price_is_refused() -> None:
    with pytest.raises(ValueError):
        Quote("AAPL", Decimal("1e12"), AT, "test")


@pytest.mark.parametrize("bad", [187.43, 187, "187.43", True])
def test_non_decimal_prices_are_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        Quote("AAPL", bad, AT, "test")  # type: ignore[arg-type]


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Quote("AAPL", Decimal(1), datetime(2026, 12, 1, 15, 30), "test")


def test_as_of_is_normalised_to_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    quote = Quote("AAPL", Decimal(1), datetime(2026, 12, 1, 10, 30, tzinfo=eastern), "test")
    assert quote.as_of == AT and quote.as_of.tzinfo == UTC


def test_empty_symbol_or_source_is_refused() -> None:
    with pytest.raises(ValueError):
        Quote("", Decimal(1), AT, "test")
    with pytest.raises(ValueError):
        Quote("AAPL", Decimal(1), AT, "")


def test_to_dict_is_the_contract_shape() -> None:
    quote = Quote("AAPL", Decimal("187.43"), AT.replace(microsecond=123), "finnhub")
    assert quote.to_dict() == {
        "symbol": "AAPL",
        "price": "187.4300",
        "asOf": "2026-12-01T15:30:00Z",
        "source": "finnhub",
    }


def test_is_stale_boundaries() -> None:
    quote = Quote("AAPL", Decimal(1), AT, "test")
    max_age = timedelta(seconds=120)
    assert not is_stale(quote, AT + max_age, max_age)
    assert is_stale(quote, AT + max_age + timedelta(microseconds=1), max_age)
    assert not is_stale(quote, AT - timedelta(seconds=30), max_age)  # stamped in the future: not stale
    assert quote_age(quote, AT + timedelta(seconds=5)) == timedelta(seconds=5)
    with pytest.raises(ValueError):
        is_stale(quote, datetime(2026, 12, 1), max_age)


def test_provider_error_carries_its_verdict() -> None:
    error = QuoteProviderError(True, "rate limited (429)", provider="finnhub", retry_after_seconds=30, status=429)
    assert error.retryable and error.retry_after_seconds == 30 and error.status == 429
    assert str(error) == "finnhub: rate limited (429)"
    assert not QuoteProviderError(False, "bad key").retryable
