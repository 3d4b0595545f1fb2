"""Token buckets as GCRA (generic cell rate algorithm): one number per bucket, its theoretical arrival time (TAT).

A bucket of `burst` tokens refilled at `per_second` is the same thing as a TAT that every admitted request pushes
`interval` later (from now, if it lies in the past), and that may run at most `capacity` (= burst x interval) ahead
of now. Keeping one number instead of (tokens, last refill) is what lets storage decide with a single conditional
write. Times are integer milliseconds; the interval is rounded UP, so rounding can only admit less, never more:
in any window of t seconds at most burst + per_second x t requests are admitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Bucket:
    name: str  # "orders", "user", "ip": part of the stored key
    burst: int
    per_second: Decimal

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError(f"bucket {self.name}: burst >= 1 and a positive rate, got {self.burst}/{self.per_second}")

    @property
    def interval_ms(self) -> int:
        """Milliseconds per token."""
        return math.ceil(Decimal(1000) / self.per_second)

    @property
    def capacity_ms(self) -> int:
        """How far ahead of now the TAT may run: the whole burst's worth of intervals."""
        return self.burst * self.interval_ms


@dataclass(frozen=True)
class Decision:
    allowed: bool
    tat_ms: int  # allowed: the new TAT to store; refused: the stored one, unchanged
    limit: int  # RateLimit-Limit: the burst
    remaining: int  # RateLimit-Remaining: requests admitted right now after this one
    reset_seconds: int  # RateLimit-Reset: whole seconds until the bucket is full again
    retry_after_seconds: int  # refused: whole seconds until one request is admitted again (0 when allowed)

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_seconds)}


def _ceil_seconds(milliseconds: int) -> int:
    return max(0, -(-milliseconds // 1000))


def decide(bucket: Bucket, stored_tat_ms: int | None, now_ms: int) -> Decision:
    """Admit one request at `now_ms` against the stored TAT (None: an unused or expired bucket, i.e. full)."""
    base = max(stored_tat_ms or 0, now_ms)
    tat = base + bucket.interval_ms
    if tat - now_ms > bucket.capacity_ms:
        return Decision(
            allowed=False, tat_ms=base, limit=bucket.burst, remaining=0, reset_seconds=_ceil_seconds(base - now_ms),
            retry_after_seconds=max(1, _ceil_seconds(tat - bucket.capacity_ms - now_ms)),
        )
    return admitted(bucket, tat, now_ms)


def admitted(bucket: Bucket, tat_ms: int, now_ms: int) -> Decision:
    """The answer for a request that storage admitted, leaving the TAT at `tat_ms`."""
    remaining = max(0, (now_ms + bucket.capacity_ms - tat_ms) // bucket.interval_ms)
    return Decision(allowed=True, tat_ms=tat_ms, limit=bucket.burst, remaining=remaining,
                    reset_seconds=_ceil_seconds(tat_ms - now_ms), retry_after_seconds=0)


def highest_admissible_tat(bucket: Bucket, now_ms: int) -> int:
    """A stored TAT up to this value still admits a request at `now_ms` (the storage condition)."""
    return now_ms + bucket.capacity_ms - bucket.interval_ms
