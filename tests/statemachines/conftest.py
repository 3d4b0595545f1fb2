"""The real contest lifecycle ASL run by moto's interpreter, its Lambda tasks dispatched in-process to the template's
handler (infra/local/workflows.py), the table in moto."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.waiting import wait_for as support_wait_for

ROOT = Path(__file__).resolve().parents[2]


# Generous: a workflow runs several Lambda tasks on a machine that may be busy.
wait_for = functools.partial(support_wait_for, timeout=40.0, interval=0.1)


@dataclass
class Lifecycle:
    arn: str
    sfn: Any
    calls: list[dict[str, Any]]

    def execution(self, name: str) -> dict[str, Any]:
        arn = self.arn.replace(":stateMachine:", ":execution:") + f":{name}"
        return dict(self.sfn.describe_execution(executionArn=arn))

    def finished(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        return wait_for(lambda: (d := self.execution(name))["status"] != "RUNNING" and d, timeout=timeout)

    def states_entered(self, name: str) -> list[str]:
        arn = self.arn.replace(":stateMachine:", ":execution:") + f":{name}"
        events = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return [event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event]


def _definition(template: Any, rewrite: Callable[[dict[str, Any]], None] | None) -> str:
    text = template.state_machines["ContestLifecycle"].definition
    if rewrite is None:
        return str(text)
    document = json.loads(text)
    rewrite(document)
    return json.dumps(document)


@pytest.fixture
def lifecycle_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Lifecycle]]:
    """`make(rewrite=None)`: the state machine from template.yaml (optionally rewritten, e.g. shorter retries)."""
    import boto3
    from moto import mock_aws
    from tickerleague.adapters import events, stepfunctions
    from tickerleague.adapters.dynamodb.base import bind_table
    from tickerleague.adapters.dynamodb.plumbing import _client
    from tickerleague.config import settings

    from infra.local.invoke import Invoker
    from infra.local.template import load_template
    from infra.local.workflows import LambdaDispatcher, use_utc_process_timezone
    from tests.support.table import create_table

    use_utc_process_timezone()
    table = f"tl-sfn-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TABLE_NAME", table)
    monkeypatch.setenv("EVENT_BUS_NAME", "tickerleague-test")
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    config: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        settings.cache_clear()
        for cache in (_client, stepfunctions._client, events._client):
            cache.cache_clear()
        create_table(boto3.client("dynamodb", region_name="us-east-1"), table)
        bind_table()
        boto3.client("events", region_name="us-east-1").create_event_bus(Name="tickerleague-test")
        template = load_template(ROOT / "template.yaml", parameters_file=None)
        invoker = Invoker(template.functions)
        calls: list[dict[str, Any]] = []
        real_invoke = invoker.invoke

        def recording_invoke(logical_id: str, event: Any, request_id: str | None = None) -> Any:
            calls.append(dict(event))
            return real_invoke(logical_id, event, request_id)

        invoker.invoke = recording_invoke  # type: ignore[method-assign]
        dispatcher = LambdaDispatcher(template, invoker)
        dispatcher.install()
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        created: list[str] = []

        def make(rewrite: Callable[[dict[str, Any]], None] | None = None) -> Lifecycle:
            arn = sfn.create_state_machine(
                name=f"ContestLifecycle{len(created)}",
                definition=_definition(template, rewrite),
                roleArn="arn:aws:iam::123456789012:role/sfn",
            )["stateMachineArn"]
            created.append(arn)
            monkeypatch.setenv("LIFECYCLE_STATE_MACHINE_ARN", arn)
            settings.cache_clear()
            return Lifecycle(arn=arn, sfn=sfn, calls=calls)

        try:
            yield make
        finally:
            for arn in created:
                for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause="test over")
            dispatcher.uninstall()
            for cache in (_client, stepfunctions._client, events._client):
                cache.cache_clear()
    settings.cache_clear()


@pytest.fixture
def lifecycle(lifecycle_factory: Callable[..., Lifecycle]) -> Lifecycle:
    return lifecycle_factory()
