"""Leaderboard items and the entry reads of a recompute (docs/design/leaderboard.md).

Keys (docs/technical-specification.md, L1-L6):
  board head   PK BOARD#<contestId>                            SK CURRENT
               the published run (id, asOf, final, row count, page floors, shard epochs) AND its page 0, so the
               first page of a leaderboard is one GetItem
  page         PK BOARD#<contestId>#PAGE#<runId>#<n>            SK PAGE
               rows [100n, 100n + 100) of one run; live runs expire an hour after they are replaced
  rank shard   PK BOARD#<contestId>#RANKS#<count>#<shard>       SK <asOf ms>#<runId>
               {userId: [rank, totalValue, returnPct]} of the players hashed to `shard` of `count`, one item per
               run: the latest is "my rank", all of them are "my history"
Every page and shard has its own partition key, so writing a run spreads over many partitions, never one hot one.

Rows and points are stored as one JSON string attribute (not DynamoDB lists): smaller, and (de)serialised by the C
json module instead of boto3's per-attribute Python code, which would dominate a 100,000-row run. The entry reads use
the low-level client with a projection and a hand-written parser for the same reason.

Entry reads of a recompute (all eventually consistent; the final standings re-read every entry strongly):
  all entries              GSI1  GSI1PK = CONTEST#<id>#ENTRIES#<shard>                    every shard, in parallel
  entries changed since T  GSI3  GSI1PK = CONTEST#<id>#ENTRIES#<shard> AND updatedAt > T  every shard, in parallel
GSI3 is keyed on the entry's own `GSI1PK` and `updatedAt`, which every entry write already sets (the join, and
every portfolio change of the trading engine), so the change feed needs no extra write from anyone.
"""

from __future__ import annotations

import heapq
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.clock import iso_ms
from tickerleague.config import settings
from tickerleague.domain.money import cash_str, pct_str
from tickerleague.domain.ranking import (
    ROWS_PER_PAGE,
    EntryFacts,
    HistoryPoint,
    Holding,
    Row,
    ShardEpoch,
    Standing,
    epoch_windows,
    pages_of,
    shard_of,
)

CHANGES_INDEX = "GSI3"
BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = plumbing.BATCH_GET_LIMIT
PARALLELISM = 16
ATTEMPTS = 8
FINAL_RUN_ID = "FINAL"

# What a recompute reads of an entry item (the projection keeps the transfer small; capacity is by item size anyway).
_ENTRY_NAMES = {"#type": "type", "#entryId": "entryId", "#userId": "userId", "#name": "displayName",
                "#status": "status", "#joinedAt": "joinedAt", "#start": "startingCash", "#cash": "cash",
                "#positions": "positions", "#version": "version"}
_ENTRY_PROJECTION = ", ".join(_ENTRY_NAMES)


class BoardThrottled(RuntimeError):
    """DynamoDB kept part of a batch unprocessed (throttling) after every retry; a run that hits it is not published."""


# ---------------------------------------------------------------------------------------------------- keys
def head_key(contest_id: str) -> dict[str, str]:
    return {"PK": f"BOARD#{contest_id}", "SK": "CURRENT"}


def page_key(contest_id: str, run_id: str, page: int) -> dict[str, str]:
    return {"PK": f"BOARD#{contest_id}#PAGE#{run_id}#{page}", "SK": "PAGE"}


def ranks_partition(contest_id: str, count: int, shard: int) -> str:
    return f"BOARD#{contest_id}#RANKS#{count}#{shard}"


def run_key(at: datetime, run_id: str) -> str:
    """The sort key of a run's rank shards: by time, so the latest run is the last item of the partition."""
    return f"{iso_ms(at)}#{run_id}"


def _key(key: dict[str, str]) -> dict[str, Any]:
    return {name: {"S": value} for name, value in key.items()}


