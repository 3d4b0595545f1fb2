"""Sliding-window throttling of failed sign-ins, as pure integer arithmetic. No I/O.

Failures are counted in fixed windows of `length` seconds (one counter per window), and a check weighs the previous
window by the part of it that still falls in the last `length` seconds:

    estimate = current + previous x (length - elapsed) / length

where `elapsed` is the time since the current window began. Refused while `estimate >= limit`. With plain fixed
windows, a burst just before a window edge is forgotten at the edge and a second full allowance follows at once;
here those failures still count after it, so further attempts are paced as the estimate decays (5 failures in 15
minutes: after a burst at the edge, one more attempt at once, then one about every 3 minutes). The estimate assumes
the previous window's failures were spread evenly, so it is not an exact count of the last `length` seconds. A
refused attempt records nothing, so the estimate only falls while refused, and `retry_after` is exact: the first
whole second at which the estimate is below the limit again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FailureCounts:
    previous: int  # failures in the window before the current one
    current: int  # failures in the current window so far


def window_start(at_seconds: int, length: int) -> int:
    """The start of the fixed window holding `at_seconds` (Unix seconds)."""
    return at_seconds // length * length


def is_throttled(counts: FailureCounts, elapsed: int, length: int, limit: int) -> bool:
    """estimate >= limit, multiplied through by `length` to stay in integers."""
    return counts.current * length + counts.previous * (length - elapsed) >= limit * length


def retry_after(counts: FailureCounts, elapsed: int, length: int, limit: int) -> int:
    """Seconds until an attempt is no longer refused (0 when it is not refused now)."""
    if not is_throttled(counts, elapsed, length, limit):
        return 0
    if counts.current >= limit:
        # Only in the next window, once current x (length - e) < limit x length, that is length - e at most
        # (limit x length - 1) // current.
        next_window_elapsed = length - (limit * length - 1) // counts.current
        return (length - elapsed) + next_window_elapsed
    # In this window, once previous x (length - e) < (limit - current) x length.
    remaining_at_most = ((limit - counts.current) * length - 1) // counts.previous
    return length - remaining_at_most - elapsed
