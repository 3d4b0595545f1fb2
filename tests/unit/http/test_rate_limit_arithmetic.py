"""The GCRA bucket arithmetic (domain/rate_limit.py), property-based: whatever the arrival times, no window of t
seconds ever admits more than burst + rate x t requests, and a caller at or under the rate is never refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickerleague.domain.rate_limit import Bucket, admitted, decide

buckets = st.builds(
    Bucket, name=st.just("b"), burst=st.integers(min_value=1, max_value=40),
    per_second=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("50"), places=2),
)
gaps = st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=300)


def _run(bucket: Bucket, arrivals: list[int]) -> list[int]:
    """Feed arrival times (ms) through the bucket; the times that were admitted."""
    tat: int | None = None
    admitted_at = []
    for now in arrivals:
        decision = decide(bucket, tat, now)
        if decision.allowed:
            tat = decision.tat_ms
            admitted_at.append(now)
        else:
            assert decision.tat_ms == max(tat or 0, now) and decision.retry_after_seconds >= 1
    return admitted_at


def _arrivals(start: int, deltas: list[int]) -> list[int]:
    times, now = [], start
    for delta in deltas:
        now += delta
        times.append(now)
    return times


@settings(max_examples=300, deadline=None)
@given(bucket=buckets, start=st.integers(min_value=0, max_value=10**13), deltas=gaps)
def test_no_window_admits_more_than_burst_plus_rate_times_its_length(bucket: Bucket, start: int,
                                                                     deltas: list[int]) -> None:
    admitted_at = _run(bucket, _arrivals(start, deltas))
    for first in range(len(admitted_at)):
        for last in range(first, len(admitted_at)):
            seconds = Decimal(admitted_at[last] - admitted_at[first]) / 1000
            assert last - first + 1 <= bucket.burst + bucket.per_second * seconds


@settings(max_examples=200, deadline=None)
@given(bucket=buckets, start=st.integers(min_value=0, max_value=10**13))
def test_a_full_bucket_admits_its_whole_burst_at_once_and_then_refuses(bucket: Bucket, start: int) -> None:
    admitted_at = _run(bucket, [start] * (bucket.burst + 5))
    assert len(admitted_at) == bucket.burst


@settings(max_examples=200, deadline=None)
@given(bucket=buckets, start=st.integers(min_value=0, max_value=10**13),
       count=st.integers(min_value=1, max_value=200))
def test_a_caller_at_the_rate_is_never_refused(bucket: Bucket, start: int, count: int) -> None:
    arrivals = [start + index * bucket.interval_ms for index in range(count)]
    assert len(_run(bucket, arrivals)) == count


@settings(max_examples=200, deadline=None)
@given(bucket=buckets, start=st.integers(min_value=0, max_value=10**13), deltas=gaps)
def test_retry_after_is_when_the_next_request_is_admitted(bucket: Bucket, start: int, deltas: list[int]) -> None:
    tat: int | None = None
    for now in _arrivals(start, deltas):
        decision = decide(bucket, tat, now)
        if decision.allowed:
            tat = decision.tat_ms
            continue
        later = now + decision.retry_after_seconds * 1000
        assert decide(bucket, tat, later).allowed
        assert not decide(bucket, tat, later - 1000).allowed


def test_the_headers_count_down_and_reset_when_full() -> None:
    bucket = Bucket("orders", 30, Decimal(1))
    first = decide(bucket, None, 1_000_000)
    assert first.headers() == {"RateLimit-Limit": "30", "RateLimit-Remaining": "29", "RateLimit-Reset": "1"}
    tat = first.tat_ms
    for _ in range(29):
        last = decide(bucket, tat, 1_000_000)
        tat = last.tat_ms
    assert last.allowed and last.remaining == 0 and last.reset_seconds == 30
    refused = decide(bucket, tat, 1_000_000)
    assert not refused.allowed and refused.retry_after_seconds == 1 and refused.remaining == 0
    assert admitted(bucket, tat, 1_000_500).remaining == 0


def test_a_fractional_rate_rounds_the_interval_up() -> None:
    assert Bucket("b", 1, Decimal(3)).interval_ms == 334
    with pytest.raises(ValueError):
        Bucket("b", 0, Decimal(1))
