"""DynamoDB plumbing shared by every adapter that talks to the low-level client: the client, (de)serialising
attribute maps, how an item is named ("PK|SK"), jittered back-off, BatchGetItem with unprocessed keys retried, and
the page-after-page query loop.

Each adapter keeps its own constants (how long it may wait, how many attempts): they differ on purpose, the API's
reads must give up sooner than a job's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

from tickerleague.config import settings

BATCH_GET_LIMIT = 100  # DynamoDB's maximum keys per BatchGetItem


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


class Unprocessed(Exception):
    """BatchGetItem kept keys unprocessed through every attempt."""


def batch_get_once(
    keys: list[dict[str, Any]],
    *,
    consistent: bool,
    attempts: int,
    base: float,
    cap: float,
    projection: tuple[str, dict[str, str]] | None = None,
    on_response: Callable[[dict[str, Any], int], None] | None = None,
) -> list[dict[str, Any]]:
    """One BatchGetItem of at most 100 raw keys, unprocessed keys retried with jittered back-off: the raw items
    found (missing ones are absent). `on_response(response, items)` sees every round trip (metering);
    Unprocessed when DynamoDB keeps refusing."""
    table = table_name()
    spec: dict[str, Any] = {"Keys": keys, "ConsistentRead": consistent}
    if projection is not None:
        spec.update(ProjectionExpression=projection[0], ExpressionAttributeNames=projection[1])
    request: dict[str, Any] = {table: spec}
    extra: dict[str, Any] = {"ReturnConsumedCapacity": "TOTAL"} if on_response is not None else {}
    found: list[dict[str, Any]] = []
    for attempt in range(attempts):
        response = client().batch_get_item(RequestItems=request, **extra)
        items = response.get("Responses", {}).get(table, [])
        if on_response is not None:
            on_response(response, len(items))
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
