"""Idempotency-Key records: PK IDEMPOTENCY#<scope>#<sha256(key)>, SK IDEMPOTENCY.

  status          "in_progress" | "completed"
  requestHash     sha256 of method, path and canonical body: another request under the same key is refused
  token           the claiming request's own id: only it may complete or release the record
  inFlightUntil   epoch seconds after which an in_progress record is abandoned (its request died) and may be reclaimed
  statusCode, body, headers   the stored answer (completed only)
  expiresAt       the table's TTL attribute; also checked on claim, since TTL deletion lags by up to days

A claim is one conditional PutItem: a fresh claim costs that one write, a replay or a refusal costs that one round
trip as well, because the failed condition returns the stored record (ReturnValuesOnConditionCheckFailure).
"""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from dataclasses import dataclass

from tickerleague.adapters.dynamodb.entries import client, from_attribute_map, to_attribute_map
from tickerleague.config import settings

IN_PROGRESS, COMPLETED = "in_progress", "completed"


def record_key(scope: str, idempotency_key: str) -> dict[str, str]:
    digest = hashlib.sha256(idempotency_key.encode("ascii")).hexdigest()
    return {"PK": f"IDEMPOTENCY#{scope}#{digest}", "SK": "IDEMPOTENCY"}


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Existing:
    """The record found when a claim failed."""

    request_hash: str
    status: str
    answer: StoredAnswer | None


def claim(scope: str, idempotency_key: str, *, request_hash: str, token: str, now: int) -> Existing | None:
    """Claim the key for this request (None), or the live record that holds it."""
    config = settings()
    item = {**record_key(scope, idempotency_key), "type": "idempotency", "status": IN_PROGRESS,
            "requestHash": request_hash, "token": token, "inFlightUntil": now + config.idempotency_in_flight_seconds,
            "expiresAt": now + config.idempotency_ttl_seconds}
    dynamodb = client()
    try:
        dynamodb.put_item(
            TableName=config.table_name, Item=to_attribute_map(item),
            ConditionExpression=("attribute_not_exists(PK) OR expiresAt <= :now"
                                 " OR (#status = :in_progress AND inFlightUntil <= :now)"),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attribute_map({":now": now, ":in_progress": IN_PROGRESS}),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException as failed:
        stored = from_attribute_map(failed.response.get("Item") or {})
        if not stored:  # cannot happen (a failed condition means a record exists); claim again to be sure
            return claim(scope, idempotency_key, request_hash=request_hash, token=token, now=now)
        answer = None
        if stored.get("status") == COMPLETED:
            answer = StoredAnswer(int(stored["statusCode"]), str(stored.get("body") or ""),
                                  json.loads(str(stored.get("headers") or "{}")))
        return Existing(str(stored.get("requestHash")), str(stored.get("status")), answer)
    return None


def complete(scope: str, idempotency_key: str, *, token: str, answer: StoredAnswer) -> None:
    """Store the answer on this request's own claim (a claim taken over after it was abandoned is left alone)."""
    dynamodb = client()
    with suppress(dynamodb.exceptions.ConditionalCheckFailedException):  # the claim was taken over: leave it
        dynamodb.update_item(
            TableName=settings().table_name, Key=to_attribute_map(record_key(scope, idempotency_key)),
            UpdateExpression="SET #status = :completed, statusCode = :code, body = :body, headers = :headers"
                             " REMOVE inFlightUntil, #token",
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#status": "status", "#token": "token"},
            ExpressionAttributeValues=to_attribute_map({
                ":completed": COMPLETED, ":code": answer.status_code, ":body": answer.body,
                ":headers": json.dumps(answer.headers, sort_keys=True), ":token": token,
            }),
        )


def release(scope: str, idempotency_key: str, *, token: str) -> None:
    """Drop this request's claim (its answer was a 5xx or it failed): a retry runs again."""
    dynamodb = client()
    with suppress(dynamodb.exceptions.ConditionalCheckFailedException):  # the claim was taken over: leave it
        dynamodb.delete_item(
            TableName=settings().table_name, Key=to_attribute_map(record_key(scope, idempotency_key)),
            ConditionExpression="#token = :token", ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues=to_attribute_map({":token": token}),
        )
