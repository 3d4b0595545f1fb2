"""Writes done once per (caller, Idempotency-Key), even when the first answer was lost.

The http layer's Idempotency-Key record (http/idempotency.py) replays a stored answer; but an answer can be lost
after its write committed (a Lambda timeout or crash, or the record's completion write failing), and the retry then
runs again. So the creating writes themselves are keyed too: a marker item written in the same transaction as the
thing it creates, conditioned on not existing yet, named by the caller and a hash of the key (the table never holds
the key itself), kept as long as the key is (IDEMPOTENCY_TTL_SECONDS) and carrying a fingerprint of the request, so a
retry finds what the first request made and another request under the same key is refused. Orders reuse the
clientOrderId marker (domain/client_orders.py); a contest's create has its own (adapters/dynamodb/contests.py).
"""

from __future__ import annotations

import hashlib


def key_digest(idempotency_key: str) -> str:
    """The hash that names a key in the table (the key is printable ASCII: http/idempotency.py checks it)."""
    return hashlib.sha256(idempotency_key.encode("ascii")).hexdigest()


def is_live(expires_at: int | None, now_epoch: int) -> bool:
    """A keyed marker counts until it expires (TTL deletion lags by up to days, so readers check it too);
    a marker without an expiry (a clientOrderId's) counts forever."""
    return expires_at is None or expires_at > now_epoch
