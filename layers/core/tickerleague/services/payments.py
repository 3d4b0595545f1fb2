"""Paid entries: the paid join, the payment read (with lost-webhook recovery), applying a PaymentIntent's state,
seat holds running out, and refunds exactly once.

Exactly once never depends on Stripe: every Stripe write is claimed first in DynamoDB with a condition (the join's
transaction claims the PaymentIntent of hold N, the refund claim sets `refundClaimedAt`), and the Stripe idempotency
key derived from the entry is the second guard (localstripe ignores it). Every state change is applied from
Stripe's CURRENT PaymentIntent (re-read, never the event body) through one rule table (`domain.payments.decide`),
so events, the payment read, the hold sweep and reconciliation agree, in any order and any number of times.

Metrics (tickerleague/metrics.py) are written after the conditional transaction that makes the fact true, and only
by its winner: a redelivered event, a retried sweep or a concurrent applier loses the condition (`stale`,
`duplicate_event`, `unchanged`) and writes none, so each is counted once whichever path applies it:
`EntriesJoined{paid=true}` when a paid entry becomes active, `PaymentsSucceeded` when its payment is first recorded
as succeeded, `PaymentsFailed{reason=canceled|no_intent}` when a pending entry's payment is given up, and
`Refunds{source=admin|cancel|hold-expired|external}` when a refund is recorded.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from tickerleague import metrics
from tickerleague.adapters import stripe_gateway as stripe
from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import payments as store
from tickerleague.adapters.dynamodb.payments import PaymentChange
from tickerleague.clock import iso, iso_ms, parse_iso_utc, utcnow
from tickerleague.config import settings
from tickerleague.domain.contests import Contest
from tickerleague.domain.entries import Entry
from tickerleague.domain.payments import (
    FINAL,
    PAYABLE,
    Action,
    IntentState,
    PaymentRecord,
    PaymentStatus,
    cancel_idempotency_key,
    decide,
    from_minor_units,
    intent_idempotency_key,
    matches_fee,
    payment_status_of,
    refund_idempotency_key,
    to_minor_units,
)
from tickerleague.domain.portfolio import Portfolio
from tickerleague.errors import Conflict, NotFound, NotRefundable, ServiceUnavailable
from tickerleague.ids import is_ulid, new_ulid

logger = logging.getLogger("tickerleague.payments")

ENTRIES_SOURCE = "tickerleague.entries"
PAYMENTS_SOURCE = "tickerleague.payments"
APPLY_ATTEMPTS = 4
# A join that finds its own entry without a PaymentIntent yet (a concurrent first join is creating it) waits this
# long for it before creating it itself (with the same idempotency key).
INTENT_WAIT_SECONDS = 2.0
# A refund claimed this long ago without its Stripe refund recorded was interrupted: the next call completes it.
REFUND_STALE_SECONDS = 30


@dataclass(frozen=True)
class PaidJoin:
    entry: Entry
    payment: PaymentRecord
    created: bool


def _full() -> Conflict:
    return Conflict("This contest is full.", code="CONTEST_FULL")


def _not_joinable(contest: Contest) -> Conflict:
    return Conflict(f"This contest is {contest.status.value} and cannot be joined.", code="CONTEST_NOT_JOINABLE",
                    details={"status": contest.status.value})


def _publish(detail_type: str, detail: dict[str, Any], source: str) -> None:
    """After the commit: a lost publish never undoes the change (notify's outbox may replace this mechanism)."""
    from tickerleague.adapters import events

    try:
        events.publish(detail_type, detail, source=source)
    except Exception:  # the change is committed; the event is best effort and logged
        logger.exception("event not published", extra={"detailType": detail_type, **detail})


# ---------------------------------------------------------------------------------------------------- joining
def paid_join(user_id: str, contest: Contest, display_name: str, now: datetime) -> PaidJoin:
    """A new pending entry holding a seat (one transaction), then its one PaymentIntent."""
    from tickerleague.adapters.dynamodb import contests as repo

    fee = contest.definition.entry_fee
    assert fee is not None
    entry = Entry(
        entry_id=new_ulid(), contest_id=contest.contest_id, user_id=user_id, display_name=display_name,
        status="pending_payment", joined_at=iso_ms(now), portfolio=Portfolio.fresh(contest.definition.starting_cash),
    )
    hold_until = iso_ms(now + timedelta(seconds=settings().payment_hold_seconds))
    item = {**entries_table.entry_to_item(entry),
            **store.payment_fields(amount=fee.amount, currency=fee.currency, attempt=1, hold_expires_at=hold_until,
                                   now=iso_ms(now))}
    marker = {**entries_table.entry_id_marker_key(entry.entry_id), "type": "entryId",
              "contestId": contest.contest_id, "userId": user_id}
    hold = store.hold_item(entry.entry_id, contest.contest_id, user_id, 1, hold_until)
    result = repo.join_transaction(contest.contest_id, item, marker, extra_items=(hold,))
    if result.outcome == "joined":
        record = store.record_from_item(item)
        assert record is not None
        return PaidJoin(entry, _ensure_intent(record, now, wait=False), created=True)
    if result.outcome == "duplicate":
        existing = store.get_entry_item(contest.contest_id, user_id)
        if existing is not None:
            return existing_join(contest, existing, now)
    if result.outcome == "full":
        raise _full()
    if result.outcome == "not_joinable":
        raise _not_joinable(repo.get(contest.contest_id, consistent=True) or contest)
    raise NotFound("No such contest.")


def existing_join(contest: Contest, item: dict[str, Any], now: datetime) -> PaidJoin:
    """Joining again: the same entry and PaymentIntent while pending; a new hold when the old one ran out."""
    record = store.record_from_item(item)
    entry = entries_table.entry_from_item(item)
    if record is None:
        raise NotFound("No such contest.")
    if record.entry_status == "pending_payment":
        return PaidJoin(entry, _ensure_intent(record, now, wait=True), created=False)
    if record.entry_status != "cancelled":
        return PaidJoin(entry, record, created=False)  # active or refunded: the entry as it is
    if not contest.is_joinable:
        raise _not_joinable(contest)
    attempt = record.attempt + 1
    hold_until = iso_ms(now + timedelta(seconds=settings().payment_hold_seconds))
    fields = store.payment_fields(amount=record.amount, currency=record.currency, attempt=attempt,
                                  hold_expires_at=hold_until, now=iso_ms(now))
    hold = store.hold_item(record.entry_id, record.contest_id, record.user_id, attempt, hold_until)
    outcome = store.rejoin(record.contest_id, record.user_id, record.attempt, fields=fields, hold=hold, now=now)
    if outcome == "full":
        raise _full() if contest.is_joinable else _not_joinable(contest)
    fresh = store.get_entry_item(record.contest_id, record.user_id)
    if fresh is None:
        raise NotFound("No such contest.")
    fresh_record = store.record_from_item(fresh)
    assert fresh_record is not None
    if outcome != "applied":  # a concurrent rejoin won: answer with its entry
        return PaidJoin(entries_table.entry_from_item(fresh), _ensure_intent(fresh_record, now, wait=True), False)
    return PaidJoin(entries_table.entry_from_item(fresh), _ensure_intent(fresh_record, now, wait=False), True)


def _ensure_intent(record: PaymentRecord, now: datetime, *, wait: bool) -> PaymentRecord:
    """The record with the PaymentIntent of its hold attempt, created if needed (our claim is the attempt number,
    Stripe's idempotency key the second guard)."""
    if record.intent_id is not None or record.entry_status != "pending_payment":
        return record
    if wait:
        deadline = time.monotonic() + INTENT_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            fresh = _reread(record)
            if fresh is None or fresh.intent_id is not None or fresh.attempt != record.attempt:
                return fresh or record
    intent, client_secret = stripe.create_intent(
        amount=to_minor_units(record.amount, record.currency), currency=record.currency,
        metadata={"contestId": record.contest_id, "entryId": record.entry_id, "userId": record.user_id,
                  "attempt": str(record.attempt)},
        idempotency_key=intent_idempotency_key(record.entry_id, record.attempt),
    )
    status = payment_status_of(intent).value
    if not store.attach_intent(record.contest_id, record.user_id, record.attempt, intent_id=intent.intent_id,
                               client_secret=client_secret, status=status, now=iso_ms(now)):
        fresh = _reread(record)
        if fresh is not None and fresh.intent_id != intent.intent_id:
            _cancel_quietly(record.entry_id, intent.intent_id)  # a concurrent join attached another one first
        return fresh or record
    return replace(record, intent_id=intent.intent_id, client_secret=client_secret, payment_status=status,
                   updated_at=iso_ms(now))


def _cancel_quietly(entry_id: str, intent_id: str) -> None:
    try:
        stripe.cancel_intent(intent_id, idempotency_key=cancel_idempotency_key(entry_id, intent_id))
    except stripe.StripeRefused:
        logger.warning("orphan PaymentIntent could not be cancelled", extra={"paymentIntentId": intent_id})


def _reread(record: PaymentRecord) -> PaymentRecord | None:
    item = store.get_entry_item(record.contest_id, record.user_id)
    return store.record_from_item(item) if item else None


# ---------------------------------------------------------------------------------------------------- reading
def my_payment(user_id: str, contest_id: str, now: datetime | None = None) -> PaymentRecord:
    """The caller's payment; a PaymentIntent not yet final is re-read from Stripe and applied (a lost webhook)."""
    if not is_ulid(contest_id):
        raise NotFound("No such payment.")
    item = store.get_entry_item(contest_id, user_id)
    record = store.record_from_item(item) if item else None
    if record is None:
        raise NotFound("No such payment.")
    if record.intent_id is not None and PaymentStatus(record.payment_status) not in FINAL:
        apply_intent(stripe.retrieve_intent(record.intent_id), now=now or utcnow())
        record = _reread(record) or record
    return record


def client_secret_shown(record: PaymentRecord) -> str | None:
    """Only while the payment can still be completed (pending entry, payable PaymentIntent)."""
    if record.entry_status != "pending_payment":
        return None
    try:
        payable = PaymentStatus(record.payment_status) in PAYABLE
    except ValueError:
        payable = False
    return record.client_secret if payable else None


# ---------------------------------------------------------------------------------------------------- applying
def apply_intent(intent: IntentState, *, event_id: str | None = None, now: datetime | None = None) -> str:
    """Make the entry agree with Stripe's current PaymentIntent. Returns what happened (for logs and tests)."""
    moment = now or utcnow()
    contest_id, user_id = intent.metadata.get("contestId"), intent.metadata.get("userId")
    for _ in range(APPLY_ATTEMPTS):
        item = store.get_entry_item(contest_id, user_id) if contest_id and user_id else None
        record = store.record_from_item(item) if item else None
        if record is None or record.intent_id != intent.intent_id:
            return _only_mark(event_id, moment, "not_ours")
        if not matches_fee(intent, record.amount, record.currency):
            logger.error("PaymentIntent does not match the entry fee", extra={
                "paymentIntentId": intent.intent_id, "entryId": record.entry_id, "amount": intent.amount,
                "currency": intent.currency})
            return _only_mark(event_id, moment, "mismatch")
        outcome = _apply_once(record, intent, event_id, moment)
        if outcome != "stale":
            return outcome
    return "stale"


def _only_mark(event_id: str | None, now: datetime, outcome: str) -> str:
    if event_id is not None and not store.mark_event(event_id, now):
        return "duplicate_event"
    return outcome


def _base_change(record: PaymentRecord, event_id: str | None, **kwargs: Any) -> PaymentChange:
    return PaymentChange(contest_id=record.contest_id, user_id=record.user_id, expected_status=record.entry_status,
                         expected_attempt=record.attempt, expected_intent_id=record.intent_id, event_id=event_id,
                         **kwargs)


def _payment_sets(intent: IntentState, record: PaymentRecord, now: datetime) -> dict[str, Any]:
    return {"paymentStatus": payment_status_of(intent).value, "paymentUpdatedAt": iso_ms(now),
            "refundedAmount": f"{from_minor_units(intent.amount_refunded, record.currency):f}"}


def _hold(record: PaymentRecord) -> dict[str, str] | None:
    return store.hold_key(record.entry_id, record.hold_expires_at) if record.hold_expires_at else None


def _apply_once(record: PaymentRecord, intent: IntentState, event_id: str | None, now: datetime) -> str:
    action = decide(record.entry_status, intent, contest_joinable=True)
    sets = _payment_sets(intent, record, now)
    if action is Action.NOTHING or action is Action.RECORD:
        if all(_stored(record, name) == value for name, value in sets.items() if name != "paymentUpdatedAt"):
            return _only_mark(event_id, now, "unchanged")
        return store.apply(_base_change(record, event_id, sets=sets), now)
    if action is Action.ACTIVATE:
        change = _base_change(record, event_id, sets={**sets, "status": "active", "updatedAt": iso_ms(now)},
                              removes=("holdExpiresAt",), delete_hold=_hold(record))
        outcome = store.apply(change, now)
        if outcome == "applied":
            _succeeded(record)
            _confirmed(record)
        return "activated" if outcome == "applied" else outcome
    if action is Action.RETAKE_SEAT:
        change = _base_change(record, event_id, sets={**sets, "status": "active", "updatedAt": iso_ms(now)},
                              seat_delta=1)
        outcome = store.apply(change, now)
        if outcome == "applied":
            _succeeded(record)
            _confirmed(record)
            return "seat_retaken"
        if outcome != "full":
            return outcome
        return _refund_late_success(record, event_id, now)
    if action is Action.REFUND:
        return _refund_late_success(record, event_id, now)
    if action is Action.CANCEL:
        change = _base_change(record, event_id, sets={**sets, "status": "cancelled", "updatedAt": iso_ms(now)},
                              removes=("holdExpiresAt",), seat_delta=-1, delete_hold=_hold(record))
        outcome = store.apply(change, now)
        if outcome == "applied":
            metrics.count("PaymentsFailed", reason="canceled")
        return "cancelled" if outcome == "applied" else outcome
    # RECORD_REFUND: refunded in full outside the API (Stripe's dashboard), or a refund we issued is now visible.
    change = _base_change(record, event_id, sets={**sets, "status": "refunded", "updatedAt": iso_ms(now)},
                          removes=("holdExpiresAt",), delete_hold=_hold(record) if record.entry_status ==
                          "pending_payment" else None, seat_delta=-1 if record.entry_status == "pending_payment" else 0)
    outcome = store.apply(change, now)
    if outcome == "applied":
        metrics.count("Refunds", source="external")  # not ours: a claimed refund of ours is already `refunded`
    return "refund_recorded" if outcome == "applied" else outcome


def _stored(record: PaymentRecord, name: str) -> str:
    if name == "paymentStatus":
        return record.payment_status
    if name == "refundedAmount":
        return f"{record.refunded_amount.quantize(from_minor_units(0, record.currency)):f}"
    return ""


def _succeeded(record: PaymentRecord) -> None:
    if record.payment_status != PaymentStatus.SUCCEEDED:  # first recorded now (a retaken seat may have had it)
        metrics.count("PaymentsSucceeded")


def _confirmed(record: PaymentRecord) -> None:
    metrics.count("EntriesJoined", paid="true")
    _publish("EntryConfirmed", {"contestId": record.contest_id, "entryId": record.entry_id, "userId": record.user_id},
             ENTRIES_SOURCE)


def _refund_late_success(record: PaymentRecord, event_id: str | None, now: datetime) -> str:
    """Paid after the hold ran out, and no seat is left (or the contest is over): refund at once."""
    change = _base_change(record, event_id, sets={"status": "refunded", "paymentStatus": "succeeded",
                                                  "refundClaimedAt": iso_ms(now), "updatedAt": iso_ms(now),
                                                  "paymentUpdatedAt": iso_ms(now)},
                          extra_condition="attribute_not_exists(refundClaimedAt)")
    outcome = store.apply(change, now)
    if outcome != "applied":
        return outcome
    _succeeded(record)
    _issue_refund(replace(record, entry_status="refunded"), reason="paid after the seat hold ran out", now=now,
                  source="hold-expired")
    return "refunded_late_success"


# ---------------------------------------------------------------------------------------------------- holds
def expire_holds(now: datetime | None = None) -> dict[str, int]:
    """Every hold that ran out: the PaymentIntent cancelled at Stripe FIRST, then the entry cancelled and its seat
    freed in one transaction. A payment that beat the cancel makes the entry active instead (its seat is still held),
    so a success racing the release never loses a paid seat."""
    moment = now or utcnow()
    counts = {"expired": 0, "paid": 0, "stale": 0}
    for hold in store.expired_holds(moment):
        counts[_expire_one(hold, moment)] += 1
    if any(counts.values()):
        logger.info("payment holds", extra=counts)
    return counts


def _expire_one(hold: dict[str, Any], now: datetime) -> str:
    item = store.get_entry_item(hold["contestId"], hold["userId"])
    record = store.record_from_item(item) if item else None
    if record is None or record.entry_status != "pending_payment" or record.attempt != int(hold["attempt"]):
        store.delete_hold({"PK": hold["PK"], "SK": hold["SK"]})  # resolved meanwhile: the hold is only a leftover
        return "stale"
    if record.intent_id is not None:
        try:
            intent = stripe.cancel_intent(record.intent_id,
                                          idempotency_key=cancel_idempotency_key(record.entry_id, record.intent_id))
        except stripe.StripeRefused:
            intent = stripe.retrieve_intent(record.intent_id)  # already succeeded (or cancelled): apply what it is
        outcome = apply_intent(intent, now=now)
        return "paid" if outcome == "activated" else "expired"
    return "expired" if expire_without_intent(record, now) else "stale"


def expire_without_intent(record: PaymentRecord, now: datetime) -> bool:
    """A pending entry that never got its PaymentIntent (Stripe failed at join): cancelled, its seat freed."""
    change = _base_change(record, None, sets={"status": "cancelled", "paymentStatus": "canceled",
                                              "updatedAt": iso_ms(now), "paymentUpdatedAt": iso_ms(now)},
                          removes=("holdExpiresAt",), seat_delta=-1, delete_hold=_hold(record))
    if store.apply(change, now) != "applied":
        return False
    metrics.count("PaymentsFailed", reason="no_intent")
    return True


# ---------------------------------------------------------------------------------------------------- refunds
@dataclass(frozen=True)
class RefundActor:
    user_id: str
    request_id: str | None = None
    source_ip: str | None = None


def refund_entry(actor: RefundActor, contest_id: str, entry_id: str, reason: str,
                 now: datetime | None = None, *, source: str = "admin") -> Entry:
    """Refund a paid entry exactly once: the claim (entry -> refunded + its audit event) is one conditional
    transaction; only its winner calls Stripe. Again (or concurrently): the same entry, no second refund.
    `source` (admin | cancel) only labels the `Refunds` metric."""
    moment = now or utcnow()
    if not is_ulid(contest_id) or not is_ulid(entry_id):
        raise NotFound("No such entry.")
    for _ in range(APPLY_ATTEMPTS):
        item = store.entry_item_by_id(entry_id)
        if item is None or item.get("contestId") != contest_id:
            raise NotFound("No such entry.")
        record = store.record_from_item(item)
        if record is None or record.intent_id is None:
            raise NotRefundable()
        if record.refund_claimed_at is not None or record.entry_status == "refunded":
            if not _complete_interrupted_refund(record, reason, moment, source):
                raise _refund_in_progress(record, moment)
            return _entry(record)
        if record.payment_status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED):
            raise NotRefundable(details={"paymentStatus": record.payment_status})
        change = _base_change(record, None, sets={"status": "refunded", "refundClaimedAt": iso_ms(moment),
                                                  "updatedAt": iso_ms(moment)},
                              extra_condition="attribute_not_exists(refundClaimedAt)",
                              audit=_audit(actor, record, reason, moment))
        if store.apply(change, moment) == "applied":
            _issue_refund(replace(record, entry_status="refunded"), reason=reason, now=moment, source=source)
            return _entry(record)
    raise ServiceUnavailable("The entry keeps changing; try again.")


