"""Which unexpected failures `Api` answers 503 (send again) instead of 500 (a bug): built from the exceptions botocore
and PynamoDB really raise."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from pynamodb.exceptions import GetError, TransactWriteError
from tickerleague.http.unavailable import is_transient


def _client_error(code: str, operation: str = "GetItem", **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, **extra}, operation)


def _cancelled(*reasons: str) -> ClientError:
    return _client_error("TransactionCanceledException", "TransactWriteItems",
                         CancellationReasons=[{"Code": reason} for reason in reasons])


@pytest.mark.parametrize("error", [
    _client_error("ProvisionedThroughputExceededException"),
    _client_error("ThrottlingException", "TransactWriteItems"),
    _client_error("RequestLimitExceeded"),
    _client_error("InternalServerError"),
    ReadTimeoutError(endpoint_url="http://dynamodb.us-east-1.amazonaws.com/"),
    ConnectTimeoutError(endpoint_url="http://dynamodb.us-east-1.amazonaws.com/"),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:1/"),
    GetError("Failed to get item", cause=_client_error("ProvisionedThroughputExceededException")),
    TransactWriteError("Failed to write transaction items", cause=_cancelled("None", "ThrottlingError")),
    TransactWriteError("Failed to write transaction items", cause=_cancelled("TransactionConflict", "None")),
], ids=lambda error: type(error).__name__)
def test_throttling_timeouts_and_unreachable_dependencies_are_transient(error: Exception) -> None:
    assert is_transient(error)


def test_a_chained_cause_counts() -> None:
    try:
        try:
            raise ReadTimeoutError(endpoint_url="http://sqs/")
        except ReadTimeoutError as timeout:
            raise RuntimeError("publishing failed") from timeout
    except RuntimeError as wrapped:
        assert is_transient(wrapped)


@pytest.mark.parametrize("error", [
    ValueError("a bug"),
    KeyError("PK"),
    _client_error("ValidationException"),
    _client_error("ConditionalCheckFailedException", "PutItem"),
    _client_error("AccessDeniedException"),
    TransactWriteError("Failed", cause=_cancelled("ConditionalCheckFailed", "None")),
    TransactWriteError("Failed", cause=_cancelled("ConditionalCheckFailed", "ThrottlingError")),
    GetError("Failed to get item", cause=_client_error("ResourceNotFoundException")),
], ids=lambda error: f"{type(error).__name__}")
def test_bugs_and_definitive_refusals_are_not(error: Exception) -> None:
    assert not is_transient(error)


def test_a_cause_cycle_ends() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert not is_transient(first)
