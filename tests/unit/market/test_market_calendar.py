"""The NYSE calendar table against exchange-calendars, session by session, and the calendar's semantics."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickerleague.domain.market_calendar import (
    CalendarRangeError,
    MarketCalendar,
    TwentyFourSeven,
    calendar_from_config,
)

DATA = Path(__file__).resolve().parents[3] / "layers/core/tickerleague/data/xnys_sessions.json"
NY = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture(scope="module")
def xnys() -> MarketCalendar:
    return MarketCalendar.xnys()


@pytest.fixture(scope="module")
def reference() -> list[tuple[date, datetime, datetime]]:
    from infra.build.gen_calendar import exchange_sessions

    return exchange_sessions()


# ---------------------------------------------------------------- the table is exchange-calendars' XNYS


def test_every_session_2020_2035_matches_exchange_calendars(
    xnys: MarketCalendar, reference: list[tuple[date, datetime, datetime]]
) -> None:
    ours = xnys.sessions()
    assert len(ours) == len(reference) > 4000
    mismatches = [(a, b) for a, b in zip(ours, reference, strict=True) if a != b]
    assert mismatches == []
    assert xnys.first_session == date(2020, 1, 2)
    assert xnys.last_session == date(2035, 12, 31)


def test_holidays_and_early_closes_match_exchange_calendars(
    reference: list[tuple[date, datetime, datetime]],
) -> None:
    table = json.loads(DATA.read_text(encoding="utf-8"))
    session_days = {day for day, _, _ in reference}
    weekdays = {
        date(2020, 1, 1) + timedelta(days=n)
        for n in range((date(2035, 12, 31) - date(2020, 1, 1)).days + 1)
        if (date(2020, 1, 1) + timedelta(days=n)).weekday() < 5
    }
    assert {date.fromisoformat(day) for day in table["holidays"]} == weekdays - session_days
    early = {day for day, _, close in reference if close.astimezone(NY).time() != datetime.min.time().replace(hour=16)}
    assert {date.fromisoformat(day) for day in table["earlyCloses"]} == early
    assert table["lateOpens"] == {}


def test_committed_table_is_what_make_data_generates(reference: list[tuple[date, datetime, datetime]]) -> None:
    from infra.build.gen_calendar import build_table, render

    assert DATA.read_text(encoding="utf-8") == render(build_table(reference))


def test_table_is_small() -> None:
    assert DATA.stat().st_size < 20_000


# ---------------------------------------------------------------- holidays, early closes, weekends, DST


def test_thanksgiving_2026_is_closed_all_day(xnys: MarketCalendar) -> None:
    for hour in range(24):
        assert not xnys.is_open(utc(2026, 11, 26, hour, 0))
    assert xnys.next_open(utc(2026, 11, 26, 15, 0)) == utc(2026, 11, 27, 14, 30)
    assert xnys.session_date(utc(2026, 11, 26, 15, 0)) is None


def test_black_friday_2026_closes_at_1300_eastern(xnys: MarketCalendar) -> None:
    assert xnys.is_open(utc(2026, 11, 27, 14, 30))
    assert xnys.is_open(utc(2026, 11, 27, 17, 59, 59))
    assert not xnys.is_open(utc(2026, 11, 27, 18, 0))
    assert xnys.session_close_for(utc(2026, 11, 27, 15, 0)) == utc(2026, 11, 27, 18, 0)
    assert xnys.next_close(utc(2026, 11, 27, 15, 0)) == utc(2026, 11, 27, 18, 0)
    assert xnys.next_open(utc(2026, 11, 27, 18, 0)) == utc(2026, 11, 30, 14, 30)


@pytest.mark.parametrize(
    ("day", "open_utc", "close_utc"),
    [
        (date(2026, 3, 6), (14, 30), (21, 0)),  # Friday, EST
        (date(2026, 3, 9), (13, 30), (20, 0)),  # Monday after the switch to EDT (Sunday 2026-03-08)
        (date(2026, 10, 30), (13, 30), (20, 0)),  # Friday, EDT
        (date(2026, 11, 2), (14, 30), (21, 0)),  # Monday after the switch back to EST (Sunday 2026-11-01)
        (date(2020, 3, 9), (13, 30), (20, 0)),
        (date(2035, 11, 5), (14, 30), (21, 0)),
    ],
)
def test_dst_shifts_the_utc_hours(
    xnys: MarketCalendar, day: date, open_utc: tuple[int, int], close_utc: tuple[int, int]
) -> None:
    open_at = utc(day.year, day.month, day.day, *open_utc)
    close_at = utc(day.year, day.month, day.day, *close_utc)
    assert open_at.astimezone(NY).strftime("%H:%M") == "09:30"
    assert not xnys.is_open(open_at - US)
    assert xnys.is_open(open_at)
    assert xnys.is_open(close_at - US)
    assert not xnys.is_open(close_at)
    assert xnys.session_close_for(open_at) == close_at
    assert xnys.session_date(open_at) == day


def test_dst_weekend_next_open(xnys: MarketCalendar) -> None:
    # Closed Friday 21:00Z (EST); the next open is Monday 13:30Z (EDT): the weekend lost an hour.
    assert xnys.next_open(utc(2026, 3, 6, 21, 0)) == utc(2026, 3, 9, 13, 30)
    assert xnys.next_open(utc(2026, 10, 30, 20, 0)) == utc(2026, 11, 2, 14, 30)


def test_weekend_is_closed(xnys: MarketCalendar) -> None:
    saturday = utc(2026, 12, 5, 15, 0)
    assert not xnys.is_open(saturday)
    assert xnys.next_open(saturday) == utc(2026, 12, 7, 14, 30)
    assert xnys.next_close(saturday) == utc(2026, 12, 7, 21, 0)
    assert xnys.previous_close(saturday) == utc(2026, 12, 4, 21, 0)
    assert xnys.session_close_for(saturday) is None


def test_ad_hoc_closure_2025_01_09(xnys: MarketCalendar) -> None:
    assert not xnys.is_open(utc(2025, 1, 9, 16, 0))  # national day of mourning for President Carter


# ---------------------------------------------------------------- boundaries


def test_exact_open_is_open_and_exact_close_is_closed(xnys: MarketCalendar) -> None:
    open_at, close_at = utc(2026, 12, 1, 14, 30), utc(2026, 12, 1, 21, 0)
    assert xnys.is_open(open_at)
    assert not xnys.is_open(open_at - US)
    assert xnys.is_open(close_at - US)
    assert not xnys.is_open(close_at)


def test_next_open_and_close_are_strictly_after(xnys: MarketCalendar) -> None:
    open_at, close_at = utc(2026, 12, 1, 14, 30), utc(2026, 12, 1, 21, 0)
    assert xnys.next_open(open_at - US) == open_at
    assert xnys.next_open(open_at) == utc(2026, 12, 2, 14, 30)
    assert xnys.next_close(open_at) == close_at
    assert xnys.next_close(close_at - US) == close_at
    assert xnys.next_close(close_at) == utc(2026, 12, 2, 21, 0)
    assert xnys.previous_close(close_at) == close_at
    assert xnys.previous_close(close_at - US) == utc(2026, 11, 30, 21, 0)


def test_session_date_is_the_exchange_local_date(xnys: MarketCalendar) -> None:
    # 20:59Z on 2026-12-01 is 15:59 in New York the same day.
    assert xnys.session_date(utc(2026, 12, 1, 20, 59)) == date(2026, 12, 1)
    assert xnys.session_date(utc(2026, 12, 1, 21, 0)) is None


def test_accepts_any_aware_timezone(xnys: MarketCalendar) -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=NY)
    assert xnys.is_open(at)
    assert xnys.next_close(at) == utc(2026, 12, 1, 21, 0)
    assert xnys.next_close(at).tzinfo == UTC


def test_naive_datetimes_are_refused(xnys: MarketCalendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        xnys.is_open(datetime(2026, 12, 1, 15, 0))
    with pytest.raises(ValueError, match="aware"):
        TwentyFourSeven().next_close(datetime(2026, 12, 1, 15, 0))


def test_outside_the_table_raises(xnys: MarketCalendar) -> None:
    with pytest.raises(CalendarRangeError):
        xnys.is_open(utc(2019, 12, 31, 12, 0))
    with pytest.raises(CalendarRangeError):
        xnys.is_open(utc(2036, 1, 2, 15, 0))
    with pytest.raises(CalendarRangeError):
        xnys.next_open(utc(2035, 12, 31, 22, 0))  # after the last session's close: no next open in the table


# ---------------------------------------------------------------- the clock body


def test_clock_body_open(xnys: MarketCalendar) -> None:
    assert xnys.clock(utc(2026, 11, 27, 15, 0, 5, 999_999)) == {
        "isOpen": True,
        "now": "2026-11-27T15:00:05Z",
        "nextOpen": "2026-11-30T14:30:00Z",
        "nextClose": "2026-11-27T18:00:00Z",
        "calendar": "XNYS",
    }


def test_clock_body_closed(xnys: MarketCalendar) -> None:
    assert xnys.clock(utc(2026, 11, 26, 12, 0)) == {
        "isOpen": False,
        "now": "2026-11-26T12:00:00Z",
        "nextOpen": "2026-11-27T14:30:00Z",
        "nextClose": "2026-11-27T18:00:00Z",
        "calendar": "XNYS",
    }


# ---------------------------------------------------------------- properties

instants = st.datetimes(
    min_value=datetime(2020, 1, 2),
    max_value=datetime(2035, 12, 30),
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(instants)
def test_open_and_closed_are_consistent(at: datetime) -> None:
    xnys = MarketCalendar.xnys()
    next_open, next_close = xnys.next_open(at), xnys.next_close(at)
    assert next_open > at and next_close > at
    if xnys.is_open(at):
        assert xnys.session_close_for(at) == next_close < next_open
        assert xnys.session_date(at) is not None
        assert next_close - at <= timedelta(hours=6, minutes=30)
    else:
        assert xnys.session_close_for(at) is None
        assert next_open < next_close
        assert not xnys.is_open(next_open - US) and xnys.is_open(next_open)
        assert next_open - at < timedelta(days=5)


@pytest.fixture(scope="module")
def xcal():  # type: ignore[no-untyped-def]
    import exchange_calendars as xc

    # side="left": minutes are labelled by their start; the open minute trades, the close minute does not
    return xc.get_calendar("XNYS", start="2020-01-01", end="2035-12-31", side="left")


@settings(max_examples=200, deadline=None)
@given(at=instants)
def test_is_open_agrees_with_exchange_calendars_minutes(xcal, at: datetime) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    minute = at.replace(second=0, microsecond=0)
    stamp = pd.Timestamp(minute)
    theirs = xcal.first_minute <= stamp <= xcal.last_minute and bool(xcal.is_trading_minute(stamp))
    assert MarketCalendar.xnys().is_open(minute) == theirs


# ---------------------------------------------------------------- 24x7 and config


def test_twenty_four_seven() -> None:
    cal = TwentyFourSeven()
    at = utc(2026, 12, 5, 15, 4, 5)
    assert cal.is_open(at)
    assert cal.next_open(at) == utc(2026, 12, 6)  # the next session's, strictly after, as for XNYS
    assert cal.next_close(at) == utc(2026, 12, 6)
    assert cal.session_close_for(at) == utc(2026, 12, 6)
    assert cal.previous_close(at) == utc(2026, 12, 5)
    assert cal.session_date(at) == date(2026, 12, 5)
    # at midnight exactly, a new UTC-day session has just begun
    assert cal.next_close(utc(2026, 12, 6)) == utc(2026, 12, 7)
    assert cal.clock(at) == {
        "isOpen": True,
        "now": "2026-12-05T15:04:05Z",
        "nextOpen": "2026-12-06T00:00:00Z",
        "nextClose": "2026-12-06T00:00:00Z",
        "calendar": "24x7",
    }


def test_calendar_from_config() -> None:
    assert calendar_from_config("XNYS") is MarketCalendar.xnys()
    assert calendar_from_config(" xnys ") is MarketCalendar.xnys()
    assert isinstance(calendar_from_config("24x7"), TwentyFourSeven)
    assert calendar_from_config("24X7").name == "24x7"
    with pytest.raises(ValueError, match="unknown market calendar"):
        calendar_from_config("XLON")
