"""The lifecycle steps (services/lifecycle.py and the jobs/lifecycle handler) with a fake clock, against moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tickerleague.services.lifecycle import LifecyclePorts, StepTooEarly, activate, end, record_failure

from tests.unit.contests.helpers import World, action, get, patch, published


class Recorder:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ended: list[tuple[str, datetime]] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)

    def ports(self) -> LifecyclePorts:
        return LifecyclePorts(
            clock=self.clock,
            sleep=self.sleep,
            publish=lambda kind, detail: self.events.append((kind, detail)),
            on_ended=lambda contest_id, at: self.ended.append((contest_id, at)),
        )


def moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_activate_then_end(world: World) -> None:
    contest = published(world)
    starts, ends = moment(contest["startsAt"]), moment(contest["endsAt"])
    recorder = Recorder(starts)
    assert activate(contest["id"], 1, recorder.ports()) == "activated"
    assert get(contest["id"]).body["status"] == "active"
    assert recorder.events == [
        (
            "ContestStarted",
            {
                "contestId": contest["id"],
                "scheduleVersion": 1,
                "startsAt": contest["startsAt"],
                "endsAt": contest["endsAt"],
                "at": contest["startsAt"],
            },
        )
    ]
    recorder.now = ends
    assert end(contest["id"], 1, recorder.ports()) == "ended"
    assert get(contest["id"]).body["status"] == "ended"
    assert recorder.ended == [(contest["id"], ends)]
    assert [kind for kind, _ in recorder.events] == ["ContestStarted", "ContestEnded"]


def test_steps_repeated_after_success_answer_the_same(world: World) -> None:
    contest = published(world)
    recorder = Recorder(moment(contest["startsAt"]))
    assert activate(contest["id"], 1, recorder.ports()) == "activated"
    assert activate(contest["id"], 1, recorder.ports()) == "activated"
    recorder.now = moment(contest["endsAt"])
    assert end(contest["id"], 1, recorder.ports()) == "ended"
    assert end(contest["id"], 1, recorder.ports()) == "ended"
    assert recorder.ended == [(contest["id"], moment(contest["endsAt"]))]  # hooks ran once: no second flip
    assert get(contest["id"]).body["status"] == "ended"


def test_a_step_that_wakes_a_moment_early_waits_for_its_time(world: World) -> None:
    contest = published(world)
    starts = moment(contest["startsAt"])
    recorder = Recorder(starts - timedelta(seconds=0.8))
    assert activate(contest["id"], 1, recorder.ports()) == "activated"
    assert recorder.slept == [pytest.approx(0.8)]


def test_a_step_far_too_early_fails_loudly(world: World) -> None:
    contest = published(world)
    recorder = Recorder(moment(contest["startsAt"]) - timedelta(hours=1))
    with pytest.raises(StepTooEarly):
        activate(contest["id"], 1, recorder.ports())
    assert get(contest["id"]).body["status"] == "scheduled"


def test_a_cancelled_contest_makes_both_steps_skip(world: World) -> None:
    contest = published(world)
    action(world.admin, contest["id"], "cancel")
    recorder = Recorder(moment(contest["startsAt"]))
    assert activate(contest["id"], 1, recorder.ports()) == "skipped"
    recorder.now = moment(contest["endsAt"])
    assert end(contest["id"], 1, recorder.ports()) == "skipped"
    assert get(contest["id"], world.admin).body["status"] == "cancelled"
    assert recorder.events == [] and recorder.ended == []


def test_a_stale_schedule_version_does_nothing(world: World) -> None:
    contest = published(world)
    new_start = (moment(contest["startsAt"]) + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert patch(world.admin, contest["id"], {"startsAt": new_start}).status == 200
    recorder = Recorder(moment(contest["startsAt"]))
    assert activate(contest["id"], 1, recorder.ports()) == "skipped"
    assert get(contest["id"]).body["status"] == "scheduled"
    recorder.now = moment(new_start)
    assert activate(contest["id"], 2, recorder.ports()) == "activated"


def test_end_of_a_scheduled_contest_skips(world: World) -> None:
    contest = published(world)
    recorder = Recorder(moment(contest["endsAt"]))
    assert end(contest["id"], 1, recorder.ports()) == "skipped"
    assert get(contest["id"]).body["status"] == "scheduled"


def test_unknown_contest_skips(world: World) -> None:
    recorder = Recorder(datetime.now(UTC))
    assert activate("01HX0000000000000000000000", 1, recorder.ports()) == "skipped"
    assert end("01HX0000000000000000000000", 1, recorder.ports()) == "skipped"


def test_a_failing_hook_leaves_the_contest_active(world: World) -> None:
    contest = published(world)
    recorder = Recorder(moment(contest["startsAt"]))
    activate(contest["id"], 1, recorder.ports())
    recorder.now = moment(contest["endsAt"])

    def broken(contest_id: str, at: datetime) -> None:
        raise RuntimeError("standings unavailable")

    ports = LifecyclePorts(clock=recorder.clock, sleep=recorder.sleep, publish=lambda *_: None, on_ended=broken)
    with pytest.raises(RuntimeError):
        end(contest["id"], 1, ports)
    assert get(contest["id"]).body["status"] == "active"  # the retry runs the hooks again, then flips


def test_record_failure_keeps_it_on_the_contest(world: World) -> None:
    from tickerleague.adapters.dynamodb import contests as repo

    contest = published(world)
    record_failure(contest["id"], "activate", "States.TaskFailed", "boom", Recorder(datetime.now(UTC)).ports())
    stored = repo.get(contest["id"], consistent=True)
    assert stored is not None and stored.lifecycle_failure is not None
    assert (stored.lifecycle_failure.step, stored.lifecycle_failure.error) == ("activate", "States.TaskFailed")
    record_failure("01HX0000000000000000000000", "end", "x", "y")  # a missing contest is not an error


def test_hooks_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.services import lifecycle_hooks

    calls: list[str] = []
    import types

    module = types.ModuleType("fake_hooks")
    module.first = lambda contest_id, at: calls.append(f"first {contest_id}")  # type: ignore[attr-defined]
    module.second = lambda contest_id, at: calls.append(f"second {contest_id}")  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "fake_hooks", module)
    monkeypatch.setattr(lifecycle_hooks, "HOOKS", ["fake_hooks:first", "fake_hooks:second"])
    lifecycle_hooks.on_contest_ended("C1", datetime.now(UTC))
    assert calls == ["first C1", "second C1"]


# ---------------------------------------------------------------------------------------------------- the handler
def test_handler_dispatches_and_publishes_on_the_bus(world: World) -> None:
    import boto3
    from tickerleague.adapters.dynamodb.contests import ContestItem

    from functions.jobs import lifecycle as handler_module

    contest = published(world)
    pk, sk = ContestItem.key(contest["id"])
    ContestItem(pk, sk).update(actions=[ContestItem.starts_at.set("2020-01-01T00:00:00Z")])  # its time has come
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="bus-tap")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="tap", EventBusName="tickerleague-test", EventPattern=json.dumps({"source": ["tickerleague.contests"]})
    )
    events.put_targets(Rule="tap", EventBusName="tickerleague-test", Targets=[{"Id": "q", "Arn": queue_arn}])

    answer = handler_module.handler({"action": "activate", "contestId": contest["id"], "scheduleVersion": 1}, None)
    assert answer == {"outcome": "activated"}
    assert get(contest["id"]).body["status"] == "active"
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(messages[0]["Body"])
    assert event["detail-type"] == "ContestStarted"
    assert event["detail"]["contestId"] == contest["id"]
    skipped = handler_module.handler({"action": "end", "contestId": contest["id"], "scheduleVersion": 7}, None)
    assert skipped == {"outcome": "skipped"}


def test_handler_record_failure_emits_the_metric(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.jobs import lifecycle as handler_module

    contest = published(world)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    answer = handler_module.handler(
        {
            "action": "record_failure",
            "step": "end",
            "contestId": contest["id"],
            "scheduleVersion": 1,
            "failure": {"Error": "States.TaskFailed", "Cause": "boom"},
        },
        None,
    )
    assert answer == {"recorded": True}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(emf) == 1
    metric = emf[0]
    assert metric["LifecycleFailures"] == [1.0] or metric["LifecycleFailures"] == 1.0
    assert metric["service"] == "tickerleague"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "TickerLeague"


def test_handler_refuses_unknown_actions() -> None:
    from functions.jobs import lifecycle as handler_module

    with pytest.raises(handler_module.UnknownAction):
        handler_module.handler({"action": "explode", "contestId": "C", "scheduleVersion": 1}, None)
