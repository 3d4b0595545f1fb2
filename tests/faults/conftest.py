"""Fault-injection tests: the real handlers and services on a moto table (the contests' `world`: people, an event
bus, a state machine), botocore faults from tests/support/faults.py, and Stripe faults on top of the recorded
Stripe (tests/unit/payments/recorded_stripe.py) served through `responses`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from tests.support.faults import inject  # noqa: F401  (a fixture)
from tests.unit.contests.helpers import ASL, World, make_person
from tests.unit.payments.recorded_stripe import BASE, RecordedStripe

Answer = tuple[int, dict[str, str], str]


@pytest.fixture(scope="module")
def _module_world() -> Iterator[World]:
    """The contests' moto world (a template table, an event bus, a state machine that records executions, three
    people), built once per module: building it costs seconds on a busy machine. Every test makes its own
    contests, so tests never see each other's state (the state helpers read by contest)."""
    import uuid

    from moto import mock_aws
    from tickerleague.config import settings

    from tests.support.table import create_table

    name = f"tl-faults-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        import boto3
        from tickerleague.adapters import events, stepfunctions
        from tickerleague.adapters.dynamodb.base import bind_table
        from tickerleague.adapters.dynamodb.plumbing import _client

        patch.setenv("TABLE_NAME", name)
        patch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
        create_table(boto3.client("dynamodb", region_name="us-east-1"), name)
        definition = ASL.read_text().replace(
            "${LifecycleFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:LifecycleFunction"
        )
        arn = boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
            name="ContestLifecycle",
            definition=definition,
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        boto3.client("events", region_name="us-east-1").create_event_bus(Name="tickerleague-test")
        patch.setenv("LIFECYCLE_STATE_MACHINE_ARN", arn)
        patch.setenv("EVENT_BUS_NAME", "tickerleague-test")

        def fresh() -> None:
            settings.cache_clear()
            _client.cache_clear()
            stepfunctions._client.cache_clear()
            events._client.cache_clear()
            bind_table()

        fresh()
        yield World(
            admin=make_person(f"admin-{name}@example.com", "Admin", role="admin"),
            alice=make_person(f"alice-{name}@example.com", "Alice"),
            bob=make_person(f"bob-{name}@example.com", "Bob"),
            state_machine_arn=arn,
        )
        fresh()
    settings.cache_clear()


@pytest.fixture
def world(_module_world: World) -> Iterator[World]:
    from tickerleague.adapters import events, stepfunctions
    from tickerleague.adapters.dynamodb.plumbing import _client
    from tickerleague.config import settings

    for cache in (settings, _client, stepfunctions._client, events._client):
        cache.cache_clear()
    yield _module_world
    for cache in (settings, _client, stepfunctions._client, events._client):
        cache.cache_clear()


def _stripe_error(status: int, kind: str, message: str) -> Answer:
    import json

    return status, {"Content-Type": "application/json"}, json.dumps({"error": {"type": kind, "message": message}})


# Stripe's "not now" answers, after the library's own retries are spent.
STRIPE_FAULTS = {
    "429": lambda: _stripe_error(429, "rate_limit_error", "Too many requests hit the API too quickly."),
    "500": lambda: _stripe_error(500, "api_error", "Something went wrong on Stripe's end."),
    "503": lambda: _stripe_error(503, "api_error", "Service unavailable."),
    "timeout": lambda: requests.exceptions.ReadTimeout("Read timed out."),
    "connect": lambda: requests.exceptions.ConnectionError("Connection refused."),
}


class FaultyStripe(RecordedStripe):
    """The recorded Stripe whose next calls of an operation (create | retrieve | cancel | refund) fail. With
    `after=True` the call takes effect at Stripe first and only its answer is lost (a timeout)."""

    def __init__(self, mocked: responses.RequestsMock) -> None:
        self.faults: dict[str, list[tuple[str, bool]]] = {}
        self.seen: list[str] = []
        super().__init__(mocked)

    def fail(self, operation: str, fault: str, *, times: int = 1, after: bool = False) -> None:
        self.faults.setdefault(operation, []).extend([(fault, after)] * times)

    def _faulty(self, operation: str, real: Any, request: Any) -> Answer:
        self.seen.append(operation)
        pending = self.faults.get(operation)
        if not pending:
            return real(request)  # type: ignore[no-any-return]
        fault, after = pending.pop(0)
        if after:
            real(request)
            answer = STRIPE_FAULTS["timeout"]()
        else:
            answer = STRIPE_FAULTS[fault]()
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    def _create(self, request: Any) -> Answer:
        return self._faulty("create", super()._create, request)

    def _retrieve(self, request: Any) -> Answer:
        return self._faulty("retrieve", super()._retrieve, request)

    def _cancel(self, request: Any) -> Answer:
        return self._faulty("cancel", super()._cancel, request)

    def _refund(self, request: Any) -> Answer:
        return self._faulty("refund", super()._refund, request)


@pytest.fixture
def stripe(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyStripe]:
    from tickerleague.adapters import stripe_gateway
    from tickerleague.config import settings
    from tickerleague.services import payments

    monkeypatch.setenv("STRIPE_API_BASE", BASE)
    monkeypatch.setenv("STRIPE_SECRET_KEY_SECRET_ID", "")
    # The stripe library's own retries are spent at once (a fault here is what is left after them), and a join
    # that finds its entry without a PaymentIntent does not wait long for a concurrent join to attach one.
    monkeypatch.setattr(stripe_gateway, "NETWORK_RETRIES", 0)
    monkeypatch.setattr(payments, "INTENT_WAIT_SECONDS", 0.2)
    settings.cache_clear()
    stripe_gateway._client.cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield FaultyStripe(mocked)
    stripe_gateway._client.cache_clear()
    settings.cache_clear()


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Domain events that reached PutEvents (after any injected fault), in order."""
    from tickerleague.adapters import events

    seen: list[tuple[str, dict[str, Any]]] = []
    real = events.publish

    def publish(detail_type: str, detail: dict[str, Any], source: str = "") -> None:
        real(detail_type, detail, source or events.SOURCE)
        seen.append((detail_type, detail))

    monkeypatch.setattr(events, "publish", publish)
    return seen


@pytest.fixture(autouse=True)
def _no_backoff_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table adapters' in-request retries run without their waits (how long they wait is not under test)."""
    from tickerleague.adapters.dynamodb import plumbing

    real = plumbing.backoff
    monkeypatch.setattr(
        plumbing,
        "backoff",
        lambda attempt, *, base, cap, sleep=None: real(attempt, base=base, cap=cap, sleep=lambda seconds: None),
    )
