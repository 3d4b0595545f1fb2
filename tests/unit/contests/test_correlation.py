"""The correlation id of an API request (tickerleague/correlation.py): the caller's X-Correlation-Id or the request
id, answered back, on every log line of the request, and carried into the execution it starts and the events it
publishes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.events import api_event, call
from tests.support.logs import captured_log_lines
from tests.unit.contests.helpers import World, action, contest_body


def _put_events_entries() -> list[dict[str, Any]]:
    """Every PutEvents entry the events adapter sends from now on (read off the real client's parameters)."""
    from tickerleague.adapters import events
    from tickerleague.config import settings

    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.extend(params["Entries"])

    events._client(settings().region).meta.events.register("provide-client-params.events.PutEvents", record)
    return sent


def _create(world: World, headers: dict[str, str] | None = None) -> Any:
    from functions import contests

    event = api_event("POST", "/v1/contests", body=contest_body(), caller=world.admin.caller, headers=headers)
    return event, call(contests.create, event)


def _contest_route(handler: Callable[..., Any], world: World, contest_id: str, verb: str,
                   correlation_id: str) -> Any:
    return call(handler, api_event(
        "POST", f"/v1/contests/{contest_id}/{verb}", resource=f"/v1/contests/{{contestId}}/{verb}",
        path_params={"contestId": contest_id}, caller=world.admin.caller,
        headers={"X-Correlation-Id": correlation_id}))


def test_the_callers_id_comes_back_and_is_on_every_line_of_the_request(world: World) -> None:
    with captured_log_lines() as logs:
        _, answer = _create(world, {"X-Correlation-Id": "client-trace-0001"})
    assert answer.status == 201, answer.body
    assert answer.headers["X-Correlation-Id"] == "client-trace-0001"
    lines = logs.all()
    assert logs.with_message("request"), lines
    assert {line.get("correlation_id") for line in lines} == {"client-trace-0001"}


def test_without_a_header_the_request_id_is_the_correlation_id(world: World) -> None:
    with captured_log_lines() as logs:
        event, answer = _create(world)
    request_id = event["requestContext"]["requestId"]
    assert answer.headers["X-Correlation-Id"] == answer.headers["X-Request-Id"] == request_id
    assert [line["correlation_id"] for line in logs.with_message("request")] == [request_id]


@pytest.mark.parametrize("offered", ["", "   ", "x" * 129, "tab\there", "caf\u00e9", "line\nbreak"])
def test_an_invalid_header_is_ignored(world: World, offered: str) -> None:
    with captured_log_lines() as logs:
        event, answer = _create(world, {"X-Correlation-Id": offered})
    assert answer.status == 201, answer.body
    request_id = event["requestContext"]["requestId"]
    assert answer.headers["X-Correlation-Id"] == request_id != offered
    assert [line["correlation_id"] for line in logs.with_message("request")] == [request_id]


def test_the_longest_valid_header_is_kept(world: World) -> None:
    offered = "a" * 127 + "~"
    _, answer = _create(world, {"X-Correlation-Id": offered})
    assert answer.headers["X-Correlation-Id"] == offered


def test_errors_carry_it_too_and_cors_exposes_it(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.config import settings

    from functions import contests

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://app.example")
    settings.cache_clear()
    answer = call(contests.create, api_event("POST", "/v1/contests", raw_body="{not json", caller=world.admin.caller,
                                             headers={"X-Correlation-Id": "bad-body-1", "Origin": "https://app.example"}))
    assert answer.status == 400
    assert answer.headers["X-Correlation-Id"] == "bad-body-1"
    assert "X-Correlation-Id" in answer.headers["Access-Control-Expose-Headers"].split(", ")


def test_publish_starts_the_execution_with_the_requests_id(world: World) -> None:
    import boto3

    from functions import contests

    _, created = _create(world)
    with captured_log_lines() as logs:
        answer = _contest_route(contests.publish, world, created.body["id"], "publish", "publish-trace-7")
    assert answer.status == 200, answer.body
    assert {line.get("correlation_id") for line in logs.all()} == {"publish-trace-7"}
    (execution,) = world.executions()
    described = boto3.client("stepfunctions", region_name="us-east-1").describe_execution(
        executionArn=execution["executionArn"])
    started = json.loads(described["input"])
    assert started["correlationId"] == "publish-trace-7"
    assert started["contestId"] == created.body["id"]


def test_cancel_publishes_its_event_with_the_requests_id(world: World) -> None:
    from functions import contests

    _, created = _create(world)
    assert action(world.admin, created.body["id"], "publish").status == 200
    entries = _put_events_entries()
    answer = _contest_route(contests.cancel, world, created.body["id"], "cancel", "cancel-trace-9")
    assert answer.status == 200, answer.body
    (entry,) = entries
    assert entry["DetailType"] == "ContestCancelled"
    detail = json.loads(entry["Detail"])
    assert detail["metadata"] == {"correlationId": "cancel-trace-9"}
    assert detail["contestId"] == created.body["id"]


def test_a_retried_publish_under_another_id_finds_its_execution(world: World) -> None:
    """The correlation id is not part of "the same input": a second start of the same schedule, from another
    request, is the same execution, not an error."""
    from tickerleague import correlation
    from tickerleague.adapters import stepfunctions

    payload = {"contestId": "C9", "scheduleVersion": 1, "startsAt": "2030-01-01T00:00:00Z",
               "endsAt": "2030-01-02T00:00:00Z"}
    with correlation.bound("first-request"):
        first = stepfunctions.start_execution(world.state_machine_arn, "C9-v1", payload)
    with correlation.bound("second-request"):
        again = stepfunctions.start_execution(world.state_machine_arn, "C9-v1", payload)
    assert first == again
    assert len(world.executions()) == 1


def test_a_lifecycle_step_logs_under_its_executions_id(world: World) -> None:
    from functions.jobs import lifecycle

    with captured_log_lines() as logs:
        answer = lifecycle.handler({"action": "activate", "contestId": "01NOSUCHCONTEST0000000000",
                                    "scheduleVersion": 1, "correlationId": "publish-trace-7"}, None)
    assert answer == {"outcome": "skipped"}
    (line,) = logs.with_message("activate skipped")
    assert line["correlation_id"] == "publish-trace-7"
