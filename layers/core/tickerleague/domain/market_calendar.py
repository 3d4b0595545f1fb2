"""Market hours: when trading is allowed, for the `/v1/market/clock` route and the trading rules.

Two calendars share one interface (`TradingCalendar`):
- `MarketCalendar`: the NYSE (XNYS) sessions 2020-2035 from a table generated at build time with
  exchange-calendars (`infra/build/gen_calendar.py` -> `tickerleague/data/xnys_sessions.json`), so the Lambda
  layer ships no pandas. The table is read and expanded once per process, on first use.
- `TwentyFourSeven`: always open, for local development and demos. Its "session" is the UTC day.

Conventions: every argument is an aware datetime (a naive one is a `ValueError`) and every answer is an aware
UTC datetime. A session is the half-open interval [open, close): at the exact open the market is open, at the
exact close it is closed. `next_open` / `next_close` are strictly after `at` (while the market is open,
`next_open` is the next session's open, like Alpaca's clock). A question the table cannot answer (outside
2020-2035) raises `CalendarRangeError`.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol

from tickerleague.clock import iso

XNYS = "XNYS"
TWENTY_FOUR_SEVEN = "24x7"
_DATA_FILE = "xnys_sessions.json"


class CalendarRangeError(ValueError):
    """The instant lies outside the years the session table covers."""


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("calendar times must be timezone-aware")
    return at.astimezone(UTC)


class TradingCalendar(Protocol):
    name: str

    def is_open(self, at: datetime) -> bool: ...

    def next_open(self, at: datetime) -> datetime: ...

    def next_close(self, at: datetime) -> datetime: ...

    def previous_close(self, at: datetime) -> datetime | None: ...

    def session_close_for(self, at: datetime) -> datetime | None: ...

    def session_date(self, at: datetime) -> date | None: ...

    def clock(self, at: datetime) -> dict[str, Any]: ...


def _clock_body(calendar: TradingCalendar, at: datetime) -> dict[str, Any]:
    """The `GET /v1/market/clock` body `{isOpen, now, nextOpen, nextClose, calendar}`, times to the second."""
    now = _utc(at)
    return {
        "isOpen": calendar.is_open(now),
        "now": iso(now),
        "nextOpen": iso(calendar.next_open(now)),
        "nextClose": iso(calendar.next_close(now)),
        "calendar": calendar.name,
    }


def _hhmm_seconds(raw: str) -> int:
    hours, minutes = raw.split(":")
    return int(hours) * 3600 + int(minutes) * 60


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _to_unix(at: datetime) -> float:
    """Exact for any aware datetime: whole seconds plus the microseconds as a fraction."""
    delta = _utc(at) - _UNIX_EPOCH
    return delta.days * 86400 + delta.seconds + delta.microseconds / 1_000_000


def _from_unix(seconds: int) -> datetime:
    return _UNIX_EPOCH + timedelta(seconds=seconds)


class MarketCalendar:
    """An exchange calendar over an explicit, sorted list of sessions.

    Internally instants are Unix seconds (ints) and dates are ordinals, which keeps the once-per-process
    expansion of the table to a few milliseconds; every public answer is an aware UTC datetime or a date.
    """

    def __init__(self, name: str, sessions: list[tuple[int, int, int]], covers: tuple[int, int]) -> None:
        """`sessions`: (local date ordinal, open, close), instants in Unix seconds, sorted;
        `covers`: the [from, until) Unix seconds the table speaks for."""
        self.name = name
        self._dates = [day for day, _, _ in sessions]
        self._opens = [open_ for _, open_, _ in sessions]
        self._closes = [close for _, _, close in sessions]
        self._covers_from, self._covers_until = covers

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> MarketCalendar:
        """Expand the compact table written by `infra/build/gen_calendar.py` into sessions."""
        first = date.fromisoformat(table["firstDay"]).toordinal()
        last = date.fromisoformat(table["lastDay"]).toordinal()
        regular = table["regular"]
        regular_open = _hhmm_seconds(regular["open"])
        regular_close = _hhmm_seconds(regular["close"])
        weekdays = frozenset(int(day) for day in regular["weekdays"])
        holidays = {date.fromisoformat(day).toordinal() for day in table["holidays"]}
        closes = {date.fromisoformat(day).toordinal(): _hhmm_seconds(t) for day, t in table["earlyCloses"].items()}
        opens = {date.fromisoformat(day).toordinal(): _hhmm_seconds(t) for day, t in table["lateOpens"].items()}
        # (first date ordinal it applies to, UTC offset in seconds)
        offsets = [(date.fromisoformat(day).toordinal(), int(minutes) * 60) for day, minutes in table["utcOffsets"]]
        if not offsets or offsets[0][0] > first:
            raise ValueError("the table's UTC offsets must start on or before its first day")

        sessions: list[tuple[int, int, int]] = []
        offset_index = 0
        for ordinal in range(first, last + 1):
            while offset_index + 1 < len(offsets) and offsets[offset_index + 1][0] <= ordinal:
                offset_index += 1
            # date.fromordinal(n).weekday() == (n - 1) % 7: ordinal 1 (0001-01-01) was a Monday.
            if (ordinal - 1) % 7 in weekdays and ordinal not in holidays:
                midnight = (ordinal - _UNIX_EPOCH_ORDINAL) * 86400 - offsets[offset_index][1]
                sessions.append(
                    (
                        ordinal,
                        midnight + opens.get(ordinal, regular_open),
                        midnight + closes.get(ordinal, regular_close),
                    )
                )
        covers_from = (first - _UNIX_EPOCH_ORDINAL) * 86400 - offsets[0][1]
        covers_until = (last + 1 - _UNIX_EPOCH_ORDINAL) * 86400 - offsets[offset_index][1]
        return cls(str(table["calendar"]), sessions, (covers_from, covers_until))

    @classmethod
    def xnys(cls) -> MarketCalendar:
        """The packaged NYSE calendar, read and expanded once per process."""
        return _packaged_xnys()

    # ------------------------------------------------------------------ queries

    def sessions(self) -> list[tuple[date, datetime, datetime]]:
        """Every session as (exchange-local date, open UTC, close UTC), oldest first."""
        return [
            (date.fromordinal(day), _from_unix(open_), _from_unix(close))
            for day, open_, close in zip(self._dates, self._opens, self._closes, strict=True)
        ]

    @property
    def first_session(self) -> date:
        return date.fromordinal(self._dates[0])

    @property
    def last_session(self) -> date:
        return date.fromordinal(self._dates[-1])

    def _check(self, at: datetime) -> float:
        seconds = _to_unix(at)
        if not self._covers_from <= seconds < self._covers_until:
            raise CalendarRangeError(f"{iso(at)} is outside the {self.name} session table")
        return seconds

    def _session_index(self, seconds: float) -> int | None:
        """Index of the session containing the instant, or None."""
        index = bisect_right(self._opens, seconds) - 1
        if index >= 0 and seconds < self._closes[index]:
            return index
        return None

    def is_open(self, at: datetime) -> bool:
        return self._session_index(self._check(at)) is not None

    def next_open(self, at: datetime) -> datetime:
        """The first open strictly after `at`."""
        index = bisect_right(self._opens, self._check(at))
        if index >= len(self._opens):
            raise CalendarRangeError(f"no {self.name} session opens after {iso(at)} in the table")
        return _from_unix(self._opens[index])

    def next_close(self, at: datetime) -> datetime:
        """The first close strictly after `at`: the current session's close while open."""
        index = bisect_right(self._closes, self._check(at))
        if index >= len(self._closes):
            raise CalendarRangeError(f"no {self.name} session closes after {iso(at)} in the table")
        return _from_unix(self._closes[index])

    def previous_close(self, at: datetime) -> datetime | None:
        """The last close at or before `at` (None before the table's first session closed)."""
        index = bisect_right(self._closes, self._check(at)) - 1
        return _from_unix(self._closes[index]) if index >= 0 else None

    def session_close_for(self, at: datetime) -> datetime | None:
        """The close of the session containing `at`, or None while the market is closed."""
        index = self._session_index(self._check(at))
        return None if index is None else _from_unix(self._closes[index])

    def session_date(self, at: datetime) -> date | None:
        """The exchange-local date of the session containing `at`, or None while the market is closed."""
        index = self._session_index(self._check(at))
        return None if index is None else date.fromordinal(self._dates[index])

    def clock(self, at: datetime) -> dict[str, Any]:
        return _clock_body(self, at)


