"""AWS schedule expressions: cron (6 fields, UTC), rate, at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.local.cron import ScheduleExpressionError, parse_at, parse_cron, parse_rate


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(30 6 * * ? *)", "2025-03-01T06:29:59", "2025-03-01T06:30:00"),
        ("cron(30 6 * * ? *)", "2025-03-01T06:30:00", "2025-03-02T06:30:00"),
        ("cron(0/15 * * * ? *)", "2025-03-01T10:16:00", "2025-03-01T10:30:00"),
        ("cron(*/20 9-10 * * ? *)", "2025-03-01T10:41:00", "2025-03-02T09:00:00"),
        ("cron(0 12 ? * MON-FRI *)", "2025-03-01T00:00:00", "2025-03-03T12:00:00"),  # Sat -> Mon
        ("cron(0 12 ? * 1 *)", "2025-03-01T00:00:00", "2025-03-02T12:00:00"),  # 1 = Sunday
        ("cron(0 0 1 JAN,JUL ? *)", "2025-03-01T00:00:00", "2025-07-01T00:00:00"),
        ("cron(0 0 29 2 ? *)", "2025-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("cron(5 4 31 * ? 2025-2026)", "2025-12-31T05:00:00", "2026-01-31T04:05:00"),
        ("cron(0,30 8 1-3 * ? *)", "2025-03-02T08:10:00", "2025-03-02T08:30:00"),
    ],
)
def test_next_fire_times(expression: str, after: str, expected: str) -> None:
    assert parse_cron(expression).next_after(at(after)) == at(expected)


def test_no_fire_time_after_the_last_year() -> None:
    assert parse_cron("cron(0 0 1 1 ? 2020)").next_after(at("2025-01-01T00:00:00")) is None


def test_next_after_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_cron("cron(0 0 * * ? *)").next_after(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 0 * * *)", "6 fields"),
        ("cron(* * * * * *)", "exactly one"),
        ("cron(0 0 ? * ? *)", "exactly one"),
        ("cron(0 0 L * ? *)", "not supported by the local scheduler"),
        ("cron(0 0 ? * 6#3 *)", "not supported by the local scheduler"),
        ("cron(0 0 15W * ? *)", "not supported by the local scheduler"),
        ("cron(60 0 * * ? *)", "outside 0-59"),
        ("cron(0 0 * 13 ? *)", "outside 1-12"),
        ("cron(0 0 ? * 8 *)", "outside 1-7"),
        ("cron(0 5-2 * * ? *)", "runs backwards"),
        ("cron(0/0 0 * * ? *)", "step must be positive"),
        ("cron(? 0 * * ? *)", "only allowed in the day fields"),
        ("cron(x 0 * * ? *)", "not a number"),
    ],
)
def test_invalid_cron_expressions(expression: str, message: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=message):
        parse_cron(expression)


def test_names_containing_l_and_w_are_not_operators() -> None:
    expression = parse_cron("cron(0 0 ? JUL WED *)")
    assert expression.months == {7}
    assert expression.days_of_week == {4}


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 days)", 172800)],
)
def test_rates(expression: str, seconds: int) -> None:
    assert parse_rate(expression) == timedelta(seconds=seconds)


@pytest.mark.parametrize("expression", ["rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(5 weeks)"])
def test_invalid_rates(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_rate(expression)


def test_at_expressions() -> None:
    assert parse_at("at(2030-01-02T03:04:05)") == at("2030-01-02T03:04:05")
    with pytest.raises(ScheduleExpressionError):
        parse_at("at(tomorrow)")
