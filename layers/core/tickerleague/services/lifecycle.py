"""The contest lifecycle steps, run by the state machine (statemachines/contest_lifecycle.asl.json).

Each step is a conditional write that only applies to the schedule the execution was started for (`scheduleVersion`)
and only from the expected status, so a cancelled or rescheduled contest makes a stale execution do nothing, and a
retried step is harmless. A step repeated after it succeeded answers the same outcome again (and publishes its event
again: events are at least once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tickerleague.adapters.dynamodb import contests as repo
from tickerleague.clock import iso, utcnow
from tickerleague.domain.contests import Contest, ContestStatus, LifecycleFailure

logger = logging.getLogger("tickerleague.lifecycle")

Outcome = Literal["activated", "ended", "skipped"]
# A Wait state may wake a moment before its timestamp (timer granularity); a step that is early by at most this much
# sleeps the difference. Earlier than that means the workflow and the contest disagree: fail loudly (retry, alarm).
MAX_EARLY_SECONDS = 60.0


class StepTooEarly(RuntimeError):
    """The step ran long before the contest's time: the schedule and the execution disagree."""


def _publish_default(detail_type: str, detail: dict[str, Any]) -> None:
    from tickerleague.adapters import events

    events.publish(detail_type, detail)


def _ended_hooks_default(contest_id: str, ended_at: datetime) -> None:
    from tickerleague.services import lifecycle_hooks

    lifecycle_hooks.on_contest_ended(contest_id, ended_at)


@dataclass(frozen=True)
class LifecyclePorts:
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    publish: Callable[[str, dict[str, Any]], None] = _publish_default
    on_ended: Callable[[str, datetime], None] = _ended_hooks_default


def _wait_until(moment: datetime, ports: LifecyclePorts) -> None:
    early = (moment - ports.clock()).total_seconds()
    if early > MAX_EARLY_SECONDS:
        raise StepTooEarly(f"step ran {early:.0f}s before {iso(moment)}")
    if early > 0:
        ports.sleep(early)


def _current(contest_id: str, schedule_version: int) -> Contest | None:
    """The contest if it still has this schedule, else None (gone, or rescheduled: a newer execution owns it)."""
    contest = repo.get(contest_id, consistent=True)
    if contest is None or contest.schedule_version != schedule_version:
        return None
    return contest


def _event(contest: Contest, at: datetime) -> dict[str, Any]:
    return {"contestId": contest.contest_id, "scheduleVersion": contest.schedule_version,
            "startsAt": iso(contest.starts_at), "endsAt": iso(contest.ends_at), "at": iso(at)}


def _advance(contest_id: str, schedule_version: int, p: LifecyclePorts, *, step: str, source: ContestStatus,
             target: ContestStatus, moment: Callable[[Contest], datetime],
             before: Callable[[Contest], None] | None = None) -> Contest | None:
    """Move the contest from `source` to `target` at `moment(contest)` (after `before(contest)`, if given). The
    contest once in `target` (now, or already: a retried step), or None when this execution no longer owns that
    move (cancelled, rescheduled, or changed between our read and our write)."""
    contest = _current(contest_id, schedule_version)
    if contest is None or contest.status not in (source, target):
        logger.info("%s skipped", step, extra={"contestId": contest_id, "scheduleVersion": schedule_version})
        return None
    if contest.status is source:
        _wait_until(moment(contest), p)
        if before is not None:
            before(contest)
        if not repo.lifecycle_transition(contest_id, schedule_version, source, target, p.clock()):
            contest = _current(contest_id, schedule_version)
            if contest is None or contest.status is not target:
                return None
    return contest


def activate(contest_id: str, schedule_version: int, ports: LifecyclePorts | None = None) -> Outcome:
    """scheduled -> active at startsAt, then ContestStarted."""
    p = ports or LifecyclePorts()
    contest = _advance(contest_id, schedule_version, p, step="activate", source=ContestStatus.SCHEDULED,
                       target=ContestStatus.ACTIVE, moment=lambda found: found.starts_at)
    if contest is None:
        return "skipped"
    p.publish("ContestStarted", _event(contest, contest.starts_at))
    return "activated"


def end(contest_id: str, schedule_version: int, ports: LifecyclePorts | None = None) -> Outcome:
    """At endsAt: the ended hooks (open-order expiry, final standings), then active -> ended, then ContestEnded."""
    p = ports or LifecyclePorts()
    contest = _advance(contest_id, schedule_version, p, step="end", source=ContestStatus.ACTIVE,
                       target=ContestStatus.ENDED, moment=lambda found: found.ends_at,
                       before=lambda found: p.on_ended(contest_id, found.ends_at))
    if contest is None:
        return "skipped"
    p.publish("ContestEnded", _event(contest, contest.ends_at))
    return "ended"


def record_failure(contest_id: str, step: str, error: str, cause: str, ports: LifecyclePorts | None = None) -> None:
    """Keep the last failure on the contest for the operator (the alarm points there)."""
    p = ports or LifecyclePorts()
    failure = LifecycleFailure(at=iso(p.clock()), step=step[:64], error=error[:256], cause=cause[:2000])
    logger.error("lifecycle step failed", extra={"contestId": contest_id, "step": step, "error": error})
    repo.record_failure(contest_id, failure)
