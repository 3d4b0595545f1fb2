"""EventBridge schedule expressions: ``rate(...)``, ``cron(...)`` (6 fields, UTC) and Scheduler's ``at(...)``.

Written here rather than taken from a cron library because AWS's dialect differs from Unix cron: six
fields with a year, day-of-week 1-7 starting on Sunday, ``?`` in exactly one of the day fields, and
singular/plural rate units that AWS rejects when mismatched. Rejecting what AWS rejects keeps a bad
expression from working locally and failing at deploy time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

_MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_MONTHS = {name: index for index, name in enumerate(_MONTH_NAMES, 1)}
_WEEKDAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleExpressionError(ValueError):
    """The expression is invalid for AWS, or uses a feature the local scheduler does not support."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, _WEEKDAYS),
    _Field("year", 1970, 2199),
)


@dataclass(frozen=True)
class CronExpression:
    """A parsed 6-field AWS cron expression; ``None`` day sets stand for ``?``."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    years: frozenset[int]

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing time strictly after ``moment`` (UTC), or None when the years have run out."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        last_year = max(self.years)
        while day.year <= last_year:
            if self._day_matches(day):
                at = self._first_time(start.time() if day == start.date() else time(0, 0))
                if at is not None:
                    return datetime.combine(day, at, tzinfo=UTC)
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        aws_weekday = (day.weekday() + 1) % 7 + 1  # Python: Monday=0; AWS: Sunday=1
        return self.days_of_week is not None and aws_weekday in self.days_of_week

    def _first_time(self, earliest: time) -> time | None:
        for hour in sorted(h for h in self.hours if h >= earliest.hour):
            minute_floor = earliest.minute if hour == earliest.hour else 0
            minutes = [m for m in sorted(self.minutes) if m >= minute_floor]
            if minutes:
                return time(hour, minutes[0])
        return None


def parse_cron(expression: str) -> CronExpression:
    """Parse ``cron(m h dom mon dow year)`` (the ``cron(...)`` wrapper is optional)."""
    text = expression.strip()
    if text.startswith("cron(") and text.endswith(")"):
        text = text[5:-1]
    parts = text.split()
    if len(parts) != len(_FIELDS):
        raise ScheduleExpressionError(f"{expression!r}: AWS cron has 6 fields (min hour dom month dow year)")
    dom_text, dow_text = parts[2], parts[4]
    if (dom_text == "?") == (dow_text == "?"):
        raise ScheduleExpressionError(f"{expression!r}: use '?' in exactly one of day-of-month and day-of-week")
    values = [None if part == "?" else _parse_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    for spec, value in zip(_FIELDS, values, strict=True):
        if value is None and spec.name not in {"day-of-month", "day-of-week"}:
            raise ScheduleExpressionError(f"{expression!r}: '?' is only allowed in the day fields")
    minutes, hours, dom, months, dow, years = values
    assert minutes is not None and hours is not None and months is not None and years is not None
    return CronExpression(minutes, hours, dom, months, dow, years)


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    if any(marker in text.upper() for marker in ("L", "W", "#")) and not _is_name_list(text, spec):
        raise ScheduleExpressionError(
            f"{spec.name} {text!r}: 'L', 'W' and '#' are valid in AWS but not supported by the local scheduler"
        )
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(item, spec))
    return frozenset(values)


def _is_name_list(text: str, spec: _Field) -> bool:
    """``JUL``/``WED`` contain L/W letters but are names, not the L/W operators."""
    if spec.names is None:
        return False
    tokens = re.split(r"[,\-/]", text.upper())
    return all(token in spec.names or token.isdigit() or token == "*" for token in tokens)


def _parse_item(item: str, spec: _Field) -> range:
    base, _, step_text = item.partition("/")
    if step_text and not step_text.isdigit():
        raise ScheduleExpressionError(f"{spec.name} {item!r}: step must be a number")
    step = int(step_text) if step_text else 1
    if step <= 0:
        raise ScheduleExpressionError(f"{spec.name} {item!r}: step must be positive")
    if base == "*":
        low, high = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _number(first, spec), _number(last, spec)
        if low > high:
            raise ScheduleExpressionError(f"{spec.name} {item!r}: range runs backwards")
    else:
        low = _number(base, spec)
        high = spec.high if step_text else low
    return range(low, high + 1, step)


def _number(text: str, spec: _Field) -> int:
    token = text.strip().upper()
    if spec.names and token in spec.names:
        return spec.names[token]
    if not token.isdigit():
        raise ScheduleExpressionError(f"{spec.name}: {text!r} is not a number")
    value = int(token)
    if not spec.low <= value <= spec.high:
        raise ScheduleExpressionError(f"{spec.name}: {value} is outside {spec.low}-{spec.high}")
    return value


def parse_rate(expression: str) -> timedelta:
    """Parse ``rate(N unit)``; AWS wants the singular unit for 1 and the plural otherwise."""
    match = _RATE.match(expression.strip())
    if match is None:
        raise ScheduleExpressionError(f"{expression!r} is not rate(<number> minute(s)|hour(s)|day(s))")
    value, unit = int(match.group(1)), match.group(2)
    if value <= 0:
        raise ScheduleExpressionError(f"{expression!r}: the rate must be positive")
    if (value == 1) != (not unit.endswith("s")):
        raise ScheduleExpressionError(f"{expression!r}: use the singular unit for 1 and the plural otherwise")
    return timedelta(seconds=value * _UNIT_SECONDS[unit.rstrip("s")])


def parse_at(expression: str) -> datetime:
    """Parse Scheduler's one-time ``at(yyyy-mm-ddThh:mm:ss)`` (UTC locally)."""
    match = _AT.match(expression.strip())
    if match is None:
        raise ScheduleExpressionError(f"{expression!r} is not at(yyyy-mm-ddThh:mm:ss)")
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
