"""Nightly: the day's PaymentIntents from Stripe (auto-paging) against the table.

What an event would have repaired is repaired the same way (`services.payments.apply_intent`: a lost
`payment_intent.succeeded`, a refund made in Stripe's dashboard, a cancel). Everything else is a difference for a
human, counted in the `ReconciliationDifferences` metric (the existing alarm) and logged with its ids:
  - `unknown_entry`: a PaymentIntent of ours whose entry does not exist;
  - `superseded_paid`: money taken on a PaymentIntent the entry no longer names (refund it by hand);
  - `amount_mismatch`: the PaymentIntent does not charge the entry's fee;
  - `status_mismatch`: still different after the repair (e.g. the entry is active, Stripe says not paid).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tickerleague.adapters import stripe_gateway as stripe
from tickerleague.adapters.dynamodb import payments as store
from tickerleague.domain.payments import IntentState, PaymentStatus, matches_fee, payment_status_of
from tickerleague.services import payments

logger = logging.getLogger("tickerleague.payments")

# A day plus an hour of overlap, so a PaymentIntent created around the run's time is seen by two runs, never none.
WINDOW = timedelta(hours=25)
REPAIRED = frozenset({"activated", "seat_retaken", "refunded_late_success", "cancelled", "refund_recorded",
                      "applied"})


@dataclass
class PaymentReport:
    intents: int = 0
    repaired: int = 0
    differences: list[tuple[str, str]] = field(default_factory=list)  # (kind, paymentIntentId)


def _difference(report: PaymentReport, kind: str, intent: IntentState) -> None:
    report.differences.append((kind, intent.intent_id))
    logger.error("payment reconciliation difference", extra={
        "kind": kind, "paymentIntentId": intent.intent_id, "entryId": intent.metadata.get("entryId"),
        "contestId": intent.metadata.get("contestId"), "status": intent.status})


def reconcile_payments(now: datetime) -> PaymentReport:
    report = PaymentReport()
    for intent in stripe.intents_created_since(now - WINDOW):
        contest_id, user_id = intent.metadata.get("contestId"), intent.metadata.get("userId")
        if not contest_id or not user_id or not intent.metadata.get("entryId"):
            continue  # not a PaymentIntent of ours
        report.intents += 1
        item = store.get_entry_item(contest_id, user_id)
        record = store.record_from_item(item) if item else None
        if record is None:
            _difference(report, "unknown_entry", intent)
            continue
        if record.intent_id != intent.intent_id:
            if payment_status_of(intent) is PaymentStatus.SUCCEEDED:
                _difference(report, "superseded_paid", intent)
            continue
        if not matches_fee(intent, record.amount, record.currency):
            _difference(report, "amount_mismatch", intent)
            continue
        if payments.apply_intent(intent, now=now) in REPAIRED:
            report.repaired += 1
        after = store.get_entry_item(contest_id, user_id)
        fresh = store.record_from_item(after) if after else None
        if fresh is not None and fresh.payment_status != payment_status_of(intent).value:
            _difference(report, "status_mismatch", intent)
    logger.info("payment reconciliation", extra={"intents": report.intents, "repaired": report.repaired,
                                                 "differences": len(report.differences)})
    return report
