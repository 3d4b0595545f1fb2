"""Every entry of a contest, for operators: the sharded GSI1 partitions (CONTEST#<id>#ENTRIES#<shard>) read in
parallel, one query per shard per page, merged in (joinedAt, entryId) order.

Paging across shards: each shard returns at most `limit` items after the cursor's sort key. A shard that has more
stops at its LastEvaluatedKey; nothing past the smallest such key can be served yet (that shard has not been read
there), so the page ends at it. The cursor is the last sort key served, and the next page reads every shard after it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.config import settings


@dataclass(frozen=True)
class EntryRows:
    items: list[dict[str, Any]]  # deserialized entry items (plain Python values, Decimals)
    after: str | None  # the sort key to continue after, None on the last page


def _shard_page(contest_id: str, shard: int, after: str | None, status: str | None,
                limit: int) -> tuple[list[dict[str, Any]], str | None]:
    names = {"#pk": "GSI1PK"}
    values: dict[str, Any] = {":pk": {"S": entries_table.contest_entries_partition(contest_id, shard)}}
    condition = "#pk = :pk"
    if after is not None:
        names["#sk"] = "GSI1SK"
        values[":after"] = {"S": after}
        condition += " AND #sk > :after"
    request: dict[str, Any] = {"TableName": settings().table_name, "IndexName": "GSI1",
                               "KeyConditionExpression": condition, "ExpressionAttributeNames": names,
                               "ExpressionAttributeValues": values, "Limit": limit}
    if status is not None:
        names["#status"] = "status"
        values[":status"] = {"S": status}
        request["FilterExpression"] = "#status = :status"
    response = plumbing.client().query(**request)
    items = [plumbing.from_attribute_map(raw) for raw in response.get("Items", [])]
    last = response.get("LastEvaluatedKey")
    return items, (last["GSI1SK"]["S"] if last else None)


def contest_entries(contest_id: str, *, status: str | None, limit: int, after: str | None) -> EntryRows:
    shards = range(settings().entry_shards)
    with ThreadPoolExecutor(max_workers=len(shards)) as pool:
        pages = list(pool.map(lambda shard: _shard_page(contest_id, shard, after, status, limit), shards))
    stops = [stop for _, stop in pages if stop is not None]
    boundary = min(stops) if stops else None
    candidates = sorted((item for items, _ in pages for item in items), key=lambda item: str(item["GSI1SK"]))
    if boundary is not None:
        candidates = [item for item in candidates if str(item["GSI1SK"]) <= boundary]
    served = candidates[:limit]
    if len(candidates) > limit:
        return EntryRows(served, str(served[-1]["GSI1SK"]))
    return EntryRows(served, boundary)
