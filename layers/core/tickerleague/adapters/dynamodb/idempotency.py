"""Idempotency-Key records: PK IDEMPOTENCY#<scope>#<sha256(key)>, SK IDEMPOTENCY.

  status          "in_progress" | "completed"
  requestHash     sha256 of method, path and canonical body: another request under the same key is refused
  token           the claiming request's own id: only it may complete or release the record
  inFlightUntil   epoch seconds after which an in_progress record is abandoned (its request died) and may be reclaimed
  statusCode      the stored answer's status (completed only)
  sealedAnswer    its body and headers, encrypted (AES-256-GCM) with a key derived (HKDF-SHA256) from the caller's
                  own Idempotency-Key, which the table never holds (PK has its hash): answers carry access and
                  refresh tokens (signup, login, refresh) and PaymentIntent client secrets (paid join), and a table
                  export, backup or console read must not hand them out. Only the caller presenting the key again
                  can open it, and that caller gets the answer replayed anyway.
  expiresAt       the table's TTL attribute; also checked on claim, since TTL deletion lags by up to days

A claim is one conditional PutItem: a fresh claim costs that one write, a replay or a refusal costs that one round
trip as well, because the failed condition returns the stored record (ReturnValuesOnConditionCheckFailure).
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from tickerleague.adapters.dynamodb.plumbing import client, from_attribute_map, to_attribute_map
from tickerleague.config import settings
from tickerleague.domain.idempotency import key_digest

IN_PROGRESS, COMPLETED = "in_progress", "completed"
SEAL_INFO = b"tickerleague idempotency answer v1"
NONCE_BYTES = 12


def record_key(scope: str, idempotency_key: str) -> dict[str, str]:
    return {"PK": f"IDEMPOTENCY#{scope}#{key_digest(idempotency_key)}", "SK": "IDEMPOTENCY"}


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


def _sealing_key(scope: str, idempotency_key: str) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=SHA256(), length=32, salt=scope.encode("utf-8"), info=SEAL_INFO)
    return AESGCM(derived.derive(idempotency_key.encode("ascii")))


def seal(scope: str, idempotency_key: str, answer: StoredAnswer) -> bytes:
    """The answer's body and headers encrypted under the key; the record's PK is authenticated with them."""
    plain = json.dumps({"body": answer.body, "headers": answer.headers}, sort_keys=True).encode("utf-8")
    nonce = os.urandom(NONCE_BYTES)
    bound_to = record_key(scope, idempotency_key)["PK"].encode("utf-8")
    return nonce + bytes(_sealing_key(scope, idempotency_key).encrypt(nonce, plain, bound_to))


def unseal(scope: str, idempotency_key: str, status_code: int, sealed: bytes) -> StoredAnswer:
    bound_to = record_key(scope, idempotency_key)["PK"].encode("utf-8")
    plain = _sealing_key(scope, idempotency_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to)
    opened = json.loads(plain)
    return StoredAnswer(status_code, str(opened["body"]), dict(opened["headers"]))


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
            answer = _stored_answer(scope, idempotency_key, stored)
        return Existing(str(stored.get("requestHash")), str(stored.get("status")), answer)
    return None


def _stored_answer(scope: str, idempotency_key: str, stored: dict[str, Any]) -> StoredAnswer:
    sealed = stored.get("sealedAnswer")
    if sealed is not None:
        return unseal(scope, idempotency_key, int(stored["statusCode"]), bytes(getattr(sealed, "value", sealed)))
    # Written before answers were sealed (kept at most IDEMPOTENCY_TTL_SECONDS): body and headers in the clear.
    return StoredAnswer(int(stored["statusCode"]), str(stored.get("body") or ""),
                        json.loads(str(stored.get("headers") or "{}")))


def complete(scope: str, idempotency_key: str, *, token: str, answer: StoredAnswer) -> None:
    """Store the answer on this request's own claim (a claim taken over after it was abandoned is left alone)."""
    dynamodb = client()
    with suppress(dynamodb.exceptions.ConditionalCheckFailedException):  # the claim was taken over: leave it
        dynamodb.update_item(
            TableName=settings().table_name, Key=to_attribute_map(record_key(scope, idempotency_key)),
            UpdateExpression="SET #status = :completed, statusCode = :code, sealedAnswer = :sealed"
                             " REMOVE inFlightUntil, #token",
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#status": "status", "#token": "token"},
            ExpressionAttributeValues=to_attribute_map({
                ":completed": COMPLETED, ":code": answer.status_code,
                ":sealed": seal(scope, idempotency_key, answer), ":token": token,
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
