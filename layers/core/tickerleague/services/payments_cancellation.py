"""A cancelled paid contest: every paid entry refunded exactly once, every pending PaymentIntent cancelled.

Run by the payments sweep (every minute, shortened locally), never in the cancel request: a contest may have
thousands of entries, and the sweep is safe to repeat and to interrupt. Each entry goes through the same exactly-once
paths as a single refund (`services.payments.refund_entry`) or a hold running out, so a crash mid-contest, a second
sweep or an admin refunding by hand at the same moment still makes one refund per entry. When every entry of the
contest is final, the contest is marked `paymentsSettledAt` and leaves the sweep's query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from tickerleague.adapters import stripe_gateway as stripe
from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import payments as store
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.clock import iso_ms, utcnow
from tickerleague.config import settings
from tickerleague.domain.contests import ContestStatus
from tickerleague.domain.payments import PAID, PaymentRecord, PaymentStatus, cancel_idempotency_key
from tickerleague.errors import ServiceUnavailable
from tickerleague.services import payments

logger = logging.getLogger("tickerleague.payments")

SYSTEM_ACTOR = payments.RefundActor(user_id="system")
REASON = "contest cancelled"


def _unsettled_cancelled_contests() -> Iterator[str]:
    """P5: cancelled contests with an entry fee whose payments are not settled yet (GSI2, the status partition)."""
    client = plumbing.client()
    kwargs: dict[str, Any] = {
        "TableName": settings().table_name, "IndexName": "GSI2",
        "KeyConditionExpression": "GSI2PK = :pk",
        "FilterExpression": "attribute_exists(entry_fee) AND attribute_not_exists(paymentsSettledAt)",
        "ExpressionAttributeValues": {":pk": {"S": f"CONTESTS#{ContestStatus.CANCELLED.value}"}},
    }
    while True:
        page = client.query(**kwargs)
        for raw in page.get("Items", []):
            yield raw["contest_id"]["S"]
        if not page.get("LastEvaluatedKey"):
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _paid_entries(contest_id: str) -> Iterator[dict[str, Any]]:
    """Every entry of the contest with a payment (GSI1, one query per shard)."""
    client = plumbing.client()
    for shard in range(settings().entry_shards):
        kwargs: dict[str, Any] = {
            "TableName": settings().table_name, "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": entries_table.contest_entries_partition(contest_id, shard)}},
        }
        while True:
            page = client.query(**kwargs)
            for raw in page.get("Items", []):
                item = plumbing.from_attribute_map(raw)
                if "paymentAmount" in item:
                    yield item
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _settle_entry(item: dict[str, Any], now: datetime) -> bool:
    """True when the entry is final (refunded, cancelled, or never paid)."""
    record = store.record_from_item(item)
    if record is not None and record.entry_status == "refunded" and record.refund_id is None \
            and record.refund_claimed_at is not None:
        return _refund_on_a_later_pass(record, now)  # claimed, but the Stripe refund was never recorded
    if record is None or record.entry_status in ("refunded", "cancelled"):
        return True
    if record.entry_status == "pending_payment" and record.intent_id is not None:
        try:
            intent = stripe.cancel_intent(record.intent_id,
                                          idempotency_key=cancel_idempotency_key(record.entry_id, record.intent_id))
        except stripe.StripeRefused:
            intent = stripe.retrieve_intent(record.intent_id)  # it was paid meanwhile: refunded on the next pass
        payments.apply_intent(intent, now=now)
        return False
    if record.payment_status in PAID or record.payment_status == PaymentStatus.SUCCEEDED:
        return _refund_on_a_later_pass(record, now)
    if record.entry_status == "pending_payment":  # no PaymentIntent was ever attached: nothing to cancel at Stripe
        return payments.expire_without_intent(record, now)
    return True


def _refund_on_a_later_pass(record: PaymentRecord, now: datetime) -> bool:
    """Not final: refund it (or finish a claimed refund once its claim is stale, by `refund_entry`); a later pass sees
    the result. A refund another pass or request claimed moments ago answers ServiceUnavailable: the next pass."""
    try:
        payments.refund_entry(SYSTEM_ACTOR, record.contest_id, record.entry_id, REASON, now, source="cancel")
    except ServiceUnavailable:  # claimed moments ago (or Stripe is down): the next pass tries again
        return False
    return False


def _mark_settled(contest_id: str, now: datetime) -> None:
    plumbing.client().update_item(
        TableName=settings().table_name, Key={"PK": {"S": f"CONTEST#{contest_id}"}, "SK": {"S": "CONTEST"}},
        UpdateExpression="SET paymentsSettledAt = :now", ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeValues={":now": {"S": iso_ms(now)}},
    )


def settle_cancelled_contests(now: datetime | None = None,
                              time_left: Callable[[], float] | None = None) -> dict[str, int]:
    """One pass over every cancelled paid contest not settled yet; the next pass finishes what this one started."""
    moment = now or utcnow()
    counts = {"contests": 0, "settled": 0, "entriesActedOn": 0}
    for contest_id in _unsettled_cancelled_contests():
        counts["contests"] += 1
        final = True
        for item in _paid_entries(contest_id):
            if time_left is not None and time_left() < 10:
                return counts
            if not _settle_entry(item, moment):
                final = False
                counts["entriesActedOn"] += 1
        if final:
            _mark_settled(contest_id, moment)
            counts["settled"] += 1
    if counts["contests"]:
        logger.info("cancelled contests settled", extra=counts)
    return counts
