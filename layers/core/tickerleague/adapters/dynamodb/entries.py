"""Entries (one contest entry = one partition holding the portfolio item and its orders).

Written with the low-level client and boto3's type (de)serializer instead of PynamoDB: the portfolio's `positions`
map is keyed by symbol, and PynamoDB's untyped maps turn numbers into float. Every number here is a Decimal.

Keys (see docs/technical-specification.md):
  entry item        PK ENTRY#<contestId>#<userId>   SK ENTRY     (+ `orderTat`: the order rate limit's GCRA TAT, ms)
                    GSI1 CONTEST#<contestId>#ENTRIES#<shard> / <joinedAt>#<entryId>   (all entries of a contest)
                    GSI2 USER#<userId>#ENTRIES / <joinedAt>#<contestId>               (a user's entries)
  entry-id marker   PK ENTRYID#<entryId>            SK ENTRYID   -> contestId, userId

Entry reads of the leaderboard (all eventually consistent; the final standings re-read every entry strongly), with
the low-level client, a projection and a hand-written parser (boto3's TypeDeserializer is 10x slower on 100,000
items), metered (`plumbing.Meter`):
  all entries              GSI1  GSI1PK = CONTEST#<id>#ENTRIES#<shard>                    every shard, in parallel
  entries changed since T  GSI3  GSI1PK = CONTEST#<id>#ENTRIES#<shard> AND updatedAt > T  every shard, in parallel
  in joining order         GSI1  GSI1PK = CONTEST#<id>#ENTRIES#<shard> AND GSI1SK > <position>, merged across shards
GSI3 is keyed on the entry's own `GSI1PK` and `updatedAt`, which every entry write already sets (the join, and
every portfolio change of the trading engine), so the change feed needs no extra write from anyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickerleague.adapters.dynamodb import plumbing
from tickerleague.adapters.dynamodb.plumbing import (
    Meter,
    client,
    from_attribute_map,
    to_attribute_map,
)
from tickerleague.config import settings
from tickerleague.domain.entries import Entry
from tickerleague.domain.portfolio import Portfolio, Position

if TYPE_CHECKING:
    from tickerleague.domain.ranking import EntryFacts

CHANGES_INDEX = "GSI3"
SCAN_ATTEMPTS = 8  # a recompute's BatchGetItem may wait longer than an API read (plumbing.batch_get_raw)
SCAN_BACKOFF = (0.02, 1.0)  # base and cap of its jittered back-off, seconds

# What a recompute reads of an entry item (the projection keeps the transfer small; capacity is by item size anyway).
_FACT_NAMES = {"#type": "type", "#entryId": "entryId", "#userId": "userId", "#name": "displayName",
               "#status": "status", "#joinedAt": "joinedAt", "#start": "startingCash", "#cash": "cash",
               "#positions": "positions", "#version": "version"}
_FACT_PROJECTION = ", ".join(_FACT_NAMES)


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


# ---------------------------------------------------------------------------------------------------- leaderboard reads
def _number(raw: dict[str, Any] | None) -> Decimal:
    return Decimal(raw["N"]) if raw and "N" in raw else Decimal(0)


def _facts_parser() -> Callable[[dict[str, Any]], EntryFacts]:
    """EntryFacts straight from a raw attribute map (boto3's TypeDeserializer is 10x slower on 100,000 items).
    `domain.ranking` is imported here, by the leaderboard's first read, not at the cold start of every function
    that reads an entry."""
    from tickerleague.domain.ranking import EntryFacts, Holding

    def parse(raw: dict[str, Any]) -> EntryFacts:
        holdings = []
        for symbol, position in (raw.get("positions", {}).get("M") or {}).items():
            fields = position.get("M") or {}
            quantity = _number(fields.get("quantity"))
            if quantity > 0:
                holdings.append(Holding(symbol, quantity, _number(fields.get("costBasis"))))
        return EntryFacts(
            entry_id=raw["entryId"]["S"], user_id=raw["userId"]["S"],
            display_name=raw.get("displayName", {}).get("S", ""), joined_at=raw["joinedAt"]["S"],
            starting_cash=_number(raw.get("startingCash")), cash=_number(raw.get("cash")),
            holdings=tuple(sorted(holdings, key=lambda holding: holding.symbol)),
            version=int(_number(raw.get("version"))), active=raw.get("status", {}).get("S") == "active",
        )

    return parse


def _is_entry(raw: dict[str, Any]) -> bool:
    return bool(raw.get("type", {}).get("S") == "entry")


def _facts_request(contest_id: str, shard: int, changed_since: str | None) -> dict[str, Any]:
    names = dict(_FACT_NAMES)
    values: dict[str, Any] = {":pk": {"S": contest_entries_partition(contest_id, shard)}}
    request: dict[str, Any] = {"ProjectionExpression": _FACT_PROJECTION}
    if changed_since is None:
        request.update(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk")
    else:
        names["#updatedAt"] = "updatedAt"
        values[":since"] = {"S": changed_since}
        request.update(IndexName=CHANGES_INDEX, KeyConditionExpression="GSI1PK = :pk AND #updatedAt > :since")
    request.update(ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    return request


def read_entry_facts(contest_id: str, meter: Meter, *, changed_since: str | None = None,
                     shards: int | None = None) -> list[EntryFacts]:
    """Every entry of a contest (E3), or only those written after `changed_since` (ISO ms), all shards in parallel."""
    count = shards or settings().entry_shards

    parse = _facts_parser()

    def one_shard(shard: int) -> list[EntryFacts]:
        request = _facts_request(contest_id, shard, changed_since)
        return [parse(raw) for raw in plumbing.query_items(request, meter) if _is_entry(raw)]

    return [facts for chunk in plumbing.parallel(one_shard, list(range(count))) for facts in chunk]


def read_entry_facts_consistent(contest_id: str, meter: Meter, *, shards: int | None = None) -> list[EntryFacts]:
    """Every entry of a contest, each read strongly consistent from the table (the final standings: a fill
    committed a moment before endsAt may not have reached the index yet). Lists keys from GSI1, then BatchGetItem
    (projected: only what valuing an entry needs crosses the wire; metered; batches in parallel)."""
    count = shards or settings().entry_shards

    def keys_of(shard: int) -> list[dict[str, Any]]:
        request = {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk",
                   "ProjectionExpression": "PK, SK, #type", "ExpressionAttributeNames": {"#type": "type"},
                   "ExpressionAttributeValues": {":pk": {"S": contest_entries_partition(contest_id, shard)}}}
        return [{"PK": raw["PK"], "SK": raw["SK"]} for raw in plumbing.query_items(request, meter) if _is_entry(raw)]

    keys = [key for chunk in plumbing.parallel(keys_of, list(range(count))) for key in chunk]
    limit = plumbing.BATCH_GET_LIMIT
    batches = [keys[start:start + limit] for start in range(0, len(keys), limit)]

    parse = _facts_parser()

    def fetch(batch: list[dict[str, Any]]) -> list[EntryFacts]:
        raws = plumbing.batch_get_once(batch, consistent=True, attempts=SCAN_ATTEMPTS, base=SCAN_BACKOFF[0],
                                       cap=SCAN_BACKOFF[1], projection=(_FACT_PROJECTION, _FACT_NAMES), meter=meter)
        return [parse(raw) for raw in raws]

    return [facts for chunk in plumbing.parallel(fetch, batches) for facts in chunk]


@dataclass(frozen=True)
class PreviewPage:
    """A page of a contest's entries in joining order (before any standings exist) and where each shard stands."""

    entries: list[EntryFacts]
    positions: list[str | None]  # per shard: the last GSI1SK listed, None before the first; "" = shard exhausted


def preview_entries(contest_id: str, positions: Sequence[str | None], limit: int, meter: Meter) -> PreviewPage:
    """Up to `limit` active entries after `positions`, merged across shards by (joinedAt, entryId): each shard is
    read for at most `limit` rows past its position, so a page costs at most shards x limit items."""
    from tickerleague.domain.ranking import merge_shards

    parse = _facts_parser()

    def one_shard(shard: int) -> tuple[list[tuple[str, EntryFacts]], bool]:
        after = positions[shard]
        if after == "":
            return [], True
        values: dict[str, Any] = {":pk": {"S": contest_entries_partition(contest_id, shard)},
                                  ":active": {"S": "active"}}
        condition = "GSI1PK = :pk"
        if after is not None:
            condition += " AND GSI1SK > :after"
            values[":after"] = {"S": after}
        request: dict[str, Any] = {
            "IndexName": "GSI1", "KeyConditionExpression": condition,
            "FilterExpression": "#status = :active", "ExpressionAttributeNames": {**_FACT_NAMES, "#sk": "GSI1SK"},
            "ExpressionAttributeValues": values, "ProjectionExpression": _FACT_PROJECTION + ", #sk",
            "Limit": limit + 1,
        }
        found: list[tuple[str, EntryFacts]] = []
        for response in plumbing.query_pages(request, metered=True):
            meter.record("Query", response, read=len(response.get("Items", [])))
            found.extend((raw["GSI1SK"]["S"], parse(raw)) for raw in response.get("Items", []))
            if len(found) > limit:  # one row more than needed tells whether the shard has more
                break
        return found[:limit], len(found) <= limit

    per_shard = plumbing.parallel(one_shard, list(range(len(positions))))
    entries, new_positions = merge_shards(per_shard, positions, limit)
    return PreviewPage(entries, new_positions)
