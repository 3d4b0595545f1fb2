"""statemachines/contest_lifecycle.asl.json, executed: waits made short by start/end times a few seconds ahead."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import contests as repo
from tickerleague.clock import utcnow
from tickerleague.domain.contests import Contest, ContestDefinition, ContestStatus
from tickerleague.services import contests as service

from tests.statemachines.conftest import Lifecycle, wait_for

ASL = Path(__file__).resolve().parents[2] / "statemachines" / "contest_lifecycle.asl.json"
ADMIN = service.Actor("01ADMIN0000000000000000000")
HAPPY_PATH = ["WaitForStart", "Activate", "WasActivated", "WaitForEnd", "End", "Done"]


def published(start_in: float, end_in: float) -> Contest:
    """Times are a few seconds ahead: enough for the publish (and a cancel or edit) to land first on a busy
    machine, short enough to keep the test quick."""
    now = utcnow()
    definition = ContestDefinition(
        name="Flash",
        description="",
        starts_at=now + timedelta(seconds=start_in),
        ends_at=now + timedelta(seconds=end_in),
    )
    draft = service.create_contest(ADMIN, definition)
    return service.publish_contest(ADMIN, draft.contest_id)


def status_of(contest_id: str) -> ContestStatus:
    contest = repo.get(contest_id, consistent=True)
    assert contest is not None
    return contest.status


def bus_tap() -> Callable[[], list[dict[str, Any]]]:
    """Everything published on the bus from now on (a rule -> SQS queue)."""
    import boto3

    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="tap")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="tap", EventBusName="tickerleague-test", EventPattern=json.dumps({"source": ["tickerleague.contests"]})
    )
    events.put_targets(Rule="tap", EventBusName="tickerleague-test", Targets=[{"Id": "q", "Arn": queue_arn}])
    seen: list[dict[str, Any]] = []

    def drain() -> list[dict[str, Any]]:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            seen.append(json.loads(message["Body"]))
        return seen

    return drain


def actions(lifecycle: Lifecycle) -> list[tuple[str, int]]:
    return [(call["action"], call["scheduleVersion"]) for call in lifecycle.calls]


def test_a_published_contest_becomes_active_then_ended(lifecycle: Lifecycle) -> None:
    drain = bus_tap()
    contest = published(start_in=4, end_in=6)
    name = contest.execution_name()
    wait_for(lambda: status_of(contest.contest_id) is ContestStatus.ACTIVE)
    assert utcnow() >= contest.starts_at  # never before its time
    wait_for(lambda: status_of(contest.contest_id) is ContestStatus.ENDED)
    assert utcnow() >= contest.ends_at
    result = lifecycle.finished(name)
    assert result["status"] == "SUCCEEDED"
    assert lifecycle.states_entered(name) == HAPPY_PATH
    assert actions(lifecycle) == [("activate", 1), ("end", 1)]
    published_events = wait_for(lambda: drain() if len(drain()) >= 2 else None)
    kinds = [(event["detail-type"], event["detail"]["contestId"]) for event in published_events]
    assert kinds == [("ContestStarted", contest.contest_id), ("ContestEnded", contest.contest_id)]
    output = json.loads(result["output"])
    assert (output["activation"], output["ending"]) == ({"outcome": "activated"}, {"outcome": "ended"})


def test_cancel_during_the_wait_stops_the_execution(lifecycle: Lifecycle) -> None:
    contest = published(start_in=10, end_in=12)
    service.cancel_contest(ADMIN, contest.contest_id)
    assert lifecycle.finished(contest.execution_name())["status"] == "ABORTED"
    assert status_of(contest.contest_id) is ContestStatus.CANCELLED
    assert lifecycle.calls == []


def test_a_cancel_whose_stop_was_lost_makes_activate_do_nothing(
    lifecycle: Lifecycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickerleague.adapters.stepfunctions import LifecycleWorkflows

    monkeypatch.setattr(LifecycleWorkflows, "stop", lambda self, arn, cause: None)
    contest = published(start_in=6, end_in=8)
    service.cancel_contest(ADMIN, contest.contest_id)
    name = contest.execution_name()
    assert lifecycle.finished(name)["status"] == "SUCCEEDED"
    assert lifecycle.states_entered(name) == ["WaitForStart", "Activate", "WasActivated", "Skipped"]
    assert actions(lifecycle) == [("activate", 1)]
    assert status_of(contest.contest_id) is ContestStatus.CANCELLED


def test_the_old_execution_of_a_rescheduled_contest_does_nothing(
    lifecycle: Lifecycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickerleague.adapters.stepfunctions import LifecycleWorkflows
    from tickerleague.http.schemas_contests import UpdateContestRequest, patched_definition

    monkeypatch.setattr(LifecycleWorkflows, "stop", lambda self, arn, cause: None)  # the old one keeps running
    contest = published(start_in=6, end_in=30)
    now = utcnow()
    body = UpdateContestRequest(startsAt=now + timedelta(seconds=8), endsAt=now + timedelta(seconds=10))
    moved = service.update_contest(ADMIN, contest.contest_id, lambda current: patched_definition(body, current))
    assert moved.schedule_version == 2
    old = lifecycle.finished(contest.execution_name())
    assert old["status"] == "SUCCEEDED"
    assert lifecycle.states_entered(contest.execution_name())[-1] == "Skipped"
    new = lifecycle.finished(moved.execution_name())
    assert new["status"] == "SUCCEEDED"
    assert lifecycle.states_entered(moved.execution_name()) == HAPPY_PATH
    assert sorted(actions(lifecycle)) == [("activate", 1), ("activate", 2), ("end", 2)]
    assert status_of(contest.contest_id) is ContestStatus.ENDED


def test_a_transient_failure_is_retried(lifecycle: Lifecycle, monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.services import lifecycle as steps

    real = steps.activate
    failures = iter([RuntimeError("DynamoDB throttled")])

    def flaky(contest_id: str, schedule_version: int, ports: Any = None) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(contest_id, schedule_version, ports)

    monkeypatch.setattr(steps, "activate", flaky)
    contest = published(start_in=3, end_in=5)
    assert lifecycle.finished(contest.execution_name())["status"] == "SUCCEEDED"
    assert actions(lifecycle) == [("activate", 1), ("activate", 1), ("end", 1)]
    assert status_of(contest.contest_id) is ContestStatus.ENDED


def _fast_retries(document: dict[str, Any]) -> None:
    """The real machine with 1 s retry intervals (the attempt counts stay as written)."""
    for state in document["States"].values():
        for retrier in state.get("Retry", []):
            retrier["IntervalSeconds"], retrier["BackoffRate"] = 1, 1.0


def test_a_persistent_failure_is_recorded_then_the_execution_fails(
    lifecycle_factory: Callable[..., Lifecycle], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickerleague.services import lifecycle as steps

    max_attempts = json.loads(ASL.read_text())["States"]["Activate"]["Retry"][0]["MaxAttempts"]
    machine = lifecycle_factory(_fast_retries)

    def broken(contest_id: str, schedule_version: int, ports: Any = None) -> Any:
        raise RuntimeError("the table is gone")

    monkeypatch.setattr(steps, "activate", broken)
    contest = published(start_in=3, end_in=5)
    result = machine.finished(contest.execution_name(), timeout=90)
    assert (result["status"], result["error"]) == ("FAILED", "ContestLifecycleFailed")
    assert machine.states_entered(contest.execution_name())[-2:] == ["RecordActivateFailure", "Failed"]
    assert actions(machine) == [("activate", 1)] * (1 + max_attempts) + [("record_failure", 1)]
    stored = repo.get(contest.contest_id, consistent=True)
    assert stored is not None and stored.lifecycle_failure is not None
    assert stored.lifecycle_failure.step == "activate"
    assert "the table is gone" in stored.lifecycle_failure.cause
    assert stored.status is ContestStatus.SCHEDULED


def test_a_rearmed_execution_of_an_active_contest_ends_it(lifecycle: Lifecycle) -> None:
    """After a restart of the local stack (executions forgotten), on_start starts the same execution again."""
    from dataclasses import replace

    from tickerleague.adapters.stepfunctions import LifecycleWorkflows

    now = utcnow()
    definition = ContestDefinition(
        name="Running", description="", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(seconds=2)
    )
    contest = Contest(
        contest_id="01ACTIVE000000000000000000",
        slug="running",
        status=ContestStatus.ACTIVE,
        definition=definition,
        created_at=now,
        updated_at=now,
        created_by=ADMIN.user_id,
    )
    repo.insert(contest, None)
    LifecycleWorkflows().start(replace(contest))
    assert lifecycle.finished(contest.execution_name())["status"] == "SUCCEEDED"
    assert actions(lifecycle) == [("activate", 1), ("end", 1)]
    assert status_of(contest.contest_id) is ContestStatus.ENDED


def test_every_step_and_its_events_carry_the_publishing_requests_correlation_id(lifecycle: Lifecycle) -> None:
    """The execution input's correlationId (adapters/stepfunctions.py) is handed to each step by the ASL, and the
    events a step publishes carry it on (so the notification consumer logs under it too)."""
    from tickerleague import correlation

    drain = bus_tap()
    with correlation.bound("publish-request-123"):
        contest = published(start_in=4, end_in=6)
    result = lifecycle.finished(contest.execution_name())
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["input"])["correlationId"] == "publish-request-123"
    assert [(call["action"], call["correlationId"]) for call in lifecycle.calls] == [
        ("activate", "publish-request-123"), ("end", "publish-request-123")]
    seen = wait_for(lambda: drain() if len(drain()) >= 2 else None)
    assert [(e["detail-type"], e["detail"]["metadata"]["correlationId"]) for e in seen] == [
        ("ContestStarted", "publish-request-123"), ("ContestEnded", "publish-request-123")]
