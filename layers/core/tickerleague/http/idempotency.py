"""The Idempotency-Key header on every POST, PATCH and DELETE but webhooks, applied once for every route by `Api`.

The key is scoped to the caller (user id; source IP where there is no caller) and kept IDEMPOTENCY_TTL_SECONDS
(24 h). The first request claims it (one conditional write) and stores its answer when done (one more); the same key
with the same request answers the stored status, body and headers again with `Idempotent-Replayed: true`; with
another request (method, path or canonical body) 422 IDEMPOTENCY_KEY_REUSED; while the first is still running 409
IDEMPOTENCY_KEY_IN_USE. A 5xx (or a crash) is not stored: the claim is dropped, so a retry runs again. Answers that
never reach the endpoint (400/415/422 on the body, 401/403, 429) are decided before the claim and never stored; nor
is the order route's 429, decided inside the endpoint (`finish_error` releases the claim).
Why not Powertools' idempotency utility: docs/technical-specification.md, "Retry and abuse safety".
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tickerleague.domain.principal import Principal
from tickerleague.errors import DomainError, IdempotencyKeyInUse, IdempotencyKeyReused, RateLimited, ValidationFailed
from tickerleague.http.logs import logger

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str
    token: str


@dataclass(frozen=True)
class Replay:
    status: int
    body: str
    headers: dict[str, str]


def applies(method: str, path: str) -> bool:
    return method in METHODS and not path.startswith("/v1/webhooks/")


def _valid_key(headers: dict[str, str]) -> str | None:
    if HEADER.lower() not in headers:
        return None
    key = headers[HEADER.lower()]
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in key):
        raise ValidationFailed({HEADER: f"1 to {MAX_KEY_LENGTH} printable ASCII characters."})
    return key


def canonical_body(body: Any) -> str:
    """The parsed JSON body with sorted keys and no spacing: the same request in another spelling hashes alike."""
    if body is None:
        return ""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(method: str, route: str, path_params: dict[str, str], body: Any) -> str:
    text = "\n".join((method, route, json.dumps(path_params, sort_keys=True), canonical_body(body)))
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def scope_of(principal: Principal | None, source_ip: str) -> str:
    return f"user#{principal.user_id}" if principal is not None else f"ip#{source_ip}"


def begin(*, method: str, route: str, path_params: dict[str, str], headers: dict[str, str], body: Any,
          principal: Principal | None, source_ip: str) -> Claim | Replay | None:
    """Claim this request's key (a Claim to finish later), the stored answer to replay, or None (no key here).
    Raises VALIDATION_FAILED, IDEMPOTENCY_KEY_REUSED or IDEMPOTENCY_KEY_IN_USE."""
    if not applies(method, route):
        return None
    key = _valid_key(headers)
    if key is None:
        return None
    from tickerleague.services.retry_safety import idempotency_records

    records = idempotency_records()

    scope = scope_of(principal, source_ip)
    fingerprint = request_hash(method, route, path_params, body)
    token = uuid.uuid4().hex
    existing = records.claim(scope, key, request_hash=fingerprint, token=token, now=int(time.time()))
    if existing is None:
        return Claim(scope, key, token)
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused(details={"header": HEADER})
    if existing.answer is None:
        raise IdempotencyKeyInUse(headers={"Retry-After": "1"})
    return Replay(existing.answer.status_code, existing.answer.body,
                  {**existing.answer.headers, REPLAYED_HEADER: "true"})


def finish(claim: Claim, status: int, body: str, headers: dict[str, str]) -> None:
    """Store the answer, or drop the claim when it is a 5xx. The effect has happened by now: a failure to
    store is logged, not answered as a 5xx (the claim then stays in flight, 409, for IDEMPOTENCY_IN_FLIGHT_SECONDS)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from tickerleague.services.retry_safety import idempotency_records

    records = idempotency_records()

    try:
        if status >= 500:
            records.release(claim.scope, claim.key, token=claim.token)
            return
        records.complete(claim.scope, claim.key, token=claim.token,
                         answer=records.StoredAnswer(status, body, dict(headers)))
    except (BotoCoreError, ClientError):
        logger.warning("idempotency answer not stored", exc_info=True)


def finish_error(claim: Claim, error: DomainError, request_id: str) -> None:
    """Store a refusal's answer like any other; but a 429 RATE_LIMITED (the order route's limit is decided inside the
    endpoint, in the order's transaction) releases the claim instead, so the retry, once admitted, runs."""
    from tickerleague.http.envelope import error_response

    if isinstance(error, RateLimited):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            abandon(claim)
        except (BotoCoreError, ClientError):
            logger.warning("idempotency claim not released", exc_info=True)
        return

    status, headers, body = error_response(error, request_id)
    finish(claim, status, body, headers)


def abandon(claim: Claim) -> None:
    from tickerleague.services.retry_safety import idempotency_records

    records = idempotency_records()

    records.release(claim.scope, claim.key, token=claim.token)
