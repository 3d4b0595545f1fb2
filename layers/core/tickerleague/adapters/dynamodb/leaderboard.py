"""Leaderboard runs in the table: the board head, pages and rank shards of a run (docs/design/leaderboard.md).

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
json module instead of boto3's per-attribute Python code, which would dominate a 100,000-row run. The entry reads of
a recompute live with the entries (`adapters.dynamodb.entries.read_entry_facts`); every call here is metered
(`plumbing.Meter`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tickerleague.adapters.dynamodb import plumbing
from tickerleague.adapters.dynamodb.plumbing import Meter
from tickerleague.clock import iso_ms
from tickerleague.domain.money import cash_str, pct_str
from tickerleague.domain.ranking import (
    ROWS_PER_PAGE,
    HistoryPoint,
    Row,
    ShardEpoch,
    Standing,
    epoch_windows,
    pages_of,
    shard_of,
)

ATTEMPTS = 8  # batch calls of a recompute or a read, unprocessed work retried this often
BACKOFF = (0.02, 1.0)  # base and cap of their jittered back-off, seconds
FINAL_RUN_ID = "FINAL"


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
    """Pages and rank shards: 25 items a call, calls in parallel, unprocessed items retried with back-off
    (`plumbing.Unprocessed` when they stay unprocessed: the run is then not published)."""
    plumbing.batch_write(items, meter, attempts=ATTEMPTS, base=BACKOFF[0], cap=BACKOFF[1])


def publish(run: RunToWrite, meter: Meter) -> bool:
    """Flip the head to `run`, only if that moves forward: a live run replaces an older live run (never a newer one,
    never a final one); the final run replaces any live run, never another final one. False when refused."""
    client = plumbing.client()
    if run.final:
        condition = "attribute_not_exists(PK) OR #final = :false"
        values: dict[str, Any] = {":false": {"BOOL": False}}
    else:
        condition = "attribute_not_exists(PK) OR (#final = :false AND #runKey < :runKey)"
        values = {":false": {"BOOL": False}, ":runKey": _s(run.key)}
    try:
        response = client.put_item(
            TableName=plumbing.table_name(), Item=head_item(run), ConditionExpression=condition,
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
    client = plumbing.client()
    stamp = iso_ms(as_of)
    try:
        response = client.update_item(
            TableName=plumbing.table_name(), Key=_key(head_key(contest_id)), UpdateExpression="SET asOf = :asOf",
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
    request: dict[str, Any] = {"TableName": plumbing.table_name(), "Key": _key(head_key(contest_id)),
                               "ReturnConsumedCapacity": "TOTAL"}
    if not with_rows:
        request.update(ProjectionExpression="runId, runKey, asOf, #final, outOf, pageSize, pageCount, floors, epochs",
                       ExpressionAttributeNames={"#final": "final"})
    response = plumbing.client().get_item(**request)
    raw = response.get("Item")
    meter.record("GetItem", response, read=1 if raw else 0)
    return head_from_raw(raw) if raw else None


def get_pages(contest_id: str, run_id: str, numbers: Iterable[int], meter: Meter) -> dict[int, BoardPage]:
    """Stored pages of a run (one GetItem, or one BatchGetItem for two); missing ones (expired) are left out."""
    keys = [_key(page_key(contest_id, run_id, number)) for number in numbers]
    if not keys:
        return {}
    if len(keys) == 1:
        response = plumbing.client().get_item(TableName=plumbing.table_name(), Key=keys[0],
                                              ReturnConsumedCapacity="TOTAL")
        meter.record("GetItem", response, read=1 if response.get("Item") else 0)
        raws = [response["Item"]] if response.get("Item") else []
    else:
        raws = plumbing.batch_get_once(keys, consistent=False, attempts=ATTEMPTS, base=BACKOFF[0],
                                       cap=BACKOFF[1], meter=meter)
    pages = [BoardPage(run_id=raw["runId"]["S"], as_of=raw["asOf"]["S"], final=raw["final"]["BOOL"],
                       out_of=int(raw["outOf"]["N"]), page=int(raw["page"]["N"]), rows=_rows(raw)) for raw in raws]
    return {page.page: page for page in pages}


Point = tuple[int, str, str]  # rank, totalValue, returnPct


def get_point(contest_id: str, head: BoardHead, user_id: str, meter: Meter) -> Point | None:
    """The caller's [rank, totalValue, returnPct] in the head's run: one GetItem of their rank shard."""
    count = head.epochs[-1].count
    key = {"PK": _s(ranks_partition(contest_id, count, shard_of(user_id, count))), "SK": _s(head.run_key)}
    response = plumbing.client().get_item(TableName=plumbing.table_name(), Key=key, ReturnConsumedCapacity="TOTAL")
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
        request = {"KeyConditionExpression": condition, "ExpressionAttributeValues": values,
                   "ProjectionExpression": "SK, asOf, points"}
        for raw in plumbing.query_items(request, meter):
            if until is not None and raw["SK"]["S"] == until:
                continue
            text = raw["points"]["S"]
            if needle not in text:  # cheap pre-check before parsing 64 players' points
                continue
            point = json.loads(text).get(user_id)
            if point:
                points.append(HistoryPoint(raw["asOf"]["S"], int(point[0]), str(point[1]), str(point[2])))
    return points
