"""Rate-limit buckets: PK RATELIMIT#<bucket>#<subject>, SK BUCKET, `tat` (the GCRA theoretical arrival time, epoch
milliseconds) and `expiresAt` (TTL: a bucket is full again by then, so losing it changes nothing).

Admitting a request is one conditional UpdateItem; the condition is the rule, so concurrent callers in any number of
containers can never over-admit (no read-modify-write). DynamoDB has no max(), and GCRA's new TAT is
max(TAT, now) + interval, so there are two shapes of the write: "idle" (the stored TAT is in the past or absent:
set it to now + interval) and "busy" (it is ahead of now but within the burst: add the interval). The write is
guessed from the TAT this container last saw for the bucket; a wrong guess fails its condition and returns the
stored TAT (ReturnValuesOnConditionCheckFailure), from which the refusal is decided at once or the right write is
made: one round trip per request in the usual case (a hammering client is "busy" in every container), two when
another container changed the bucket from idle to busy in between.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from tickerleague.adapters.dynamodb.plumbing import client, to_attribute_map
from tickerleague.config import settings
from tickerleague.domain.rate_limit import Bucket, Decision, admitted, decide, highest_admissible_tat

MAX_WRITES = 6  # a write only fails when another caller moved the bucket, each time closer to a refusal
_SEEN_LIMIT = 4096


class _SeenTats:
    """The last TAT this container wrote or read per bucket key: only a guess of which write to try first."""

    def __init__(self) -> None:
        self._tats: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> int | None:
        with self._lock:
            return self._tats.get(key)

    def clear(self) -> None:
        with self._lock:
            self._tats.clear()

    def put(self, key: str, tat: int) -> None:
        with self._lock:
            self._tats[key] = tat
            self._tats.move_to_end(key)
            while len(self._tats) > _SEEN_LIMIT:
                self._tats.popitem(last=False)


_seen = _SeenTats()


def bucket_key(bucket: Bucket, subject: str) -> dict[str, str]:
    return {"PK": f"RATELIMIT#{bucket.name}#{subject}", "SK": "BUCKET"}


def _write(bucket: Bucket, key: dict[str, str], now_ms: int, *, idle: bool) -> dict[str, Any]:
    expires_at = (now_ms + bucket.capacity_ms) // 1000 + 60
    values: dict[str, Any] = {":now": now_ms, ":exp": expires_at}
    if idle:
        update, condition = "SET tat = :fresh, expiresAt = :exp", "attribute_not_exists(tat) OR tat <= :now"
        values[":fresh"] = now_ms + bucket.interval_ms
    else:
        update, condition = "SET tat = tat + :interval, expiresAt = :exp", "tat > :now AND tat <= :highest"
        values[":interval"] = bucket.interval_ms
        values[":highest"] = highest_admissible_tat(bucket, now_ms)
    return {
        "TableName": settings().table_name, "Key": to_attribute_map(key), "UpdateExpression": update,
        "ConditionExpression": condition, "ExpressionAttributeValues": to_attribute_map(values),
        "ReturnValues": "UPDATED_NEW", "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def take(bucket: Bucket, subject: str, now_ms: int) -> Decision:
    """Admit one request of `subject` at `now_ms`, or refuse it; the bucket changes only when admitted."""
    key = bucket_key(bucket, subject)
    name = key["PK"]
    dynamodb = client()
    seen = _seen.get(name)
    idle = seen is None or seen <= now_ms
    stored: int | None = seen
    for _ in range(MAX_WRITES):
        try:
            answer = dynamodb.update_item(**_write(bucket, key, now_ms, idle=idle))
        except dynamodb.exceptions.ConditionalCheckFailedException as failed:
            item = failed.response.get("Item") or {}
            stored = int(item["tat"]["N"]) if "tat" in item else None
            if stored is not None:
                _seen.put(name, stored)
            decision = decide(bucket, stored, now_ms)
            if not decision.allowed:
                return decision
            idle = stored is None or stored <= now_ms
            continue
        tat = int(answer["Attributes"]["tat"]["N"])
        _seen.put(name, tat)
        return admitted(bucket, tat, now_ms)
    # Every write lost to another caller that moved the bucket: by now it is (nearly) empty; refuse for a moment.
    return decide(bucket, max(stored or now_ms, highest_admissible_tat(bucket, now_ms) + 1), now_ms)


def forget_seen() -> None:
    """For tests: start without guesses."""
    _seen.clear()
