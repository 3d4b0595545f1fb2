"""The quote items in the table (moto): latest quote that never goes backwards, daily snapshots, price at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from tickerleague.adapters.dynamodb import quotes as store
from tickerleague.domain.quotes import Quote

NOW = datetime(2026, 12, 1, 15, 30, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _table(moto_table: str) -> None:
    return None


def q(symbol: str, price: str, at: datetime, source: str = "test") -> Quote:
    return Quote(symbol, Decimal(price), at, source)


def raw_item(table: str, pk: str, sk: str) -> dict:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return client.get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}}).get("Item", {})


def test_latest_round_trip_keeps_decimals_and_milliseconds(moto_table: str) -> None:
    quote = q("AAPL", "187.43", datetime(2026, 12, 1, 15, 29, 58, 512_345, tzinfo=UTC), "finnhub")
    assert store.put_latest(quote, NOW)
    stored = store.get_latest("AAPL")
    assert stored is not None
    assert stored.price == Decimal("187.4300") and isinstance(stored.price, Decimal)
    assert stored.as_of == datetime(2026, 12, 1, 15, 29, 58, 512_000, tzinfo=UTC)
    assert stored.source == "finnhub"

    item = raw_item(moto_table, "QUOTE#AAPL", "LATEST")
    assert item["price"] == {"N": "187.4300"}
    assert item["as_of"] == {"S": "2026-12-01T15:29:58.512Z"}
    assert item["type"] == {"S": "quote"}
    assert int(item["expiresAt"]["N"]) == int((NOW + timedelta(days=7)).timestamp())


def test_latest_never_goes_backwards() -> None:
    t0 = datetime(2026, 12, 1, 15, 29, tzinfo=UTC)
    assert store.put_latest(q("AAPL", "100", t0), NOW)
    assert not store.put_latest(q("AAPL", "99", t0 - timedelta(seconds=1)), NOW)
    assert not store.put_latest(q("AAPL", "98", t0), NOW)  # as new is not newer
    assert store.get_latest("AAPL").price == Decimal("100.0000")  # type: ignore[union-attr]
    assert store.put_latest(q("AAPL", "101", t0 + timedelta(milliseconds=1)), NOW)
    assert store.get_latest("AAPL").price == Decimal("101.0000")  # type: ignore[union-attr]


def test_missing_latest() -> None:
    assert store.get_latest("NOPE") is None


def test_latest_many_in_batches() -> None:
    at = datetime(2026, 12, 1, 15, 29, tzinfo=UTC)
    symbols = [f"S{n:03d}" for n in range(130)]
    for n, symbol in enumerate(symbols):
        store.put_latest(q(symbol, f"{n + 1}.5", at), NOW)
    found = store.get_latest_many([*symbols, "NOPE", "S000"])
    assert set(found) == set(symbols)
    assert found["S129"].price == Decimal("130.5000")


def test_snapshots_by_day_and_ttl(moto_table: str) -> None:
    day_one = [q("MSFT", str(400 + n), datetime(2026, 12, 1, 15, 30 + n, tzinfo=UTC)) for n in range(3)]
    late = q("MSFT", "410", datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC))
    assert store.put_snapshots([*reversed(day_one), late]) == 4
    assert store.put_snapshots(day_one[:1]) == 1  # rewriting the same asOf is harmless
    assert [s.price for s in store.day_snapshots("MSFT", date(2026, 12, 1))] == [
        Decimal("400.0000"),
        Decimal("401.0000"),
        Decimal("402.0000"),
    ]
    assert store.day_snapshots("MSFT", date(2026, 12, 2)) == [late]
    item = raw_item(moto_table, "QUOTE#MSFT#2026-12-01", "2026-12-01T15:30:00.000Z")
    assert item["type"] == {"S": "quote_snapshot"}
    assert int(item["expiresAt"]["N"]) == int((day_one[0].as_of + timedelta(days=400)).timestamp())


def test_quote_at_a_time() -> None:
    friday_close = q("KO", "61.02", datetime(2026, 12, 4, 20, 59, tzinfo=UTC))
    monday = [
        q("KO", "61.50", datetime(2026, 12, 7, 14, 30, tzinfo=UTC)),
        q("KO", "61.75", datetime(2026, 12, 7, 14, 31, tzinfo=UTC)),
    ]
    store.put_snapshots([friday_close, *monday])
    assert store.quote_at("KO", datetime(2026, 12, 7, 14, 30, 30, tzinfo=UTC)) == monday[0]
    assert store.quote_at("KO", datetime(2026, 12, 7, 14, 31, tzinfo=UTC)) == monday[1]  # at or before
    assert store.quote_at("KO", datetime(2026, 12, 7, 14, 29, tzinfo=UTC)) == friday_close  # over the weekend
    assert store.quote_at("KO", datetime(2026, 12, 6, 12, 0, tzinfo=UTC)) == friday_close
    assert store.quote_at("KO", datetime(2026, 12, 4, 20, 0, tzinfo=UTC)) is None
    assert store.quote_at("KO", datetime(2026, 12, 20, 12, 0, tzinfo=UTC), lookback_days=3) is None


def test_store_port() -> None:
    port = store.DynamoQuoteStore()
    quote = q("KO", "61.02", datetime(2026, 12, 4, 20, 59, tzinfo=UTC))
    assert port.put_latest(quote, NOW)
    assert port.get_latest("KO") == quote
    assert port.get_latest_many(["KO"]) == {"KO": quote}
    assert port.put_snapshots([quote]) == 1
