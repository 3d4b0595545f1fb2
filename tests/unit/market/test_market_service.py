"""`tickerleague.services.market` over the table (moto), with a scripted provider and controlled time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tickerleague.adapters.dynamodb import quotes as table
from tickerleague.adapters.dynamodb.quotes import DynamoQuoteStore
from tickerleague.domain.market_calendar import MarketCalendar, TwentyFourSeven
from tickerleague.domain.quotes import Quote, QuoteProviderError
from tickerleague.errors import NotFound, RuleViolation, ServiceUnavailable
from tickerleague.http.statuses import status_of
from tickerleague.services import market
from tickerleague.services.market import QuoteCache, current_quote, refresh_quotes

NOW = datetime(2026, 12, 1, 15, 30, 5, tzinfo=UTC)  # a Tuesday, market open
MAX_AGE = timedelta(seconds=120)
ALWAYS_OPEN = TwentyFourSeven()


class ScriptedProvider:
    """Answers from a dict of prices, stamped `as_of`; or raises `error`. Records every call."""

    name = "scripted"

    def __init__(
        self, prices: dict[str, str] | None = None, as_of: datetime = NOW, error: QuoteProviderError | None = None
    ) -> None:
        self.prices = prices or {}
        self.as_of = as_of
        self.error = error
        self.calls: list[list[str]] = []

    def fetch(self, symbols: Sequence[str]) -> dict[str, Quote]:
        self.calls.append(list(symbols))
        if self.error is not None:
            raise self.error
        return {s: Quote(s, Decimal(self.prices[s]), self.as_of, self.name) for s in symbols if s in self.prices}


class CountingStore(DynamoQuoteStore):
    def __init__(self) -> None:
        self.reads = 0

    def get_latest(self, symbol: str) -> Quote | None:
        self.reads += 1
        return super().get_latest(symbol)

    def put_snapshots(self, quotes: Iterable[Quote]) -> int:
        return super().put_snapshots(list(quotes))


@pytest.fixture(autouse=True)
def _table(moto_table: str) -> None:
    market.default_cache().clear()


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def cache() -> QuoteCache:
    return QuoteCache()


def quote(symbol: str, price: str, as_of: datetime, source: str = "stored") -> Quote:
    return Quote(symbol, Decimal(price), as_of, source)


def get(symbol: str, now: datetime = NOW, **kwargs: object) -> Quote:
    kwargs.setdefault("calendar", ALWAYS_OPEN)
    kwargs.setdefault("max_age", MAX_AGE)
    return current_quote(symbol, now, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- current_quote


def test_miss_fetches_from_the_provider_and_stores_it(store: CountingStore, cache: QuoteCache) -> None:
    provider = ScriptedProvider({"AAPL": "187.43"})
    got = get("aapl", store=store, provider=provider, cache=cache)
    assert (got.symbol, got.price, got.source) == ("AAPL", Decimal("187.4300"), "scripted")
    assert provider.calls == [["AAPL"]]
    assert table.get_latest("AAPL") == got
    assert table.quote_at("AAPL", NOW) == got


def test_fresh_stored_quote_needs_no_provider(store: CountingStore, cache: QuoteCache) -> None:
    stored = quote("AAPL", "187", NOW - timedelta(seconds=60))
    table.put_latest(stored, NOW)
    provider = ScriptedProvider({"AAPL": "999"})
    assert get("AAPL", store=store, provider=provider, cache=cache) == stored
    assert provider.calls == []


def test_cache_serves_a_burst_for_five_seconds(store: CountingStore, cache: QuoteCache) -> None:
    table.put_latest(quote("AAPL", "187", NOW - timedelta(seconds=10)), NOW)
    provider = ScriptedProvider()
    for seconds in (0, 1, 5):
        get("AAPL", NOW + timedelta(seconds=seconds), store=store, provider=provider, cache=cache)
    assert store.reads == 1
    get("AAPL", NOW + timedelta(seconds=6), store=store, provider=provider, cache=cache)
    assert store.reads == 2


def test_stale_stored_quote_is_refreshed_from_the_provider(store: CountingStore, cache: QuoteCache) -> None:
    table.put_latest(quote("AAPL", "180", NOW - timedelta(minutes=10)), NOW)
    provider = ScriptedProvider({"AAPL": "187.43"})
    assert get("AAPL", store=store, provider=provider, cache=cache).price == Decimal("187.4300")
    assert table.get_latest("AAPL").price == Decimal("187.4300")  # type: ignore[union-attr]


def test_provider_down_quote_route_gets_the_old_quote_order_gets_quote_stale(
    store: CountingStore, cache: QuoteCache
) -> None:
    old = quote("AAPL", "180", NOW - timedelta(minutes=10))
    table.put_latest(old, NOW)
    provider = ScriptedProvider(error=QuoteProviderError(True, "server error (502)", provider="scripted"))
    assert get("AAPL", store=store, provider=provider, cache=cache, purpose="quote") == old
    with pytest.raises(RuleViolation) as caught:
        get("AAPL", store=store, provider=provider, cache=QuoteCache(), purpose="order")
    assert caught.value.code == "QUOTE_STALE" and status_of(caught.value) == 422
    assert caught.value.details == {"symbol": "AAPL", "asOf": "2026-12-01T15:20:05Z"}


def test_no_quote_anywhere(store: CountingStore) -> None:
    provider = ScriptedProvider(error=QuoteProviderError(True, "timed out", provider="scripted"))
    with pytest.raises(ServiceUnavailable) as unavailable:
        get("AAPL", store=store, provider=provider, cache=QuoteCache())
    assert status_of(unavailable.value) == 503
    with pytest.raises(RuleViolation) as stale:
        get("AAPL", store=store, provider=provider, cache=QuoteCache(), purpose="order")
    assert stale.value.code == "QUOTE_STALE"


def test_a_failing_provider_is_not_hammered(store: CountingStore, cache: QuoteCache) -> None:
    provider = ScriptedProvider(error=QuoteProviderError(True, "timed out", provider="scripted"))
    for _ in range(3):
        with pytest.raises(RuleViolation):
            get("AAPL", store=store, provider=provider, cache=cache, purpose="order")
    assert len(provider.calls) == 1


def test_provider_that_does_not_know_the_symbol(store: CountingStore, cache: QuoteCache) -> None:
    with pytest.raises(ServiceUnavailable):
        get("AAPL", store=store, provider=ScriptedProvider({}), cache=cache)


@pytest.mark.parametrize("symbol", ["ZZZZ", "", "AAPL;DROP", "x" * 200])
def test_unknown_symbols(store: CountingStore, symbol: str) -> None:
    provider = ScriptedProvider({"ZZZZ": "1"})
    with pytest.raises(NotFound):
        get(symbol, store=store, provider=provider, cache=QuoteCache())
    with pytest.raises(RuleViolation) as caught:
        get(symbol, store=store, provider=provider, cache=QuoteCache(), purpose="order")
    assert caught.value.code == "UNKNOWN_SYMBOL"
    assert provider.calls == [] and store.reads == 0


def test_closed_market_keeps_the_closing_price(store: CountingStore, cache: QuoteCache) -> None:
    xnys = MarketCalendar.xnys()
    saturday = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    friday_close = quote("AAPL", "190", datetime(2026, 12, 4, 20, 59, 59, tzinfo=UTC))
    table.put_latest(friday_close, saturday)
    provider = ScriptedProvider({"AAPL": "1"})
    assert get("AAPL", saturday, store=store, provider=provider, cache=cache, calendar=xnys) == friday_close
    assert (
        get("AAPL", saturday, store=store, provider=provider, cache=QuoteCache(), calendar=xnys, purpose="order")
        == friday_close
    )
    assert provider.calls == []


def test_closed_market_with_an_older_quote_asks_the_provider(store: CountingStore, cache: QuoteCache) -> None:
    xnys = MarketCalendar.xnys()
    saturday = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    table.put_latest(quote("AAPL", "185", datetime(2026, 12, 3, 20, 59, tzinfo=UTC)), saturday)
    provider = ScriptedProvider({"AAPL": "190"}, as_of=datetime(2026, 12, 4, 20, 59, 59, tzinfo=UTC))
    assert get("AAPL", saturday, store=store, provider=provider, cache=cache, calendar=xnys).price == Decimal(190)
    assert len(provider.calls) == 1


def test_default_ports_come_from_the_settings() -> None:
    # tests/conftest.py sets QUOTES_PROVIDER=simulated and MARKET_CALENDAR=24x7
    from tickerleague.adapters.quotes import clear_provider_cache
    from tickerleague.adapters.quotes.simulated import minute_start, price_at

    clear_provider_cache()
    got = current_quote("MSFT", datetime.now(UTC))
    assert got.source == "simulated"
    assert got.price == price_at("MSFT", got.as_of) and got.as_of == minute_start(got.as_of)
    assert table.get_latest("MSFT") == got


# ---------------------------------------------------------------- refresh_quotes


def test_refresh_stores_latest_and_snapshots(store: CountingStore, cache: QuoteCache) -> None:
    provider = ScriptedProvider({"AAPL": "187.43", "MSFT": "412.5", "KO": "61"})
    stats = refresh_quotes(
        ["AAPL", "msft", "KO", "AAPL", "ZZZZ", "BRK.B"], NOW, store=store, provider=provider, cache=cache, batch_size=2
    )
    assert provider.calls == [["AAPL", "MSFT"], ["KO", "BRK.B"]]
    assert (stats.requested, stats.fetched, stats.stored, stats.not_newer) == (4, 3, 3, 0)
    assert stats.unknown == ["ZZZZ"] and stats.missing == ["BRK.B"] and stats.errors == []
    assert table.get_latest("KO").price == Decimal("61.0000")  # type: ignore[union-attr]
    assert [s.price for s in table.day_snapshots("MSFT", NOW.date())] == [Decimal("412.5000")]
    # the container's cache serves them without a table read
    assert get("AAPL", store=store, provider=provider, cache=cache).price == Decimal("187.4300")
    assert store.reads == 0

    again = refresh_quotes(["AAPL"], NOW + timedelta(seconds=30), store=store, provider=provider, cache=cache)
    assert (again.stored, again.not_newer) == (0, 1)  # same asOf: the latest is not rewritten


def test_refresh_reports_a_provider_failure_without_raising(store: CountingStore, cache: QuoteCache) -> None:
    provider = ScriptedProvider(
        error=QuoteProviderError(True, "rate limited (429)", provider="scripted", retry_after_seconds=30)
    )
    stats = refresh_quotes(["AAPL", "MSFT", "KO"], NOW, store=store, provider=provider, cache=cache, batch_size=2)
    assert len(provider.calls) == 1
    assert stats.fetched == 0 and stats.missing == ["AAPL", "MSFT", "KO"]
    assert stats.retry_after_seconds == 30 and stats.errors == ["scripted: rate limited (429)"]
    assert stats.as_dict()["retryAfterSeconds"] == 30


def test_refresh_with_the_simulated_provider(store: CountingStore, cache: QuoteCache) -> None:
    from tickerleague.adapters.quotes.simulated import SimulatedQuoteProvider

    provider = SimulatedQuoteProvider(clock=lambda: NOW)
    stats = refresh_quotes(["AAPL", "MSFT"], NOW, store=store, provider=provider, cache=cache)
    assert stats.stored == 2
    later = NOW + timedelta(minutes=1)
    provider_later = SimulatedQuoteProvider(clock=lambda: later)
    assert refresh_quotes(["AAPL"], later, store=store, provider=provider_later, cache=cache).stored == 1
    assert len(table.day_snapshots("AAPL", NOW.date())) == 2


# ---------------------------------------------------------------- the rest


def test_latest_quotes_search_and_clock() -> None:
    table.put_latest(quote("AAPL", "187", NOW), NOW)
    assert set(market.latest_quotes(["AAPL", "MSFT"])) == {"AAPL"}
    assert market.search_symbols("apple", 5)[0].symbol == "AAPL"
    assert market.market_clock(NOW)["calendar"] == "24x7"
    assert market.market_clock(NOW, calendar=MarketCalendar.xnys())["isOpen"] is True


def test_cache_is_bounded_and_keeps_the_newest() -> None:
    cache = QuoteCache(max_entries=2)
    a, b, c = (quote(s, "1", NOW) for s in ("A", "AA", "AAL"))
    cache.remember("A", a, NOW)
    cache.remember("AA", b, NOW)
    cache.remember("AAL", c, NOW)
    assert cache.lookup("A", NOW) == (False, None)
    newer = quote("AA", "2", NOW + timedelta(seconds=1))
    cache.remember("AA", newer, NOW)
    cache.remember("AA", b, NOW)  # an older quote does not replace a newer one
    cache.remember("AA", None, NOW)  # nor does "found nothing"
    assert cache.lookup("AA", NOW) == (True, newer)
    assert cache.lookup("AA", NOW - timedelta(seconds=1)) == (False, None)  # a clock going back is a miss
