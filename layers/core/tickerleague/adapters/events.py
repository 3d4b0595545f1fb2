"""Domain events on the EventBridge bus (EVENT_BUS_NAME): ContestStarted, ContestEnded.

Delivery is at least once (a retried lifecycle step publishes again), so consumers deduplicate: the notification
sender writes a NOTIFY marker per (user, contest, kind) before it sends.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

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
            "Detail": json.dumps(detail, separators=(",", ":"), default=str),
            "EventBusName": settings().event_bus_name,
        }]
    )
    if response.get("FailedEntryCount", 0):
        entry = (response.get("Entries") or [{}])[0]
        raise EventNotPublished(f"{detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
