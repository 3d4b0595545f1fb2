"""Contest tests in-process: handlers, services and a moto table, plus a moto state machine that does not execute
(executions are recorded, not run; tests/statemachines/ runs the real workflow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.contests.helpers import ASL, World, make_person


@pytest.fixture
def world(moto_table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    import boto3
    from tickerleague.adapters import events, stepfunctions
    from tickerleague.config import settings

    definition = ASL.read_text().replace(
        "${LifecycleFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:LifecycleFunction"
    )
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name="ContestLifecycle", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    boto3.client("events", region_name="us-east-1").create_event_bus(Name="tickerleague-test")
    monkeypatch.setenv("LIFECYCLE_STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("EVENT_BUS_NAME", "tickerleague-test")
    settings.cache_clear()
    stepfunctions._client.cache_clear()
    events._client.cache_clear()
    yield World(
        admin=make_person("admin@example.com", "Admin", role="admin"),
        alice=make_person("alice@example.com", "Alice"),
        bob=make_person("bob@example.com", "Bob"),
        state_machine_arn=arn,
    )
    stepfunctions._client.cache_clear()
    events._client.cache_clear()
    settings.cache_clear()
