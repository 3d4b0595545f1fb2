"""Polygon/Massive snapshot adapter against recorded answers (`responses`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from responses import matchers
from tickerleague.adapters.quotes.polygon import PolygonQuoteProvider
from tickerleague.domain.quotes import QuoteProviderError

from tests.support.market import NOW, FakeMonotonic, recorded

BASE = "https://api.polygon.io"
URL = f"{BASE}/v2/snapshot/locale/us/markets/stocks/tickers"
KEY = "test-polygon-key"


def provider(monotonic: FakeMonotonic, **kwargs: Any) -> PolygonQuoteProvider:
    return PolygonQuoteProvider(KEY, clock=lambda: NOW, monotonic=monotonic, **kwargs)


def snapshot(name: str = "polygon_snapshot_ok.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(recorded(name))
    return data


def answer(body: str, status: int = 200, tickers: str | None = None, headers: dict[str, str] | None = None) -> None:
    match = [matchers.query_param_matcher({"tickers": tickers})] if tickers is not None else []
    responses.add(
        responses.GET,
        URL,
        body=body,
        status=status,
        headers=headers or {},
        content_type="application/json",
        match=match,
    )


def asked_tickers(call_index: int) -> list[str]:
    query = parse_qs(urlparse(responses.calls[call_index].request.url).query)
    return query["tickers"][0].split(",")


@responses.activate
def test_last_trade_prices_as_decimals(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_snapshot_ok.json"), tickers="AAPL,MSFT,BRK.B")
    quotes = provider(monotonic).fetch(["AAPL", "MSFT", "BRK.B"])
    assert set(quotes) == {"AAPL", "MSFT", "BRK.B"}
    assert quotes["AAPL"].price == Decimal("187.4300")
    # lastTrade.t is nanoseconds: kept to the microsecond
    assert quotes["AAPL"].as_of == datetime(2026, 12, 1, 15, 29, 58, 512345, tzinfo=UTC)
    assert quotes["MSFT"].price == Decimal("412.5000")
    assert quotes["BRK.B"].price == Decimal("468.0000")  # 468.00005 half-even
    assert all(quote.source == "polygon" for quote in quotes.values())


@responses.activate
def test_key_goes_in_the_authorization_header(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_snapshot_ok.json"))
    provider(monotonic, timeout=(1.0, 2.0)).fetch(["AAPL"])
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in request.url and "apiKey" not in request.url
    assert request.req_kwargs["timeout"] == (1.0, 2.0)  # type: ignore[attr-defined]


@responses.activate
def test_many_tickers_per_call_in_batches(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_snapshot_ok.json"))
    quotes = provider(monotonic, batch_size=2).fetch(["AAPL", "MSFT", "BRK.B", "aapl"])
    assert len(responses.calls) == 2
    assert asked_tickers(0) == ["AAPL", "MSFT"]
    assert asked_tickers(1) == ["BRK.B"]
    assert set(quotes) == {"AAPL", "MSFT", "BRK.B"}  # rows for tickers a batch did not ask for are ignored


@responses.activate
def test_massive_base_url(monotonic: FakeMonotonic) -> None:
    responses.add(
        responses.GET,
        "https://api.massive.com/v2/snapshot/locale/us/markets/stocks/tickers",
        body=recorded("polygon_snapshot_ok.json"),
        content_type="application/json",
    )
    quotes = provider(monotonic, base_url="https://api.massive.com/").fetch(["AAPL"])
    assert set(quotes) == {"AAPL"}


@responses.activate
def test_starter_plan_falls_back_to_the_minute_bar(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_snapshot_delayed_starter.json"))
    quotes = provider(monotonic).fetch(["AAPL", "MSFT"])
    assert quotes["AAPL"].price == Decimal("187.1400")
    assert quotes["AAPL"].as_of == datetime(2026, 12, 1, 15, 13, tzinfo=UTC)  # the bar's start, ms
    assert quotes["MSFT"].price == Decimal("412.2500")


@responses.activate
def test_reset_snapshot_holds_no_price_and_is_not_quoted(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_snapshot_reset.json"))
    assert provider(monotonic).fetch(["AAPL"]) == {}


@responses.activate
def test_unknown_tickers_are_absent(monotonic: FakeMonotonic) -> None:
    answer(json.dumps({"status": "OK", "count": 0, "tickers": [], "request_id": "x"}))
    assert provider(monotonic).fetch(["NOPE"]) == {}


@responses.activate
def test_a_bad_last_trade_falls_back_to_a_good_bar(monotonic: FakeMonotonic) -> None:
    data = snapshot()
    data["tickers"][0]["lastTrade"]["p"] = "187.43"
    answer(json.dumps(data))
    quotes = provider(monotonic).fetch(["AAPL"])
    assert quotes["AAPL"].as_of == datetime(2026, 12, 1, 15, 29, tzinfo=UTC)  # from `min`


# ---------------------------------------------------------------- malformed payloads


def _every_row(trade_price: object, bar_close: object) -> str:
    data = snapshot()
    for row in data["tickers"]:
        row["lastTrade"]["p"] = trade_price
        row["min"]["c"] = bar_close
    return json.dumps(data)


MALFORMED = {
    "status ERROR": json.dumps({"status": "ERROR", "error": "something", "request_id": "x"}),
    "tickers not a list": json.dumps({"status": "OK", "tickers": {"AAPL": {}}}),
    "not an object": "[]",
    "HTML": "<html>oops</html>",
    "negative prices": _every_row(-1, -1),
    "string prices": _every_row("187.43", "187.43"),
    "boolean prices": _every_row(True, True),
    "zero trade and nested bar": _every_row(0, {"c": 1}),
    "NaN": recorded("polygon_snapshot_ok.json").replace('"p": 187.43', '"p": NaN'),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@responses.activate
def test_malformed_snapshots_are_not_quotes(monotonic: FakeMonotonic, body: str) -> None:
    answer(body)
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL", "MSFT", "BRK.B"])
    assert not caught.value.retryable


@responses.activate
def test_rows_without_a_ticker_are_skipped(monotonic: FakeMonotonic) -> None:
    data = snapshot()
    data["tickers"].append({"lastTrade": {"p": 1, "t": 1796138998512345678}})
    data["tickers"].append("AAPL")
    answer(json.dumps(data))
    assert set(provider(monotonic).fetch(["AAPL", "MSFT", "BRK.B"])) == {"AAPL", "MSFT", "BRK.B"}


@responses.activate
def test_a_future_timestamp_is_refused(monotonic: FakeMonotonic) -> None:
    data = snapshot()
    row = data["tickers"][0]
    row["lastTrade"]["t"] = 1896138998512345678  # ~3 years ahead
    row["min"]["t"] = 1896138940000
    answer(json.dumps({"status": "OK", "tickers": [row]}))
    with pytest.raises(QuoteProviderError):
        provider(monotonic).fetch(["AAPL"])


# ---------------------------------------------------------------- rate limits, outages, configuration


@responses.activate
def test_429_is_retryable_with_its_retry_after(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_429.json"), status=429, headers={"Retry-After": "20"})
    polygon = provider(monotonic)
    with pytest.raises(QuoteProviderError) as caught:
        polygon.fetch(["AAPL"])
    assert caught.value.retryable and caught.value.retry_after_seconds == 20
    with pytest.raises(QuoteProviderError):
        polygon.fetch(["AAPL"])
    assert len(responses.calls) == 1


@responses.activate
def test_429_without_a_hint_waits_a_minute(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_429.json"), status=429)
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert caught.value.retry_after_seconds == 60


@responses.activate
def test_retry_after_as_an_http_date(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_429.json"), status=429, headers={"Retry-After": "Tue, 01 Dec 2026 15:30:45 GMT"})
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert 44 <= (caught.value.retry_after_seconds or 0) <= 46


@pytest.mark.parametrize(("name", "status"), [("polygon_401.json", 401), ("polygon_403.json", 403)])
@responses.activate
def test_bad_key_or_plan_is_not_retryable(monotonic: FakeMonotonic, name: str, status: int) -> None:
    answer(recorded(name), status=status)
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic, batch_size=1).fetch(["AAPL", "MSFT"])
    assert not caught.value.retryable and caught.value.status == status
    assert len(responses.calls) == 1


@responses.activate
def test_a_failed_batch_does_not_spoil_the_others(monotonic: FakeMonotonic) -> None:
    answer("bad gateway", status=502, tickers="AAPL")
    answer(recorded("polygon_snapshot_ok.json"), tickers="MSFT")
    assert set(provider(monotonic, batch_size=1).fetch(["AAPL", "MSFT"])) == {"MSFT"}


@responses.activate
def test_timeouts_are_retryable(monotonic: FakeMonotonic) -> None:
    responses.add(responses.GET, URL, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(QuoteProviderError) as caught:
        provider(monotonic).fetch(["AAPL"])
    assert caught.value.retryable


@responses.activate
def test_local_budget_of_calls_per_minute(monotonic: FakeMonotonic) -> None:
    answer(recorded("polygon_snapshot_ok.json"))
    polygon = provider(monotonic, batch_size=1, max_calls_per_minute=2)
    assert set(polygon.fetch(["AAPL", "MSFT", "BRK.B"])) == {"AAPL", "MSFT"}
    assert len(responses.calls) == 2


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError):
        PolygonQuoteProvider("")
    with pytest.raises(ValueError):
        PolygonQuoteProvider(KEY, batch_size=0)
