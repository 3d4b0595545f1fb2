"""Schedule runner pieces: payloads, rate override, next firing times."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from infra.local.cron import ScheduleExpressionError
from infra.local.model import ScheduleDef
from infra.local.schedules import build_job, rate_override_from_env, scheduled_event

NOW = datetime(2025, 3, 1, 6, 29, 30, tzinfo=UTC)


def schedule(expression: str, **extra: object) -> ScheduleDef:
    values: dict[str, object] = {
        "function_id": "Fn",
        "event_name": "Tick",
        "kind": "Schedule",
        "expression": expression,
        "enabled": True,
        "input": None,
        "rule_name": "FnTick",
    }
    values.update(extra)
    return ScheduleDef(**values)  # type: ignore[arg-type]


def test_scheduled_event_payload() -> None:
    event = scheduled_event(schedule("rate(1 minute)"), "us-east-1", "123456789012", NOW)
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2025-03-01T06:29:30Z"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/FnTick"]
    assert event["detail"] == {}
    assert event["version"] == "0"
    assert event["id"]


def test_input_replaces_the_payload() -> None:
    assert scheduled_event(schedule("rate(1 minute)", input=json.dumps({"a": 1})), "r", "a", NOW) == {"a": 1}


def test_rate_override_applies_to_every_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_SCHEDULE_RATE_SECONDS", "2")
    override = rate_override_from_env()
    assert override == 2.0
    assert build_job(schedule("rate(1 day)"), override).interval_seconds == 2.0
    cron = build_job(schedule("cron(30 6 * * ? *)"), override)
    assert cron.interval_seconds is None
    assert cron.next_fire(NOW, None) == datetime(2025, 3, 1, 6, 30, tzinfo=UTC)


def test_rate_override_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_SCHEDULE_RATE_SECONDS", raising=False)
    assert rate_override_from_env() is None
    monkeypatch.setenv("LOCAL_SCHEDULE_RATE_SECONDS", "0")
    with pytest.raises(ValueError, match="positive"):
        rate_override_from_env()


def test_rate_jobs_fire_one_interval_apart() -> None:
    job = build_job(schedule("rate(5 minutes)"), None)
    first = job.next_fire(NOW, None)
    assert first == datetime(2025, 3, 1, 6, 34, 30, tzinfo=UTC)
    assert job.next_fire(NOW, first) == datetime(2025, 3, 1, 6, 39, 30, tzinfo=UTC)


def test_one_time_at_schedule() -> None:
    job = build_job(schedule("at(2025-03-01T07:00:00)", kind="ScheduleV2"), None)
    fire = job.next_fire(NOW, None)
    assert fire == datetime(2025, 3, 1, 7, tzinfo=UTC)
    assert job.next_fire(NOW, fire) is None


def test_invalid_expressions_fail_at_startup() -> None:
    with pytest.raises(ScheduleExpressionError):
        build_job(schedule("cron(* * * * * *)"), None)