def _entry(record: PaymentRecord) -> Entry:
    item = store.get_entry_item(record.contest_id, record.user_id)
    if item is None:
        raise NotFound("No such entry.")
    return entries_table.entry_from_item(item)


def _audit(actor: RefundActor, record: PaymentRecord, reason: str, now: datetime) -> dict[str, Any]:
    from tickerleague.adapters.dynamodb.audit import AuditItem

    item = AuditItem.new(
        audit_id=new_ulid(), at=iso(now), actor_id=actor.user_id, action="entry.refunded", target_type="entry",
        target_id=record.entry_id,
        before={"status": record.entry_status, "paymentStatus": record.payment_status},
        after={"status": "refunded", "paymentIntentId": record.intent_id, "amount": f"{record.amount:f}",
               "currency": record.currency, "reason": reason},
        request_id=actor.request_id, source_ip=actor.source_ip,
    )
    return dict(item.serialize())


def _complete_interrupted_refund(record: PaymentRecord, reason: str, now: datetime, source: str) -> bool:
    """A claimed refund whose Stripe call never got recorded (a crash, a Stripe outage): finish it, but only once
    the claim is old enough that its own request has surely given up. False while it is not: the refund is still
    in progress (or interrupted moments ago), so nobody may be told it is done."""
    if record.refund_id is not None or record.refund_claimed_at is None:
        return True
    claimed = parse_iso_utc(record.refund_claimed_at)
    if claimed is not None and (now - claimed).total_seconds() < REFUND_STALE_SECONDS:
        return False
    _issue_refund(record, reason=reason, now=now, source=source)
    return True


