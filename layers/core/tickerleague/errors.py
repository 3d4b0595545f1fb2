"""Domain errors carry a contract code; the HTTP edge chooses the status (`tickerleague.http.statuses`, one table
from code to status) and `tickerleague.http.envelope` turns them into the envelope.

Services and domain/ raise these. The edge (`tickerleague.http.api`) catches every other exception, to log and
answer 500. Below it an `except Exception` is kept for a reason named beside it, and logs or re-raises: the
leaderboard recompute (one contest's failure must not stop the others; re-raised together), best-effort event
publishing after a committed change (`adapters/events.py`, `services/payments.py`, `services/account.py`), the
health check (a failed probe is its answer) and the e-mail sender (releases the message identity and re-raises).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An expected failure that the client can act on. `code` is part of the HTTP contract."""

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
    code, default_message = "BAD_REQUEST", "The request is malformed."


class InvalidCursor(DomainError):
    code, default_message = "INVALID_CURSOR", "The cursor is not valid for this list."


class InvalidToken(DomainError):
    """A used, expired or unknown one-time token (password reset); the three are not told apart."""

    status, code, default_message = 400, "INVALID_TOKEN", "This token is not valid; ask for a new one."


class Unauthenticated(DomainError):
    code, default_message = "UNAUTHENTICATED", "A valid bearer token is required."


class InvalidCredentials(DomainError):
    code, default_message = "INVALID_CREDENTIALS", "The email or password is incorrect."


class TokenReused(DomainError):
    code = "TOKEN_REUSED"
    default_message = "This refresh token was already used; the session has been revoked."


class Forbidden(DomainError):
    code, default_message = "FORBIDDEN", "You are not allowed to do this."


class AccountSuspended(DomainError):
    code, default_message = "ACCOUNT_SUSPENDED", "This account is suspended."


class NotFound(DomainError):
    code, default_message = "NOT_FOUND", "No such resource."


class Conflict(DomainError):
    """`code` is one of EMAIL_TAKEN, SLUG_TAKEN, INVALID_STATE_TRANSITION, CONTEST_NOT_JOINABLE, CONTEST_FULL,
    ORDER_NOT_CANCELLABLE."""

    code, default_message = "CONFLICT", "The request conflicts with the current state."


class IdempotencyKeyInUse(DomainError):
    status, code = 409, "IDEMPOTENCY_KEY_IN_USE"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class UnsupportedMediaType(DomainError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "Send the body as application/json."


class ValidationFailed(DomainError):
    """`details.fields`: {field path: message}, every bad field of the request at once."""

    code, default_message = "VALIDATION_FAILED", "The request has invalid fields."

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(message, details={"fields": fields})
        self.fields = fields


class RuleViolation(DomainError):
    """A broken trading or contest rule: INSUFFICIENT_CASH, MARKET_CLOSED, CONTEST_NOT_ACTIVE, ..."""

    code, default_message = "RULE_VIOLATION", "The request breaks a rule."


class IdempotencyKeyReused(DomainError):
    status, code = 422, "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was already used with another request."


class ClientOrderIdReused(DomainError):
    status, code = 422, "CLIENT_ORDER_ID_REUSED"
    default_message = "This clientOrderId was already used for another order."


class TooManyAttempts(DomainError):
    code, default_message = "TOO_MANY_ATTEMPTS", "Too many attempts; try again later."

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
    """503: the same request may succeed when sent again; `Retry-After` (1 second unless given) says when."""

    code = "SERVICE_UNAVAILABLE"
    default_message = "A dependency is unavailable; try again shortly."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", "1")


# payments
class BadSignature(DomainError):
    """400: a webhook body whose Stripe-Signature does not verify (or is stale, truncated, not JSON, too large)."""

    status, code, default_message = 400, "BAD_SIGNATURE", "The webhook signature does not verify."


class NotRefundable(DomainError):
    """409: an entry with nothing paid (or nothing left) to refund."""

    status, code, default_message = 409, "NOT_REFUNDABLE", "Nothing was paid for this entry."
