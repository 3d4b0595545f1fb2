"""Recorded provider answers and a controllable monotonic clock for the quote provider tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "quotes"
NOW = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 10:30 in New York, market open


def recorded(name: str) -> str:
    """The raw text of a recorded answer under tests/fixtures/quotes/."""
    return (FIXTURES / name).read_text(encoding="utf-8")


class FakeMonotonic:
    """A monotonic clock that only moves when told to (and by `step` on every read, if given)."""

    def __init__(self, start: float = 1000.0, step: float = 0.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value

    def advance(self, seconds: float) -> None:
        self.now += seconds
