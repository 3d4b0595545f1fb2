"""State machines executed by moto with their Lambda tasks dispatched to the fixture handlers in-process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.local.invoke import Invoker
from infra.local.moto_setup import local_moto
from infra.local.template import LocalTemplate, load_template
from infra.local.workflows import (
    LambdaDispatcher,
    create_state_machines,
    stop_running_executions,
    use_utc_process_timezone,
)
from tests.support.local_stack import TEMPLATE, handler_log
from tests.support.waiting import wait_for


@pytest.fixture
def flows() -> Iterator[tuple[LocalTemplate, Any]]:
    with local_moto():
        template = load_template(TEMPLATE, parameters_file=None)
        template = template.with_attributes(create_state_machines(template))
        dispatcher = LambdaDispatcher(template, Invoker(template.functions))
        dispatcher.install()
        try:
            yield template, boto3.client("stepfunctions", region_name="us-east-1")
        finally:
            stop_running_executions(template)
            dispatcher.uninstall()


@pytest.fixture
def log() -> Any:
    module = handler_log()
    module.reset()
    return module


def finished(client: Any, arn: str, timeout: float = 15) -> dict[str, Any]:
    return wait_for(
        lambda: (d := client.describe_execution(executionArn=arn))["status"] != "RUNNING" and d, timeout=timeout
    )


def events_by_type(client: Any, arn: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in client.get_execution_history(executionArn=arn)["events"]:
        grouped.setdefault(event["type"], []).append(event)
    return grouped


def test_wait_then_task_then_choice_succeeds(flows: tuple[LocalTemplate, Any], log: Any) -> None:
    template, sfn = flows
    machine = template.state_machines["Flow"]
    execution = sfn.start_execution(
        stateMachineArn=machine.arn, name="run-1", input=json.dumps({"delaySeconds": 1, "key": "k1"})
    )
    result = finished(sfn, execution["executionArn"])
    assert result["status"] == "SUCCEEDED"
    # The Wait state really waited, as the execution's history records it: the task entered only after the wait
    # ended, and the wait lasted its delaySeconds (a loaded machine only makes it longer).
    history = events_by_type(sfn, execution["executionArn"])
    entered, exited = history["WaitStateEntered"][0], history["WaitStateExited"][0]
    assert entered["id"] < exited["id"] < history["TaskStateEntered"][0]["id"]
    assert exited["timestamp"] - entered["timestamp"] >= timedelta(seconds=1)
    assert log.calls("step") == [{"action": "step", "key": "k1"}]
    assert json.loads(result["output"])["step"] == {"outcome": "done"}


def test_choice_default_and_caught_task_errors_fail_the_execution(flows: tuple[LocalTemplate, Any], log: Any) -> None:
    template, sfn = flows
    arn = template.state_machines["Flow"].arn
    other = sfn.start_execution(stateMachineArn=arn, name="n", input=json.dumps({"delaySeconds": 0, "key": "notdone"}))
    explode = sfn.start_execution(
        stateMachineArn=arn, name="e", input=json.dumps({"delaySeconds": 0, "key": "explode"})
    )
    assert finished(sfn, other["executionArn"])["status"] == "FAILED"
    failed = finished(sfn, explode["executionArn"])
    assert (failed["status"], failed["error"]) == ("FAILED", "NotDone")
    history = sfn.get_execution_history(executionArn=explode["executionArn"])["events"]
    assert any(e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == "StepFailed" for e in history)
    assert sorted(e["key"] for e in log.calls("step")) == ["explode", "notdone"]


def test_stopping_during_the_wait_prevents_the_task(flows: tuple[LocalTemplate, Any], log: Any) -> None:
    template, sfn = flows
    started = time.monotonic()
    execution = sfn.start_execution(
        stateMachineArn=template.state_machines["Flow"].arn,
        name="stopped",
        input=json.dumps({"delaySeconds": 2, "key": "never"}),
    )
    time.sleep(0.3)
    sfn.stop_execution(executionArn=execution["executionArn"], cause="cancelled")
    assert finished(sfn, execution["executionArn"])["status"] == "ABORTED"
    time.sleep(max(0.0, 2.5 - (time.monotonic() - started)))  # past the moment the task would have run
    assert log.calls("step") == []
    history = events_by_type(sfn, execution["executionArn"])
    assert "ExecutionAborted" in history and "TaskStateEntered" not in history


def test_a_stop_right_after_the_start_stops_the_execution(flows: tuple[LocalTemplate, Any], log: Any) -> None:
    """moto makes an execution's environment in its worker thread; a stop that comes first must wait for it."""
    template, sfn = flows
    arns = []
    for number in range(20):
        execution = sfn.start_execution(stateMachineArn=template.state_machines["Flow"].arn, name=f"quick-{number}",
                                         input=json.dumps({"delaySeconds": 2, "key": "never"}))
        sfn.stop_execution(executionArn=execution["executionArn"], cause="cancelled at once")
        arns.append(execution["executionArn"])
    assert {finished(sfn, arn)["status"] for arn in arns} == {"ABORTED"}
    assert log.calls("step") == []


def test_timestamp_waits_are_utc_whatever_the_machine_timezone(
    flows: tuple[LocalTemplate, Any], log: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, sfn = flows
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        use_utc_process_timezone()  # what the stack does at startup, as Lambda runs with TZ=:UTC
        at = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        execution = sfn.start_execution(
            stateMachineArn=template.state_machines["Until"].arn, name="until", input=json.dumps({"at": at})
        )
        result = finished(sfn, execution["executionArn"], timeout=10)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result["status"] == "SUCCEEDED"
    # The task ran once the UTC moment had come, not hours early (a wait read in New York time would end at once)
    # nor hours late (the execution would not have finished within finished()'s timeout). moto waits whole seconds
    # (the fraction left of the last one is dropped), so the wait may end up to a second before `at`.
    history = events_by_type(sfn, execution["executionArn"])
    moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert history["TaskStateEntered"][0]["timestamp"] >= moment - timedelta(seconds=1)
    assert log.calls("step") == [{"at": at}]  # plain function-ARN task: the state input is the payload


def test_unknown_functions_fail_the_task(flows: tuple[LocalTemplate, Any]) -> None:
    _, sfn = flows
    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Nope", "End": True}
        },
    }
    arn = sfn.create_state_machine(
        name="adhoc", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="x")
    assert finished(sfn, execution["executionArn"])["status"] == "FAILED"
