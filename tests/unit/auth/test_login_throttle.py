"""Sliding-window login throttling: the pure arithmetic (exact Retry-After) and the service across a window edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickerleague.domain.throttle import FailureCounts, is_throttled, retry_after, window_start
from tickerleague.errors import InvalidCredentials, TooManyAttempts
from tickerleague.services import auth
from tickerleague.services.audit import RequestOrigin

LENGTH = 900


def _throttled_later(counts: FailureCounts, elapsed: int, limit: int, seconds: int) -> bool:
    """Whether an attempt `seconds` from now is refused, with no failure recorded meanwhile."""
    at = elapsed + seconds
    if at < LENGTH:
        return is_throttled(counts, at, LENGTH, limit)
    return is_throttled(FailureCounts(previous=counts.current, current=0), at - LENGTH, LENGTH, limit)


@settings(max_examples=500, deadline=None)
@given(previous=st.integers(0, 200), current=st.integers(0, 200), elapsed=st.integers(0, LENGTH - 1),
       limit=st.integers(1, 60))
def test_retry_after_is_the_first_second_an_attempt_is_let_through(
    previous: int, current: int, elapsed: int, limit: int
) -> None:
    counts = FailureCounts(previous=previous, current=current)
    wait = retry_after(counts, elapsed, LENGTH, limit)
    if wait == 0:
        assert not _throttled_later(counts, elapsed, limit, 0)
    else:
        assert _throttled_later(counts, elapsed, limit, wait - 1) and not _throttled_later(counts, elapsed, limit, wait)


def test_the_previous_window_weighs_by_the_part_still_in_the_last_length_seconds() -> None:
    five_before = FailureCounts(previous=5, current=0)
    assert is_throttled(five_before, 0, LENGTH, 5)  # all of the previous window is in the last 900 s
    assert not is_throttled(five_before, 1, LENGTH, 5)  # 5 x 899/900 < 5
    assert is_throttled(FailureCounts(previous=10, current=0), 450, LENGTH, 5)  # 10 x 1/2 = 5
    assert not is_throttled(FailureCounts(previous=10, current=0), 451, LENGTH, 5)
    assert window_start(1_800_000_123, LENGTH) == 1_800_000_000


@pytest.fixture(autouse=True)
def _table(moto_table: str) -> None:
    pass


def _login_at(now: datetime, password: str = "wrong password!") -> None:
    auth.login("edge@example.com", password, "198.51.100.20", RequestOrigin(source_ip="198.51.100.20"), now)


def test_failures_just_before_a_window_edge_still_count_after_it() -> None:
    # A fixed window would forget all five at the edge and let five more guesses through at once; the sliding
    # estimate lets one through, then holds the next for minutes.
    edge = datetime.fromtimestamp(window_start(1_800_000_000, LENGTH) + LENGTH, UTC)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            _login_at(edge - timedelta(seconds=2))
    with pytest.raises(TooManyAttempts) as at_the_edge:
        _login_at(edge)
    assert at_the_edge.value.headers["Retry-After"] == "1"
    with pytest.raises(InvalidCredentials):
        _login_at(edge + timedelta(seconds=1))
    with pytest.raises(TooManyAttempts) as after_one_more:
        _login_at(edge + timedelta(seconds=2))
    # 1 + 5 x (900 - e) / 900 < 5 once e > 180
    assert after_one_more.value.headers["Retry-After"] == str(181 - 2)
    with pytest.raises(InvalidCredentials):
        _login_at(edge + timedelta(seconds=181), password="wrong again!!")
