"""Entries (one contest entry = one partition holding the portfolio item and its orders).

Written with the low-level client and boto3's type (de)serializer instead of PynamoDB: the portfolio's `positions`
map is keyed by symbol, and PynamoDB's untyped maps turn numbers into float. Every number here is a Decimal.

Keys (see docs/technical-specification.md):
  entry item        PK ENTRY#<contestId>#<userId>   SK ENTRY
                    GSI1 CONTEST#<contestId>#ENTRIES#<shard> / <joinedAt>#<entryId>   (all entries of a contest)
                    GSI2 USER#<userId>#ENTRIES / <joinedAt>#<contestId>               (a user's entries)
  entry-id marker   PK ENTRYID#<entryId>            SK ENTRYID   -> contestId, userId
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from tickerleague.config import settings
from tickerleague.domain.portfolio import Portfolio, Position


@lru_cache(maxsize=1)
def _serializers() -> tuple[Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def to_attribute_map(item: dict[str, Any]) -> dict[str, Any]:
    serializer, _ = _serializers()
    return {key: serializer.serialize(value) for key, value in item.items() if value is not None}


def from_attribute_map(raw: dict[str, Any]) -> dict[str, Any]:
    _, deserializer = _serializers()
    return {key: deserializer.deserialize(value) for key, value in raw.items()}


def client() -> Any:
    """A DynamoDB client for the configured endpoint (cached per container by botocore's session)."""
    return _client(settings().region, settings().dynamodb_endpoint)


@lru_cache(maxsize=4)
def _client(region: str, endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb", region_name=region, endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5),
    )


BATCH_GET_LIMIT = 100  # DynamoDB's maximum keys per BatchGetItem
BATCH_GET_ATTEMPTS = 8


def item_name(key: dict[str, str]) -> str:
    """How `batch_get_raw` names an item: "PK|SK"."""
    return f"{key['PK']}|{key['SK']}"


def batch_get_raw(keys: Iterable[dict[str, str]], *, consistent: bool = True) -> dict[str, dict[str, Any]]:
    """Strongly consistent reads of any number of items, 100 keys per round trip, unprocessed keys retried with
    jittered backoff: raw attribute maps by "PK|SK" (missing items are absent). 503 when DynamoDB keeps refusing."""
    from tickerleague.errors import ServiceUnavailable

    table = settings().table_name
    unique = list({item_name(key): key for key in keys}.values())
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        request: dict[str, Any] = {table: {
            "Keys": [to_attribute_map(key) for key in unique[start:start + BATCH_GET_LIMIT]],
            "ConsistentRead": consistent,
        }}
        for attempt in range(BATCH_GET_ATTEMPTS):
            response = client().batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(table, []):
                found[f"{raw['PK']['S']}|{raw['SK']['S']}"] = raw
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.2, 0.004 * 2**attempt) * random.random())  # noqa: S311 - jitter, not a secret
        else:
            raise ServiceUnavailable("The read could not be completed; try again.")
    return found


def entry_key(contest_id: str, user_id: str) -> dict[str, str]:
    return {"PK": f"ENTRY#{contest_id}#{user_id}", "SK": "ENTRY"}


def entry_id_marker_key(entry_id: str) -> dict[str, str]:
    return {"PK": f"ENTRYID#{entry_id}", "SK": "ENTRYID"}


def entry_shard(entry_id: str, shards: int | None = None) -> int:
    count = shards or settings().entry_shards
    return int(hashlib.sha256(entry_id.encode()).hexdigest(), 16) % count


def contest_entries_partition(contest_id: str, shard: int) -> str:
    return f"CONTEST#{contest_id}#ENTRIES#{shard}"


def user_entries_partition(user_id: str) -> str:
    return f"USER#{user_id}#ENTRIES"


