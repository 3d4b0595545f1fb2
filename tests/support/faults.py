"""Fault injection at botocore's one call point (`BaseClient._make_api_call`, under PynamoDB, boto3 and moto alike).

`inject` (a fixture) makes the Nth call of an AWS operation raise a chosen error, the way botocore raises it once its
own retries are spent: a `ClientError` subclass from the client's own exception factory (so PynamoDB wraps it as it
would a real answer) or a botocore network error. `after=True` makes the call happen first and then fail: the write
was applied but its answer was lost (a read timeout after commit), the hardest case for exactly-once.

    inject.fail("TransactWriteItems", faults.throttling())          # the next TransactWriteItems is throttled
    inject.fail("UpdateItem", faults.read_timeout(), nth=2, after=True)
    inject.calls                                                    # every operation seen, in order
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

# An error to raise: built per call from the client and operation (a ClientError subclass needs both).
Fault = Callable[[BaseClient, str], Exception]


def client_error(code: str, message: str, *, status: int = 400, **extra: Any) -> Fault:
    def build(client: BaseClient, operation: str) -> Exception:
        response: dict[str, Any] = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
            **extra,
        }
        error_class = client.exceptions.from_code(code)
        return (
            error_class(response, operation)
            if issubclass(error_class, ClientError)
            else ClientError(response, operation)
        )

    return build


def throttling() -> Fault:
    return client_error("ThrottlingException", "Rate of requests exceeds the allowed throughput.")


def throughput_exceeded() -> Fault:
    return client_error(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    )


def internal_error() -> Fault:
    return client_error("InternalServerError", "Internal server error", status=500)


def transaction_conflict(items: int = 2, at: int = 0) -> Fault:
    """TransactWriteItems cancelled because another transaction touched one of its items (reason at `at`)."""
    reasons = [{"Code": "None"} for _ in range(items)]
    reasons[at] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    return client_error(
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
        CancellationReasons=reasons,
    )


def sqs_throttled() -> Fault:
    return client_error("RequestThrottled", "Request is throttled.", status=403)


def sqs_internal() -> Fault:
    return client_error("InternalError", "We encountered an internal error. Please try again.", status=500)


def read_timeout() -> Fault:
    return lambda client, operation: ReadTimeoutError(endpoint_url=client.meta.endpoint_url)


def connect_timeout() -> Fault:
    return lambda client, operation: ConnectTimeoutError(endpoint_url=client.meta.endpoint_url)


# The DynamoDB faults every step is tried with: throttled, conflicting, over capacity, failing, unreachable.
DYNAMODB_FAULTS: dict[str, Fault] = {
    "throttling": throttling(),
    "throughput": throughput_exceeded(),
    "internal500": internal_error(),
    "read_timeout": read_timeout(),
    "connect_timeout": connect_timeout(),
}
PERSISTENT = 100  # more failures than any in-request retry loop makes
TRANSACTION_FAULTS: dict[str, Fault] = {**DYNAMODB_FAULTS, "conflict": transaction_conflict()}


@dataclass
class _Rule:
    operation: str
    fault: Fault
    nth: int
    times: int
    after: bool
    seen: int = 0
    fired: int = 0


@dataclass
class Injector:
    calls: list[str] = field(default_factory=list)
    _rules: list[_Rule] = field(default_factory=list)
    _off: int = 0

    def fail(self, operation: str, fault: Fault, *, nth: int = 1, times: int = 1, after: bool = False) -> None:
        """From the `nth` call of `operation` on (counted from now), `times` calls fail with `fault`."""
        self._rules.append(_Rule(operation, fault, nth, times, after))

    def clear(self) -> None:
        self._rules.clear()

    @contextmanager
    def off(self) -> Iterator[None]:
        """No fault inside (the test's own reads of the state), the rules kept for after."""
        self._off += 1
        try:
            yield
        finally:
            self._off -= 1

    @property
    def fired(self) -> int:
        return sum(rule.fired for rule in self._rules)

    def _fault_for(self, operation: str) -> _Rule | None:
        chosen = None
        for rule in self._rules:
            if rule.operation != operation:
                continue
            rule.seen += 1
            if chosen is None and rule.seen >= rule.nth and rule.fired < rule.times:
                rule.fired += 1
                chosen = rule
        return chosen

    def call(self, real: Callable[..., Any], client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if self._off:
            return real(client, operation, params)
        self.calls.append(operation)
        rule = self._fault_for(operation)
        if rule is None:
            return real(client, operation, params)
        if rule.after:
            real(client, operation, params)
        raise rule.fault(client, operation)


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Iterator[Injector]:
    injector = Injector()
    real = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        return injector.call(real, client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    yield injector
    injector.clear()


def assert_retryable(answer: Any) -> None:
    """The HTTP answer is the contract's 503: SERVICE_UNAVAILABLE with Retry-After (never a 500)."""
    assert (answer.status, answer.error_code) == (503, "SERVICE_UNAVAILABLE"), (answer.status, answer.body)
    assert int(answer.headers["Retry-After"]) >= 1