# ---------------------------------------------------------------------------------------------------- metering
@dataclass
class Meter:
    """Counts what a recompute or a request costs: calls per operation, items, and consumed capacity units
    (DynamoDB's own figures, asked for with ReturnConsumedCapacity=TOTAL). Thread-safe."""

    calls: Counter[str] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0
    items_read: int = 0
    items_written: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, operation: str, response: dict[str, Any], *, read: int = 0, written: int = 0) -> None:
        consumed = response.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        with self._lock:
            self.calls[operation] += 1
            self.items_read += read
            self.items_written += written
            for entry in entries:
                units = float(entry.get("CapacityUnits", 0.0))
                if operation in ("BatchWriteItem", "PutItem", "UpdateItem"):
                    self.write_units += units
                else:
                    self.read_units += units

    def summary(self) -> dict[str, Any]:
        return {"calls": dict(self.calls), "readUnits": round(self.read_units, 1),
                "writeUnits": round(self.write_units, 1), "itemsRead": self.items_read,
                "itemsWritten": self.items_written}


_client = plumbing.client
_table = plumbing.table_name


def _backoff(attempt: int) -> None:
    plumbing.backoff(attempt, base=0.02, cap=1.0)


def _parallel[T, R](work: Callable[[T], R], jobs: Sequence[T]) -> list[R]:
    """`work` over `jobs` on a thread pool (boto3 clients are thread-safe); results in job order, errors raised."""
    if len(jobs) <= 1:
        return [work(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(PARALLELISM, len(jobs))) as pool:
        return list(pool.map(work, jobs))


# ---------------------------------------------------------------------------------------------------- entries
def _number(raw: dict[str, Any] | None) -> Decimal:
    return Decimal(raw["N"]) if raw and "N" in raw else Decimal(0)


def facts_from_raw(raw: dict[str, Any]) -> EntryFacts:
    """EntryFacts straight from a raw attribute map (boto3's TypeDeserializer is 10x slower on 100,000 items)."""
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


def _query_all(request: dict[str, Any], meter: Meter) -> Iterator[dict[str, Any]]:
    for response in plumbing.query_pages(request, metered=True):
        items = response.get("Items", [])
        meter.record("Query", response, read=len(items))
        yield from items


def _entries_request(contest_id: str, shard: int, changed_since: str | None) -> dict[str, Any]:
    partition = entries_table.contest_entries_partition(contest_id, shard)
    names = dict(_ENTRY_NAMES)
    values: dict[str, Any] = {":pk": {"S": partition}}
    request: dict[str, Any] = {"TableName": _table(), "ProjectionExpression": _ENTRY_PROJECTION}
    if changed_since is None:
        request.update(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk")
    else:
        names["#updatedAt"] = "updatedAt"
        values[":since"] = {"S": changed_since}
        request.update(IndexName=CHANGES_INDEX, KeyConditionExpression="GSI1PK = :pk AND #updatedAt > :since")
    request.update(ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    return request


def read_entries(contest_id: str, meter: Meter, *, changed_since: str | None = None,
                 shards: int | None = None) -> list[EntryFacts]:
    """Every entry of a contest (E3), or only those written after `changed_since` (ISO ms), all shards in parallel."""
    count = shards or settings().entry_shards

    def one_shard(shard: int) -> list[EntryFacts]:
        return [facts_from_raw(raw) for raw in _query_all(_entries_request(contest_id, shard, changed_since), meter)
                if raw.get("type", {}).get("S") == "entry"]

    return [facts for chunk in _parallel(one_shard, list(range(count))) for facts in chunk]


def read_entries_consistent(contest_id: str, meter: Meter, *, shards: int | None = None) -> list[EntryFacts]:
    """Every entry of a contest, each read strongly consistent from the table (the final standings: a fill
    committed a moment before endsAt may not have reached the index yet). Lists keys from GSI1, then BatchGetItem."""
    count = shards or settings().entry_shards

    def keys_of(shard: int) -> list[dict[str, Any]]:
        request = {"TableName": _table(), "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk",
                   "ProjectionExpression": "PK, SK, #type", "ExpressionAttributeNames": {"#type": "type"},
                   "ExpressionAttributeValues": {":pk": {"S": entries_table.contest_entries_partition(contest_id,
                                                                                                      shard)}}}
        return [{"PK": raw["PK"], "SK": raw["SK"]} for raw in _query_all(request, meter)
                if raw.get("type", {}).get("S") == "entry"]

    keys = [key for chunk in _parallel(keys_of, list(range(count))) for key in chunk]
    batches = [keys[start:start + BATCH_GET_LIMIT] for start in range(0, len(keys), BATCH_GET_LIMIT)]

    def fetch(batch: list[dict[str, Any]]) -> list[EntryFacts]:
        raws = _batch_get(batch, meter, projection=(_ENTRY_PROJECTION, _ENTRY_NAMES), consistent=True)
        return [facts_from_raw(raw) for raw in raws]

    return [facts for chunk in _parallel(fetch, batches) for facts in chunk]


def _batch_get(keys: list[dict[str, Any]], meter: Meter, *, projection: tuple[str, dict[str, str]] | None = None,
               consistent: bool = False) -> list[dict[str, Any]]:
    """One BatchGetItem of at most 100 keys, unprocessed keys retried. Unlike `plumbing.batch_get_raw` it projects
    (only what valuing an entry needs crosses the wire) and meters consumed capacity; callers run it in parallel."""
    def record(response: dict[str, Any], read: int) -> None:
        meter.record("BatchGetItem", response, read=read)

    try:
        return plumbing.batch_get_once(keys, consistent=consistent, attempts=ATTEMPTS, base=0.02, cap=1.0,
                                       projection=projection, on_response=record)
    except plumbing.Unprocessed as error:
        raise BoardThrottled("BatchGetItem kept keys unprocessed") from error


# ---------------------------------------------------------------------------------------------------- provisional list
@dataclass(frozen=True)
class PreviewPage:
    """A page of a contest's entries in joining order (before any standings exist) and where each shard stands."""

    entries: list[EntryFacts]
    positions: list[str | None]  # per shard: the last GSI1SK listed, None before the first; "" = shard exhausted


def preview_entries(contest_id: str, positions: Sequence[str | None], limit: int, meter: Meter) -> PreviewPage:
    """Up to `limit` active entries after `positions`, merged across shards by (joinedAt, entryId): each shard is
    read for at most `limit` rows past its position, so a page costs at most shards x limit items."""

    def one_shard(shard: int) -> tuple[list[tuple[str, EntryFacts]], bool]:
        after = positions[shard]
        if after == "":
            return [], True
        partition = entries_table.contest_entries_partition(contest_id, shard)
        values: dict[str, Any] = {":pk": {"S": partition}, ":active": {"S": "active"}}
        condition = "GSI1PK = :pk"
        if after is not None:
            condition += " AND GSI1SK > :after"
            values[":after"] = {"S": after}
        request: dict[str, Any] = {
            "TableName": _table(), "IndexName": "GSI1", "KeyConditionExpression": condition,
            "FilterExpression": "#status = :active", "ExpressionAttributeNames": {**_ENTRY_NAMES, "#sk": "GSI1SK"},
            "ExpressionAttributeValues": values, "ProjectionExpression": _ENTRY_PROJECTION + ", #sk",
            "Limit": limit + 1,
        }
        found: list[tuple[str, EntryFacts]] = []
        for response in plumbing.query_pages(request, metered=True):
            meter.record("Query", response, read=len(response.get("Items", [])))
            found.extend((raw["GSI1SK"]["S"], facts_from_raw(raw)) for raw in response.get("Items", []))
            if len(found) > limit:  # one row more than needed tells whether the shard has more
                break
        return found[:limit], len(found) <= limit

    per_shard = _parallel(one_shard, list(range(len(positions))))
    merged = heapq.merge(*[[(sort_key, shard, facts) for sort_key, facts in rows]
                           for shard, (rows, _) in enumerate(per_shard)])
    taken = [next(merged) for _ in range(min(limit, sum(len(rows) for rows, _ in per_shard)))]
    new_positions = list(positions)
    for sort_key, shard, _ in taken:
        new_positions[shard] = sort_key
    for shard, (rows, exhausted) in enumerate(per_shard):
        used = sum(1 for _, taken_shard, _ in taken if taken_shard == shard)
        if exhausted and used == len(rows):
            new_positions[shard] = ""
    return PreviewPage([facts for _, _, facts in taken], new_positions)


# ---------------------------------------------------------------------------------------------------- stored runs
def row_of(standing: Standing) -> Row:
    return (standing.rank, standing.entry_id, standing.user_id, standing.display_name,
            cash_str(standing.total_value), pct_str(standing.return_pct))


@dataclass(frozen=True)
class BoardHead:
    run_id: str
    run_key: str
    as_of: str  # ISO ms
    final: bool
    out_of: int
    page_size: int
    page_count: int
    floors: list[Decimal]  # the lowest totalValue of every page
    epochs: list[ShardEpoch]
    rows: list[Row]  # page 0 (empty when read without rows)


@dataclass(frozen=True)
class BoardPage:
    run_id: str
    as_of: str
    final: bool
    out_of: int
    page: int
    rows: list[Row]


@dataclass(frozen=True)
class RunToWrite:
    contest_id: str
    run_id: str
    at: datetime
    final: bool
    ranked: Sequence[Standing]
    epochs: list[ShardEpoch]
    page_expires_at: int | None  # epoch seconds; None = keep (final)
    shard_expires_at: int | None

    @property
    def key(self) -> str:
        return run_key(self.at, self.run_id)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _rows_json(rows: Iterable[Row]) -> str:
    return json.dumps(list(rows), separators=(",", ":"), ensure_ascii=False)


def _run_attributes(run: RunToWrite) -> dict[str, Any]:
    return {"runId": _s(run.run_id), "runKey": _s(run.key), "asOf": _s(iso_ms(run.at)), "final": {"BOOL": run.final},
            "outOf": _n(len(run.ranked)), "pageSize": _n(ROWS_PER_PAGE)}


def page_items(run: RunToWrite) -> list[dict[str, Any]]:
    common = _run_attributes(run)
    items = []
    for number, rows in enumerate(pages_of(run.ranked)):
        item = {**_key(page_key(run.contest_id, run.run_id, number)), "type": _s("boardPage"), **common,
                "page": _n(number), "rows": _s(_rows_json(row_of(standing) for standing in rows))}
        if run.page_expires_at is not None:
            item["expiresAt"] = _n(run.page_expires_at)
        items.append(item)
    return items


def shard_items(run: RunToWrite) -> list[dict[str, Any]]:
    """One item per non-empty shard of the run's epoch: {userId: [rank, totalValue, returnPct]}."""
    count = run.epochs[-1].count
    shards: dict[int, dict[str, list[Any]]] = {}
    for standing in run.ranked:
        shards.setdefault(shard_of(standing.user_id, count), {})[standing.user_id] = [
            standing.rank, cash_str(standing.total_value), pct_str(standing.return_pct)]
    common = {"type": _s("boardRanks"), "runId": _s(run.run_id), "asOf": _s(iso_ms(run.at)),
              "final": {"BOOL": run.final}, "outOf": _n(len(run.ranked))}
    items = []
    for shard, points in sorted(shards.items()):
        item = {"PK": _s(ranks_partition(run.contest_id, count, shard)), "SK": _s(run.key), **common,
                "points": _s(json.dumps(points, separators=(",", ":")))}
        if run.shard_expires_at is not None:
            item["expiresAt"] = _n(run.shard_expires_at)
        items.append(item)
    return items


def head_item(run: RunToWrite) -> dict[str, Any]:
    pages = pages_of(run.ranked)
    floors = [cash_str(rows[-1].total_value) for rows in pages if rows]
    return {
        **_key(head_key(run.contest_id)), "type": _s("boardHead"), **_run_attributes(run),
        "pageCount": _n(len(pages)), "floors": _s(json.dumps(floors, separators=(",", ":"))),
        "epochs": _s(json.dumps([[epoch.since, epoch.count] for epoch in run.epochs], separators=(",", ":"))),
        "rows": _s(_rows_json(row_of(standing) for standing in pages[0])),
    }


def batch_write(items: Sequence[dict[str, Any]], meter: Meter) -> None:
    """BatchWriteItem, 25 items a call, calls in parallel, unprocessed items retried with backoff."""
    table = _table()
    client = _client()

    def write(chunk: Sequence[dict[str, Any]]) -> None:
        requests = [{"PutRequest": {"Item": item}} for item in chunk]
        for attempt in range(ATTEMPTS):
            response = client.batch_write_item(RequestItems={table: requests}, ReturnConsumedCapacity="TOTAL")
            left = (response.get("UnprocessedItems") or {}).get(table, [])
            meter.record("BatchWriteItem", response, written=len(requests) - len(left))
            if not left:
                return
            requests = left
            _backoff(attempt)
        raise BoardThrottled(f"{len(requests)} leaderboard items stayed unprocessed")

    _parallel(write, [items[start:start + BATCH_WRITE_LIMIT] for start in range(0, len(items), BATCH_WRITE_LIMIT)])


def publish(run: RunToWrite, meter: Meter) -> bool:
    """Flip the head to `run`, only if that moves forward: a live run replaces an older live run (never a newer one,
    never a final one); the final run replaces any live run, never another final one. False when refused."""
    client = _client()
    if run.final:
        condition = "attribute_not_exists(PK) OR #final = :false"
        values: dict[str, Any] = {":false": {"BOOL": False}}
    else:
        condition = "attribute_not_exists(PK) OR (#final = :false AND #runKey < :runKey)"
        values = {":false": {"BOOL": False}, ":runKey": _s(run.key)}
    try:
        response = client.put_item(
            TableName=_table(), Item=head_item(run), ConditionExpression=condition,
            ExpressionAttributeNames={"#final": "final", **({} if run.final else {"#runKey": "runKey"})},
            ExpressionAttributeValues=values, ReturnConsumedCapacity="TOTAL",
        )
    except client.exceptions.ConditionalCheckFailedException:
        meter.record("PutItem", {})
        return False
    meter.record("PutItem", response, written=1)
    return True


def confirm(contest_id: str, run_id: str, as_of: datetime, meter: Meter) -> bool:
    """A recompute that found nothing changed re-dates the published live run instead of writing a copy of it."""
    client = _client()
    stamp = iso_ms(as_of)
    try:
        response = client.update_item(
            TableName=_table(), Key=_key(head_key(contest_id)), UpdateExpression="SET asOf = :asOf",
            ConditionExpression="runId = :runId AND #final = :false AND asOf < :asOf",
            ExpressionAttributeNames={"#final": "final"},
            ExpressionAttributeValues={":asOf": _s(stamp), ":runId": _s(run_id), ":false": {"BOOL": False}},
            ReturnConsumedCapacity="TOTAL",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    meter.record("UpdateItem", response, written=1)
    return True


# ---------------------------------------------------------------------------------------------------- reads
def _rows(raw: dict[str, Any]) -> list[Row]:
    return [tuple(row) for row in json.loads(raw.get("rows", {}).get("S", "[]"))]


def head_from_raw(raw: dict[str, Any]) -> BoardHead:
    return BoardHead(
        run_id=raw["runId"]["S"], run_key=raw["runKey"]["S"], as_of=raw["asOf"]["S"], final=raw["final"]["BOOL"],
        out_of=int(raw["outOf"]["N"]), page_size=int(raw["pageSize"]["N"]), page_count=int(raw["pageCount"]["N"]),
        floors=[Decimal(value) for value in json.loads(raw["floors"]["S"])],
        epochs=[ShardEpoch(since, count) for since, count in json.loads(raw["epochs"]["S"])],
        rows=_rows(raw),
    )


def get_head(contest_id: str, meter: Meter, *, with_rows: bool = True) -> BoardHead | None:
    request: dict[str, Any] = {"TableName": _table(), "Key": _key(head_key(contest_id)),
                               "ReturnConsumedCapacity": "TOTAL"}
    if not with_rows:
        request.update(ProjectionExpression="runId, runKey, asOf, #final, outOf, pageSize, pageCount, floors, epochs",
                       ExpressionAttributeNames={"#final": "final"})
    response = _client().get_item(**request)
    raw = response.get("Item")
    meter.record("GetItem", response, read=1 if raw else 0)
    return head_from_raw(raw) if raw else None


def get_pages(contest_id: str, run_id: str, numbers: Iterable[int], meter: Meter) -> dict[int, BoardPage]:
    """Stored pages of a run (one GetItem, or one BatchGetItem for two); missing ones (expired) are left out."""
    keys = [_key(page_key(contest_id, run_id, number)) for number in numbers]
    if not keys:
        return {}
    if len(keys) == 1:
        response = _client().get_item(TableName=_table(), Key=keys[0], ReturnConsumedCapacity="TOTAL")
        meter.record("GetItem", response, read=1 if response.get("Item") else 0)
        raws = [response["Item"]] if response.get("Item") else []
    else:
        raws = _batch_get(keys, meter)
    pages = [BoardPage(run_id=raw["runId"]["S"], as_of=raw["asOf"]["S"], final=raw["final"]["BOOL"],
                       out_of=int(raw["outOf"]["N"]), page=int(raw["page"]["N"]), rows=_rows(raw)) for raw in raws]
    return {page.page: page for page in pages}


Point = tuple[int, str, str]  # rank, totalValue, returnPct


def get_point(contest_id: str, head: BoardHead, user_id: str, meter: Meter) -> Point | None:
    """The caller's [rank, totalValue, returnPct] in the head's run: one GetItem of their rank shard."""
    count = head.epochs[-1].count
    key = {"PK": _s(ranks_partition(contest_id, count, shard_of(user_id, count))), "SK": _s(head.run_key)}
    response = _client().get_item(TableName=_table(), Key=key, ReturnConsumedCapacity="TOTAL")
    raw = response.get("Item")
    meter.record("GetItem", response, read=1 if raw else 0)
    if not raw:
        return None
    point = json.loads(raw["points"]["S"]).get(user_id)
    return (int(point[0]), str(point[1]), str(point[2])) if point else None


def history_of(contest_id: str, epochs: Sequence[ShardEpoch], user_id: str, meter: Meter) -> list[HistoryPoint]:
    """Every point of one player, oldest first: their rank shard's items, one per run, epoch by epoch. Reads grow
    with the number of runs (about 0.5 RCU each), never with the number of players."""
    points: list[HistoryPoint] = []
    needle = json.dumps(user_id)
    for epoch, until in epoch_windows(epochs):
        values: dict[str, Any] = {":pk": _s(ranks_partition(contest_id, epoch.count, shard_of(user_id, epoch.count))),
                                  ":since": _s(epoch.since)}
        condition = "PK = :pk AND SK >= :since"
        if until is not None:
            condition = "PK = :pk AND SK BETWEEN :since AND :until"
            values[":until"] = _s(until)
        request = {"TableName": _table(), "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
                   "ProjectionExpression": "SK, asOf, points"}
        for raw in _query_all(request, meter):
            if until is not None and raw["SK"]["S"] == until:
                continue
            text = raw["points"]["S"]
            if needle not in text:  # cheap pre-check before parsing 64 players' points
                continue
            point = json.loads(text).get(user_id)
            if point:
                points.append(HistoryPoint(raw["asOf"]["S"], int(point[0]), str(point[1]), str(point[2])))
    return points