@dataclass(frozen=True)
class Entry:
    entry_id: str
    contest_id: str
    user_id: str
    display_name: str
    status: str  # active | pending_payment | cancelled | refunded
    joined_at: str  # ISO 8601 with milliseconds, Z
    portfolio: Portfolio
    version: int = 0  # bumped by every write of the portfolio; conditions use it for optimistic concurrency
    trades_by_day: dict[str, int] | None = None  # {"2026-12-01": 3}, for maxTradesPerDay
    updated_at: str | None = None


def _position_to_map(position: Position) -> dict[str, Any]:
    return {
        "quantity": position.quantity,
        "reservedQuantity": position.reserved_quantity,
        "costBasis": position.cost_basis,
        "realizedPnl": position.realized_pnl,
    }


def _position_from_map(symbol: str, data: dict[str, Any]) -> Position:
    return Position(
        symbol=symbol,
        quantity=Decimal(data.get("quantity", 0)),
        reserved_quantity=Decimal(data.get("reservedQuantity", 0)),
        cost_basis=Decimal(data.get("costBasis", 0)),
        realized_pnl=Decimal(data.get("realizedPnl", 0)),
    )


def entry_to_item(entry: Entry) -> dict[str, Any]:
    """The full item (plain Python values; wrap with `to_attribute_map` for the client)."""
    portfolio = entry.portfolio
    shard = entry_shard(entry.entry_id)
    return {
        **entry_key(entry.contest_id, entry.user_id),
        "GSI1PK": contest_entries_partition(entry.contest_id, shard),
        "GSI1SK": f"{entry.joined_at}#{entry.entry_id}",
        "GSI2PK": user_entries_partition(entry.user_id),
        "GSI2SK": f"{entry.joined_at}#{entry.contest_id}",
        "type": "entry",
        "entryId": entry.entry_id,
        "contestId": entry.contest_id,
        "userId": entry.user_id,
        "displayName": entry.display_name,
        "status": entry.status,
        "joinedAt": entry.joined_at,
        "updatedAt": entry.updated_at or entry.joined_at,
        "startingCash": portfolio.starting_cash,
        "cash": portfolio.cash,
        "reservedCash": portfolio.reserved_cash,
        "feesPaid": portfolio.fees_paid,
        "positions": {symbol: _position_to_map(position) for symbol, position in portfolio.positions.items()},
        "tradesByDay": dict(entry.trades_by_day or {}),
        "version": entry.version,
    }


def entry_from_item(item: dict[str, Any]) -> Entry:
    """An Entry from a deserialized item (plain Python values)."""
    positions = {
        symbol: _position_from_map(symbol, data) for symbol, data in (item.get("positions") or {}).items()
    }
    portfolio = Portfolio(
        starting_cash=Decimal(item["startingCash"]),
        cash=Decimal(item["cash"]),
        reserved_cash=Decimal(item.get("reservedCash", 0)),
        fees_paid=Decimal(item.get("feesPaid", 0)),
        positions=positions,
    )
    return Entry(
        entry_id=item["entryId"],
        contest_id=item["contestId"],
        user_id=item["userId"],
        display_name=item.get("displayName", ""),
        status=item["status"],
        joined_at=item["joinedAt"],
        portfolio=portfolio,
        version=int(item.get("version", 0)),
        trades_by_day={day: int(count) for day, count in (item.get("tradesByDay") or {}).items()},
        updated_at=item.get("updatedAt"),
    )


def get_entry(contest_id: str, user_id: str, *, consistent: bool = True) -> Entry | None:
    response = client().get_item(
        TableName=settings().table_name, Key=to_attribute_map(entry_key(contest_id, user_id)),
        ConsistentRead=consistent,
    )
    raw = response.get("Item")
    return entry_from_item(from_attribute_map(raw)) if raw else None


def find_entry_by_id(entry_id: str) -> Entry | None:
    """Two reads: the entry-id marker, then the entry."""
    response = client().get_item(TableName=settings().table_name, Key=to_attribute_map(entry_id_marker_key(entry_id)))
    raw = response.get("Item")
    if not raw:
        return None
    marker = from_attribute_map(raw)
    return get_entry(marker["contestId"], marker["userId"])
