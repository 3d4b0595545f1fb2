"""The schedule runner firing fixture jobs for real (with LOCAL_SCHEDULE_RATE_SECONDS)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from infra.local.invoke import Invoker
from infra.local.model import ScheduleDef
from infra.local.schedules import ScheduleRunner, rate_override_from_env
from infra.local.template import load_template
from tests.support.local_stack import TEMPLATE, handler_log
from tests.support.waiting import wait_for


def test_rate_override_fires_the_fixture_job_repeatedly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_SCHEDULE_RATE_SECONDS", "1")
    template = load_template(TEMPLATE, parameters_file=None)
    log = handler_log()
    log.reset()
    runner = ScheduleRunner(
        template.schedules, Invoker(template.functions).invoke, rate_override_seconds=rate_override_from_env()
    )
    started = datetime.now(UTC)
    runner.start()
    try:
        wait_for(lambda: len(log.calls("tick")) >= 3, timeout=10)
    finally:
        runner.stop()
    ticks = log.calls("tick")
    # The events' own times (whole seconds): the first one an interval after the start, not at it, and each next one
    # at least an interval after the one before (a machine that lags only spaces them further apart).
    fired = [datetime.strptime(t["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) for t in ticks]
    assert fired[0] >= started.replace(microsecond=0) + timedelta(seconds=1)
    assert all((later - earlier).total_seconds() >= 1 for earlier, later in pairwise(fired))
    assert all(t["detail-type"] == "Scheduled Event" for t in ticks)
    assert {tuple(t["resources"]) for t in ticks} == {("arn:aws:events:us-east-1:123456789012:rule/TickFunctionEvery",)}
    assert len({t["id"] for t in ticks}) == len(ticks)
    # Only the rate schedule fired: the disabled one never runs, cron ones wait for their real time.
    assert {j.schedule.event_name for j in runner.jobs} == {"Every", "Nightly", "Weekly"}


def test_a_schedule_never_overlaps_itself() -> None:
    release = threading.Event()
    started: list[Any] = []

    def slow_job(function_id: str, event: Any) -> None:
        started.append(event)
        release.wait(5)

    schedule = ScheduleDef("Fn", "Tick", "Schedule", "rate(1 minute)", True, None, "FnTick")
    runner = ScheduleRunner([schedule], slow_job, rate_override_seconds=0.2)
    runner.start()
    try:
        job = runner.jobs[0]
        wait_for(lambda: job.skipped >= 2, timeout=5)
        assert len(started) == 1
        release.set()
        wait_for(lambda: len(started) >= 2, timeout=5)
    finally:
        release.set()
        runner.stop()


def test_stop_interrupts_waiting_timers_promptly() -> None:
    schedule = ScheduleDef("Fn", "Tick", "Schedule", "cron(0 0 1 1 ? *)", True, None, "FnTick")
    runner = ScheduleRunner([schedule], lambda *_: None)
    runner.start()
    timers = [t for t in threading.enumerate() if t.name == "schedule-FnTick"]
    assert len(timers) == 1 and timers[0].is_alive()  # waiting for next New Year's midnight
    runner.stop(timeout=30)
    assert not timers[0].is_alive()  # the stop woke it: it ended rather than outliving stop()'s join
