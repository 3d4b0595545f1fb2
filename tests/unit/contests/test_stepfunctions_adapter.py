"""Starting and stopping lifecycle executions (moto, executions not run)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from tickerleague.adapters import stepfunctions

from tests.unit.contests.helpers import World


def test_starting_the_same_schedule_twice_is_one_execution(world: World) -> None:
    payload = {
        "contestId": "C1",
        "scheduleVersion": 1,
        "startsAt": "2030-01-01T00:00:00Z",
        "endsAt": "2030-01-02T00:00:00Z",
    }
    first = stepfunctions.start_execution(world.state_machine_arn, "C1-v1", payload)
    again = stepfunctions.start_execution(world.state_machine_arn, "C1-v1", dict(payload))
    assert first == again == stepfunctions.execution_arn_for(world.state_machine_arn, "C1-v1")
    assert len(world.executions()) == 1


def test_already_exists_is_success_for_the_same_input_even_when_finished(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS answers ExecutionAlreadyExists for a closed execution of that name (moto returns it instead): the
    adapter then reads the execution and accepts it when the input is the same."""
    payload = {
        "contestId": "C2",
        "scheduleVersion": 1,
        "startsAt": "2030-01-01T00:00:00Z",
        "endsAt": "2030-01-02T00:00:00Z",
    }
    arn = stepfunctions.start_execution(world.state_machine_arn, "C2-v1", payload)
    real = stepfunctions.client()

    class LikeAws:
        def start_execution(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "ExecutionAlreadyExists", "Message": "closed"}}, "StartExecution")

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(stepfunctions, "client", LikeAws)
    assert stepfunctions.start_execution(world.state_machine_arn, "C2-v1", payload) == arn
    with pytest.raises(ClientError):
        stepfunctions.start_execution(world.state_machine_arn, "C2-v1", {**payload, "scheduleVersion": 2})


def test_the_same_name_with_another_input_is_an_error(world: World) -> None:
    payload = {
        "contestId": "C3",
        "scheduleVersion": 1,
        "startsAt": "2030-01-01T00:00:00Z",
        "endsAt": "2030-01-02T00:00:00Z",
    }
    stepfunctions.start_execution(world.state_machine_arn, "C3-v1", payload)
    with pytest.raises(ClientError) as raised:
        stepfunctions.start_execution(world.state_machine_arn, "C3-v1", {**payload, "endsAt": "2030-01-03T00:00:00Z"})
    assert raised.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_stopping_twice_or_stopping_nothing_is_fine(world: World) -> None:
    arn = stepfunctions.start_execution(world.state_machine_arn, "C4-v1", {"contestId": "C4"})
    stepfunctions.stop_execution(arn, "first")
    stepfunctions.stop_execution(arn, "second")
    stepfunctions.LifecycleWorkflows().stop(stepfunctions.execution_arn_for(world.state_machine_arn, "nope"), "x")
    assert [item["status"] for item in world.executions()] == ["ABORTED"]


def test_the_port_needs_a_configured_state_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.config import settings

    monkeypatch.setenv("LIFECYCLE_STATE_MACHINE_ARN", "")
    settings.cache_clear()
    try:
        with pytest.raises(RuntimeError):
            _ = stepfunctions.LifecycleWorkflows().state_machine_arn
    finally:
        settings.cache_clear()
