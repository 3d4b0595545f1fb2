"""The processor: one queued Stripe event at a time, at most once per event id.

The event body only names the PaymentIntent: its state is re-read from Stripe (events arrive late, twice and out
of order, so a `payment_failed` delivered after the success must not count), then applied through
`services.payments.apply_intent`, whose transaction also writes the event's marker.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from tickerleague.adapters import stripe_gateway as stripe
from tickerleague.adapters.dynamodb import payments as store
from tickerleague.clock import utcnow
from tickerleague.services import payments

logger = logging.getLogger("tickerleague.payments")

HANDLED = frozenset({
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    "charge.refunded", "refund.updated",
})


def intent_id_of(event: dict[str, Any]) -> str | None:
    """The PaymentIntent an event is about (the object itself, or the charge's / refund's `payment_intent`)."""
    obj = ((event.get("data") or {}).get("object")) or {}
    is_intent = str(event.get("type", "")).startswith("payment_intent.")
    value = obj.get("id") if is_intent else obj.get("payment_intent")
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value.startswith("pi_") else None


def process(body: str, now: datetime | None = None) -> str:
    """Apply one event (the SQS message body, verified by the receiver). Raises to have it retried (then DLQ)."""
    event = json.loads(body)
    event_id, kind = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not isinstance(kind, str):
        raise ValueError("not a Stripe event")  # a poison message: retried, then dead-lettered and alarmed
    moment = now or utcnow()
    if kind not in HANDLED:
        return "ignored_type"
    intent_id = intent_id_of(event)
    if intent_id is None:
        return "no_intent"
    if store.event_seen(event_id):
        return "duplicate_event"  # the cheap check first: no Stripe read for a redelivery
    try:
        intent = stripe.retrieve_intent(intent_id)
    except stripe.StripeRefused:
        return (store.mark_event(event_id, moment) and "unknown_intent") or "duplicate_event"
    outcome = payments.apply_intent(intent, event_id=event_id, now=moment)
    logger.info("stripe event", extra={"eventId": event_id, "type": kind, "paymentIntentId": intent_id,
                                       "outcome": outcome})
    return outcome
