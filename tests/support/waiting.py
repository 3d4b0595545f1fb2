"""Polling for something that happens on another thread or process (the one polling loop of the test suite)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for[T](probe: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05, *,
                what: str = "the condition") -> T:
    """Poll until `probe()` is truthy and return its value; fail after `timeout` seconds (nothing asserts durations:
    a busy machine only makes the wait longer)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_till[T](what: str, probe: Callable[[], T | None], seconds: float, every: float = 1.0) -> T:
    """`wait_for` as the end-to-end tests read: what is awaited first, polled every second by default."""
    return wait_for(probe, seconds, every, what=what)
