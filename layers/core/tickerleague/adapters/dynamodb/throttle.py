"""Fixed-window failure counters for login throttling: PK THROTTLE#<scope>#<subject>, SK WINDOW#<window start>."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute

from tickerleague.adapters.dynamodb.base import BaseItem, bind_table


class ThrottleCounter(BaseItem):
    failures = NumberAttribute(default=0)

    @staticmethod
    def key(scope: str, subject: str, window_start: int) -> tuple[str, str]:
        return f"THROTTLE#{scope}#{subject}", f"WINDOW#{window_start}"


def failures_in_window(scope: str, subject: str, window_start: int) -> int:
    bind_table()
    try:
        item = ThrottleCounter.get(*ThrottleCounter.key(scope, subject, window_start), consistent_read=True)
    except ThrottleCounter.DoesNotExist:
        return 0
    return int(item.failures)


def record_failure(scope: str, subject: str, window_start: int, expires_at: int) -> int:
    """Atomically add one failure to the window; returns the new count."""
    bind_table()
    item = ThrottleCounter(*ThrottleCounter.key(scope, subject, window_start))
    item.update(actions=[ThrottleCounter.failures.add(1), ThrottleCounter.expiresAt.set(expires_at)])
    return int(item.failures)
