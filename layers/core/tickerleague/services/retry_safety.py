"""The stores behind the Idempotency-Key and rate-limit middleware of http/.

http/ never imports adapters/ (tests/contract/test_import_direction.py); the middleware asks these functions for its
stores instead. Each is imported at first use, so routes that never see an Idempotency-Key pay nothing at cold start.
"""

from __future__ import annotations

from types import ModuleType


def idempotency_records() -> ModuleType:
    """Idempotency-Key records: claim, complete, release, StoredAnswer (adapters/dynamodb/idempotency.py)."""
    from tickerleague.adapters.dynamodb import idempotency

    return idempotency


def rate_limit_buckets() -> ModuleType:
    """Token buckets: take(bucket, subject, now_ms) -> Decision (adapters/dynamodb/rate_limit.py)."""
    from tickerleague.adapters.dynamodb import rate_limit

    return rate_limit
