"""Entries (one contest entry = one partition holding the portfolio item and its orders).

Written with the low-level client and boto3's type (de)serializer instead of PynamoDB: the portfolio's `positions`
map is keyed by symbol, and PynamoDB's untyped maps turn numbers into float. Every number here is a Decimal.

Keys (see docs/technical-specification.md):
  entry item        PK ENTRY#<contestId>#<userId>   SK ENTRY     (+ `orderTat`: the order rate limit's GCRA TAT, ms)
                    GSI1 CONTEST#<contestId>#ENTRIES#<shard> / <joinedAt>#<entryId>   (all entries of a contest)
                    GSI2 USER#<userId>#ENTRIES / <joinedAt>#<contestId>               (a user's entries)
  entry-id marker   PK ENTRYID#<entryId>            SK ENTRYID   -> contestId, userId
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from tickerleague.adapters.dynamodb import plumbing

# The client and batch reads live in `plumbing`; they are still importable from here, where callers found them.
from tickerleague.adapters.dynamodb.plumbing import (  # noqa: F401
    _client,
    batch_get_raw,
    client,
    from_attribute_map,
    item_name,
    to_attribute_map,
)
from tickerleague.config import settings
from tickerleague.domain.entries import Entry
from tickerleague.domain.portfolio import Portfolio, Position


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
        **({"orderTat": entry.order_tat_ms} if entry.order_tat_ms else {}),
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
        order_tat_ms=int(item.get("orderTat", 0)),
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


def entries_of_contest(contest_id: str) -> Iterator[Entry]:
    """Every entry of a contest (E3), shard after shard."""
    for shard in range(settings().entry_shards):
        request = {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk",
                   "ExpressionAttributeValues": {":pk": {"S": contest_entries_partition(contest_id, shard)}}}
        for response in plumbing.query_pages(request):
            for raw in response.get("Items", []):
                item = from_attribute_map(raw)
                if item.get("type") == "entry":
                    yield entry_from_item(item)
