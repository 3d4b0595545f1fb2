"""Quotes in the table: the latest quote of each symbol and a per-day trail of price snapshots.

Keys (docs/technical-specification.md, Q1-Q2):
  latest quote     PK QUOTE#<SYMBOL>               SK LATEST          TTL 7 days after it was written
  price snapshot   PK QUOTE#<SYMBOL>#<YYYY-MM-DD>  SK <asOf ISO ms>   TTL 400 days after asOf
The snapshot's day is the UTC date of its `asOf`. The latest quote never goes back in time: it is written with the
condition "absent, or older than this one", so a slow writer cannot overwrite a newer price with an older one.
Prices are `Decimal` both ways (`DecimalAttribute`); times are ISO 8601 UTC with milliseconds (sortable).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError

from tickerleague.adapters.dynamodb.base import BaseItem, DecimalAttribute, bind_table
from tickerleague.clock import epoch_seconds, iso_ms, parse_iso_utc
from tickerleague.domain.quotes import Quote

LATEST_TTL = timedelta(days=7)
SNAPSHOT_TTL = timedelta(days=400)
BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem's maximum keys per call (PynamoDB splits, we bound memory)


class _QuoteFields(BaseItem):
    """The attributes both quote items carry (not an item type of its own)."""

    symbol = UnicodeAttribute()
    price = DecimalAttribute()
    as_of = UnicodeAttribute()  # ISO 8601 UTC, milliseconds, Z
    source = UnicodeAttribute()

    def to_quote(self) -> Quote:
        as_of = parse_iso_utc(self.as_of)
        if as_of is None:
            raise ValueError(f"stored quote time {self.as_of!r} is not ISO 8601 UTC")
        return Quote(self.symbol, self.price, as_of, self.source)


def _quote_fields(quote: Quote) -> dict[str, Any]:
    """The attributes every stored quote has."""
    return {"symbol": quote.symbol, "price": quote.price, "as_of": iso_ms(quote.as_of), "source": quote.source}


class LatestQuoteItem(_QuoteFields):
    """PK QUOTE#<SYMBOL>, SK LATEST."""

    item_type = UnicodeAttribute(default="quote", attr_name="type")
    written_at = UnicodeAttribute()

    @staticmethod
    def key(symbol: str) -> tuple[str, str]:
        return f"QUOTE#{symbol}", "LATEST"

    @classmethod
    def new(cls, quote: Quote, now: datetime) -> LatestQuoteItem:
        pk, sk = cls.key(quote.symbol)
        return cls(pk, sk, **_quote_fields(quote), written_at=iso_ms(now), expiresAt=epoch_seconds(now + LATEST_TTL))


class QuoteSnapshotItem(_QuoteFields):
    """PK QUOTE#<SYMBOL>#<YYYY-MM-DD>, SK <asOf ISO ms>."""

    item_type = UnicodeAttribute(default="quote_snapshot", attr_name="type")

    @staticmethod
    def partition(symbol: str, day: date) -> str:
        return f"QUOTE#{symbol}#{day.isoformat()}"

    @classmethod
    def key(cls, symbol: str, as_of: datetime) -> tuple[str, str]:
        return cls.partition(symbol, as_of.astimezone(UTC).date()), iso_ms(as_of)

    @classmethod
    def new(cls, quote: Quote) -> QuoteSnapshotItem:
        pk, sk = cls.key(quote.symbol, quote.as_of)
        return cls(pk, sk, **_quote_fields(quote), expiresAt=epoch_seconds(quote.as_of + SNAPSHOT_TTL))


# ---------------------------------------------------------------------------------------------------- latest
def get_latest(symbol: str) -> Quote | None:
    """Q1: the latest stored quote of a symbol (eventually consistent: quotes are refreshed every minute)."""
    bind_table()
    try:
        return LatestQuoteItem.get(*LatestQuoteItem.key(symbol)).to_quote()
    except LatestQuoteItem.DoesNotExist:
        return None


def get_latest_many(symbols: Iterable[str]) -> dict[str, Quote]:
    """Q1 for many symbols at once (BatchGetItem); symbols without a stored quote are left out."""
    bind_table()
    wanted = list(dict.fromkeys(symbols))
    found: dict[str, Quote] = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        keys = [LatestQuoteItem.key(symbol) for symbol in wanted[start : start + BATCH_GET_LIMIT]]
        for item in LatestQuoteItem.batch_get(keys):
            found[item.symbol] = item.to_quote()
    return found


def put_latest(quote: Quote, now: datetime) -> bool:
    """Store `quote` as the symbol's latest unless a quote at least as new is already there.
    True when written, False when the stored one was as new or newer."""
    bind_table()
    item = LatestQuoteItem.new(quote, now)
    condition = LatestQuoteItem.PK.does_not_exist() | (LatestQuoteItem.as_of < item.as_of)
    try:
        item.save(condition=condition)
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


# ---------------------------------------------------------------------------------------------------- snapshots
def put_snapshots(quotes: Iterable[Quote]) -> int:
    """Store price snapshots (BatchWriteItem, 25 a call; rewriting the same asOf is a no-op). Returns the count."""
    bind_table()
    count = 0
    with QuoteSnapshotItem.batch_write() as batch:
        for quote in quotes:
            batch.save(QuoteSnapshotItem.new(quote))
            count += 1
    return count


def day_snapshots(symbol: str, day: date) -> list[Quote]:
    """Every snapshot of a symbol on a UTC day, oldest first."""
    bind_table()
    return [item.to_quote() for item in QuoteSnapshotItem.query(QuoteSnapshotItem.partition(symbol, day))]


def quote_at(symbol: str, at: datetime, *, lookback_days: int = 7) -> Quote | None:
    """Q2: the last snapshot at or before `at`, looking back day by day over weekends and holidays (at most
    `lookback_days` earlier days). None when there is none."""
    bind_table()
    at = at.astimezone(UTC)
    for back in range(lookback_days + 1):
        day = (at - timedelta(days=back)).date()
        partition = QuoteSnapshotItem.partition(symbol, day)
        if back == 0:
            at_or_before = QuoteSnapshotItem.SK.__le__(iso_ms(at))  # (ruff reads `SK <= x` as a Yoda condition)
            items = QuoteSnapshotItem.query(partition, at_or_before, scan_index_forward=False, limit=1)
        else:
            items = QuoteSnapshotItem.query(partition, scan_index_forward=False, limit=1)
        for item in items:
            return item.to_quote()
    return None


class DynamoQuoteStore:
    """The `QuoteStore` port of `tickerleague.services.market` over this module."""

    def get_latest(self, symbol: str) -> Quote | None:
        return get_latest(symbol)

    def get_latest_many(self, symbols: Iterable[str]) -> dict[str, Quote]:
        return get_latest_many(symbols)

    def put_latest(self, quote: Quote, now: datetime) -> bool:
        return put_latest(quote, now)

    def put_snapshots(self, quotes: Iterable[Quote]) -> int:
        return put_snapshots(quotes)
