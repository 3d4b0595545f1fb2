"""DynamoDB plumbing shared by every adapter that talks to the low-level client: the client, (de)serialising
attribute maps, how an item is named ("PK|SK"), jittered back-off, BatchGetItem and BatchWriteItem with unprocessed
work retried, the page-after-page query loop, metering (`Meter`: calls and consumed capacity) and running calls in
parallel on a thread pool.

Each adapter keeps its own constants (how long it may wait, how many attempts): they differ on purpose, the API's
reads must give up sooner than a job's.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tickerleague.config import settings

BATCH_GET_LIMIT = 100  # DynamoDB's maximum keys per BatchGetItem
BATCH_WRITE_LIMIT = 25  # DynamoDB's maximum items per BatchWriteItem
PARALLELISM = 16  # calls in flight at once in `parallel`


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


def table_name() -> str:
    return settings().table_name


def item_name(key: tuple[str, str] | dict[str, Any]) -> str:
    """How batch reads name an item: "PK|SK", from a plain key, a (PK, SK) pair or a raw attribute map."""
    if isinstance(key, tuple):
        return f"{key[0]}|{key[1]}"
    pk, sk = key["PK"], key["SK"]
    if isinstance(pk, dict):  # a raw attribute map: {"PK": {"S": ...}, ...}
        return f"{pk['S']}|{sk['S']}"
    return f"{pk}|{sk}"


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """Full jitter: a random wait in [0, min(cap, base x 2^attempt))."""
    return min(cap, base * 2**attempt) * random.random()  # noqa: S311 - jitter, not a secret


def backoff(attempt: int, *, base: float, cap: float, sleep: Callable[[float], None] = time.sleep) -> None:
    sleep(backoff_seconds(attempt, base=base, cap=cap))


@dataclass
class Meter:
    """Counts what a job or a request costs: calls per operation, items, and consumed capacity units (DynamoDB's
    own figures, asked for with ReturnConsumedCapacity=TOTAL). Thread-safe."""

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


def parallel[T, R](work: Callable[[T], R], jobs: Sequence[T]) -> list[R]:
    """`work` over `jobs` on a thread pool (boto3 clients are thread-safe); results in job order, errors raised."""
    if len(jobs) <= 1:
        return [work(job) for job in jobs]
    from concurrent.futures import ThreadPoolExecutor  # imported by the first parallel call, not at cold start

    with ThreadPoolExecutor(max_workers=min(PARALLELISM, len(jobs))) as pool:
        return list(pool.map(work, jobs))


class Unprocessed(Exception):
    """A batch call kept keys or items unprocessed through every attempt."""


def batch_get_once(
    keys: list[dict[str, Any]],
    *,
    consistent: bool,
    attempts: int,
    base: float,
    cap: float,
    projection: tuple[str, dict[str, str]] | None = None,
    meter: Meter | None = None,
) -> list[dict[str, Any]]:
    """One BatchGetItem of at most 100 raw keys, unprocessed keys retried with jittered back-off: the raw items
    found (missing ones are absent). With a `meter`, every round trip's consumed capacity is recorded on it;
    Unprocessed when DynamoDB keeps refusing."""
    table = table_name()
    spec: dict[str, Any] = {"Keys": keys, "ConsistentRead": consistent}
    if projection is not None:
        spec.update(ProjectionExpression=projection[0], ExpressionAttributeNames=projection[1])
    request: dict[str, Any] = {table: spec}
    extra: dict[str, Any] = {"ReturnConsumedCapacity": "TOTAL"} if meter is not None else {}
    found: list[dict[str, Any]] = []
    for attempt in range(attempts):
        response = client().batch_get_item(RequestItems=request, **extra)
        items = response.get("Responses", {}).get(table, [])
        if meter is not None:
            meter.record("BatchGetItem", response, read=len(items))
        found.extend(items)
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
        backoff(attempt, base=base, cap=cap)
    raise Unprocessed("BatchGetItem kept keys unprocessed")


BATCH_GET_ATTEMPTS = 8


def batch_get_raw(keys: Iterable[dict[str, str]], *, consistent: bool = True) -> dict[str, dict[str, Any]]:
    """Reads of any number of plain keys, 100 per round trip: raw attribute maps by "PK|SK" (missing items are
    absent). 503 SERVICE_UNAVAILABLE when DynamoDB keeps refusing."""
    from tickerleague.errors import ServiceUnavailable

    unique = list({item_name(key): key for key in keys}.values())
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        chunk = [to_attribute_map(key) for key in unique[start:start + BATCH_GET_LIMIT]]
        try:
            raws = batch_get_once(chunk, consistent=consistent, attempts=BATCH_GET_ATTEMPTS, base=0.004, cap=0.2)
        except Unprocessed as error:
            raise ServiceUnavailable("The read could not be completed; try again.") from error
        found.update((item_name(raw), raw) for raw in raws)
    return found


def batch_write(items: Sequence[dict[str, Any]], meter: Meter, *, attempts: int, base: float, cap: float) -> None:
    """PutRequests of raw items, 25 a BatchWriteItem, calls in parallel, unprocessed items retried with jittered
    back-off; Unprocessed when DynamoDB keeps refusing."""
    table = table_name()
    dynamodb = client()

    def write(chunk: Sequence[dict[str, Any]]) -> None:
        requests = [{"PutRequest": {"Item": item}} for item in chunk]
        for attempt in range(attempts):
            response = dynamodb.batch_write_item(RequestItems={table: requests}, ReturnConsumedCapacity="TOTAL")
            left = (response.get("UnprocessedItems") or {}).get(table, [])
            meter.record("BatchWriteItem", response, written=len(requests) - len(left))
            if not left:
                return
            requests = left
            backoff(attempt, base=base, cap=cap)
        raise Unprocessed(f"{len(requests)} items stayed unprocessed")

    parallel(write, [items[start:start + BATCH_WRITE_LIMIT] for start in range(0, len(items), BATCH_WRITE_LIMIT)])


def query_pages(request: dict[str, Any], *, metered: bool = False) -> Iterator[dict[str, Any]]:
    """Every response of a query, page after page (the caller stops early by not asking for more)."""
    params = {"TableName": table_name(), **request}
    if metered:
        params["ReturnConsumedCapacity"] = "TOTAL"
    while True:
        response: dict[str, Any] = client().query(**params)
        yield response
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        params["ExclusiveStartKey"] = last


def query_items(request: dict[str, Any], meter: Meter) -> Iterator[dict[str, Any]]:
    """Every item of a query, page after page, each page's consumed capacity recorded on `meter`."""
    for response in query_pages(request, metered=True):
        items = response.get("Items", [])
        meter.record("Query", response, read=len(items))
        yield from items
