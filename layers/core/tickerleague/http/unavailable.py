"""Which unexpected failures are a dependency's passing trouble rather than a bug.

`Api` answers these 503 SERVICE_UNAVAILABLE with `Retry-After` instead of 500 INTERNAL, so a client (and the
frontend's retry policy) knows that the same request may simply be sent again: DynamoDB throttling the table (after
botocore's own retries), SQS, EventBridge or Step Functions throttling or failing (their own codes, e.g. SQS's
`RequestThrottled` and `InternalError`), any AWS answer with a 5xx status, a connection that timed out or could not
be opened, a transaction cancelled only because another one touched the same items. PynamoDB wraps the botocore
error in its own (`.cause`); other code chains it (`__cause__`); both are followed.
"""

from __future__ import annotations

# Error codes of AWS answers that say "not now" rather than "never".
TRANSIENT_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "RequestLimitExceeded",
    "TooManyRequestsException", "InternalServerError", "InternalFailure", "ServiceUnavailable",
    "RequestThrottled", "RequestThrottledException", "InternalError", "ServiceUnavailableException",
    "RequestTimeout", "RequestTimeoutException", "SlowDown",
})
# Cancellation reasons of a TransactWriteItems that another attempt would not meet again.
TRANSIENT_CANCELLATIONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})
MAX_CHAIN = 6


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < MAX_CHAIN:
        chain.append(current)
        wrapped = getattr(current, "cause", None)  # PynamoDB's exceptions
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__ or current.__context__
    return chain


def _transient_answer(response: object) -> bool:
    if not isinstance(response, dict):
        return False
    code = (response.get("Error") or {}).get("Code")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):  # any AWS 5xx: theirs, not ours
        return True
    if code == "TransactionCanceledException":
        reasons = [reason.get("Code") for reason in response.get("CancellationReasons") or []]
        found = [reason for reason in reasons if reason and reason != "None"]
        return bool(found) and all(reason in TRANSIENT_CANCELLATIONS for reason in found)
    return False


def is_transient(error: BaseException) -> bool:
    """True when `error` (or what it wraps) is a throttled, failing or unreachable AWS dependency."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    for cause in _causes(error):
        if isinstance(cause, (HTTPClientError, ConnectionError)):  # read/connect timeouts, refused, reset
            return True
        if isinstance(cause, ClientError) and _transient_answer(cause.response):
            return True
    return False
