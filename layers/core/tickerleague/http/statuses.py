"""The one table from a domain error's contract code to its HTTP status.

A code not listed takes the status of the nearest error class whose own code is listed (a `Conflict(code="X")` is a
409 until X has its row), so adding a code is one line here.
"""

from __future__ import annotations

from tickerleague.errors import DomainError

STATUS_BY_CODE: dict[str, int] = {
    "BAD_REQUEST": 400,
    "INVALID_CURSOR": 400,
    "INVALID_TOKEN": 400,
    "BAD_SIGNATURE": 400,
    "UNAUTHENTICATED": 401,
    "INVALID_CREDENTIALS": 401,
    "TOKEN_REUSED": 401,
    "FORBIDDEN": 403,
    "ACCOUNT_SUSPENDED": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "EMAIL_TAKEN": 409,
    "SLUG_TAKEN": 409,
    "INVALID_STATE_TRANSITION": 409,
    "CONTEST_NOT_JOINABLE": 409,
    "CONTEST_FULL": 409,
    "ORDER_NOT_CANCELLABLE": 409,
    "NOT_REFUNDABLE": 409,
    "IDEMPOTENCY_KEY_IN_USE": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "VALIDATION_FAILED": 422,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "CLIENT_ORDER_ID_REUSED": 422,
    "RULE_VIOLATION": 422,
    "INSUFFICIENT_CASH": 422,
    "INSUFFICIENT_SHARES": 422,
    "MARKET_CLOSED": 422,
    "CONTEST_NOT_ACTIVE": 422,
    "NOT_JOINED": 422,
    "SYMBOL_NOT_ALLOWED": 422,
    "UNKNOWN_SYMBOL": 422,
    "POSITION_LIMIT_EXCEEDED": 422,
    "TRADE_LIMIT_REACHED": 422,
    "PRICE_BELOW_MINIMUM": 422,
    "QUOTE_STALE": 422,
    "TOO_MANY_ATTEMPTS": 429,
    "RATE_LIMITED": 429,
    "INTERNAL": 500,
    "SERVICE_UNAVAILABLE": 503,
}


def status_of_code(code: str, error_class: type[DomainError] = DomainError) -> int:
    """The status of `code`, raised as `error_class` (whose lineage decides when the code has no row yet)."""
    if code in STATUS_BY_CODE:
        return STATUS_BY_CODE[code]
    for cls in error_class.__mro__:
        own = cls.__dict__.get("code")
        if isinstance(own, str) and own in STATUS_BY_CODE:
            return STATUS_BY_CODE[own]
    return STATUS_BY_CODE[DomainError.code]


def status_of(error: DomainError) -> int:
    return status_of_code(error.code, type(error))