class TwentyFourSeven:
    """Always open. Its sessions are UTC days, so day orders expire and per-day counters reset at midnight
    UTC: `next_open(at)` (the next session's open, strictly after `at` as for XNYS), `next_close(at)` and
    `session_close_for(at)` are the next midnight UTC after `at`, `previous_close(at)` the last midnight UTC at or
    before `at`, `session_date(at)` the UTC date."""

    name = TWENTY_FOUR_SEVEN

    def is_open(self, at: datetime) -> bool:
        _utc(at)
        return True

    def next_open(self, at: datetime) -> datetime:
        return self.next_close(at)  # one session closes at midnight UTC as the next opens

    def next_close(self, at: datetime) -> datetime:
        at = _utc(at)
        return datetime.combine(at.date() + timedelta(days=1), time(0), UTC)

    def previous_close(self, at: datetime) -> datetime | None:
        return datetime.combine(_utc(at).date(), time(0), UTC)

    def session_close_for(self, at: datetime) -> datetime | None:
        return self.next_close(at)

    def session_date(self, at: datetime) -> date | None:
        return _utc(at).date()

    def clock(self, at: datetime) -> dict[str, Any]:
        return _clock_body(self, at)


@cache
def _packaged_xnys() -> MarketCalendar:
    # Plain open(): importlib.resources and pathlib would add tens of milliseconds of imports to a cold start.
    import os

    import tickerleague

    path = os.path.join(os.path.dirname(tickerleague.__file__), "data", _DATA_FILE)
    with open(path, encoding="utf-8") as handle:
        return MarketCalendar.from_table(json.load(handle))


_TWENTY_FOUR_SEVEN = TwentyFourSeven()


def calendar_from_config(name: str) -> TradingCalendar:
    """`MARKET_CALENDAR`: "XNYS" (NYSE hours) or "24x7" (always open)."""
    key = name.strip().upper()
    if key == XNYS:
        return MarketCalendar.xnys()
    if key == TWENTY_FOUR_SEVEN.upper():
        return _TWENTY_FOUR_SEVEN
    raise ValueError(f"unknown market calendar {name!r}: expected 'XNYS' or '24x7'")