def _refund_in_progress(record: PaymentRecord, now: datetime) -> ServiceUnavailable:
    """503 with Retry-After: the claimed refund may still be running; once its claim is stale a retry finishes it."""
    claimed = parse_iso_utc(record.refund_claimed_at)
    left = REFUND_STALE_SECONDS - (now - claimed).total_seconds() if claimed is not None else REFUND_STALE_SECONDS
    wait = max(1, min(REFUND_STALE_SECONDS, int(left) + 1))
    return ServiceUnavailable("The refund is in progress; try again shortly.", headers={"Retry-After": str(wait)},
                              details={"retryAfterSeconds": wait})


def _issue_refund(record: PaymentRecord, *, reason: str, now: datetime, source: str) -> None:
    """The Stripe refund for a claimed entry, then its record. Stripe is asked first whether money already went back
    (a previous attempt whose answer was lost), since localstripe would refund twice."""
    assert record.intent_id is not None
    intent = stripe.retrieve_intent(record.intent_id)
    refund_id = "recorded"
    if intent.amount_refunded < intent.amount:
        refund_id, _ = stripe.create_refund(
            record.intent_id, metadata={"entryId": record.entry_id, "contestId": record.contest_id,
                                        "reason": reason[:400]},
            idempotency_key=refund_idempotency_key(record.entry_id, record.intent_id))
    change = PaymentChange(
        contest_id=record.contest_id, user_id=record.user_id, expected_status="refunded",
        expected_attempt=record.attempt, expected_intent_id=record.intent_id,
        sets={"refundId": refund_id, "paymentStatus": PaymentStatus.REFUNDED.value,
              "refundedAmount": f"{record.amount:f}", "paymentUpdatedAt": iso_ms(now)},
        extra_condition="attribute_not_exists(refundId)",
    )
    if store.apply(change, now) == "applied":  # the refund's one record (`attribute_not_exists(refundId)`)
        metrics.count("Refunds", source=source)
        _publish("EntryRefunded", {"contestId": record.contest_id, "entryId": record.entry_id,
                                   "userId": record.user_id, "amount": f"{record.amount:f}",
                                   "currency": record.currency}, PAYMENTS_SOURCE)
