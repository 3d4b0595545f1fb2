"""Time as aware UTC datetimes; the wire form is ISO 8601 with a Z."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|\+00:00)$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """Seconds precision, with a Z: 2026-12-01T14:30:00Z."""
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(value: datetime) -> str:
    """Millisecond precision, sortable, for keys: 2026-12-01T14:30:00.123Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_iso_utc(raw: object) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string in UTC (`Z` or `+00:00`), or None."""
    if not isinstance(raw, str) or not _ISO_UTC.match(raw):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def epoch_seconds(value: datetime) -> int:
    return int(value.timestamp())
