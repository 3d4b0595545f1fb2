"""Pagination: `?limit=` (1-100, default 20) and a signed `?cursor=` that wraps a service's position in a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from tickerleague.http.cursor import decode_cursor, encode_cursor
from tickerleague.http.validation import QueryModel

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class ListQuery(QueryModel):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, min_length=1, max_length=2048)


def _cursor_key() -> bytes:
    from tickerleague.services.keys import cursor_key

    return cursor_key()


class SignedCursors:
    """The services' `Cursors` port: HMAC-signed cursors whose payload names the list (`scope`)."""

    def __init__(self, key: Callable[[], bytes] = _cursor_key) -> None:
        self._key = key

    def seal(self, scope: str, position: dict[str, Any] | None) -> str | None:
        """A cursor for the next page, or None on the last page. `scope` names the list, its filters and its caller."""
        if not position:
            return None
        return encode_cursor(self._key(), scope, position)

    def open(self, scope: str, cursor: str | None) -> dict[str, Any] | None:
        """The stored position (e.g. ExclusiveStartKey) or None for the first page; INVALID_CURSOR when tampered."""
        if cursor is None:
            return None
        return decode_cursor(self._key(), scope, cursor)


CURSORS = SignedCursors()
encode_position = CURSORS.seal
decode_position = CURSORS.open
