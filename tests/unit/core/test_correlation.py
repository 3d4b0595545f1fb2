"""tickerleague/correlation.py: which ids are kept, where a record's id is read from, and that every entry point's
id is its own (a run's, a request's) and gone after it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tickerleague import correlation


@pytest.mark.parametrize(("value", "kept"), [
    ("abc-123", True), ("a" * 128, True), ("with space", True), ("~!@#$%^&*()", True),
    ("", False), ("   ", False), ("a" * 129, False), ("tab\t", False), ("nul\x00", False), ("caf\u00e9", False),
    (None, False), (42, False),
])
def test_valid(value: Any, kept: bool) -> None:
    assert correlation.valid(value) is kept


def test_a_request_prefers_a_valid_header_then_the_request_id() -> None:
    assert correlation.of_request({"x-correlation-id": "mine"}, "req-1") == "mine"
    assert correlation.of_request({"x-correlation-id": "x" * 200}, "req-1") == "req-1"
    assert correlation.of_request({}, "req-1") == "req-1"
    made = correlation.of_request({}, "unknown")  # no request id at all: a new one
    assert correlation.valid(made) and made != "unknown"


def _record(attributes: dict[str, Any] | None = None, body: Any = "{}") -> dict[str, Any]:
    return {"messageId": "m", "body": body if isinstance(body, str) else json.dumps(body),
            "messageAttributes": attributes or {}}


def test_a_records_id_is_its_attribute_then_its_events_metadata() -> None:
    attribute = {"correlationId": {"stringValue": "from-attribute", "dataType": "String"}}
    event = {"detail-type": "ContestStarted", "detail": {"contestId": "c", "metadata": {"correlationId": "from-event"}}}
    assert correlation.of_sqs_record(_record(attribute, event)) == "from-attribute"
    assert correlation.of_sqs_record(_record(None, event)) == "from-event"
    assert correlation.of_sqs_record(_record(None, {"notify": "chunk", "metadata": {"correlationId": "no"}})) is None
    assert correlation.of_sqs_record(_record(None, "not json")) is None
    assert correlation.of_sqs_record(_record({"correlationId": {"stringValue": "\x01"}}, event)) == "from-event"


def test_the_carriers_are_empty_without_a_current_id() -> None:
    detail = {"contestId": "c"}
    assert correlation.current() is None
    assert correlation.message_attributes() == {} and correlation.message_fields() == {}
    assert correlation.with_metadata(detail) == detail
    with correlation.bound("run-1"):
        assert correlation.message_fields() == {
            "MessageAttributes": {"correlationId": {"DataType": "String", "StringValue": "run-1"}}}
        assert correlation.with_metadata(detail) == {"contestId": "c", "metadata": {"correlationId": "run-1"}}
    assert detail == {"contestId": "c"}  # not changed in place
    assert correlation.current() is None


def test_each_run_of_a_scheduled_job_has_its_own_id() -> None:
    @correlation.per_run
    def job(event: Any, context: Any) -> str | None:
        return correlation.current()

    first, second = job({}, None), job({}, None)
    assert first and second and first != second
    assert correlation.current() is None


def test_every_line_names_its_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runbooks' Logs Insights queries filter on `function_name`."""
    import logging

    from tests.support.logs import captured_log_lines

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tickerleague-dev-PlaceOrderFunction-abc")
    with captured_log_lines() as logs, correlation.bound("run-2"):
        logging.getLogger("tickerleague.orders").info("placed")
    (line,) = logs.with_message("placed")
    assert (line["function_name"], line["correlation_id"]) == ("tickerleague-dev-PlaceOrderFunction-abc", "run-2")
