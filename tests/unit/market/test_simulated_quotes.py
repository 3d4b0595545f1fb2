"""The simulated provider: deterministic, positive, 4 dp, small minute-to-minute moves, O(1) at any minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tickerleague.adapters.quotes.simulated import (
    MAX_MINUTE_LOG_MOVE,
    SimulatedQuoteProvider,
    minute_start,
    price_at,
    reference_prices,
)
from tickerleague.domain.symbols import Symbol, SymbolUniverse

symbols = st.from_regex(r"[A-Z][A-Z0-9.\-]{0,9}", fullmatch=True)
instants = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(symbol=symbols, at=instants)
def test_prices_are_positive_4dp_decimals(symbol: str, at: datetime) -> None:
    price = price_at(symbol, at)
    assert isinstance(price, Decimal)
    assert price > 0
    assert price.as_tuple().exponent == -4


@settings(max_examples=200, deadline=None)
@given(symbol=symbols, at=instants)
def test_deterministic_and_constant_within_a_minute(symbol: str, at: datetime) -> None:
    start = minute_start(at)
    assert price_at(symbol, at) == price_at(symbol, at)
    assert price_at(symbol, at) == price_at(symbol, start) == price_at(symbol, start + timedelta(seconds=59))
    assert price_at(symbol.lower(), at) == price_at(symbol, at)


@settings(max_examples=300, deadline=None)
@given(symbol=symbols, at=instants)
def test_minute_to_minute_move_is_bounded(symbol: str, at: datetime) -> None:
    before = price_at(symbol, at)
    after = price_at(symbol, at + timedelta(minutes=1))
    bound = Decimal("0.005")  # 0.5 %
    tick_slack = Decimal("0.0001") / before  # quantizing to 4 dp can add one tick
    assert abs(after / before - 1) <= bound + tick_slack
    assert Decimal("0.00499") > MAX_MINUTE_LOG_MOVE


@settings(max_examples=100, deadline=None)
@given(
    symbol=symbols,
    at=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)),
)
def test_prices_stay_plausible_in_the_calendar_years(symbol: str, at: datetime) -> None:
    assume(symbol not in reference_prices())  # listed symbols: the test below
    assert Decimal("1") < price_at(symbol, at) < Decimal("20000")


def test_every_reference_level_is_a_known_symbol_at_a_positive_price() -> None:
    universe = SymbolUniverse.default()
    levels = reference_prices()
    assert len(levels) > 100
    assert [symbol for symbol in levels if universe.get(symbol) is None] == []
    assert all(level > 0 for level in levels.values())


def test_listed_symbols_start_near_their_reference_level() -> None:
    # At the drift epoch only the noise separates a listed symbol from its level: at most e^(1.2 x 0.41) = 1.63x.
    epoch = datetime(2025, 1, 1, tzinfo=UTC)
    for symbol, level in reference_prices().items():
        assert level / Decimal("1.64") < price_at(symbol, epoch) < level * Decimal("1.64"), symbol


@settings(max_examples=200, deadline=None)
@given(
    symbol=st.sampled_from(sorted(reference_prices())),
    at=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)),
)
def test_listed_symbols_stay_within_ten_times_their_level_in_the_calendar_years(symbol: str, at: datetime) -> None:
    level = reference_prices()[symbol]
    assert level / 10 < price_at(symbol, at) < level * 10


def test_prices_actually_move_about_a_tenth_of_a_percent() -> None:
    start = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    prices = [price_at("KO", start + timedelta(minutes=n)) for n in range(600)]
    moves = [abs(b / a - 1) for a, b in pairwise(prices)]
    mean = sum(moves, Decimal(0)) / len(moves)
    assert Decimal("0.0003") < mean < Decimal("0.003")
    assert len(set(prices)) > 500


def test_base_prices_spread_across_a_realistic_range() -> None:
    at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    prices = sorted(price_at(symbol, at) for symbol in SymbolUniverse.default().symbols())
    assert prices[0] > Decimal("2") and prices[-1] < Decimal("20000")  # BKNG is listed near $5,000
    assert prices[len(prices) // 2] > Decimal("20")


def test_golden_values_pin_the_algorithm() -> None:
    # If these change, every local demo's prices change: do it on purpose only.
    at = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    assert price_at("AAPL", at) == Decimal("205.4913")  # listed in reference_prices.json
    assert price_at("KO", at) == Decimal("80.2694")
    assert price_at("A", at) == Decimal("284.9399")  # not listed: a hashed level


def test_same_prices_in_another_process_with_another_hash_seed() -> None:
    at = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    code = (
        "import json; from datetime import datetime, UTC;"
        "from tickerleague.adapters.quotes.simulated import price_at;"
        f"at = datetime.fromisoformat('{at.isoformat()}');"
        "print(json.dumps([str(price_at(s, at)) for s in ['AAPL', 'MSFT', 'BRK.B']]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [str(price_at(s, at)) for s in ["AAPL", "MSFT", "BRK.B"]]


def test_far_minutes_are_computed_directly() -> None:
    # O(1): the year 2099 costs what 2026 costs (no walk from an epoch); just prove it answers.
    assert price_at("AAPL", datetime(2099, 12, 31, 23, 59, tzinfo=UTC)) > 0


# ---------------------------------------------------------------- the provider


def test_fetch_quotes_the_universe_at_the_minute_start() -> None:
    now = datetime(2026, 12, 1, 15, 30, 42, 123_456, tzinfo=UTC)
    provider = SimulatedQuoteProvider(clock=lambda: now)
    quotes = provider.fetch(["AAPL", "msft", "ZZZZ", "AAPL", "brk-b"])
    assert set(quotes) == {"AAPL", "MSFT", "BRK.B"}
    minute = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    for symbol, quote in quotes.items():
        assert quote.symbol == symbol
        assert quote.as_of == minute
        assert quote.source == "simulated"
        assert quote.price == price_at(symbol, minute)
    assert provider.name == "simulated"


def test_fetch_with_a_custom_universe() -> None:
    now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    provider = SimulatedQuoteProvider(SymbolUniverse([Symbol("XYZQ", "Test Co", "NYSE")]), clock=lambda: now)
    assert set(provider.fetch(["XYZQ", "AAPL"])) == {"XYZQ"}
    assert provider.fetch([]) == {}


def test_fetch_needs_an_aware_clock() -> None:
    provider = SimulatedQuoteProvider(clock=lambda: datetime(2026, 12, 1))
    with pytest.raises(ValueError, match="aware"):
        provider.fetch(["AAPL"])
