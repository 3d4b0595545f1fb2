"""Polling for something that happens on another thread or process (the one `wait_for` of the test suite)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for[T](probe: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll until `probe()` is truthy and return its value; fail after `timeout` seconds (nothing asserts durations:
    a busy machine only makes the wait longer)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
