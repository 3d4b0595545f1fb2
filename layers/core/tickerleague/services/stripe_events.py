"""The processor: one queued Stripe event at a time, at most once per event id.

The event body only names the PaymentIntent: its state is re-read from Stripe (events arrive late, twice and out
of order, so a `payment_failed` delivered after the success must not count), then applied through
`services.payments.apply_intent`, whose transaction also writes the event's marker.

Metrics (tickerleague/metrics.py) are written only by the delivery that wrote the event's marker, so a redelivered
or retried event (the queue's at-least-once) is never counted twice: `WebhookLag` (Stripe's `created` to applied)
and `PaymentsFailed` for a declined attempt (`payment_intent.payment_failed`, reason = Stripe's error code). The
entry's own transitions (joins, payments succeeded, refunds) are counted in services/payments.py, whichever path
applies them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from tickerleague import metrics
from tickerleague.adapters import stripe_gateway as stripe
from tickerleague.adapters.dynamodb import payments as store
from tickerleague.clock import utcnow
from tickerleague.services import payments

logger = logging.getLogger("tickerleague.payments")

HANDLED = frozenset({
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    "charge.refunded", "refund.updated",
})
# Stripe's `last_payment_error.code` values worth a line of their own on the dashboard; any other is "other".
FAILURE_CODES = frozenset({
    "card_declined", "expired_card", "incorrect_cvc", "incorrect_number", "processing_error",
    "authentication_required", "payment_intent_authentication_failure", "card_decline_rate_limit_exceeded",
})
# What `process` answers when this delivery did not apply the event (another one did, or it changed nothing yet).
NOT_APPLIED = frozenset({"duplicate_event", "stale"})


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
        outcome = (store.mark_event(event_id, moment) and "unknown_intent") or "duplicate_event"
    else:
        outcome = payments.apply_intent(intent, event_id=event_id, now=moment)
    logger.info("stripe event", extra={"eventId": event_id, "type": kind, "paymentIntentId": intent_id,
                                       "outcome": outcome})
    if outcome not in NOT_APPLIED:  # this delivery wrote the event's marker: the only one that counts it
        _count_applied(event, kind, moment)
    return outcome


def failure_reason(event: dict[str, Any]) -> str:
    """A few values only (a metric dimension): Stripe's error code when it is a known one."""
    error = (((event.get("data") or {}).get("object")) or {}).get("last_payment_error") or {}
    code = error.get("code") if isinstance(error, dict) else None
    if not code:
        return "unknown"
    return code if code in FAILURE_CODES else "other"


def _count_applied(event: dict[str, Any], kind: str, now: datetime) -> None:
    created = event.get("created")
    if isinstance(created, int | float) and not isinstance(created, bool) and created > 0:
        metrics.milliseconds("WebhookLag", max(0.0, (now.timestamp() - created) * 1000), type=kind)
    if kind == "payment_intent.payment_failed":
        metrics.count("PaymentsFailed", reason=failure_reason(event))
