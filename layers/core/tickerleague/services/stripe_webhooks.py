"""The webhook receiver's one job: a verified Stripe event goes to the SQS queue, durably, before any processing.

Stripe delivers at least once and in any order; the queue absorbs bursts and retries, and the processor
(services/stripe_events.py) applies each event id once. Nothing here reads or writes the table.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tickerleague import correlation
from tickerleague.adapters import stripe_gateway
from tickerleague.config import settings
from tickerleague.errors import BadSignature

# Stripe's events are a few kilobytes; SQS takes 256 KiB. A bigger body is not an event of ours.
MAX_EVENT_BYTES = 200 * 1024


def _bad(message: str) -> BadSignature:
    return BadSignature(message)


def receive(payload: bytes, signature: str | None) -> str:
    """The event id once the event is queued; 400 BAD_SIGNATURE for anything that is not a fresh, signed event."""
    if len(payload) > MAX_EVENT_BYTES:
        raise _bad("The webhook body is too large to be a Stripe event.")
    try:
        event = stripe_gateway.verify_webhook(payload, signature)
    except stripe_gateway.BadSignature:
        raise _bad("The Stripe-Signature does not verify for this body (or is older than 300 seconds).") from None
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id or not isinstance(event.get("type"), str):
        raise _bad("The body is not a Stripe event.")
    _queue().send_message(QueueUrl=settings().stripe_events_queue_url, MessageBody=payload.decode("utf-8"),
                          MessageAttributes={"eventType": {"DataType": "String", "StringValue": event["type"]},
                                             **correlation.message_attributes()})
    return event_id


def _queue() -> Any:
    return _client(settings().region)


@lru_cache(maxsize=2)
def _client(region: str) -> Any:
    import boto3

    return boto3.client("sqs", region_name=region)
