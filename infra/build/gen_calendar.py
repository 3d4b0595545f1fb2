"""Generate tickerleague/data/xnys_sessions.json: the NYSE (XNYS) sessions 2020-2035, from exchange-calendars.

The table is stored as rules plus exceptions, so it stays a few kilobytes and a reviewer can read it:
- `regular`: the usual local open and close (09:30-16:00 America/New_York) on weekdays;
- `utcOffsets`: the local UTC offset (minutes) in force from each listed date on (no tz database needed);
- `holidays`: weekdays in the range without a session (full-day closures, ad hoc ones included);
- `earlyCloses` / `lateOpens`: sessions whose local close / open differs from the regular one.
`tickerleague.domain.market_calendar` expands it once per process. The build checks that the expansion gives
back exactly exchange-calendars' sessions; a unit test checks the committed file the same way.
Run with `make data`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

OUT = Path(__file__).resolve().parents[2] / "layers/core/tickerleague/data/xnys_sessions.json"

CALENDAR = "XNYS"
TIMEZONE = "America/New_York"
FIRST_DAY = date(2020, 1, 1)
LAST_DAY = date(2035, 12, 31)
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)


def exchange_sessions(first: date = FIRST_DAY, last: date = LAST_DAY) -> list[tuple[date, datetime, datetime]]:
    """(session date, open UTC, close UTC) for every XNYS session in [first, last], from
    exchange-calendars."""
    import exchange_calendars

    cal = exchange_calendars.get_calendar(CALENDAR, start=first.isoformat(), end=last.isoformat())
    schedule = cal.schedule.loc[first.isoformat() : last.isoformat()]
    sessions: list[tuple[date, datetime, datetime]] = []
    for label, row in schedule.iterrows():
        # XNYS has no lunch break; should one appear (break_start not NaT), refuse to drop it silently.
        if row["break_start"] == row["break_start"]:
            raise SystemExit(f"unexpected break on {label}")
        sessions.append(
            (
                label.date(),
                row["open"].to_pydatetime().astimezone(UTC),
                row["close"].to_pydatetime().astimezone(UTC),
            )
        )
    return sessions


def _hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def build_table(sessions: list[tuple[date, datetime, datetime]]) -> dict[str, object]:
    zone = ZoneInfo(TIMEZONE)
    by_date = {day: (open_, close) for day, open_, close in sessions}

    offsets: list[list[object]] = []
    holidays: list[str] = []
    early_closes: dict[str, str] = {}
    late_opens: dict[str, str] = {}
    day = FIRST_DAY
    while day <= LAST_DAY:
        # DST switches at 02:00 local on a Sunday, never inside a session: local noon's offset is the day's.
        offset = datetime.combine(day, time(12), zone).utcoffset()
        assert offset is not None
        minutes = int(offset.total_seconds() // 60)
        if not offsets or offsets[-1][1] != minutes:
            offsets.append([day.isoformat(), minutes])
        if day in by_date:
            open_local = by_date[day][0].astimezone(zone)
            close_local = by_date[day][1].astimezone(zone)
            if open_local.date() != day or close_local.date() != day:
                raise SystemExit(f"session {day} does not open and close on its own local date")
            if day.weekday() >= 5:
                raise SystemExit(f"weekend session {day}: the table format has no place for it")
            if open_local.time() != REGULAR_OPEN:
                late_opens[day.isoformat()] = _hhmm(open_local.time())
            if close_local.time() != REGULAR_CLOSE:
                early_closes[day.isoformat()] = _hhmm(close_local.time())
        elif day.weekday() < 5:
            holidays.append(day.isoformat())
        day += timedelta(days=1)

    return {
        "calendar": CALENDAR,
        "generatedBy": "infra/build/gen_calendar.py (exchange-calendars)",
        "timezone": TIMEZONE,
        "firstDay": FIRST_DAY.isoformat(),
        "lastDay": LAST_DAY.isoformat(),
        "regular": {"open": _hhmm(REGULAR_OPEN), "close": _hhmm(REGULAR_CLOSE), "weekdays": [0, 1, 2, 3, 4]},
        "utcOffsets": offsets,
        "holidays": holidays,
        "earlyCloses": early_closes,
        "lateOpens": late_opens,
    }


def render(table: dict[str, object]) -> str:
    """Stable, diff-friendly JSON: one holiday / offset / exception per line."""
    lines = ["{"]
    items = list(table.items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if isinstance(value, list) and value and key in ("utcOffsets", "holidays"):
            inner = ",\n".join("    " + json.dumps(item) for item in value)
            lines.append(f"  {json.dumps(key)}: [\n{inner}\n  ]{comma}")
        elif isinstance(value, dict) and value and key in ("earlyCloses", "lateOpens"):
            inner = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            lines.append(f"  {json.dumps(key)}: {{\n{inner}\n  }}{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    from tickerleague.domain.market_calendar import MarketCalendar

    sessions = exchange_sessions()
    text = render(build_table(sessions))
    expanded = MarketCalendar.from_table(json.loads(text)).sessions()
    if expanded != sessions:
        raise SystemExit("the compact table does not expand back to exchange-calendars' sessions")
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(sessions)} sessions ({len(text)} bytes) to {OUT}")


if __name__ == "__main__":
    main()
