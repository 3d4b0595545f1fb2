"""Per-caller rate limits, applied once for every route by `Api` (see the contract's Rate limits table).

Which bucket: placing or cancelling an order, per user; every other route with a caller, per user; a route without
one (public, or optional auth without a token), per source IP. `/v1/health` and `/v1/webhooks/*` are not limited.
A limited route's every answer carries RateLimit-Limit / -Remaining / -Reset; a refusal is 429 RATE_LIMITED with
Retry-After. A storage failure admits the request (logged): the stage throttling of API Gateway still guards.

Placing an order is the exception: its limit is kept in the order's own transaction (GCRA on the entry item, per
entry: `services.orders`), which answers with `use_headers` or raises RateLimited itself, so the hot path costs no
call of its own. A placement that never reaches that decision (a body or rule refusal, a repeated clientOrderId, an
Idempotency-Key replay) takes its token from the per-user `orders` bucket here instead, after the fact: a bot sending
bad orders is limited all the same (an answer over the limit becomes the 429).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from tickerleague import metrics
from tickerleague.config import settings
from tickerleague.domain.principal import Principal
from tickerleague.domain.rate_limit import Bucket, Decision
from tickerleague.errors import DomainError, RateLimited
from tickerleague.http.logs import logger

ORDER_ROUTES = frozenset({
    ("POST", "/v1/contests/{contestId}/orders"),
    ("DELETE", "/v1/contests/{contestId}/orders/{orderId}"),
})
PLACE_ORDER_ROUTE = ("POST", "/v1/contests/{contestId}/orders")  # limited inside the order's transaction
RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
# This request's RateLimit headers, for every answer of a limited route (errors included): set by `limited` or
# `use_headers`, added by `Api._finish`. Per thread and per request, like the log keys.
limit_headers: ContextVar[dict[str, str]] = ContextVar("limit_headers", default={})  # noqa: B039 - never mutated
# Whether this request's limit was decided elsewhere (the order's transaction): then `limited` takes no token.
_decided: ContextVar[bool] = ContextVar("limit_decided", default=False)


def use_headers(headers: dict[str, str]) -> None:
    """The limit of this request was decided elsewhere (the order's transaction): answer with its headers."""
    limit_headers.set(dict(headers))
    _decided.set(True)


def is_limited(path: str) -> bool:
    return path != "/v1/health" and not path.startswith("/v1/webhooks/")


@lru_cache(maxsize=8)
def _buckets(orders: tuple[int, str], user: tuple[int, str], ip: tuple[int, str]) -> dict[str, Bucket]:
    from decimal import Decimal

    return {name: Bucket(name, burst, Decimal(rate))
            for name, (burst, rate) in {"orders": orders, "user": user, "ip": ip}.items()}


def buckets() -> dict[str, Bucket]:
    config = settings()
    return _buckets((config.rate_limit_orders_burst, str(config.rate_limit_orders_per_second)),
                    (config.rate_limit_user_burst, str(config.rate_limit_user_per_second)),
                    (config.rate_limit_ip_burst, str(config.rate_limit_ip_per_second)))


def bucket_for(method: str, path: str, principal: Principal | None, source_ip: str) -> tuple[Bucket, str] | None:
    """The bucket and subject of this request, or None when the route is not limited."""
    if not settings().rate_limit_enabled or not is_limited(path):
        return None
    every = buckets()
    if principal is None:
        return every["ip"], source_ip
    if (method, path) in ORDER_ROUTES:
        return every["orders"], principal.user_id
    return every["user"], principal.user_id


@contextmanager
def limited(method: str, path: str, principal: Principal | None, source_ip: str) -> Iterator[None]:
    """Around the rest of a request: take its token first (RateLimited when refused) and answer with the headers;
    for a placement, only when the order's transaction did not decide its limit (see the module's docstring)."""
    _decided.set(False)
    if (method, path) != PLACE_ORDER_ROUTE or principal is None:
        limit_headers.set(check(method, path, principal, source_ip))
        yield
        return
    limit_headers.set({})
    try:
        yield
    except RateLimited:
        raise
    except DomainError:
        if not _decided.get():
            limit_headers.set(check(method, path, principal, source_ip))
        raise
    if not _decided.get():
        limit_headers.set(check(method, path, principal, source_ip))


def check(method: str, path: str, principal: Principal | None, source_ip: str) -> dict[str, str]:
    """Take one token for this request: the RateLimit headers to answer with, or RateLimited (429) carrying them."""
    chosen = bucket_for(method, path, principal, source_ip)
    if chosen is None:
        return {}
    bucket, subject = chosen
    from botocore.exceptions import BotoCoreError, ClientError

    from tickerleague.services.retry_safety import rate_limit_buckets

    buckets_table = rate_limit_buckets()

    try:
        decision: Decision = buckets_table.take(bucket, subject, int(time.time() * 1000))
    except (BotoCoreError, ClientError):
        logger.warning("rate limit unavailable; request admitted", extra={"bucket": bucket.name}, exc_info=True)
        return {}
    headers = decision.headers()
    if not decision.allowed:
        metrics.count("RateLimitRefusals", bucket=bucket.name)
        refused = RateLimited(decision.retry_after_seconds)
        refused.headers.update(headers)
        raise refused
    return headers
