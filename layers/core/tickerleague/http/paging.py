"""Pagination: `?limit=` (1-100, default 20) and a signed `?cursor=` that wraps DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tickerleague.http.cursor import decode_cursor, encode_cursor
from tickerleague.http.validation import QueryModel

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class ListQuery(QueryModel):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, min_length=1, max_length=2048)


def encode_position(scope: str, position: dict[str, Any] | None) -> str | None:
    """A cursor for the next page, or None on the last page. `scope` names the list, its filters and its caller."""
    if not position:
        return None
    from tickerleague.adapters.secrets import cursor_key

    return encode_cursor(cursor_key(), scope, position)


def decode_position(scope: str, cursor: str | None) -> dict[str, Any] | None:
    """The stored position (e.g. ExclusiveStartKey) or None for the first page; INVALID_CURSOR when tampered."""
    if cursor is None:
        return None
    from tickerleague.adapters.secrets import cursor_key

    return decode_cursor(cursor_key(), scope, cursor)
