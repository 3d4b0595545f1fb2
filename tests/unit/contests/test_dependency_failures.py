"""A throttled or unreachable DynamoDB, injected at botocore's one call point under PynamoDB and boto3, through real
routes: 503 SERVICE_UNAVAILABLE with Retry-After in the contract's envelope, never a 500; a claimed Idempotency-Key is
released, so the client's retry runs for real once the table answers again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.support.events import api_event, call
from tests.unit.contests.helpers import World, contest_body, create, get

Failure = Callable[[str], Exception | None]


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Failure], None]]:
    """inject(fail): every AWS call whose operation `fail(operation)` answers with an exception raises it instead."""
    real = BaseClient._make_api_call
    failures: list[Failure] = []

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        for fail in failures:
            error = fail(operation)
            if error is not None:
                raise error
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    yield failures.append
    failures.clear()


def _throttled(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                  "Message": "The level of configured provisioned throughput for the table was "
                                             "exceeded."}}, operation)


def test_a_throttled_read_is_503_with_retry_after(world: World, inject: Callable[[Failure], None]) -> None:
    contest_id = create(world.admin).body["id"]
    inject(lambda operation: _throttled(operation) if operation in ("GetItem", "Query") else None)
    answer = get(contest_id, world.admin)
    assert (answer.status, answer.error_code) == (503, "SERVICE_UNAVAILABLE")
    assert answer.headers["Retry-After"] == "1"
    assert answer.body["error"]["requestId"] == answer.headers["X-Request-Id"]


def test_a_read_timeout_is_503(world: World, inject: Callable[[Failure], None]) -> None:
    contest_id = create(world.admin).body["id"]
    inject(lambda operation: ReadTimeoutError(endpoint_url="http://dynamodb/") if operation == "GetItem" else None)
    answer = get(contest_id)
    assert (answer.status, answer.error_code, answer.headers.get("Retry-After")) == (503, "SERVICE_UNAVAILABLE", "1")


def test_a_bug_is_still_500(world: World, inject: Callable[[Failure], None]) -> None:
    contest_id = create(world.admin).body["id"]
    inject(lambda operation: ClientError({"Error": {"Code": "ValidationException", "Message": "bad key"}},
                                         operation) if operation == "GetItem" else None)
    answer = get(contest_id)
    assert (answer.status, answer.error_code) == (500, "INTERNAL") and "Retry-After" not in answer.headers


def test_a_throttled_write_releases_its_idempotency_key(world: World, inject: Callable[[Failure], None]) -> None:
    from functions import contests

    table_down = True
    calls: list[str] = []

    def writes_throttled(operation: str) -> Exception | None:
        calls.append(operation)
        return _throttled(operation) if table_down and operation == "TransactWriteItems" else None

    inject(writes_throttled)

    def send() -> Any:
        return call(contests.create, api_event("POST", "/v1/contests", body=contest_body(name="Retry Cup"),
                                               headers={"Idempotency-Key": "create-retry-cup"},
                                               caller=world.admin.caller))

    # The key is claimed (a conditional PutItem), the contest's transaction is throttled, the claim is dropped.
    first = send()
    assert (first.status, first.error_code, first.headers["Retry-After"]) == (503, "SERVICE_UNAVAILABLE", "1")
    assert calls[0] == "PutItem" and "TransactWriteItems" in calls and calls[-1] == "DeleteItem"
    table_down = False
    second = send()
    assert second.status == 201 and "Idempotent-Replayed" not in second.headers
    third = send()
    assert third.status == 201 and third.headers["Idempotent-Replayed"] == "true"
    assert third.body["id"] == second.body["id"]
