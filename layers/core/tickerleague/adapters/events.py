"""Domain events on the EventBridge bus (EVENT_BUS_NAME): ContestStarted, ContestEnded, ContestCancelled,
EntryConfirmed, EntryRefunded, PasswordResetRequested (shapes in COORDINATION.md / the tech spec).

Each Detail carries the current correlation id in `metadata.correlationId` (tickerleague/correlation.py), so the
consumers' log lines name the request or run that caused the event.

Delivery is at least once (a retried lifecycle step publishes again), so consumers deduplicate: the notification
sender writes a NOTIFY marker per (user, contest, kind) before it sends.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from tickerleague import correlation
from tickerleague.config import settings

SOURCE = "tickerleague.contests"
CONTEST_STARTED = "ContestStarted"
CONTEST_ENDED = "ContestEnded"


class EventNotPublished(RuntimeError):
    """EventBridge refused the event; the lifecycle step fails and its Retry publishes again."""


@lru_cache(maxsize=4)
def _client(region: str) -> Any:
    import boto3

    return boto3.client("events", region_name=region)


def publish(detail_type: str, detail: dict[str, Any], source: str = SOURCE) -> None:
    response = _client(settings().region).put_events(
        Entries=[{
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(correlation.with_metadata(detail), separators=(",", ":"), default=str),
            "EventBusName": settings().event_bus_name,
        }]
    )
    if response.get("FailedEntryCount", 0):
        entry = (response.get("Entries") or [{}])[0]
        raise EventNotPublished(f"{detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")


def publish_after_commit(detail_type: str, detail: dict[str, Any], source: str = SOURCE) -> bool:
    """Publish an event whose change is already committed: the request that made the change must not fail now (its
    retry would find the change done and publish nothing), so a refused publish is logged with the whole event,
    for a replay, and counted in the `EventsNotPublished` metric, whose alarm pages. False when it was not
    published. (botocore's standard retries already ride out EventBridge's transient errors.)"""
    import logging

    try:
        publish(detail_type, detail, source)
    except Exception:
        safe = {key: value for key, value in detail.items() if key != "token"}
        logging.getLogger("tickerleague.events").exception(
            "event not published", extra={"detailType": detail_type, "source": source, "detail": safe})
        _count_not_published()
        return False
    return True


def _count_not_published() -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="TickerLeague", service="tickerleague")
    metrics.clear_metrics()
    metrics.add_metric(name="EventsNotPublished", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
