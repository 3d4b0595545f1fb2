"""The contest lifecycle state machine's one Lambda: `{"action": "activate" | "end" | "record_failure", ...}`.

activate / end answer `{"outcome": "activated" | "ended" | "skipped"}` (the state machine's Choice reads it);
record_failure stores the failure on the contest and emits the `LifecycleFailures` metric (the alarm in template.yaml).
Errors propagate: the state machine retries them with backoff, then records the failure.
Each step runs under the execution's correlation id (the `correlationId` the ASL passes from the execution input).
"""

from __future__ import annotations

from typing import Any

from tickerleague import correlation, tracing
from tickerleague.logs import logger  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import lifecycle


class UnknownAction(ValueError):
    pass


def _metric_failure() -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="TickerLeague", service="tickerleague")
    # Metrics instances share one store, and a flush while metrics are disabled (locally) leaves it full: start clean.
    metrics.clear_metrics()
    metrics.add_metric(name="LifecycleFailures", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


@tracing.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with correlation.bound(correlation.of_payload(event)):
        return _step(event)


def _step(event: dict[str, Any]) -> dict[str, Any]:
    action = event.get("action")
    contest_id = str(event["contestId"])
    if action == "activate":
        return {"outcome": lifecycle.activate(contest_id, int(event["scheduleVersion"]))}
    if action == "end":
        return {"outcome": lifecycle.end(contest_id, int(event["scheduleVersion"]))}
    if action == "record_failure":
        failure = event.get("failure") or {}
        _metric_failure()  # first: the alarm must fire even when the failure record cannot be written
        lifecycle.record_failure(contest_id, str(event.get("step", "unknown")), str(failure.get("Error", "")),
                                 str(failure.get("Cause", "")))
        return {"recorded": True}
    raise UnknownAction(f"unknown lifecycle action {action!r}")
