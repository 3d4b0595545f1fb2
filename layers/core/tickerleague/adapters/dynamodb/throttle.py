"""Failure counters for login throttling, one per fixed window: PK THROTTLE#<scope>#<subject>, SK WINDOW#<start>.

The sliding-window arithmetic over two consecutive windows is `tickerleague.domain.throttle`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.attributes import NumberAttribute

from tickerleague.adapters.dynamodb.base import BaseItem, bind_table
from tickerleague.domain.throttle import FailureCounts

Subject = tuple[str, str]  # (scope, subject): ("email", "ada@example.com"), ("ip", "198.51.100.7")


class ThrottleCounter(BaseItem):
    failures = NumberAttribute(default=0)

    @staticmethod
    def key(scope: str, subject: str, window_start: int) -> tuple[str, str]:
        return f"THROTTLE#{scope}#{subject}", f"WINDOW#{window_start}"


def failure_counts(subjects: Sequence[Subject], window_start: int, length: int) -> dict[Subject, FailureCounts]:
    """Each subject's failures in the window starting at `window_start` and the one before: one consistent
    BatchGetItem for all of them."""
    bind_table()
    keys = [ThrottleCounter.key(scope, subject, start)
            for scope, subject in subjects for start in (window_start - length, window_start)]
    found = {(item.PK, item.SK): int(item.failures)
             for item in ThrottleCounter.batch_get(keys, consistent_read=True)}
    return {
        (scope, subject): FailureCounts(
            previous=found.get(ThrottleCounter.key(scope, subject, window_start - length), 0),
            current=found.get(ThrottleCounter.key(scope, subject, window_start), 0),
        )
        for scope, subject in subjects
    }


def record_failure(scope: str, subject: str, window_start: int, expires_at: int) -> int:
    """Atomically add one failure to the window; returns the new count."""
    bind_table()
    item = ThrottleCounter(*ThrottleCounter.key(scope, subject, window_start))
    item.update(actions=[ThrottleCounter.failures.add(1), ThrottleCounter.expiresAt.set(expires_at)])
    return int(item.failures)
