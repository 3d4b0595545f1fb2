"""Fire the template's ``Schedule`` / ``ScheduleV2`` events locally (moto's EventBridge does not invoke Lambdas).

One timer thread per schedule computes the next firing time and starts the job in a worker thread.
A schedule never overlaps itself: if the previous run is still going, the tick is skipped and logged
(EventBridge would start a second concurrent Lambda; our jobs are written to tolerate that in AWS, but
locally an overlap only piles up work on a laptop). ``LOCAL_SCHEDULE_RATE_SECONDS=N`` turns every
``rate()`` into "every N seconds" for demos and tests; ``cron()`` keeps its real times (UTC).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.local.cron import CronExpression, parse_at, parse_cron, parse_rate
from infra.local.model import ScheduleDef

LOG = logging.getLogger(__name__)

RATE_OVERRIDE_ENV = "LOCAL_SCHEDULE_RATE_SECONDS"

InvokeFunction = Callable[[str, Any], Any]


def rate_override_from_env() -> float | None:
    """``LOCAL_SCHEDULE_RATE_SECONDS`` as seconds, if set."""
    raw = os.environ.get(RATE_OVERRIDE_ENV, "").strip()
    if not raw:
        return None
    seconds = float(raw)
    if seconds <= 0:
        raise ValueError(f"{RATE_OVERRIDE_ENV} must be positive, got {raw!r}")
    return seconds


def scheduled_event(schedule: ScheduleDef, region: str, account_id: str, fired_at: datetime) -> Any:
    """The payload the function receives: the schedule's ``Input``, else EventBridge's Scheduled Event."""
    if schedule.input is not None:
        return json.loads(schedule.input)
    if schedule.kind == "ScheduleV2":
        resource = f"arn:aws:scheduler:{region}:{account_id}:schedule/default/{schedule.rule_name}"
    else:
        resource = f"arn:aws:events:{region}:{account_id}:rule/{schedule.rule_name}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": fired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource],
        "detail": {},
    }


@dataclass
class _Job:
    """One schedule with its timing rule and run bookkeeping."""

    schedule: ScheduleDef
    interval_seconds: float | None = None
    cron: CronExpression | None = None
    at: datetime | None = None
    running: threading.Lock = field(default_factory=threading.Lock)
    runs: int = 0
    skipped: int = 0

    def next_fire(self, now: datetime, previous: datetime | None) -> datetime | None:
        """The next firing time; None when the schedule is done (a past ``at()``, cron years over)."""
        if self.interval_seconds is not None:
            base = previous or now
            candidate = base.timestamp() + self.interval_seconds
            return datetime.fromtimestamp(max(candidate, now.timestamp()), tz=UTC)
        if self.cron is not None:
            return self.cron.next_after(now)
        if self.at is not None and previous is None and self.at > now:
            return self.at
        return None


def build_job(schedule: ScheduleDef, rate_override_seconds: float | None) -> _Job:
    """Parse a schedule's expression (raising on expressions AWS would reject)."""
    expression = schedule.expression.strip()
    if schedule.timezone not in (None, "UTC", "Etc/UTC"):
        LOG.warning(
            "%s: ScheduleExpressionTimezone %s ignored, evaluating in UTC", schedule.rule_name, schedule.timezone
        )
    if expression.startswith("rate("):
        interval = parse_rate(expression).total_seconds()
        return _Job(schedule, interval_seconds=rate_override_seconds or interval)
    if expression.startswith("cron("):
        return _Job(schedule, cron=parse_cron(expression))
    return _Job(schedule, at=parse_at(expression))


class ScheduleRunner:
    """Runs every enabled schedule until :meth:`stop`."""

    def __init__(
        self,
        schedules: Sequence[ScheduleDef],
        invoke: InvokeFunction,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        rate_override_seconds: float | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.jobs = [build_job(s, rate_override_seconds) for s in schedules if s.enabled]
        self._invoke = invoke
        self._region = region
        self._account_id = account_id
        self._now = now
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []
        self._workers_lock = threading.Lock()

    def start(self) -> None:
        """Start one timer thread per schedule."""
        for job in self.jobs:
            thread = threading.Thread(target=self._timer, args=(job,), name=f"schedule-{job.schedule.rule_name}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the timers and wait (bounded) for running jobs."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        with self._workers_lock:
            threads = [*self._threads, *self._workers]
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _timer(self, job: _Job) -> None:
        previous: datetime | None = None
        while not self._stop.is_set():
            fire_at = job.next_fire(self._now(), previous)
            if fire_at is None:
                LOG.info("schedule %s has no further firing time", job.schedule.rule_name)
                return
            if not self._sleep_until(fire_at):
                return
            previous = fire_at
            self._fire(job, fire_at)

    def _sleep_until(self, moment: datetime) -> bool:
        """Wait until ``moment``; False when stopped meanwhile."""
        while True:
            remaining = (moment - self._now()).total_seconds()
            if remaining <= 0:
                return not self._stop.is_set()
            if self._stop.wait(min(remaining, 60.0)):
                return False

    def _fire(self, job: _Job, fired_at: datetime) -> None:
        if not job.running.acquire(blocking=False):
            job.skipped += 1
            LOG.warning("schedule %s: previous run still going, skipping this tick", job.schedule.rule_name)
            return
        worker = threading.Thread(target=self._run, args=(job, fired_at), name=f"job-{job.schedule.rule_name}")
        worker.daemon = True
        with self._workers_lock:
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        worker.start()

    def _run(self, job: _Job, fired_at: datetime) -> None:
        schedule = job.schedule
        try:
            event = scheduled_event(schedule, self._region, self._account_id, fired_at)
            LOG.info("schedule %s -> %s", schedule.rule_name, schedule.function_id)
            self._invoke(schedule.function_id, event)
        except Exception:
            LOG.exception("scheduled run of %s (%s) failed", schedule.function_id, schedule.rule_name)
        finally:
            job.runs += 1
            job.running.release()
