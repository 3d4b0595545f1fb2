"""Domain errors carry a contract code and an HTTP status; `tickerleague.http.envelope` turns them into the envelope.

Services raise these; nothing else in the code base catches broadly.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An expected failure that the client can act on. `code` is part of the HTTP contract."""

    status: int = 400
    code: str = "BAD_REQUEST"
    default_message: str = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        self.details = details
        self.headers = headers or {}


class BadRequest(DomainError):
    status, code, default_message = 400, "BAD_REQUEST", "The request is malformed."


class InvalidCursor(DomainError):
    status, code, default_message = 400, "INVALID_CURSOR", "The cursor is not valid for this list."


class Unauthenticated(DomainError):
    status, code, default_message = 401, "UNAUTHENTICATED", "A valid bearer token is required."


class InvalidCredentials(DomainError):
    status, code, default_message = 401, "INVALID_CREDENTIALS", "The email or password is incorrect."


class TokenReused(DomainError):
    status, code = 401, "TOKEN_REUSED"
    default_message = "This refresh token was already used; the session has been revoked."


class Forbidden(DomainError):
    status, code, default_message = 403, "FORBIDDEN", "You are not allowed to do this."


class AccountSuspended(DomainError):
    status, code, default_message = 403, "ACCOUNT_SUSPENDED", "This account is suspended."


class NotFound(DomainError):
    status, code, default_message = 404, "NOT_FOUND", "No such resource."


class MethodNotAllowed(DomainError):
    status, code = 405, "METHOD_NOT_ALLOWED"
    default_message = "This method is not allowed on this path."


class Conflict(DomainError):
    """409: `code` is one of EMAIL_TAKEN, SLUG_TAKEN, INVALID_STATE_TRANSITION, CONTEST_NOT_JOINABLE, CONTEST_FULL,
    ORDER_NOT_CANCELLABLE."""

    status, code, default_message = 409, "CONFLICT", "The request conflicts with the current state."


class PayloadTooLarge(DomainError):
    status, code = 413, "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class UnsupportedMediaType(DomainError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"
    default_message = "Send the body as application/json."


class ValidationFailed(DomainError):
    """422 with `details.fields`: {field path: message}."""

    status, code, default_message = 422, "VALIDATION_FAILED", "The request has invalid fields."

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(message, details={"fields": fields})
        self.fields = fields


class RuleViolation(DomainError):
    """422 for a broken trading or contest rule: INSUFFICIENT_CASH, MARKET_CLOSED, CONTEST_NOT_ACTIVE, ..."""

    status, code, default_message = 422, "RULE_VIOLATION", "The request breaks a rule."


class TooManyAttempts(DomainError):
    status, code, default_message = 429, "TOO_MANY_ATTEMPTS", "Too many attempts; try again later."

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(
            message,
            details={"retryAfterSeconds": retry_after_seconds},
            headers={"Retry-After": str(retry_after_seconds)},
        )
        self.retry_after_seconds = retry_after_seconds


class RateLimited(TooManyAttempts):
    code = "RATE_LIMITED"
    default_message = "Too many requests; slow down."


class ServiceUnavailable(DomainError):
    status, code = 503, "SERVICE_UNAVAILABLE"
    default_message = "A dependency is unavailable; try again shortly."


# payments
class BadSignature(DomainError):
    """400: a webhook body whose Stripe-Signature does not verify (or is stale, truncated, not JSON, too large)."""

    status, code, default_message = 400, "BAD_SIGNATURE", "The webhook signature does not verify."


class NotRefundable(DomainError):
    """409: an entry with nothing paid (or nothing left) to refund."""

    status, code, default_message = 409, "NOT_REFUNDABLE", "Nothing was paid for this entry."
