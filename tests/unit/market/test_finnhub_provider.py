"""Finnhub adapter against recorded answers (`responses`): parsing, rate limits, failures, malformed payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import responses
from responses import matchers
from tickerleague.adapters.quotes.finnhub import FinnhubQuoteProvider
from tickerleague.domain.quotes import QuoteProviderError

from tests.support.market import NOW, FakeMonotonic, recorded

URL = "https://finnhub.io/api/v1/quote"
KEY = "test-finnhub-key"


def provider(monotonic: FakeMonotonic, **kwargs: object) -> FinnhubQuoteProvider:
    return FinnhubQuoteProvider(KEY, clock=lambda: NOW, monotonic=monotonic, **kwargs)  # type: ignore[arg-type]


def answer(symbol: str, body: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
    responses.add(
        responses.GET,
        URL,
        body=body,
        status=status,
        headers=headers or {},
        content_type="application/json",
        match=[matchers.query_param_matcher({"symbol": symbol})],
    )


def quote_body(**fields: object) -> str:
    base: dict[str, object] = json.loads(recorded("finnhub_quote_AAPL.json"))
    base.update(fields)
    return json.dumps(base)


@responses.activate
def test_parses_recorded_quotes_as_decimals(monotonic: FakeMonotonic) -> None:
    for symbol in ("AAPL", "MSFT", "BRK.B"):
        answer(symbol, recorded(f"finnhub_quote_{symbol}.json"))
    quotes = provider(monotonic).fetch(["AAPL", "MSFT", "BRK.B"])
    assert set(quotes) == {"AAPL", "MSFT", "BRK.B"}
    aapl = quotes["AAPL"]
    assert aapl.price == Decimal("187.4300") and isinstance(aapl.price, Decimal)
    assert aapl.as_of == datetime(2026, 12, 1, 15, 29, 58, tzinfo=UTC)
    assert aapl.source == "finnhub"
    assert quotes["MSFT"].price == Decimal("412.5000")
    assert quotes["BRK.B"].price == Decimal("468.0000")  # 468.00005: half-even to 4 dp


@responses.activate
def test_key_goes_in_a_header_with_a_timeout(monotonic: FakeMonotonic) -> None:
    answer("AAPL", recorded("finnhub_quote_AAPL.json"))
    provider(monotonic, timeout=(1.5, 3.0)).fetch(["AAPL"])
    call = responses.calls[0]
    assert call.request.headers["X-Finnhub-Token"] == KEY
    assert KEY not in call.request.url
    assert call.request.req_kwargs["timeout"] == (1.5, 3.0)  # type: ignore[attr-defined]


@responses.activate
def test_symbols_are_canonical_unique_and_never_injected(monotonic: FakeMonotonic) -> None:
    answer("AAPL", recorded("finnhub_quote_AAPL.json"))
    quotes = provider(monotonic).fetch(["aapl", "AAPL", "AAPL&token=x", "../etc", "", 42])  # type: ignore[list-item]
    assert set(quotes) == {"AAPL"}
    assert len(responses.calls) == 1


@responses.activate
def test_unknown_symbol_is_left_out_without_error(monotonic: FakeMonotonic) -> None:
    answer("AAPL", recorded("finnhub_quote_AAPL.json"))
    answer("NOPE", recorded("finnhub_quote_unknown.json"))
    assert set(provider(monotonic).fetch(["NOPE", "AAPL"])) == {"AAPL"}
    assert provider(monotonic).fetch(["NOPE"]) == {}


# ---------------------------------------------------------------- malformed payloads are never good quotes


MALFORMED = {
    "price as a string": quote_body(c="187.43"),
    "zero price with a time": quote_body(c=0),
    "negative price": quote_body(c=-1.5),
    "boolean price": quote_body(c=True),
    "null price": quote_body(c=None),
    "missing price": json.dumps({"t": 1796138998}),
    "missing time": json.dumps({"c": 187.43}),
    "time as a string": quote_body(t="1796138998"),
    "time in milliseconds": quote_body(t=1796138998000),
    "time far in the future": quote_body(t=1796138998 + 86_400),
    "time before 2000": quote_body(t=86_400),
    "empty object": "{}",
    "an array": "[187.43]",
    "NaN price": '{"c": NaN, "t": 1796138998}',
    "Infinity price": '{"c": Infinity, "t": 1796138998}',
    "HTML from a proxy": "<html><body>Bad gateway</body></html>",
    "truncated JSON": '{"c": 187.43, "t": 17961',
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@responses.activate
def test_malformed_answers_are_not_quotes(monotonic: FakeMonotonic, body: str) -> None:
    answer("AAPL", body)
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert not caught.value.retryable


@responses.activate
def test_one_malformed_answer_does_not_spoil_the_others(monotonic: FakeMonotonic) -> None:
    answer("AAPL", MALFORMED["NaN price"])
    answer("MSFT", recorded("finnhub_quote_MSFT.json"))
    assert set(provider(monotonic).fetch(["AAPL", "MSFT"])) == {"MSFT"}


# ---------------------------------------------------------------- rate limits


@responses.activate
def test_429_with_retry_after_raises_retryable_and_blocks_later_calls(monotonic: FakeMonotonic) -> None:
    answer("AAPL", recorded("finnhub_429.json"), status=429, headers={"Retry-After": "30"})
    finnhub = provider(monotonic)
    with pytest.raises(QuoteProviderError) as caught:
        finnhub.fetch(["AAPL", "MSFT"])
    assert caught.value.retryable and caught.value.retry_after_seconds == 30 and caught.value.status == 429
    assert len(responses.calls) == 1  # stopped at the first 429

    with pytest.raises(QuoteProviderError) as again:
        finnhub.fetch(["AAPL"])
    assert again.value.retryable and 0 < (again.value.retry_after_seconds or 0) <= 30
    assert len(responses.calls) == 1  # blocked locally: no call went out

    monotonic.advance(31)
    responses.replace(responses.GET, URL, body=recorded("finnhub_quote_AAPL.json"), content_type="application/json")
    assert set(finnhub.fetch(["AAPL"])) == {"AAPL"}


@responses.activate
def test_429_uses_finnhubs_reset_header(monotonic: FakeMonotonic) -> None:
    reset = int(NOW.timestamp()) + 12
    answer("AAPL", recorded("finnhub_429.json"), status=429, headers={"X-Ratelimit-Reset": str(reset)})
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert caught.value.retry_after_seconds == 12


@responses.activate
def test_429_midway_returns_what_it_got(monotonic: FakeMonotonic) -> None:
    answer("AAPL", recorded("finnhub_quote_AAPL.json"))
    answer("MSFT", recorded("finnhub_429.json"), status=429)
    answer("BRK.B", recorded("finnhub_quote_BRK.B.json"))
    assert set(provider(monotonic).fetch(["AAPL", "MSFT", "BRK.B"])) == {"AAPL"}
    assert len(responses.calls) == 2


@responses.activate
def test_local_budget_of_calls_per_minute(monotonic: FakeMonotonic) -> None:
    for symbol in ("AAPL", "MSFT", "BRK.B"):
        answer(symbol, recorded(f"finnhub_quote_{symbol}.json"))
    finnhub = provider(monotonic, max_calls_per_minute=2)
    assert set(finnhub.fetch(["AAPL", "MSFT", "BRK.B"])) == {"AAPL", "MSFT"}
    assert len(responses.calls) == 2
    with pytest.raises(QuoteProviderError) as caught:
        finnhub.fetch(["BRK.B"])
    assert caught.value.retryable and caught.value.retry_after_seconds == 60
    monotonic.advance(60)
    assert set(finnhub.fetch(["BRK.B"])) == {"BRK.B"}


@responses.activate
def test_symbols_take_turns_when_the_budget_is_short(monotonic: FakeMonotonic) -> None:
    for symbol in ("AAPL", "MSFT", "BRK.B"):
        answer(symbol, recorded(f"finnhub_quote_{symbol}.json"))
    finnhub = provider(monotonic, max_calls_per_minute=2)
    assert set(finnhub.fetch(["AAPL", "MSFT", "BRK.B"])) == {"AAPL", "MSFT"}
    monotonic.advance(60)
    assert set(finnhub.fetch(["AAPL", "MSFT", "BRK.B"])) == {"BRK.B", "AAPL"}
    monotonic.advance(60)
    assert set(finnhub.fetch(["AAPL", "MSFT", "BRK.B"])) == {"MSFT", "BRK.B"}


@responses.activate
def test_time_budget_stops_starting_calls() -> None:
    for symbol in ("AAPL", "MSFT", "BRK.B"):
        answer(symbol, recorded(f"finnhub_quote_{symbol}.json"))
    slow = FakeMonotonic(step=4.0)  # every clock read is 4 s later
    finnhub = provider(slow, time_budget_seconds=10.0)
    quotes = finnhub.fetch(["AAPL", "MSFT", "BRK.B"])
    assert 0 < len(quotes) < 3


# ---------------------------------------------------------------- outages and configuration errors


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_server_errors_are_retryable(monotonic: FakeMonotonic, status: int) -> None:
    answer("AAPL", "upstream error", status=status)
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert caught.value.retryable and caught.value.status == status


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ReadTimeout("slow"), requests.exceptions.ConnectTimeout("slow")]
)
@responses.activate
def test_timeouts_are_retryable(monotonic: FakeMonotonic, failure: Exception) -> None:
    responses.add(responses.GET, URL, body=failure)
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert caught.value.retryable and "timed out" in caught.value.reason


@responses.activate
def test_connection_errors_are_retryable(monotonic: FakeMonotonic) -> None:
    responses.add(responses.GET, URL, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert caught.value.retryable


@responses.activate
def test_an_outage_stops_after_two_failures_in_a_row(monotonic: FakeMonotonic) -> None:
    responses.add(responses.GET, URL, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(QuoteProviderError):
        provider(monotonic).fetch(["AAPL", "MSFT", "BRK.B", "KO"])
    assert len(responses.calls) == 2


@responses.activate
def test_one_server_error_does_not_spoil_the_others(monotonic: FakeMonotonic) -> None:
    answer("AAPL", "oops", status=502)
    answer("MSFT", recorded("finnhub_quote_MSFT.json"))
    assert set(provider(monotonic).fetch(["AAPL", "MSFT"])) == {"MSFT"}


@responses.activate
def test_bad_key_fails_at_once(monotonic: FakeMonotonic) -> None:
    answer("AAPL", recorded("finnhub_401.json"), status=401)
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL", "MSFT"])
    assert not caught.value.retryable and caught.value.status == 401
    assert len(responses.calls) == 1


@responses.activate
def test_symbol_outside_the_plan_is_skipped(monotonic: FakeMonotonic) -> None:
    answer("AAPL", recorded("finnhub_403.json"), status=403)
    answer("MSFT", recorded("finnhub_quote_MSFT.json"))
    assert set(provider(monotonic).fetch(["AAPL", "MSFT"])) == {"MSFT"}


@responses.activate
def test_redirects_are_not_followed(monotonic: FakeMonotonic) -> None:
    answer("AAPL", "", status=302, headers={"Location": "https://example.com/"})
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert not caught.value.retryable


def test_needs_a_key() -> None:
    with pytest.raises(ValueError):
        FinnhubQuoteProvider("")


def test_nothing_asked_nothing_fetched(monotonic: FakeMonotonic) -> None:
    assert provider(monotonic).fetch([]) == {}
